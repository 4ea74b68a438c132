"""The organizing and recommending units' pages (申报组织单位, 推荐单位): their queue with counts, each
application read-only, return with a reason, check-and-stamp and forward, recommend with the scans,
decline, and the recommending unit's quota for the round."""
from __future__ import annotations

import base64

from services.gateway.web import http
from werkzeug.wrappers import Response

from services.gateway.portal import plan_forms, rendering
from services.gateway.portal.applicant_pages import attachment_response, content_disposition
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from shared import clock
from shared.clock import BEIJING

UNITS = ("organizing_unit", "recommending_unit")
PAGE_SIZE = 20
QUEUE_STATES = {
    "organizing_unit": ("queued", "forwarded", "returned", "recommended", "declined", "closed"),
    "recommending_unit": ("forwarded", "recommended", "declined", "closed"),
}


def _queue(page, state, limit, offset):
    method = "organizing_queue" if page.account.role == "organizing_unit" else "recommending_queue"
    return page.call("endorsement", method, state=state, limit=limit, offset=offset)


def _file_arg(upload) -> dict | None:
    if upload is None or not upload.filename:
        return None
    return {"name": upload.filename, "content": base64.b64encode(upload.read()).decode("ascii")}


class UnitPages:
    @http("GET", "/units")
    @portal_page(roles=UNITS)
    def unit_queue(self, page):
        role = page.account.role
        state = page.request.args.get("state") or None
        if state not in QUEUE_STATES[role]:
            state = None
        offset = max(0, _int(page.request.args.get("offset"), 0))
        found = _queue(page, state, PAGE_SIZE + 1, offset)
        items = found.get("items", [])
        quota = None
        if role == "recommending_unit":
            quota = page.call("endorsement", "recommending_quota", year=None)
        return page.render("units/queue.html", items=items[:PAGE_SIZE], more=len(items) > PAGE_SIZE,
                           counts=found.get("counts", {}), states=QUEUE_STATES[role], state=state, offset=offset,
                           page_size=PAGE_SIZE, quota=quota, breadcrumbs=[("待办申报", None)])

    @http("GET", "/units/quota")
    @portal_page(roles=("recommending_unit",))
    def unit_quota(self, page):
        year = _int(page.request.args.get("year"), None)
        quota = page.call("endorsement", "recommending_quota", year=year)
        return page.render("units/quota.html", quota=quota, breadcrumbs=[("待办申报", "/units"), ("推荐名额", None)])

    @http("GET", "/units/applications/<application_id>")
    @portal_page(roles=UNITS)
    def unit_application(self, page, application_id):
        return self._application_page(page, application_id)

    def _application_page(self, page, application_id, errors=None, summary=None, values=None, status=200,
                          action=None):
        try:
            application = page.call("intake", "get_application", application_id=application_id, version=None)
            history = page.call("endorsement", "endorsement_history", application_id=application_id)
        except EdgeError as error:
            if error.status == 404 or error.name in ("NotAuthorized",):
                return page.not_found()
            raise
        today = clock.now().astimezone(BEIJING).date().isoformat()
        return page.render("units/application.html", status=status, application=application,
                           history=history.get("events", []), sections=plan_forms.SECTIONS,
                           remarks=rendering.section_remarks((history or {}).get("events", [])),
                           indicator_kinds=dict(plan_forms.INDICATOR_KINDS), errors=errors or {}, summary=summary,
                           values=values or {"date": today}, action=action,
                           breadcrumbs=[("待办申报", "/units"), (application["name"], None)])

    @http("POST", "/units/applications/<application_id>/return")
    @portal_page(roles=("organizing_unit",))
    def return_application(self, page, application_id):
        form = page.request.form
        sections = [s for s in form.getlist("sections") if s in plan_forms.SECTION_TITLES]
        reason = (form.get("reason") or "").strip()
        errors = {}
        if not sections:
            errors["sections"] = ["请选择需要修改的部分"]
        if not reason:
            errors["reason"] = ["请写明退回修改的理由"]
        if not errors:
            try:
                page.call("endorsement", "return_to_applicant", application_id=application_id,
                          plan_version=_int(form.get("plan_version"), None), sections=sections, reason=reason)
            except EdgeError as error:
                if error.status >= 500 or error.status == 404:
                    raise
                fields, summary = form_errors(error)
                return self._application_page(page, application_id, plan_forms.field_errors(fields, ""), summary,
                                              {"reason": reason, "sections": sections}, error.status, "return")
            return redirect("/units?notice=returned")
        return self._application_page(page, application_id, errors, None, {"reason": reason, "sections": sections},
                                      422, "return")

    @http("POST", "/units/applications/<application_id>/forward")
    @portal_page(roles=("organizing_unit",))
    def forward_application(self, page, application_id):
        form = page.request.form
        opinion = {"text": (form.get("text") or "").strip(), "head": (form.get("head") or "").strip(),
                   "date": (form.get("date") or "").strip()}
        errors = {f"opinion.{name}": [message] for name, message in
                  (("text", "请填写审核意见"), ("head", "请填写负责人"), ("date", "请填写日期")) if not opinion[name]}
        if not errors:
            try:
                page.call("endorsement", "forward", application_id=application_id,
                          plan_version=_int(form.get("plan_version"), None), opinion=opinion,
                          stamped_plan=_file_arg(page.request.files.get("stamped_plan")))
            except EdgeError as error:
                if error.status >= 500 or error.status == 404:
                    raise
                fields, summary = form_errors(error)
                return self._application_page(page, application_id, plan_forms.field_errors(fields, ""), summary,
                                              opinion, error.status, "forward")
            return redirect("/units?notice=forwarded")
        return self._application_page(page, application_id, errors, None, opinion, 422, "forward")

    @http("POST", "/units/applications/<application_id>/recommend")
    @portal_page(roles=("recommending_unit",))
    def recommend_application(self, page, application_id):
        form, files = page.request.form, page.request.files
        stamped, letter = _file_arg(files.get("stamped_plan")), _file_arg(files.get("recommendation_letter"))
        errors = {}
        if stamped is None:
            errors["stamped_plan"] = ["请上传盖章后的申报方案扫描件"]
        if letter is None:
            errors["recommendation_letter"] = ["请上传推荐函扫描件"]
        if not errors:
            try:
                page.call("endorsement", "recommend", application_id=application_id,
                          plan_version=_int(form.get("plan_version"), None), stamped_plan=stamped,
                          recommendation_letter=letter)
            except EdgeError as error:
                if error.status >= 500 or error.status == 404:
                    raise
                fields, summary = form_errors(error)
                if error.name == "QuotaExceeded":
                    held = (error.details or {}).get("held_by_name") or (error.details or {}).get("held_by")
                    summary = f"本年度该范围的推荐名额已被“{held}”占用（指南第四部分）。" if held else error.message_zh
                return self._application_page(page, application_id, plan_forms.field_errors(fields, ""), summary,
                                              {}, error.status, "recommend")
            return redirect("/units?notice=recommended")
        return self._application_page(page, application_id, errors, None, {}, 422, "recommend")

    @http("POST", "/units/applications/<application_id>/decline")
    @portal_page(roles=("recommending_unit",))
    def decline_application(self, page, application_id):
        form = page.request.form
        reason = (form.get("reason") or "").strip()
        if not reason:
            return self._application_page(page, application_id, {"decline_reason": ["请写明不予推荐的理由"]}, None,
                                          {}, 422, "decline")
        page.call("endorsement", "decline", application_id=application_id,
                  plan_version=_int(form.get("plan_version"), None), reason=reason)
        return redirect("/units?notice=declined")

    @http("GET", "/units/applications/<application_id>/plan.pdf")
    @portal_page(roles=UNITS)
    def unit_plan_pdf(self, page, application_id):
        found = page.call("intake", "plan_pdf", application_id=application_id, version=None)
        return _pdf(found, found.get("filename") or "申报方案.pdf")

    @http("GET", "/units/applications/<application_id>/letter.pdf")
    @portal_page(roles=("recommending_unit",))
    def unit_letter_pdf(self, page, application_id):
        found = page.call("endorsement", "recommendation_letter_pdf", application_id=application_id)
        return _pdf(found, found.get("file_name") or "推荐函.pdf")

    @http("GET", "/units/applications/<application_id>/files/<sha256>")
    @portal_page(roles=UNITS)
    def unit_attachment(self, page, application_id, sha256):
        return attachment_response(page, application_id, sha256)


def _pdf(found: dict, name: str) -> Response:
    response = Response(base64.b64decode(found["content"]), mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(name)
    return response


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
