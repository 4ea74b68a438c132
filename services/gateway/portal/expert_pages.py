"""Experts' duties beside the opinion (专家): declaring a conflict of interest with an organization, and,
for the panel's chair, the panel's conclusion (论证意见), with the sections to revise when it passes
with revisions."""
from __future__ import annotations

from datetime import datetime, time

from services.gateway.portal import plan_forms
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from services.gateway.web import http
from shared.clock import BEIJING

EXPERT = ("expert",)
CONCLUSIONS = (("pass", "通过"), ("pass_with_revisions", "修改后通过"), ("fail", "不通过"))
# Why the chair may not conclude yet (expert_review's rules), as the chair reads it.
CONCLUDE_RULES_ZH = {
    "all_opinions_in": "尚有专家未提交评审意见，全部提交后才能形成论证结论",
    "panel_size": "参加论证的专家不足5人或不为单数，请联系国家标准委增补专家",
    "site_visit_recorded": "现场审核尚未记录结果",
    "not_the_chair": "只有专家组组长可以形成论证结论",
}


def _crumbs(*more):
    return [("评审任务", "/expert"), *more]


class ExpertDutyPages:
    @http("GET", "/expert/conflicts")
    @portal_page(roles=EXPERT)
    def expert_conflict_form(self, page):
        return page.render("expert/conflict.html", values={}, errors={}, summary=None, expert=None,
                           breadcrumbs=_crumbs(("声明利益冲突", None)))

    @http("POST", "/expert/conflicts")
    @portal_page(roles=EXPERT)
    def expert_declare_conflict(self, page):
        form = page.request.form
        values = {"organization": (form.get("organization") or "").strip().upper(),
                  "reason": (form.get("reason") or "").strip()}
        errors = {}
        if len(values["organization"]) != 18:
            errors["organization"] = ["请填写该单位18位的统一社会信用代码"]
        if not values["reason"]:
            errors["reason"] = ["请写明存在利益冲突的原因"]
        summary, expert, status = None, None, 422
        if not errors:
            try:
                expert = page.call("expert_review", "declare_conflict", expert_id=None, **values)
            except EdgeError as error:
                if error.status >= 500:
                    raise
                errors, summary = form_errors(error)
                if (error.details or {}).get("rule") == "credit_code" or error.name == "InvalidCreditCode":
                    errors, summary = {"organization": ["统一社会信用代码未通过校验"]}, None
                status = error.status
            else:
                values, status = {}, 200
        return page.render("expert/conflict.html", status=status, values=values, errors=errors, summary=summary,
                           expert=expert, notices=[("success", "利益冲突已声明：今后不会安排您论证涉及该单位的申报。")]
                           if expert else (), breadcrumbs=_crumbs(("声明利益冲突", None)))

    @http("POST", "/expert/applications/<application_id>/conclusion")
    @portal_page(roles=EXPERT)
    def expert_conclude(self, page, application_id):
        form = page.request.form
        values = {"conclusion": form.get("conclusion") or "", "conclusion_text": (form.get("conclusion_text") or "").strip(),
                  "revision_sections": form.getlist("revision_sections"),
                  "revision_reason": (form.get("revision_reason") or "").strip(),
                  "revision_deadline": form.get("revision_deadline") or ""}
        errors, revision = {}, None
        if values["conclusion"] not in dict(CONCLUSIONS):
            errors["conclusion"] = ["请选择论证结论"]
        if not values["conclusion_text"]:
            errors["conclusion_text"] = ["请填写专家组论证意见"]
        if values["conclusion"] == "pass_with_revisions":
            sections = [s for s in values["revision_sections"] if s in plan_forms.SECTION_TITLES]
            if not sections:
                errors["revision_sections"] = ["请选择需要修改的部分"]
            if not values["revision_reason"]:
                errors["revision_reason"] = ["请写明修改要求"]
            try:
                deadline = datetime.combine(datetime.fromisoformat(values["revision_deadline"]).date(),
                                            time(23, 59, 59), BEIJING)
            except ValueError:
                errors["revision_deadline"] = ["请填写修改截止日期"]
            else:
                revision = {"sections": sections, "reason": values["revision_reason"], "deadline": deadline.isoformat()}
        if errors:
            return self._opinion_page(page, application_id, errors, None, values, 422)
        try:
            page.call("expert_review", "conclude", application_id=application_id, conclusion=values["conclusion"],
                      text=values["conclusion_text"], revision=revision)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = form_errors(error)
            rule = (error.details or {}).get("rule")
            summary = CONCLUDE_RULES_ZH.get(rule) or summary or error.message_zh
            return self._opinion_page(page, application_id, plan_forms.field_errors(fields, ""), summary, values,
                                      error.status)
        return redirect(f"/expert/applications/{application_id}?notice=concluded")
