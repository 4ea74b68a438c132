"""SAC officers' decisions (国家标准委): every application with the late-submission exception, panels
for the 论证会 (who would be excluded and why, before forming one), and approval (批准筹建) with the
guide's limits on bases, a refusal shown with its Chinese title and the base already approved."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from services.gateway.portal.officer_pages import REVIEW_STATES_ZH
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from services.gateway.web import http
from shared import clock
from shared.clock import BEIJING

OFFICER = ("officer",)
READERS = ("officer", "auditor")
PAGE_SIZE = 20
APPROVABLE = ("concluded", "revision_confirmed")
DECLINABLE = ("concluded", "revision_requested", "revision_overdue", "revision_received", "revision_confirmed")
# Why an expert may not judge an application (expert_review's `conflicts_of`), as SAC reads it.
EXCLUSION_RULES_ZH = {
    "same_organization": "与{party}为同一单位",
    "declared_conflict": "本人声明与{party}存在利益冲突",
    "applicant_avoidance": "申报单位申请回避",
}
PARTIES_ZH = {"applicant": "申报单位", "organizing_unit": "申报组织单位", "recommending_unit": "推荐单位"}
PANEL_PROBLEMS_ZH = {
    "panel_size": "论证专家应不少于5人且为单数",
    "conflict_of_interest": "组长与申报存在利益冲突",
    "wrong_stage": "申报不在待组建专家组阶段",
    "expert_not_found": "专家不在专家库中",
}


def _crumbs(*more):
    return [("国家标准委工作台", "/sac"), *more]


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def exclusion_zh(reason: dict) -> str:
    template = EXCLUSION_RULES_ZH.get(reason.get("rule"), reason.get("detail") or reason.get("rule") or "")
    return template.format(party=PARTIES_ZH.get(reason.get("party"), reason.get("party") or ""))


def refusal_text(error: EdgeError) -> str:
    """A refusal as SAC reads it: the Chinese title, and the base(s) already approved that stand in the way."""
    existing = (error.details or {}).get("existing") or []
    named = "、".join(e if isinstance(e, str) else (e.get("name") or str(e)) for e in existing)
    return error.message_zh + (f"：已批准 {named}" if named else "")


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


class DecisionPages:
    # -- an application, and the late-submission exception (the list: round_pages) ----------------

    @http("GET", "/sac/applications/<application_id>")
    @portal_page(roles=READERS)
    def sac_application(self, page, application_id):
        return self._sac_application_page(page, application_id)

    def _sac_application_page(self, page, application_id, errors=None, values=None, status=200):
        if not _is_uuid(application_id):
            return page.not_found()
        application = page.call("intake", "get_application", application_id=application_id, version=None)
        return page.render("sac/application.html", status=status, application=application, errors=errors or {},
                           values=values or {}, summary=None,
                           breadcrumbs=_crumbs(("全部申报", "/sac/applications"), (application["name"], None)))

    @http("POST", "/sac/applications/<application_id>/late-submission")
    @portal_page(roles=OFFICER)
    def sac_grant_late_submission(self, page, application_id):
        reason = (page.request.form.get("reason") or "").strip()
        if not reason:
            return self._sac_application_page(page, application_id, {"reason": ["请写明准予受理期外提交的理由"]},
                                          {}, 422)
        try:
            page.call("intake", "grant_late_submission", application_id=application_id, reason=reason[:2000])
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, _ = form_errors(error)
            return self._sac_application_page(page, application_id, fields or {"reason": [error.message_zh]},
                                          {"reason": reason}, error.status)
        return redirect(f"/sac/applications/{application_id}?notice=late_granted")

    # -- approval ------------------------------------------------------------------------------------

    @http("GET", "/sac/reviews")
    @portal_page(roles=READERS)
    def sac_reviews(self, page):
        state = page.request.args.get("state") or None
        state = state if state in REVIEW_STATES_ZH else None
        offset = max(0, _int(page.request.args.get("offset"), 0))
        found = page.call("expert_review", "reviews", state=state, base_type=None, limit=PAGE_SIZE + 1,
                          offset=offset)
        items = found.get("items", [])
        return page.render("sac/reviews.html", items=items[:PAGE_SIZE], more=len(items) > PAGE_SIZE,
                           counts=found.get("counts", {}), state=state, offset=offset, page_size=PAGE_SIZE,
                           review_states_zh=REVIEW_STATES_ZH, breadcrumbs=_crumbs(("专家论证与批准", None)))

    @http("GET", "/sac/reviews/<application_id>")
    @portal_page(roles=READERS)
    def sac_review(self, page, application_id):
        return self._review_page(page, application_id)

    def _review_page(self, page, application_id, errors=None, summary=None, values=None, status=200):
        if not _is_uuid(application_id):
            return page.not_found()
        review = page.call("expert_review", "get_review", application_id=application_id)
        opinions = page.call("expert_review", "opinions", application_id=application_id)
        experts = []
        if page.account.role == "officer" and review.get("panel_id"):  # who may be added to the panel
            experts = page.call("expert_review", "experts", limit=200, offset=0, field=None, region=None)
        return page.render("sac/review.html", status=status, review=review, opinions=opinions, experts=experts,
                           expert_names={e["expert_id"]: e["name"] for e in experts},
                           review_states_zh=REVIEW_STATES_ZH, approvable=review.get("state") in APPROVABLE,
                           declinable=review.get("state") in DECLINABLE, errors=errors or {}, summary=summary,
                           values=values or {}, exclusion_zh=exclusion_zh,
                           breadcrumbs=_crumbs(("专家论证与批准", "/sac/reviews"),
                                               (review.get("number") or review.get("name") or application_id, None)))

    @http("POST", "/sac/reviews/<application_id>/approve")
    @portal_page(roles=OFFICER)
    def sac_approve(self, page, application_id):
        form = page.request.form
        values = {"reasons": (form.get("reasons") or "").strip(),
                  "second_base_reason": (form.get("second_base_reason") or "").strip()}
        if not values["reasons"]:
            return self._review_page(page, application_id, {"reasons": ["请写明批准筹建的理由"]}, None, values, 422)
        try:
            page.call("expert_review", "approve", application_id=application_id, reasons=values["reasons"],
                      second_base_reason=values["second_base_reason"] or None)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            errors = {}
            if error.name == "DomainBaseExists":
                # a second domain base needs its reason: the field that would let it through
                errors["second_base_reason"] = ["该领域已有创新基地：批准第二个须写明理由（如存在多个产业集群）"]
            fields, _ = form_errors(error)
            return self._review_page(page, application_id, {**fields, **errors}, refusal_text(error), values,
                                     error.status)
        return redirect(f"/sac/reviews/{application_id}?notice=approved")

    @http("POST", "/sac/reviews/<application_id>/decline")
    @portal_page(roles=OFFICER)
    def sac_decline(self, page, application_id):
        reasons = (page.request.form.get("decline_reasons") or "").strip()
        if not reasons:
            return self._review_page(page, application_id, {"decline_reasons": ["请写明不予批准的理由"]}, None, {},
                                     422)
        try:
            page.call("expert_review", "decline", application_id=application_id, reasons=reasons)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            return self._review_page(page, application_id, {}, refusal_text(error),
                                     {"decline_reasons": reasons}, error.status)
        return redirect(f"/sac/reviews/{application_id}?notice=approval_declined")

    # -- panels ----------------------------------------------------------------------------------------

    @http("GET", "/sac/panels/new")
    @portal_page(roles=OFFICER)
    def sac_panel_form(self, page):
        values = {"application_ids": page.request.args.getlist("application_id"), "members": [], "chair": "",
                  "meeting_date": (clock.now().astimezone(BEIJING) + timedelta(days=14)).date().isoformat(), "place": "",
                  "request_id": str(uuid.uuid4())}
        return self._panel_page(page, values, None, {}, None)

    def _panel_form(self, page):
        form = page.request.form
        return {"application_ids": [a for a in form.getlist("application_ids") if _is_uuid(a)],
                "members": form.getlist("members"), "chair": form.get("chair") or "",
                "meeting_date": form.get("meeting_date") or "", "place": (form.get("place") or "").strip(),
                "request_id": (form.get("request_id") or str(uuid.uuid4()))[:64]}

    def _panel_errors(self, values) -> dict:
        errors = {}
        if not values["application_ids"]:
            errors["application_ids"] = ["请选择要论证的申报"]
        if not values["members"]:
            errors["members"] = ["请选择论证专家"]
        if not values["chair"] or values["chair"] not in values["members"]:
            errors["chair"] = ["请从所选专家中指定组长"]
        return errors

    def _panel_page(self, page, values, plan, errors, summary, status=200):
        awaiting = page.call("expert_review", "reviews", state="awaiting_panel", base_type=None, limit=100, offset=0)
        experts = page.call("expert_review", "experts", limit=200, offset=0, field=None, region=None)
        names = {e["expert_id"]: e["name"] for e in experts}
        return page.render("sac/panel.html", status=status, awaiting=awaiting.get("items", []), experts=experts,
                           names=names, values=values, plan=plan, errors=errors, summary=summary,
                           exclusion_zh=exclusion_zh, problems_zh=PANEL_PROBLEMS_ZH,
                           breadcrumbs=_crumbs(("专家论证与批准", "/sac/reviews"), ("组建专家组", None)))

    @http("POST", "/sac/panels/check")
    @portal_page(roles=OFFICER)
    def sac_check_panel(self, page):
        values = self._panel_form(page)
        errors = self._panel_errors(values)
        if errors:
            return self._panel_page(page, values, None, errors, None, 422)
        plan = page.call("expert_review", "check_panel", application_ids=values["application_ids"],
                         members=values["members"], chair=values["chair"])
        return self._panel_page(page, values, plan, {}, None)

    @http("POST", "/sac/panels")
    @portal_page(roles=OFFICER)
    def sac_form_panel(self, page):
        values = self._panel_form(page)
        errors = self._panel_errors(values)
        try:
            meeting = datetime.combine(datetime.fromisoformat(values["meeting_date"]).date(), time(9, 0), BEIJING)
        except ValueError:
            errors["meeting_date"] = ["请填写论证会日期"]
        if not values["place"]:
            errors["place"] = ["请填写论证会地点"]
        if errors:
            return self._panel_page(page, values, None, errors, None, 422)
        try:
            panel = page.call("expert_review", "form_panel", application_ids=values["application_ids"],
                              members=values["members"], chair=values["chair"], meeting_date=meeting.isoformat(),
                              place=values["place"], request_id=values["request_id"])
        except EdgeError as error:
            if error.status >= 500:
                raise
            fields, summary = form_errors(error)
            plan = page.call("expert_review", "check_panel", application_ids=values["application_ids"],
                             members=values["members"], chair=values["chair"])
            return self._panel_page(page, values, plan, fields, summary or error.message_zh, error.status)
        experts = page.call("expert_review", "experts", limit=200, offset=0, field=None, region=None)
        return page.render("sac/panel_formed.html", panel=panel, names={e["expert_id"]: e["name"] for e in experts},
                           exclusion_zh=exclusion_zh,
                           breadcrumbs=_crumbs(("专家论证与批准", "/sac/reviews"), ("专家组已组建", None)))
