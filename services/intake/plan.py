"""The application plan (申报方案, 附件2): its sections in the form's order, the
qualification checklists of guide §二(二), what a complete plan holds, its
canonical digest, and the difference between two versions section by section.

Everything here is pure: sections are plain JSON values as the RPC schemas
normalise them, so a frozen plan hashes the same before and after the log.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from shared.contracts import SECTIONS
from shared.reference import catalogue, regions

SECTION_TITLES = {
    "basic": "一、基本信息",
    "significance": "二、创新基地建设的意义和必要性",
    "feasibility": "三、创新基地建设的可行性",
    "qualifications": "三（二）资质条件：资质条件逐项声明及证明材料",
    "goals": "四、目标和任务",
    "safeguards": "五、保障措施",
    "attachments": "六、附件",
    "applicant_opinion": "七、申报意见（申报单位意见）",
}

BASE_TYPE_NAMES = {"regional": "区域（综合）", "domain": "领域（专业）", "international": "国际"}

# Guide §二(二): what an applicant of each base type must have. The last item of each
# list ("other conditions") is open-ended, so it is the one item an applicant may leave out.
QUALIFICATION_CHECKLISTS: dict[str, tuple[str, ...]] = {
    "regional": (
        "具有支撑标准化试点示范建设的经验，在标准化研究与应用等方面具有明显的区位优势",
        "具有提供标准化整体解决方案的丰富经验，具备促进区域内标准化服务业培育和发展的能力",
        "与政产学研用等相关方面具有广泛协作基础，能够协调一定的科技和产业资源",
        "具有承担或参与国际、国内标准化技术委员会工作，主导制定技术标准的丰富经验",
        "具有承担省部级以上科技计划项目的经验",
        "其他有利于创新基地建设和发展的条件",
    ),
    "domain": (
        "设有标准化部门，配备一定数量的专职标准化工作人员，具有参与国际、国内标准化活动的高水平专家",
        "承担相关领域国际、国内标准化技术委员会秘书处工作，或具有主导、参与相关领域标准制修订的工作经验",
        "具有牵头承担多项省部级以上科技计划项目的丰富经验",
        "拥有省部级以上重点实验室、工程（技术）研究中心或企业技术中心等科技、产业创新平台和资源，"
        "具备开展标准试验验证、符合性测试的能力",
        "其他有利于创新基地建设和发展的条件",
    ),
    "international": (
        "设有专门的标准化机构，配备专职的标准化工作人员，具有参与国际标准化活动的标准化工作队伍，"
        "以及在国际标准化组织中担任一定职务的高水平专家",
        "承担相关领域国际标准化技术委员会秘书处或主持制定国际标准工作，具有主导或参与相关领域国际标准制修订的工作经验",
        "具有牵头承担多项省部级以上科技计划项目的经验",
        "拥有省部级以上重点实验室、工程（技术）研究中心或企业技术中心等科技、产业创新平台和资源，"
        "具备开展标准试验验证、符合性测试的能力",
        "其他有利于创新基地建设和发展的条件",
    ),
}

INDICATOR_KINDS = {"quantity": "数量指标", "technical": "技术指标", "industrialization": "产业化指标"}
CONSTRUCTION_YEARS = 2

# The text fields of the narrative sections, in the form's order, with their headings.
NARRATIVE_FIELDS = {
    "significance": (("significance", "（一）意义"), ("necessity", "（二）必要性")),
    "feasibility": (("work_foundation", "（一）工作基础"), ("qualifications", "（二）资质条件"),
                    ("advantages", "（三）优势分析")),
    "safeguards": (("organization_mechanism", "（一）组织机制"), ("policy_support", "（二）政策支持"),
                   ("funds_and_talent", "（三）资金人才")),
}


def is_open_ended(base_type: str, item: int) -> bool:
    return item == len(QUALIFICATION_CHECKLISTS[base_type])


def construction_period(start: date) -> tuple[date, date]:
    """The 2-year construction period from its declared start: first and last day."""
    try:
        anniversary = start.replace(year=start.year + CONSTRUCTION_YEARS)
    except ValueError:  # 29 February: the period ends on 28 February two years on
        anniversary = start.replace(year=start.year + CONSTRUCTION_YEARS, day=28) + timedelta(days=1)
    return start, anniversary - timedelta(days=1)


def files_referenced(sections: dict[str, Any]) -> list[str]:
    """SHA-256 of every file the plan cites: qualification evidence, then section 六, in order."""
    seen: list[str] = []
    for item in (sections.get("qualifications") or {}).get("items") or []:
        for sha in item.get("evidence") or []:
            if sha not in seen:
                seen.append(sha)
    for item in (sections.get("attachments") or {}).get("items") or []:
        if item.get("sha256") and item["sha256"] not in seen:
            seen.append(item["sha256"])
    return seen


# --- completeness -------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One missing or invalid item of the plan, by section and field."""

    section: str
    field: str
    problem: str  # "missing" or "invalid"
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


class _Findings:
    def __init__(self):
        self.problems: list[Problem] = []

    def missing(self, section: str, field: str, message: str) -> None:
        self.problems.append(Problem(section, field, "missing", message))

    def invalid(self, section: str, field: str, message: str) -> None:
        self.problems.append(Problem(section, field, "invalid", message))

    def require(self, section: str, content: dict, field: str, label: str) -> bool:
        if _blank(content.get(field)):
            self.missing(section, f"{section}.{field}", f"{label}未填写")
            return False
        return True


def problems(base_type: str, sections: dict[str, Any], files: set[str], *,
             applicant: dict | None, organizing_unit: dict | None, recommending_unit: dict | None,
             name_is_valid) -> list[Problem]:
    """Every missing or invalid item, section by section in the form's order.

    The registers are passed in as found now (`None`: not in the register), so the
    check sees the units the plan would be frozen with.
    """
    found = _Findings()
    _basic(found, base_type, sections.get("basic") or {}, applicant, organizing_unit, recommending_unit,
           name_is_valid)
    for section, fields in NARRATIVE_FIELDS.items():
        content = sections.get(section) or {}
        for field, heading in fields:
            found.require(section, content, field, heading.split("）", 1)[-1])
    _qualifications(found, base_type, sections.get("qualifications") or {}, files)
    _goals(found, sections.get("goals") or {})
    _attachments(found, sections.get("attachments") or {}, files)
    _applicant_opinion(found, sections.get("applicant_opinion") or {})
    order = {section: i for i, section in enumerate(SECTIONS)}
    return sorted(found.problems, key=lambda p: order[p.section])


def by_section(found: list[Problem]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for problem in found:
        grouped.setdefault(problem.section, []).append(problem.as_dict())
    return grouped


def _basic(found: _Findings, base_type: str, basic: dict, applicant, organizing_unit, recommending_unit,
           name_is_valid) -> None:
    s = "basic"
    if applicant is None:
        found.missing(s, "basic.applicant", "申报单位尚未注册")
    if found.require(s, basic, "name", "创新基地名称") and not name_is_valid(basic["name"]):
        found.invalid(s, "basic.name", "创新基地名称应为“国家技术标准创新基地（×××）”")
    if base_type == "regional":
        if found.require(s, basic, "region", "创新基地所在区域") and regions.enclosing_region(basic["region"]) is None:
            found.invalid(s, "basic.region", f"区域代码 {basic['region']} 不在行政区划代码表中")
    elif found.require(s, basic, "domain", "创新基地所属领域") and not catalogue.is_known_domain(basic["domain"]):
        found.invalid(s, "basic.domain", f"领域代码 {basic['domain']} 不在领域目录中")
    for role, unit, label in (("organizing", organizing_unit, "申报组织单位"),
                              ("recommending", recommending_unit, "推荐单位")):
        field = f"basic.{role}_unit_id"
        if _blank(basic.get(f"{role}_unit_id")):
            found.missing(s, field, f"{label}未选择")
        elif unit is None:
            found.invalid(s, field, f"{label} {basic[f'{role}_unit_id']} 不在登记册中")
        else:
            _unit_serves_the_base(found, field, base_type, basic, unit, label)
    for person, label in (("head", "单位负责人"), ("contact", "联系人")):
        details = basic.get(person) or {}
        if _blank(details.get("name")):
            found.missing(s, f"basic.{person}.name", f"{label}未填写")
        if _blank(details.get("title")):
            found.missing(s, f"basic.{person}.title", f"{label}职务/职称未填写")
    contact = basic.get("contact") or {}
    if _blank(contact.get("phone")):
        found.missing(s, "basic.contact.phone", "联系电话未填写")
    if _blank(contact.get("email")):
        found.missing(s, "basic.contact.email", "电子邮箱未填写")
    found.require(s, basic, "postcode", "邮编")
    found.require(s, basic, "address", "通讯地址")


def _unit_serves_the_base(found: _Findings, field: str, base_type: str, basic: dict, unit: dict,
                          label: str) -> None:
    """A local body serves the area it governs; an industry body the domain it covers."""
    if base_type == "regional":
        if basic.get("region") and unit.get("region") and not regions.contains(unit["region"], basic["region"]):
            found.invalid("basic", field,
                          f"{label}的行政区域 {unit['region']} 不包含创新基地所在区域 {basic['region']}")
    elif unit.get("domain") and basic.get("domain") and not catalogue.are_similar(unit["domain"], basic["domain"]):
        found.invalid("basic", field,
                      f"{label}所属领域 {unit['domain']} 与创新基地领域 {basic['domain']} 不相同或相近")


def _qualifications(found: _Findings, base_type: str, content: dict, files: set[str]) -> None:
    s = "qualifications"
    declared = {item["item"]: (i, item) for i, item in enumerate(content.get("items") or [])}
    for number, requirement in enumerate(QUALIFICATION_CHECKLISTS[base_type], start=1):
        entry = declared.get(number)
        field = f"qualifications.items[{number}]"
        if entry is None:
            if not is_open_ended(base_type, number):
                found.missing(s, field, f"资质条件第{number}项未声明：{requirement}")
            continue
        _, item = entry
        if not item.get("declared"):
            if not is_open_ended(base_type, number):
                found.invalid(s, field, f"资质条件第{number}项声明为不具备：{requirement}")
            continue
        if _blank(item.get("statement")):
            found.missing(s, f"{field}.statement", f"资质条件第{number}项缺少说明")
        evidence = item.get("evidence") or []
        if not evidence:
            found.missing(s, f"{field}.evidence", f"资质条件第{number}项缺少证明材料")
        for sha in evidence:
            if sha not in files:
                found.invalid(s, f"{field}.evidence", f"资质条件第{number}项的证明材料 {sha[:12]}… 未上传")


def _goals(found: _Findings, goals: dict) -> None:
    s = "goals"
    found.require(s, goals, "goal", "目标")
    if not goals.get("key_tasks"):
        found.missing(s, "goals.key_tasks", "重点任务未填写")
    indicators = goals.get("indicators") or []
    for kind, label in INDICATOR_KINDS.items():
        if not any(i.get("kind") == kind for i in indicators):
            found.missing(s, f"goals.indicators.{kind}", f"考核指标缺少{label}")
    schedule = goals.get("schedule") or {}
    if _blank(schedule):
        found.missing(s, "goals.schedule", "进度计划未填写")
        return
    start = schedule.get("start_date")
    if _blank(start):
        found.missing(s, "goals.schedule.start_date", "建设期起始日期未填写")
    if not schedule.get("milestones"):
        found.missing(s, "goals.schedule.milestones", "重点节点安排未填写")
    elif start:
        first, last = construction_period(date.fromisoformat(start))
        for i, milestone in enumerate(schedule["milestones"]):
            if not first.isoformat() <= milestone["date"] <= last.isoformat():
                found.invalid(s, f"goals.schedule.milestones.{i}.date",
                              f"节点日期 {milestone['date']} 不在建设期 {first}—{last} 内")
    years = {node.get("year") for node in schedule.get("yearly_nodes") or []}
    for year in range(1, CONSTRUCTION_YEARS + 1):
        if year not in years:
            found.missing(s, f"goals.schedule.yearly_nodes.{year}", f"第{year}年度安排未填写")
    if _blank(schedule.get("mid_term_goal")):
        found.missing(s, "goals.schedule.mid_term_goal", "中期目标未填写")


def _attachments(found: _Findings, content: dict, files: set[str]) -> None:
    items = content.get("items") or []
    if not items:
        found.missing("attachments", "attachments.items", "附件（证明材料）未上传")
    for i, item in enumerate(items):
        if item.get("sha256") not in files:
            found.invalid("attachments", f"attachments.items.{i}.sha256", f"附件“{item.get('title')}”的文件未上传")


def _applicant_opinion(found: _Findings, content: dict) -> None:
    s = "applicant_opinion"
    found.require(s, content, "opinion", "申报单位意见")
    found.require(s, content, "head", "负责人")
    found.require(s, content, "date", "日期")


# --- freezing, digest, difference --------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def digest(plan: dict) -> str:
    """SHA-256 of the frozen plan's canonical JSON."""
    return hashlib.sha256(canonical_json(plan)).hexdigest()


def _leaves(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(_leaves(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(_leaves(item, f"{path}.{i}" if path else str(i)))
        return out
    return {path: value}


def diff(before: dict, after: dict) -> dict[str, dict]:
    """Section by section: whether it changed, and each changed field with both values."""
    result = {}
    for section in SECTIONS:
        old = (before.get("sections") or {}).get(section)
        new = (after.get("sections") or {}).get(section)
        old_leaves, new_leaves = _leaves(old, ""), _leaves(new, "")
        changes = [
            {"field": f"{section}.{path}" if path else section, "from": old_leaves.get(path),
             "to": new_leaves.get(path)}
            for path in sorted(set(old_leaves) | set(new_leaves))
            if old_leaves.get(path) != new_leaves.get(path) or (path in old_leaves) != (path in new_leaves)
        ]
        result[section] = {"changed": bool(changes), "changes": changes}
    return result


def changed_sections(before: dict | None, after: dict) -> list[str]:
    if before is None:
        return list(SECTIONS)
    return [section for section, change in diff(before, after).items() if change["changed"]]


def freeze(*, application_id: str, base_type: str, sections: dict[str, Any], files: dict[str, dict],
           applicant: dict | None, organizing_unit: dict | None, recommending_unit: dict | None) -> dict:
    """The plan as it is submitted and printed: section 一 expanded with the applicant's
    registration and the units' register entries as they read now, and the files it cites."""
    basic = dict(sections.get("basic") or {})
    region, domain = basic.get("region"), basic.get("domain")
    enclosing = regions.enclosing_region(region) if region else None
    found = catalogue.domain(domain) if domain else None
    basic.update({
        "base_type": base_type,
        "region_name": enclosing.name if enclosing else None,
        "domain_name": found.name if found else None,
        "applicant": _registered(applicant, ("credit_code", "name", "category", "region")),
        "organizing_unit": _registered(organizing_unit, ("unit_id", "name", "kind", "region", "domain", "contact",
                                                         "postcode", "address")),
        "recommending_unit": _registered(recommending_unit, ("unit_id", "name", "kind", "region", "domain")),
    })
    return {
        "application_id": str(application_id),
        "base_type": base_type,
        "sections": {**{section: sections.get(section) for section in SECTIONS}, "basic": basic},
        "files": {sha: files[sha] for sha in files_referenced(sections) if sha in files},
    }


def _registered(entry: dict | None, keys: tuple[str, ...]) -> dict | None:
    return {key: entry.get(key) for key in keys} if entry else None
