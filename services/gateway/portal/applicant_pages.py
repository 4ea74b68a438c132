"""The applicant unit's pages (申报单位): its applications, the unit's registration, a new draft,
the plan editor section by section with the completeness check beside it, attachments, submission
and the printed plan."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta

from werkzeug.wrappers import Response

from services.gateway.api.handler import content_disposition
from services.gateway.portal import plan_forms, rendering
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from services.gateway.web import http
from shared import clock
from shared.reference import catalogue

PAGE_SIZE = 20
APPLICANT = ("applicant",)
# What intake says of an upload, as a person reads it (rule → 中文).
UPLOAD_RULES = {
    "file_type": "只能上传 PDF、JPEG 或 PNG 文件",
    "file_name_mismatch": "文件扩展名与文件内容不符",
    "file_too_large": "文件不能超过 10 MB",
}


def _crumbs(*more):
    return [("我的申报", "/applicant"), *more]


def _domains() -> list[tuple[str, str]]:
    return [(d.code, f"{d.code} {d.name}" if d.level == 2 else f"{d.code} {d.name}（大类）")
            for d in catalogue.all_domains()]


class ApplicantPages:
    # -- the dashboard ----------------------------------------------------------------------

    @http("GET", "/applicant")
    @portal_page(roles=APPLICANT)
    def applicant_dashboard(self, page):
        unit = _registered_unit(page)
        offset = max(0, _int(page.request.args.get("offset"), 0))
        applications, more = [], False
        if unit is not None:
            found = page.call("intake", "my_applications", stage=None, limit=PAGE_SIZE + 1, offset=offset)
            applications, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
        return page.render("applicant/dashboard.html", unit=unit, applications=applications, offset=offset,
                           more=more, page_size=PAGE_SIZE, notices=_deadlines_near(applications),
                           breadcrumbs=[("我的申报", None)])

    # -- the unit's registration (intake's register of applicant units) ---------------------------

    @http("GET", "/applicant/unit")
    @portal_page(roles=APPLICANT)
    def applicant_unit_form(self, page):
        unit = _registered_unit(page)
        if unit is not None:
            return page.render("applicant/unit.html", unit=unit, breadcrumbs=_crumbs(("单位信息", None)))
        # the contact person is the one signed in; the unit's name is typed again (the account keeps none)
        values = {"contact": {"name": page.account.name, "email": page.account.email}}
        return page.render("applicant/unit_form.html", values=values, errors={}, summary=None,
                           categories=plan_forms.APPLICANT_CATEGORIES, breadcrumbs=_crumbs(("登记单位信息", None)))

    @http("POST", "/applicant/unit")
    @portal_page(roles=APPLICANT)
    def register_applicant_unit(self, page):
        form = page.request.form
        values = {
            "credit_code": page.account.organization,
            "name": plan_forms._text(form.get("name")),
            "category": plan_forms._text(form.get("category")),
            "region": plan_forms._text(form.get("region")),
            "head": plan_forms._person(form, "head", ("name", "title", "phone", "email")),
            "contact": plan_forms._person(form, "contact", ("name", "title", "phone", "fax", "email")),
            "postcode": plan_forms._text(form.get("postcode")),
            "address": plan_forms._text(form.get("address")),
        }
        try:
            page.call("intake", "register_applicant", **values)
        except EdgeError as error:
            if error.status >= 500:
                raise
            errors, summary = form_errors(error)
            problems = (error.details or {}).get("problems") or []
            if error.name == "InvalidCreditCode":
                summary = "本单位的统一社会信用代码未通过校验：" + "；".join(p.get("message", "") for p in problems)
            return page.render("applicant/unit_form.html", status=error.status, values=values,
                               errors=plan_forms.field_errors(errors, ""), summary=summary,
                               categories=plan_forms.APPLICANT_CATEGORIES,
                               breadcrumbs=_crumbs(("登记单位信息", None)))
        return redirect("/applicant?notice=registered_unit")

    # -- a new draft ------------------------------------------------------------------------------

    @http("GET", "/applicant/new")
    @portal_page(roles=APPLICANT)
    def new_draft_form(self, page):
        base_type = page.request.args.get("base_type")
        if base_type not in plan_forms.CHECKLIST_SIZES:
            return page.render("applicant/new_type.html", errors={}, breadcrumbs=_crumbs(("新建申报", None)))
        return self._draft_form(page, base_type, {"base_type": base_type}, {}, None)

    @http("POST", "/applicant/new")
    @portal_page(roles=APPLICANT)
    def create_draft(self, page):
        form = page.request.form
        base_type = form.get("base_type")
        if base_type not in plan_forms.CHECKLIST_SIZES:
            return page.render("applicant/new_type.html", status=422,
                               errors={"base_type": ["请选择创新基地类型"]}, breadcrumbs=_crumbs(("新建申报", None)))
        values = {
            "base_type": base_type,
            "name": plan_forms._text(form.get("name")),
            "organizing_unit_id": plan_forms._text(form.get("organizing_unit_id")),
            "recommending_unit_id": plan_forms._text(form.get("recommending_unit_id")),
            "region": plan_forms._text(form.get("region")) if base_type == "regional" else None,
            "domain": plan_forms._text(form.get("domain")) if base_type != "regional" else None,
            # the form's own id: a double click or a resent form makes one draft, not two
            "request_id": (form.get("request_id") or str(uuid.uuid4()))[:64],
        }
        errors = {name: ["请选择" + label] for name, label in (("organizing_unit_id", "申报组织单位"),
                                                           ("recommending_unit_id", "推荐单位"))
                  if not values[name]}
        if not values["name"]:
            errors["name"] = ["请填写创新基地名称"]
        if errors:
            return self._draft_form(page, base_type, values, errors, None, status=422)
        try:
            draft = page.call("intake", "create_draft", **values)
        except EdgeError as error:
            if error.status >= 500:
                raise
            fields, summary = form_errors(error)
            details = error.details or {}
            if error.name == "UnitPairNotAllowed":
                summary = error.message_zh
            if details.get("rule") == "base_name":
                fields, summary = {"name": ["名称应为“国家技术标准创新基地（×××）”"]}, None
            if error.name == "ApplicantNotRegistered":
                return redirect("/applicant/unit")
            return self._draft_form(page, base_type, values, plan_forms.field_errors(fields, ""), summary,
                                    status=error.status)
        return redirect(f"/applicant/applications/{draft['application_id']}?notice=draft_created")

    def _draft_form(self, page, base_type, values, errors, summary, status=200):
        organizing = page.call("intake", "list_units", role="organizing", base_type=base_type)
        recommending = page.call("intake", "list_units", role="recommending", base_type=base_type)
        values.setdefault("request_id", str(uuid.uuid4()))
        return page.render("applicant/new_draft.html", status=status, base_type=base_type, values=values,
                           errors=errors, summary=summary,
                           organizing=[(u["unit_id"], u["name"]) for u in organizing],
                           recommending=[(u["unit_id"], u["name"]) for u in recommending],
                           domains=_domains() if base_type != "regional" else [],
                           breadcrumbs=_crumbs(("新建申报", "/applicant/new"), (plan_forms_base(base_type), None)))

    # -- one application: overview, sections, attachments, submit, PDF --------------------------------

    @http("GET", "/applicant/applications/<application_id>")
    @portal_page(roles=APPLICANT)
    def application_overview(self, page, application_id):
        application, check = _application_and_check(page, application_id)
        if application is None:
            return page.not_found()
        return page.render("applicant/application.html", application=application, check=check,
                           sections=plan_forms.SECTIONS, submit_error=None, notices=_deadlines_near([application]),
                           breadcrumbs=_crumbs((application["name"], None)))

    @http("GET", "/applicant/applications/<application_id>/sections/<section>")
    @portal_page(roles=APPLICANT)
    def section_form(self, page, application_id, section):
        if section not in plan_forms.SECTION_TITLES:
            return page.not_found()
        application, check = _application_and_check(page, application_id)
        if application is None:
            return page.not_found()
        content = (application.get("sections") or {}).get(section) or {}
        return self._section_page(page, application, check, section, content, {}, None)

    @http("POST", "/applicant/applications/<application_id>/sections/<section>")
    @portal_page(roles=APPLICANT)
    def save_section(self, page, application_id, section):
        if section not in plan_forms.SECTION_TITLES:
            return page.not_found()
        application, check = _application_and_check(page, application_id)
        if application is None:
            return page.not_found()
        content = plan_forms.content_from_form(section, page.request.form, application["base_type"])
        try:
            page.call("intake", "save_section", application_id=application_id, section=section, content=content)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = form_errors(error)
            if error.name == "SectionClosed":
                summary = "此部分当前不可修改：申报方案已提交，只有退回或要求补充、修改的部分可以修改。"
            return self._section_page(page, application, check, section, content,
                                      plan_forms.field_errors(fields), summary, status=error.status)
        following = page.request.form.get("then")
        if following == "next":
            names = [name for name, _ in plan_forms.SECTIONS]
            index = names.index(section)
            if index + 1 < len(names):
                return redirect(f"/applicant/applications/{application_id}/sections/{names[index + 1]}"
                                "?notice=section_saved")
            return redirect(f"/applicant/applications/{application_id}?notice=section_saved")
        return redirect(f"/applicant/applications/{application_id}/sections/{section}?notice=section_saved")

    def _section_page(self, page, application, check, section, content, errors, summary, status=200):
        problems = (check or {}).get("problems", {}).get(section, [])
        size = plan_forms.CHECKLIST_SIZES.get(application["base_type"], 6)
        units = {}
        if section == "basic":
            for role in ("organizing", "recommending"):
                units[role] = [(u["unit_id"], u["name"]) for u in
                               page.call("intake", "list_units", role=role, base_type=application["base_type"])]
        return page.render(
            f"applicant/section_{section}.html", status=status, application=application, check=check,
            section=section, title=plan_forms.SECTION_TITLES[section], sections=plan_forms.SECTIONS,
            content=content or {}, errors=errors, summary=summary, notices=_deadlines_near([application]),
            pending=plan_forms.check_by_field(problems, section), problems=problems,
            files=_files(application), checklist=plan_forms.qualification_requirements(problems, size),
            indicator_kinds=plan_forms.INDICATOR_KINDS, spare=plan_forms.SPARE_ROWS, units=units,
            domains=_domains() if section == "basic" and application["base_type"] != "regional" else [],
            breadcrumbs=_crumbs((application["name"], f"/applicant/applications/{application['application_id']}"),
                                (plan_forms.SECTION_TITLES[section], None)))

    @http("POST", "/applicant/applications/<application_id>/attachments")
    @portal_page(roles=APPLICANT)
    def upload_attachment(self, page, application_id):
        upload = page.request.files.get("file")
        back = page.request.form.get("back") or "attachments"
        if back not in plan_forms.SECTION_TITLES:
            back = "attachments"
        application, check = _application_and_check(page, application_id)
        if application is None:
            return page.not_found()
        error_text = None
        if upload is None or not upload.filename:
            error_text = "请选择要上传的文件"
        else:
            data = upload.read()
            try:
                page.call("intake", "upload_attachment", application_id=application_id, name=upload.filename,
                          content=base64.b64encode(data).decode("ascii"))
            except EdgeError as error:
                if error.status >= 500 or error.status == 404:
                    raise
                rule = (error.details or {}).get("rule")
                error_text = UPLOAD_RULES.get(rule) or error.message_zh
        if error_text:
            content = (application.get("sections") or {}).get(back) or {}
            return self._section_page(page, application, check, back, content, {"file": [error_text]}, None,
                                      status=422)
        return redirect(f"/applicant/applications/{application_id}/sections/{back}?notice=uploaded")

    @http("GET", "/applicant/applications/<application_id>/files/<sha256>")
    @portal_page(roles=APPLICANT)
    def attachment_file(self, page, application_id, sha256):
        return attachment_response(page, application_id, sha256)

    @http("GET", "/applicant/applications/<application_id>/files/<sha256>/preview")
    @portal_page(roles=APPLICANT)
    def attachment_preview(self, page, application_id, sha256):
        """The file shown inside a page of the portal (预览), with its name, size and type."""
        application, _ = _application_and_check(page, application_id)
        file = (application or {}).get("files", {}).get(sha256) if application else None
        if not file:
            return page.not_found()
        return page.render("applicant/preview.html", application=application, file={"sha256": sha256, **file},
                           previewable=file.get("media_type") in PREVIEWABLE,
                           breadcrumbs=_crumbs((application["name"], f"/applicant/applications/{application_id}"),
                                               (file.get("name") or sha256[:12], None)))

    @http("POST", "/applicant/applications/<application_id>/submit")
    @portal_page(roles=APPLICANT)
    def submit(self, page, application_id):
        try:
            page.call("intake", "submit", application_id=application_id)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            application, check = _application_and_check(page, application_id)
            if application is None:
                return page.not_found()
            return page.render("applicant/application.html", status=error.status, application=application,
                               check=check, sections=plan_forms.SECTIONS, submit_error=error,
                               breadcrumbs=_crumbs((application["name"], None)))
        return redirect(f"/applicant/applications/{application_id}?notice=submitted")

    @http("GET", "/applicant/applications/<application_id>/plan.pdf")
    @portal_page(roles=APPLICANT)
    def plan_pdf(self, page, application_id):
        version = _int(page.request.args.get("version"), None)
        found = page.call("intake", "plan_pdf", application_id=application_id, version=version)
        response = Response(base64.b64decode(found["content"]), mimetype="application/pdf")
        name = found.get("filename") or "申报方案.pdf"
        response.headers["Content-Disposition"] = content_disposition(name)
        return response


# The types a browser shows itself (intake types every upload by its content, never by its name).
PREVIEWABLE = ("application/pdf", "image/jpeg", "image/png")
# An uploaded file is another party's content: it runs nothing, loads nothing from elsewhere and may be
# framed only by our own preview page. A PDF gets no `sandbox` directive: Chromium's PDF viewer refuses
# to run in a sandboxed document (it would show "blocked" instead of the file); an image gets it too.
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'"
FILE_POLICIES = {"application/pdf": FILE_POLICY, "image/jpeg": FILE_POLICY + "; sandbox",
                 "image/png": FILE_POLICY + "; sandbox"}


def attachment_response(page, application_id: str, sha256: str) -> Response:
    """An uploaded file as intake keeps it: a PDF or an image shown in the browser (`inline`, its type
    as intake found it, never sniffed), anything else downloaded; the name keeps its Chinese."""
    found = page.call("intake", "get_attachment", application_id=application_id, sha256=sha256)
    media_type = found.get("media_type")
    shown = media_type in PREVIEWABLE
    response = Response(base64.b64decode(found["content"]),
                        mimetype=media_type if shown else "application/octet-stream")
    disposition = content_disposition(found.get("name") or sha256[:12])
    response.headers["Content-Disposition"] = disposition.replace("attachment", "inline", 1) if shown else disposition
    response.headers["Content-Security-Policy"] = FILE_POLICIES.get(media_type, "default-src 'none'; sandbox")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the preview page frames it; nobody else
    response.headers["Cache-Control"] = "private, no-store"
    return response


def plan_forms_base(base_type: str) -> str:
    from services.gateway.portal.rendering import BASE_TYPES_ZH

    return BASE_TYPES_ZH.get(base_type, base_type)


DEADLINE_NEAR = timedelta(days=7)


def _deadlines_near(applications: list[dict]) -> list[tuple[str, str]]:
    """A warning for each application whose deadline falls within a week (or has passed)."""
    now, found = clock.now(), []
    for app in applications:
        if not app.get("next_deadline"):
            continue
        try:
            due = datetime.fromisoformat(str(app["next_deadline"]).replace("Z", "+00:00"))
        except ValueError:
            continue
        if due.tzinfo is not None and due - now <= DEADLINE_NEAR:
            found.append(("warning", f"“{app['name']}”的截止时间是 {rendering.beijing_datetime(due)}，"
                                     f"请在此之前{rendering.NEXT_STEP_ZH.get(app['stage'], '办理')}。"))
    return found


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _registered_unit(page) -> dict | None:
    try:
        return page.call("intake", "get_applicant", credit_code=None)
    except EdgeError as error:
        if error.status == 404:
            return None
        raise


def _application_and_check(page, application_id: str):
    """The working copy and its check; None for a missing or foreign one (the same page for both)."""
    try:
        uuid.UUID(str(application_id))
    except ValueError:
        return None, None
    try:
        application = page.call("intake", "get_application", application_id=application_id, version=None)
    except EdgeError as error:
        if error.status == 404:
            return None, None
        raise
    check = page.call("intake", "check", application_id=application_id)
    return application, check


def _files(application: dict) -> list[dict]:
    files = application.get("files") or {}
    if isinstance(files, dict):
        return [{"sha256": sha, **(info or {})} for sha, info in files.items()]
    return list(files)
