"""Experts' pages (专家): their assignments and the opinion form, sealed once given; auditors' pages (审计):
an application's timeline across every service, and the verification of every log."""
from __future__ import annotations

from services.gateway.web import http

from services.gateway.portal import plan_forms, rendering
from services.gateway.portal.applicant_pages import attachment_response
from services.gateway.portal.expert_pages import CONCLUSIONS
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.api.routes import AUDITED_SERVICES
from services.gateway.problems import EdgeError
from shared import audit

DIMENSIONS = (("necessity", "必要性"), ("feasibility", "可行性"), ("goals_and_tasks", "目标和任务"),
              ("safeguards", "保障措施"))
RECOMMENDATIONS = (("pass", "通过"), ("pass_with_revisions", "修改后通过"), ("fail", "不通过"))
# Services whose logs the auditor reads (the gateway keeps none).
TIMELINE_PAGE = 50
AUDITED = ("intake", "endorsement", "formal_review", "expert_review", "notification", "accounts")


def _score(value):
    text = (value or "").strip()
    try:
        return int(text)
    except ValueError:
        return text or None


class ExpertAuditPages:
    @http("GET", "/expert")
    @portal_page(roles=("expert",))
    def expert_assignments(self, page):
        found = page.call("expert_review", "my_assignments")
        assignments = found.get("items", found) if isinstance(found, dict) else found
        return page.render("expert/assignments.html", assignments=assignments, breadcrumbs=[("评审任务", None)])

    @http("GET", "/expert/applications/<application_id>")
    @portal_page(roles=("expert",))
    def expert_application(self, page, application_id):
        return self._opinion_page(page, application_id)

    def _opinion_page(self, page, application_id, errors=None, summary=None, values=None, status=200):
        try:
            review = page.call("expert_review", "get_review", application_id=application_id)
            application = page.call("intake", "get_application", application_id=application_id, version=None)
        except EdgeError as error:
            if error.status == 404:
                return page.not_found()
            raise
        is_chair = review.get("chair") == page.account.party_id
        return page.render("expert/opinion.html", status=status, review=review, application=application,
                           is_chair=is_chair, conclusions=CONCLUSIONS,
                           remarks=rendering.section_remarks(revisions=review.get("revisions") or []),
                           dimensions=DIMENSIONS, recommendations=RECOMMENDATIONS, sections=plan_forms.SECTIONS,
                           indicator_kinds=dict(plan_forms.INDICATOR_KINDS), errors=errors or {},
                           summary=summary, values=values or {},
                           breadcrumbs=[("评审任务", "/expert"), (application["name"], None)])

    @http("GET", "/expert/applications/<application_id>/files/<sha256>")
    @portal_page(roles=("expert",))
    def expert_attachment(self, page, application_id, sha256):
        return attachment_response(page, application_id, sha256)

    @http("POST", "/expert/applications/<application_id>/opinion")
    @portal_page(roles=("expert",))
    def expert_opinion(self, page, application_id):
        form = page.request.form
        opinion = {name: {"score": _score(form.get(f"{name}.score")), "text": (form.get(f"{name}.text") or "").strip()}
                   for name, _ in DIMENSIONS}
        opinion["recommendation"] = form.get("recommendation") or None
        opinion["summary"] = (form.get("summary") or "").strip()
        errors = {}
        for name, label in DIMENSIONS:
            if not isinstance(opinion[name]["score"], int) or not 0 <= opinion[name]["score"] <= 100:
                errors[f"{name}.score"] = [f"请给出{label}的评分（0–100 的整数）"]
            if not opinion[name]["text"]:
                errors[f"{name}.text"] = [f"请写明{label}的评审意见"]
        if opinion["recommendation"] not in dict(RECOMMENDATIONS):
            errors["recommendation"] = ["请选择评审结论"]
        if not opinion["summary"]:
            errors["summary"] = ["请填写综合意见"]
        if not errors:
            try:
                page.call("expert_review", "submit_opinion", application_id=application_id, **opinion)
            except EdgeError as error:
                if error.status >= 500 or error.status == 404:
                    raise
                fields, summary = form_errors(error)
                return self._opinion_page(page, application_id, plan_forms.field_errors(fields, ""), summary,
                                          form.to_dict(), error.status)
            return redirect(f"/expert/applications/{application_id}?notice=opinion_submitted")
        return self._opinion_page(page, application_id, errors, None, form.to_dict(), 422)

    @http("GET", "/audit")
    @portal_page(roles=("auditor",))
    def audit_home(self, page):
        applications = page.call("intake", "my_applications", stage=None, limit=100, offset=0)
        verified = None
        if page.request.args.get("verify") == "1":
            verified = []
            for service in AUDITED:
                try:
                    verified.append((service, page.call(service, "audit_verify"), None))
                except EdgeError as error:
                    verified.append((service, None, error.message_zh))
        return page.render("audit/home.html", applications=applications, verified=verified,
                           breadcrumbs=[("审计", None)])

    @http("GET", "/audit/applications/<application_id>")
    @portal_page(roles=("auditor",))
    def audit_timeline(self, page, application_id):
        events = application_events(page, application_id)
        if not events:
            return page.not_found()
        try:
            offset = max(0, int(page.request.args.get("offset") or 0))
        except ValueError:
            offset = 0
        return page.render("audit/timeline.html", application_id=application_id, events=events[offset:offset + TIMELINE_PAGE],
                           total=len(events), offset=offset, page_size=TIMELINE_PAGE,
                           more=offset + TIMELINE_PAGE < len(events),
                           breadcrumbs=[("审计", "/audit"), ("时间线", None)])


def application_events(page, application_id: str) -> list[dict]:
    """The application's events across the services, merged (shared.audit); [] for an unknown one."""
    histories = []
    for service in AUDITED_SERVICES:  # the services that hold applications (not accounts)
        try:
            histories.append(page.call(service, "audit_history", application_id=application_id))
        except EdgeError as error:
            if error.status not in (404, 503, 504):
                raise  # a service that knows nothing of it, or is down, leaves its part out
    return audit.merge_histories(histories)
