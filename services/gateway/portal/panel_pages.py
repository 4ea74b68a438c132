"""The panel's work beyond the opinions: SAC schedules a site visit (现场审核) and adds a member to
a panel (a replacement, or a new chair); the site visit's findings are recorded by SAC or the chair;
the chair confirms a revised plan or asks for another revision round."""
from __future__ import annotations

from datetime import datetime, time

from services.gateway.portal import plan_forms
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from services.gateway.web import http
from shared.clock import BEIJING

OFFICER = ("officer",)
EXPERT = ("expert",)
# Why the services refuse a step, as the person taking it reads it.
RULES_ZH = {
    "visit_in_future": "现场审核日期应在今天之后",
    "site_visit_once": "现场审核结果已记录，不能再次安排或记录",
    "site_visit_scheduled": "尚未安排现场审核",
    "no_conflict": "该专家与本申报存在利益冲突，不能参加论证",
    "assigned_once": "该专家已在本专家组中",
    "one_chair": "专家组已有组长",
    "not_the_chair": "只有专家组组长可以进行此项操作",
    "revisions_concluded": "论证结论不是“修改后通过”，不能要求修改",
}
RULE_FIELDS = {"visit_in_future": "visit_date", "no_conflict": "expert_id", "assigned_once": "expert_id",
               "one_chair": "as_chair"}


def day_at(text: str, hour: int, minute: int = 0, second: int = 0) -> datetime | None:
    """A date typed as 年-月-日 at the given time of day, Beijing time; None when it is no date."""
    try:
        return datetime.combine(datetime.fromisoformat(text).date(), time(hour, minute, second), BEIJING)
    except (TypeError, ValueError):
        return None


def refusal(error: EdgeError) -> tuple[dict, str | None]:
    """A refusal beside the field its rule concerns, or as the summary's sentence."""
    rule = (error.details or {}).get("rule")
    if rule in RULE_FIELDS:
        return {RULE_FIELDS[rule]: [RULES_ZH[rule]]}, None
    if rule in RULES_ZH:
        return {}, RULES_ZH[rule]
    fields, summary = form_errors(error)
    return plan_forms.field_errors(fields, ""), summary


class PanelPages:
    # -- SAC ----------------------------------------------------------------------------------------

    def _sac_step(self, page, shown, values, method, notice, **kwargs):
        """`method` with `kwargs`; then the review of `shown` again, with the notice or the refusal."""
        try:
            page.call("expert_review", method, **kwargs)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = refusal(error)
            return self._review_page(page, shown, fields, summary, values, error.status)
        return redirect(f"/sac/reviews/{shown}?notice={notice}")

    @http("POST", "/sac/reviews/<application_id>/site-visit")
    @portal_page(roles=OFFICER)
    def sac_schedule_site_visit(self, page, application_id):
        form = page.request.form
        values = {"visit_date": form.get("visit_date") or "", "visit_place": (form.get("visit_place") or "").strip()}
        errors = {}
        visit = day_at(values["visit_date"], 9)
        if visit is None:
            errors["visit_date"] = ["请填写现场审核日期"]
        if not values["visit_place"]:
            errors["visit_place"] = ["请填写现场审核地点"]
        if errors:
            return self._review_page(page, application_id, errors, None, values, 422)
        return self._sac_step(page, application_id, values, "schedule_site_visit", "site_visit_scheduled",
                              application_id=application_id, visit_date=visit.isoformat(),
                              place=values["visit_place"])

    @http("POST", "/sac/reviews/<application_id>/site-visit/findings")
    @portal_page(roles=OFFICER)
    def sac_record_site_visit(self, page, application_id):
        findings = (page.request.form.get("findings") or "").strip()
        if not findings:
            return self._review_page(page, application_id, {"findings": ["请填写现场审核情况"]}, None, {}, 422)
        return self._sac_step(page, application_id, {"findings": findings}, "record_site_visit",
                              "site_visit_recorded", application_id=application_id, findings=findings)

    @http("POST", "/sac/reviews/<application_id>/members")
    @portal_page(roles=OFFICER)
    def sac_add_panel_member(self, page, application_id):
        form = page.request.form
        values = {"expert_id": form.get("expert_id") or "", "as_chair": form.get("as_chair") == "yes"}
        if not values["expert_id"]:
            return self._review_page(page, application_id, {"expert_id": ["请选择要增补的专家"]}, None, values, 422)
        review = page.call("expert_review", "get_review", application_id=application_id)
        if not review.get("panel_id"):
            return self._review_page(page, application_id, {}, "尚未组建专家组，请先组建专家组", values, 409)
        return self._sac_step(page, application_id, values, "add_panel_member", "member_added",
                              panel_id=review["panel_id"], expert_id=values["expert_id"],
                              application_ids=[application_id], as_chair=values["as_chair"])

    # -- the chair ----------------------------------------------------------------------------------

    def _chair_step(self, page, application_id, values, method, notice, **kwargs):
        try:
            page.call("expert_review", method, application_id=application_id, **kwargs)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = refusal(error)
            return self._opinion_page(page, application_id, fields, summary, values, error.status)
        return redirect(f"/expert/applications/{application_id}?notice={notice}")

    @http("POST", "/expert/applications/<application_id>/site-visit/findings")
    @portal_page(roles=EXPERT)
    def expert_record_site_visit(self, page, application_id):
        findings = (page.request.form.get("findings") or "").strip()
        if not findings:
            return self._opinion_page(page, application_id, {"findings": ["请填写现场审核情况"]}, None, {}, 422)
        return self._chair_step(page, application_id, {"findings": findings}, "record_site_visit",
                                "site_visit_recorded", findings=findings)

    @http("POST", "/expert/applications/<application_id>/revision/confirm")
    @portal_page(roles=EXPERT)
    def expert_confirm_revision(self, page, application_id):
        note = (page.request.form.get("note") or "").strip()[:2000]
        return self._chair_step(page, application_id, {"note": note}, "confirm_revision", "revision_confirmed",
                                note=note)

    @http("POST", "/expert/applications/<application_id>/revision/request")
    @portal_page(roles=EXPERT)
    def expert_request_revision(self, page, application_id):
        form = page.request.form
        values = {"again_sections": form.getlist("again_sections"),
                  "again_reason": (form.get("again_reason") or "").strip(),
                  "again_deadline": form.get("again_deadline") or ""}
        sections = [s for s in values["again_sections"] if s in plan_forms.SECTION_TITLES]
        deadline = day_at(values["again_deadline"], 23, 59, 59)
        errors = {}
        if not sections:
            errors["again_sections"] = ["请选择需要修改的部分"]
        if not values["again_reason"]:
            errors["again_reason"] = ["请写明修改要求"]
        if deadline is None:
            errors["again_deadline"] = ["请填写修改截止日期"]
        if errors:
            return self._opinion_page(page, application_id, errors, None, values, 422)
        return self._chair_step(page, application_id, values, "request_revision", "revision_requested",
                                sections=sections, reason=values["again_reason"], deadline=deadline.isoformat())
