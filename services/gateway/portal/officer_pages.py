"""SAC officers' pages (国家标准委): the round's dashboard with counts by stage and base type, the formal
review cases with their checklist, and the formal review's actions (accept and number, findings,
supplementary material with a deadline, pass, reject)."""
from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, time, timedelta

from werkzeug.wrappers import Response

from services.gateway.api.handler import content_disposition
from services.gateway.portal import plan_forms, rendering, xlsx
from services.gateway.portal.applicant_pages import attachment_response, plan_forms_base
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from services.gateway.web import http
from shared import clock
from shared.clock import BEIJING

OFFICER = ("officer",)
READERS = ("officer", "auditor")
PAGE_SIZE = 20
CASE_STATES = ("received", "under_review", "awaiting_supplement", "supplement_overdue", "passed",
               "found_inadmissible", "closed")
CASE_STATES_ZH = {
    "received": "待受理", "under_review": "审查中", "awaiting_supplement": "待补充材料",
    "supplement_overdue": "补充材料逾期", "passed": "形式审查合格", "found_inadmissible": "不予受理",
    "closed": "已结束",
}
REVIEW_STATES_ZH = {
    "awaiting_panel": "待组建专家组", "under_review": "专家论证中", "concluded": "论证完成",
    "revision_requested": "待修改方案", "revision_overdue": "修改逾期", "revision_received": "已收到修改稿",
    "revision_confirmed": "修改已确认", "approved": "已批准筹建", "declined": "未获批准", "closed": "已结束",
}
CHECK_STATUS_ZH = {"present": "齐全", "missing": "缺失", "deficient": "不合格", "not_declared": "未声明（可选）"}


CASE_COLUMNS = ("编号", "创新基地名称", "申报单位", "类型", "地区或领域", "状态", "方案版本", "截止时间")


def _case_rows(page) -> list[list]:
    """The formal review list, filtered by `state` as the page is, one row per case for the exports."""
    state = page.request.args.get("state") or None
    state = state if state in CASE_STATES else None
    found = page.call("formal_review", "cases", state=state, base_type=None, year=None, limit=1000, offset=0)
    return [[case.get("number") or "", case.get("name"), case.get("applicant_name"),
             plan_forms_base(case.get("base_type")), case.get("region") or case.get("domain") or "",
             CASE_STATES_ZH.get(case.get("state"), case.get("state")), case.get("plan_version"),
             rendering.beijing_datetime(case.get("deadline")) if case.get("deadline") else ""]
            for case in found.get("items", [])]


def csv_download(title: str, columns, rows) -> Response:
    """A list as `<title>.csv` (UTF-8 with BOM, so that Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = content_disposition(f"{title}.csv")
    return response


def xlsx_download(title: str, columns, rows) -> Response:
    """The same list as the Excel workbook `<title>.xlsx`."""
    content = xlsx.workbook(title, list(columns), rows)
    response = Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = content_disposition(f"{title}.xlsx")
    return response


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class OfficerPages:
    @http("GET", "/sac")
    @portal_page(roles=READERS)
    def sac_dashboard(self, page):
        # counted by intake's database, not from a list: the round may hold thousands
        counts = page.call("intake", "application_counts")
        cases = page.call("formal_review", "cases", state=None, base_type=None, year=None, limit=1, offset=0)
        reviews = page.call("expert_review", "reviews", state=None, base_type=None, limit=1, offset=0)
        by_stage = Counter(counts.get("by_stage") or {})
        by_type = Counter(counts.get("by_base_type") or {})
        by_area = Counter({area or "—": n for area, n in (counts.get("by_area") or {}).items()})
        return page.render("sac/dashboard.html", total=counts.get("total", 0), by_stage=by_stage, by_type=by_type,
                           by_area=by_area.most_common(10), case_counts=cases.get("counts", {}),
                           review_counts=reviews.get("counts", {}), case_states=CASE_STATES,
                           case_states_zh=CASE_STATES_ZH, review_states_zh=REVIEW_STATES_ZH,
                           breadcrumbs=[("国家标准委工作台", None)])

    @http("GET", "/sac/cases")
    @portal_page(roles=READERS)
    def sac_cases(self, page):
        state = page.request.args.get("state") or None
        state = state if state in CASE_STATES else None
        base_type = page.request.args.get("base_type") or None
        base_type = base_type if base_type in plan_forms.CHECKLIST_SIZES else None
        offset = max(0, _int(page.request.args.get("offset"), 0))
        found = page.call("formal_review", "cases", state=state, base_type=base_type, year=None,
                          limit=PAGE_SIZE + 1, offset=offset)
        items = found.get("items", [])
        return page.render("sac/cases.html", items=items[:PAGE_SIZE], more=len(items) > PAGE_SIZE,
                           counts=found.get("counts", {}), state=state, base_type=base_type, offset=offset,
                           page_size=PAGE_SIZE, case_states=CASE_STATES, case_states_zh=CASE_STATES_ZH,
                           breadcrumbs=[("国家标准委工作台", "/sac"), ("形式审查", None)])

    @http("GET", "/sac/cases.csv")
    @portal_page(roles=READERS)
    def sac_cases_csv(self, page):
        return csv_download("形式审查", CASE_COLUMNS, _case_rows(page))

    @http("GET", "/sac/cases.xlsx")
    @portal_page(roles=READERS)
    def sac_cases_xlsx(self, page):
        return xlsx_download("形式审查", CASE_COLUMNS, _case_rows(page))

    @http("GET", "/sac/cases/<application_id>")
    @portal_page(roles=READERS)
    def sac_case(self, page, application_id):
        return self._case_page(page, application_id)

    def _case_page(self, page, application_id, errors=None, summary=None, values=None, status=200):
        try:
            case = page.call("formal_review", "get_case", application_id=application_id)
            application = page.call("intake", "get_application", application_id=application_id, version=None)
        except EdgeError as error:
            if error.status == 404:
                return page.not_found()
            raise
        try:
            history = page.call("endorsement", "endorsement_history", application_id=application_id)
        except EdgeError as error:
            if error.status != 404:
                raise
            history = {}  # the units' remarks are not there (yet): the plan shows without them
        in_two_weeks = (clock.now().astimezone(BEIJING) + timedelta(days=14)).date().isoformat()
        return page.render("sac/case.html", status=status, case=case, application=application,
                           remarks=rendering.section_remarks((history or {}).get("events", [])),
                           sections=plan_forms.SECTIONS, indicator_kinds=dict(plan_forms.INDICATOR_KINDS),
                           case_states_zh=CASE_STATES_ZH, check_status_zh=CHECK_STATUS_ZH,
                           errors=errors or {}, summary=summary, values=values or {"deadline": in_two_weeks},
                           breadcrumbs=[("国家标准委工作台", "/sac"), ("形式审查", "/sac/cases"),
                                        (case.get("number") or application["name"], None)])

    def _act(self, page, application_id, method, values=None, **kwargs):
        try:
            page.call("formal_review", method, application_id=application_id, **kwargs)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = form_errors(error)
            details = error.details or {}
            if details.get("items"):
                summary = (summary or error.message_zh) + "：" + "、".join(
                    str(i.get("label") or i.get("item") if isinstance(i, dict) else i) for i in details["items"])
            return self._case_page(page, application_id, plan_forms.field_errors(fields, ""), summary, values,
                                   error.status)
        return redirect(f"/sac/cases/{application_id}?notice=case_{method}")

    @http("POST", "/sac/cases/<application_id>/accept")
    @portal_page(roles=OFFICER)
    def sac_accept(self, page, application_id):
        return self._act(page, application_id, "accept")

    @http("POST", "/sac/cases/<application_id>/finding")
    @portal_page(roles=OFFICER)
    def sac_finding(self, page, application_id):
        form = page.request.form
        return self._act(page, application_id, "record_finding", item=form.get("item", ""),
                         finding=form.get("finding", ""), note=(form.get("note") or "").strip())

    @http("POST", "/sac/cases/<application_id>/supplement")
    @portal_page(roles=OFFICER)
    def sac_supplement(self, page, application_id):
        form = page.request.form
        items, reason, day = form.getlist("items"), (form.get("reason") or "").strip(), form.get("deadline", "")
        values = {"items": items, "reason": reason, "deadline": day}
        errors = {}
        if not items:
            errors["items"] = ["请选择需要补充的材料"]
        if not reason:
            errors["reason"] = ["请写明需要补充的内容"]
        try:
            # the end of the chosen day, Beijing time
            deadline = datetime.combine(datetime.fromisoformat(day).date(), time(23, 59, 59), BEIJING).isoformat()
        except ValueError:
            errors["deadline"] = ["请填写截止日期"]
        if errors:
            return self._case_page(page, application_id, errors, None, values, 422)
        return self._act(page, application_id, "request_supplement", values, items=items, sections=[],
                         reason=reason, deadline=deadline)

    @http("POST", "/sac/cases/<application_id>/pass")
    @portal_page(roles=OFFICER)
    def sac_pass(self, page, application_id):
        return self._act(page, application_id, "pass_review", note=(page.request.form.get("note") or "").strip())

    @http("POST", "/sac/cases/<application_id>/reject")
    @portal_page(roles=OFFICER)
    def sac_reject(self, page, application_id):
        reasons = [line.strip() for line in (page.request.form.get("reasons") or "").splitlines() if line.strip()]
        if not reasons:
            return self._case_page(page, application_id, {"reasons": ["请写明不予受理的理由，每行一条"]}, None, {}, 422)
        return self._act(page, application_id, "reject", {"reasons": "\n".join(reasons)}, reasons=reasons)

    @http("GET", "/sac/applications/<application_id>/files/<sha256>")
    @portal_page(roles=READERS)
    def sac_attachment(self, page, application_id, sha256):
        return attachment_response(page, application_id, sha256)
