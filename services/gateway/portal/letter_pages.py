"""The recommending unit enters the 发文字号 of its recommendation letter (推荐函) before it
downloads the letter to print and stamp; without one it downloads a watermarked preview."""
from __future__ import annotations

from services.gateway.web import http

from services.gateway.portal import plan_forms
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError


class LetterPages:
    @http("POST", "/units/applications/<application_id>/letter-reference")
    @portal_page(roles=("recommending_unit",))
    def number_letter(self, page, application_id):
        form = page.request.form
        reference = (form.get("reference") or "").strip()
        if not reference:
            return self._application_page(page, application_id, {"reference": ["请填写发文字号"]}, None,
                                          {"reference": reference}, 422, "letter")
        try:
            page.call("endorsement", "number_recommendation_letter", application_id=application_id,
                      plan_version=int(form["plan_version"]) if form.get("plan_version", "").isdigit() else None,
                      reference=reference)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = form_errors(error)
            if "reference" in fields:
                fields = {"reference": ["发文字号应形如“苏政函〔2027〕12号”：机关代字、〔年份〕、序号、号"]}
            return self._application_page(page, application_id, plan_forms.field_errors(fields, ""), summary,
                                          {"reference": reference}, error.status, "letter")
        return redirect(f"/units/applications/{application_id}#letter")
