"""The plan's sections (附件2) as HTML forms: what a submitted form means as a section's content,
and where intake's answers (a refused field, the completeness check) belong on the page.

Form fields are named by their path in the section's content (`head.name`,
`indicators.0.target_value`), so intake's refusal of `content.indicators.0.target_value`
lands beside the field that was typed.
"""
from __future__ import annotations

import re

# 附件2's sections, in the form's order, with the headings of the printed plan.
SECTIONS = (
    ("basic", "一、基本信息"),
    ("significance", "二、意义和必要性"),
    ("feasibility", "三、可行性"),
    ("qualifications", "三（二）、资质条件逐项声明"),
    ("goals", "四、目标和任务"),
    ("safeguards", "五、保障措施"),
    ("attachments", "六、附件"),
    ("applicant_opinion", "七、申报单位意见"),
)
SECTION_TITLES = dict(SECTIONS)
CHECKLIST_SIZES = {"regional": 6, "domain": 5, "international": 5}
INDICATOR_KINDS = (("quantity", "数量指标"), ("technical", "技术指标"), ("industrialization", "产业化指标"))
APPLICANT_CATEGORIES = (
    ("standardization_institute", "标准化研究机构"),
    ("research_institute", "科研院所"),
    ("enterprise", "企业"),
    ("university", "高等院校"),
    ("public_institution", "事业单位"),
    ("social_organization", "社会团体"),
    ("other", "其他"),
)
# Rows a form offers beyond those filled, so that one more can be typed without JavaScript.
SPARE_ROWS = {"key_tasks": 1, "indicators": 1, "milestones": 1, "attachments": 0}

# marshmallow's English messages, as a person reads them here.
_MESSAGES = (
    (re.compile(r"^Missing data for required field\.$"), "此项必填"),
    (re.compile(r"^Field may not be null\.$"), "此项必填"),
    (re.compile(r"^A number is required"), "请填写数字，例如 20 或 99.5（不要写“约”“项”等文字）"),
    (re.compile(r"^Not a valid date\.$"), "日期格式不正确，应为 年-月-日"),
    (re.compile(r"^Not a valid email address\.$"), "电子邮箱格式不正确"),
    (re.compile(r"^Not a valid integer\.$"), "请填写整数"),
    (re.compile(r"^A postcode is 6 digits\.$"), "邮政编码为6位数字"),
    (re.compile(r"^A region is a 6-digit"), "行政区划代码为6位数字"),
    (re.compile(r"^Not a phone number\.$"), "电话号码格式不正确"),
    (re.compile(r"^Outside the construction period (\S+) to (\S+)\.$"), r"不在建设期（\1 至 \2）内"),
    (re.compile(r"^Shorter than minimum length 1\.$|^Length must be between 1 and"), "此项必填"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"最多 \1 个字符"),
    (re.compile(r"^Length must be between \d+ and (\d+)\.$"), r"最多 \1 个字符"),
    (re.compile(r"^Not a domain of the catalogue"), "不是领域目录中的代码（例如 EI.01）"),
)


def message_zh(message: str) -> str:
    for pattern, chinese in _MESSAGES:
        if pattern.search(message):
            return pattern.sub(chinese, message) if "\\" in chinese else chinese
    return message


def field_errors(errors: dict, prefix: str = "content.") -> dict:
    """A refusal's fields as the form's paths (`content.head.name` → `head.name`), in Chinese."""
    return {(path[len(prefix):] if path.startswith(prefix) else path): [message_zh(m) for m in messages]
            for path, messages in errors.items()}


def check_by_field(problems: list[dict], section: str) -> dict:
    """The check's problems of one section by the form's paths: `qualifications.items[2].statement`
    → `items.1.statement`; a problem naming no field of the form stays under the section."""
    found: dict[str, list[str]] = {}
    for problem in problems or []:
        path = str(problem.get("field") or "")
        if path.startswith(section + "."):
            path = path[len(section) + 1:]
        path = re.sub(r"items\[(\d+)\]", lambda m: f"items.{int(m.group(1)) - 1}", path)
        found.setdefault(path, []).append(problem.get("message", ""))
    return found


def _text(value):
    value = (value or "").strip() if isinstance(value, str) else value
    return value or None


def _number(value):
    """What was typed as a number; other text goes as typed, for intake to refuse beside the field."""
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return value.strip()


def _rows(form, prefix: str, names: tuple[str, ...]) -> list[dict]:
    """The rows `prefix.<i>.<name>` in index order; rows left wholly empty are not rows."""
    indices = sorted({int(m.group(1)) for key in form.keys()
                      if (m := re.match(re.escape(prefix) + r"\.(\d+)\.", key))})
    rows = []
    for index in indices:
        row = {name: form.get(f"{prefix}.{index}.{name}", "") for name in names}
        if any((value or "").strip() for value in row.values()):
            rows.append(row)
    return rows


def _person(form, prefix: str, names=("name", "title", "phone", "fax", "email")) -> dict | None:
    person = {name: _text(form.get(f"{prefix}.{name}")) for name in names}
    return person if any(person.values()) else None


def content_from_form(section: str, form, base_type: str) -> dict:
    """The section's content from its submitted form (werkzeug's MultiDict)."""
    if section == "basic":
        return {
            "name": _text(form.get("name")),
            "region": _text(form.get("region")),
            "domain": _text(form.get("domain")),
            "organizing_unit_id": _text(form.get("organizing_unit_id")),
            "recommending_unit_id": _text(form.get("recommending_unit_id")),
            "head": _person(form, "head"),
            "contact": _person(form, "contact"),
            "postcode": _text(form.get("postcode")),
            "address": _text(form.get("address")),
        }
    if section in ("significance", "feasibility", "safeguards"):
        names = {"significance": ("significance", "necessity"),
                 "feasibility": ("work_foundation", "qualifications", "advantages"),
                 "safeguards": ("organization_mechanism", "policy_support", "funds_and_talent")}[section]
        return {name: _text(form.get(name)) for name in names}
    if section == "qualifications":
        items = []
        for index in range(CHECKLIST_SIZES.get(base_type, 6)):
            declared = form.get(f"items.{index}.declared")
            statement = _text(form.get(f"items.{index}.statement"))
            evidence = [sha for sha in form.getlist(f"items.{index}.evidence") if sha]
            if declared is None and not statement and not evidence:
                continue
            items.append({"item": index + 1, "declared": declared == "yes", "statement": statement,
                          "evidence": evidence})
        return {"items": items}
    if section == "goals":
        tasks = [{"title": _text(r["title"]), "content": _text(r["content"])}
                 for r in _rows(form, "key_tasks", ("title", "content"))]
        indicators = [{"kind": _text(r["kind"]), "metric": _text(r["metric"]),
                       "target_value": _number(r["target_value"]), "unit": _text(r["unit"])}
                      for r in _rows(form, "indicators", ("metric", "target_value", "unit", "kind"))
                      if any((r[name] or "").strip() for name in ("metric", "target_value", "unit"))]
        milestones = [{"date": _text(r["date"]), "description": _text(r["description"])}
                      for r in _rows(form, "schedule.milestones", ("date", "description"))]
        nodes = [{"year": year, "description": _text(form.get(f"schedule.yearly_nodes.{year - 1}.description"))}
                 for year in (1, 2) if _text(form.get(f"schedule.yearly_nodes.{year - 1}.description"))]
        schedule = {"start_date": _text(form.get("schedule.start_date")), "milestones": milestones,
                    "yearly_nodes": nodes, "mid_term_goal": _text(form.get("schedule.mid_term_goal"))}
        if not any(schedule.values()):
            schedule = None
        return {"goal": _text(form.get("goal")), "key_tasks": tasks, "indicators": indicators, "schedule": schedule}
    if section == "attachments":
        items = []
        for row in _rows(form, "items", ("sha256", "title", "cited")):
            if row["cited"] == "yes":
                items.append({"title": _text(row["title"]), "sha256": row["sha256"]})
        return {"items": items}
    if section == "applicant_opinion":
        return {"opinion": _text(form.get("opinion")), "head": _text(form.get("head")),
                "date": _text(form.get("date"))}
    raise KeyError(section)


def qualification_requirements(problems: list[dict], size: int) -> dict[int, str]:
    """The checklist's wording by item, as the check states it for items not declared yet."""
    found = {}
    for problem in problems or []:
        match = re.match(r"^资质条件第(\d+)项[^：]*：(.+)$", problem.get("message", ""))
        if match:
            found[int(match.group(1))] = match.group(2)
    return {item: found.get(item, "") for item in range(1, size + 1)}
