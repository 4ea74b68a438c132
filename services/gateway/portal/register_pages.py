"""SAC's registers (登记): the expert register (专家库), from which panels are formed and experts
invited, and the register of organizing and recommending units (申报组织单位、推荐单位), from which an
applicant chooses. Officers register; auditors read."""
from __future__ import annotations

import re

from services.gateway.portal import plan_forms
from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.problems import EdgeError
from services.gateway.web import http

OFFICER = ("officer",)
READERS = ("officer", "auditor")
PAGE_SIZE = 20
UNIT_ROLES_ZH = {"organizing": "申报组织单位", "recommending": "推荐单位"}
UNIT_KINDS_ZH = {
    "local_standardization_authority": "地方标准化主管部门",
    "industry_department_standardization_body": "行业部门的标准化主管机构",
    "industry_department": "行业部门",
    "industry_association": "行业协会、联合会",
    "local_government": "地方政府",
}
# What the registers' rules say, beside the field they concern.
RULES_ZH = {
    "credit_code": "统一社会信用代码未通过校验",
    "region_known": "不是 GB/T 2260 中的行政区划代码",
    "unknown_region": "不是 GB/T 2260 中的行政区划代码",
    "domain_known": "不是领域目录中的代码（例如 EI.01）",
    "expert_once": "该专家编号已登记",
    "already_registered": "该单位编号已登记",
}
RULE_FIELDS = {"expert_once": "expert_id", "already_registered": "unit_id"}
EXPERT_MESSAGES = {"ExpertAlreadyRegistered": ("expert_id", "该专家编号已登记"),
                   "AlreadyRegistered": ("unit_id", "该单位编号已登记")}


def _crumbs(*more):
    return [("国家标准委工作台", "/sac"), *more]


def refusal_fields(error: EdgeError) -> tuple[dict, str | None]:
    """A register's refusal as messages beside the fields it names, in Chinese."""
    details = error.details or {}
    rule = details.get("rule")
    if error.name in EXPERT_MESSAGES:
        field, message = EXPERT_MESSAGES[error.name]
        return {field: [message]}, None
    if rule in RULES_ZH and (details.get("field") or rule in RULE_FIELDS):
        return {str(details.get("field") or RULE_FIELDS[rule]): [RULES_ZH[rule]]}, None
    fields, summary = form_errors(error)
    return plan_forms.field_errors(fields, ""), summary


def codes(text: str) -> list[str]:
    """Domain codes typed with commas, 、 or spaces between them."""
    return [code for code in re.split(r"[\s,，、;；]+", text or "") if code]


def _offset(page) -> int:
    try:
        return max(0, int(page.request.args.get("offset") or 0))
    except ValueError:
        return 0


class RegisterPages:
    # -- the expert register ----------------------------------------------------------------------

    @http("GET", "/sac/experts")
    @portal_page(roles=READERS)
    def sac_experts(self, page):
        args = page.request.args
        field = (args.get("field") or "").strip().upper()[:8] or None
        offset = _offset(page)
        found = page.call("expert_review", "experts", limit=PAGE_SIZE + 1, offset=offset, field=field,
                          region=None)
        return page.render("sac/experts.html", items=found[:PAGE_SIZE], more=len(found) > PAGE_SIZE, field=field,
                           offset=offset, page_size=PAGE_SIZE, breadcrumbs=_crumbs(("专家库", None)))

    @http("GET", "/sac/experts/new")
    @portal_page(roles=OFFICER)
    def sac_expert_form(self, page):
        return self._expert_form(page, {}, {}, None)

    def _expert_form(self, page, values, errors, summary, status=200):
        return page.render("sac/expert_new.html", status=status, values=values, errors=errors, summary=summary,
                           breadcrumbs=_crumbs(("专家库", "/sac/experts"), ("登记专家", None)))

    @http("POST", "/sac/experts")
    @portal_page(roles=OFFICER)
    def sac_register_expert(self, page):
        form = page.request.form
        values = {name: (form.get(name) or "").strip() for name in
                  ("expert_id", "name", "organization", "organization_name", "region", "fields", "email", "phone")}
        values["organization"] = values["organization"].upper()
        required = {"expert_id": "请填写专家编号", "name": "请填写姓名", "organization": "请填写所在单位的统一社会信用代码",
                    "organization_name": "请填写所在单位名称", "region": "请填写所在地区的行政区划代码",
                    "fields": "请填写至少一个专业领域代码", "email": "请填写电子邮箱"}
        errors = {name: [message] for name, message in required.items() if not values[name]}
        if values["organization"] and len(values["organization"]) != 18:
            errors["organization"] = ["统一社会信用代码为18位"]
        if values["region"] and not re.fullmatch(r"[0-9]{6}", values["region"]):
            errors["region"] = ["行政区划代码为6位数字"]
        if errors:
            return self._expert_form(page, values, errors, None, 422)
        try:
            page.call("expert_review", "register_expert", expert_id=values["expert_id"], name=values["name"],
                      organization=values["organization"], organization_name=values["organization_name"],
                      region=values["region"], fields=codes(values["fields"]), email=values["email"],
                      phone=values["phone"] or None, conflicts=[])
        except EdgeError as error:
            if error.status >= 500:
                raise
            fields, summary = refusal_fields(error)
            return self._expert_form(page, values, fields, summary, error.status)
        return redirect("/sac/experts?notice=expert_registered")

    # -- the register of units ------------------------------------------------------------------

    @http("GET", "/sac/units")
    @portal_page(roles=READERS)
    def sac_units(self, page):
        role = page.request.args.get("role")
        role = role if role in UNIT_ROLES_ZH else None
        units = page.call("intake", "list_units", role=role, base_type=None)
        offset = _offset(page)
        return page.render("sac/units.html", items=units[offset:offset + PAGE_SIZE],
                           more=len(units) > offset + PAGE_SIZE, total=len(units), role=role, offset=offset,
                           page_size=PAGE_SIZE, roles_zh=UNIT_ROLES_ZH, kinds_zh=UNIT_KINDS_ZH,
                           breadcrumbs=_crumbs(("单位登记", None)))

    @http("GET", "/sac/units/new")
    @portal_page(roles=OFFICER)
    def sac_unit_form(self, page):
        return self._unit_form(page, {}, {}, None)

    def _unit_form(self, page, values, errors, summary, status=200):
        return page.render("sac/unit_new.html", status=status, values=values, errors=errors, summary=summary,
                           roles=list(UNIT_ROLES_ZH.items()), kinds=list(UNIT_KINDS_ZH.items()),
                           breadcrumbs=_crumbs(("单位登记", "/sac/units"), ("登记单位", None)))

    @http("POST", "/sac/units")
    @portal_page(roles=OFFICER)
    def sac_register_unit(self, page):
        form = page.request.form
        values = {name: (form.get(name) or "").strip() for name in
                  ("unit_id", "name", "role", "kind", "region", "domain", "credit_code", "contact.name",
                   "contact.title", "contact.phone", "contact.email", "address", "postcode")}
        errors = {name: [message] for name, message in (  # in the form's order: the summary lists them so
            ("role", "请选择登记为哪类单位"), ("kind", "请选择单位类别"), ("unit_id", "请填写单位编号"),
            ("name", "请填写单位名称")) if not values[name]}
        if not (values["region"] or values["domain"]):
            errors["region"] = ["地方单位填写行政区划代码，行业单位填写领域代码"]
        contact = {key: values[f"contact.{key}"] for key in ("name", "title", "phone", "email")}
        if any(contact.values()) and not all(contact.values()):
            for key, label in (("name", "姓名"), ("title", "职务"), ("phone", "电话"), ("email", "电子邮箱")):
                if not contact[key]:
                    errors[f"contact.{key}"] = [f"填写联系人时请一并填写{label}"]
        if errors:
            return self._unit_form(page, values, errors, None, 422)
        try:
            page.call("intake", "register_unit", unit_id=values["unit_id"], name=values["name"], role=values["role"],
                      kind=values["kind"], region=values["region"] or None, domain=values["domain"] or None,
                      credit_code=values["credit_code"].upper() or None,
                      contact=contact if all(contact.values()) else None, address=values["address"] or None,
                      postcode=values["postcode"] or None)
        except EdgeError as error:
            if error.status >= 500:
                raise
            fields, summary = refusal_fields(error)
            return self._unit_form(page, values, fields, summary, error.status)
        return redirect("/sac/units?notice=unit_registered")
