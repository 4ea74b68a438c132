"""The printable plan (系统生成的《申报方案》, 附件2): a frozen plan laid out as the form — cover,
填写说明, sections 一 to 七 with the form's tables and 七's two opinion boxes — for an A4,
double-sided, bound print, its evidence appended, and a verification block (number, version,
digest, QR code of the portal's verification page) on its last page.

The digest printed is the one logged with the version (`plan.digest` of the frozen plan):
verifying a paper copy means finding that digest in the log (`services/intake/printing.py`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Mapping
from urllib.parse import urlencode

from shared.clock import BEIJING
from shared.printable import appended, chinese_date, qr_png, render, resource_url, templates
from services.intake import plan as plans
from services.intake.domain import APPLICANT_CATEGORIES, UNIT_KIND_NAMES

FILLING_NOTES = (
    "一、创新基地名称统一为：“国家技术标准创新基地（×××）”，如：国家技术标准创新基地（中关村）。编号由国家标准委统一填写。",
    "二、申报单位应登录“国家技术标准创新基地管理系统”，按照系统提示在线填报。",
    "三、申报方案中的单位名称，请填写全称，并与单位公章一致。",
    "四、相关证明材料应作为申报方案附件上报。",
    "五、统一使用A4纸双面打印、装订成册。",
    "六、本申报方案一式四份。",
)
DRAFT_LABEL = "草稿（未提交）"
UNNUMBERED = "（待国家标准委编号）"  # the verification block's number before SAC assigns one
VERIFY_PATH = "/verify"
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
KIND_NAMES = {"application/pdf": "PDF", **IMAGE_TYPES}
TEMPLATES = templates(Path(__file__).resolve().parent / "print_templates")


@lru_cache(maxsize=1)
def portal_url() -> str:
    """Where the QR code points: the portal anyone holding the paper can open (read once)."""
    return os.environ.get("INNOBASE_PORTAL_URL", "http://127.0.0.1:8080").rstrip("/")


def verification_url(digest: str) -> str:
    return f"{portal_url()}{VERIFY_PATH}?{urlencode({'digest': digest})}"


@dataclass(frozen=True)
class Attachment:
    """One row of 六、附件: a title the applicant gave and the file it names."""

    title: str
    sha256: str
    name: str
    media_type: str
    size: int

    @property
    def kind(self) -> str:
        return KIND_NAMES.get(self.media_type, self.media_type)

    @property
    def size_text(self) -> str:
        return f"{self.size / 1024:.1f} KB" if self.size >= 1024 else f"{self.size} B"


def pdf(frozen: dict, *, version_label: str, digest: str, number: str | None,
        submitted_at: datetime | None, organizing_opinion: dict | None = None,
        evidence: Mapping[str, bytes] | None = None) -> bytes:
    """The plan as A4 PDF bytes; the same inputs give the same bytes. A working copy (not
    submitted: `submitted_at` None) prints as a draft, watermarked on every page and
    without the QR code. `evidence` (SHA-256 → content) appends the attachments it holds."""
    draft = submitted_at is None
    evidence = evidence or {}
    rows = attachments(frozen)
    footline = (f"编号：{number or '待编号'} · {version_label} · 摘要 SHA-256：{digest}"
                + (" · 草稿，非正式文本" if draft else ""))
    shown = [a for a in _unique(rows) if a.media_type in IMAGE_TYPES and a.sha256 in evidence]
    pdfs = [evidence[a.sha256] for a in _unique(rows) if a.media_type == "application/pdf" and a.sha256 in evidence]
    resources = {a.sha256: (evidence[a.sha256], a.media_type) for a in shown}
    if not draft:
        resources["qr"] = (qr_png(verification_url(digest)), "image/png")
    html = TEMPLATES.get_template("plan.html").render(
        title=f"{frozen['sections']['basic'].get('name') or '国家技术标准创新基地'} 申报方案",
        draft=draft, number=number, unnumbered=UNNUMBERED, version_label=version_label, digest=digest, footline=footline,
        verify_page=portal_url() + VERIFY_PATH, qr=None if draft else resource_url("qr"),
        cover=_cover(frozen["sections"]["basic"], submitted_at), notes=FILLING_NOTES,
        titles=plans.SECTION_TITLES, basic=_basic(frozen["sections"]["basic"]),
        narratives=_narratives(frozen), goals=_goals(frozen["sections"].get("goals") or {}),
        attachments=[{"title": a.title, "name": a.name, "kind": a.kind, "size": a.size_text, "sha256": a.sha256}
                     for a in rows],
        opinions=_opinions(frozen["sections"].get("applicant_opinion") or {}, organizing_opinion),
        images=[{"title": a.title, "name": a.name, "src": resource_url(a.sha256)} for a in shown],
        overlay=bool(pdfs),
    )
    body = render(html, title="国家技术标准创新基地申报方案", created_at=submitted_at, resources=resources)
    return appended(body, pdfs, overlay_last=bool(pdfs))


def attachments(frozen: dict) -> list[Attachment]:
    """Every file the plan names, in its order: the attachments of 六, then each qualification's
    evidence (三（二）)."""
    files = frozen.get("files") or {}
    sections = frozen["sections"]
    named = [(item["title"], item["sha256"]) for item in (sections.get("attachments") or {}).get("items") or []]
    for item in (sections.get("qualifications") or {}).get("items") or []:
        named += [(f"资质条件第{item['item']}项证明材料", sha) for sha in item.get("evidence") or []]
    rows = []
    for title, sha in named:
        file = files.get(sha) or {}
        rows.append(Attachment(title=title, sha256=sha, name=_value(file.get("name")),
                               media_type=_value(file.get("media_type")), size=int(file.get("size") or 0)))
    return rows


def _unique(rows: list[Attachment]) -> list[Attachment]:
    """One copy of each file, however many rows name it."""
    seen, kept = set(), []
    for row in rows:
        if row.sha256 not in seen:
            seen.add(row.sha256)
            kept.append(row)
    return kept


def _value(value) -> str:
    return "" if value is None else str(value)


def _cover(basic: dict, submitted_at: datetime | None) -> dict:
    return {"name": _value(basic.get("name")),
            "applicant": _value((basic.get("applicant") or {}).get("name")),
            "organizing": _value((basic.get("organizing_unit") or {}).get("name")),
            "submitted": chinese_date(submitted_at.astimezone(BEIJING)) if submitted_at else "（未提交）"}


def _ticks(chosen: str | None) -> str:
    return "　".join(("■ " if key == chosen else "□ ") + name for key, name in plans.BASE_TYPE_NAMES.items())


def _basic(basic: dict) -> list[dict]:
    """一、基本信息 as the form's four tables; a row holds one or two (label, value) pairs."""
    applicant = basic.get("applicant") or {}
    head, contact = basic.get("head") or {}, basic.get("contact") or {}
    organizing = basic.get("organizing_unit") or {}
    organizing_contact = organizing.get("contact") or {}
    recommending = basic.get("recommending_unit") or {}
    where = ([("所在区域", f"{_value(basic.get('region_name'))}（{_value(basic.get('region'))}）")]
             if basic.get("base_type") == "regional"
             else [("所属领域", f"{_value(basic.get('domain_name'))}（{_value(basic.get('domain'))}）")])

    def person_rows(person: dict, place: dict) -> list[list[tuple[str, str]]]:
        return [[("联 系 人", _value(person.get("name"))), ("职务/职称", _value(person.get("title")))],
                [("联系电话", _value(person.get("phone"))), ("传真号码", _value(person.get("fax")))],
                [("邮 编", _value(place.get("postcode"))), ("电子邮箱", _value(person.get("email")))],
                [("通讯地址", _value(place.get("address")))]]

    return [
        {"heading": "（一）创新基地基本信息",
         "rows": [[("创新基地名称", _value(basic.get("name")))], [("创新基地类型", _ticks(basic.get("base_type")))],
                  where]},
        {"heading": "（二）申报单位基本信息",
         "rows": [[("单位名称", _value(applicant.get("name")))],
                  [("统一社会信用代码/组织机构代码", _value(applicant.get("credit_code")))],
                  [("单位类别", APPLICANT_CATEGORIES.get(applicant.get("category"), _value(applicant.get("category"))))],
                  [("单位负责人", _value(head.get("name"))), ("职务/职称", _value(head.get("title")))],
                  *person_rows(contact, basic)]},
        {"heading": "（三）申报组织单位基本信息",
         "rows": [[("单位名称", _value(organizing.get("name")))], *person_rows(organizing_contact, organizing)]},
        {"heading": "（四）推荐单位基本信息",
         "rows": [[("单位名称", _value(recommending.get("name")))],
                  [("单位类型", UNIT_KIND_NAMES.get(recommending.get("kind"), ""))]]},
    ]


def _paragraphs(text: str | None) -> list[str]:
    return [part for part in (text or "").split("\n\n") if part.strip()] or ["（未填写）"]


def _narrative(section: str, sections: dict) -> dict:
    content = sections.get(section) or {}
    return {"title": plans.SECTION_TITLES[section], "table": None,
            "parts": [(heading, _paragraphs(content.get(field))) for field, heading in plans.NARRATIVE_FIELDS[section]]}


def _narratives(frozen: dict) -> dict:
    sections = frozen["sections"]
    feasibility = _narrative("feasibility", sections)
    declared = {item["item"]: item for item in (sections.get("qualifications") or {}).get("items") or []}
    names = {a.sha256: a.name for a in attachments(frozen)}
    rows = []
    for number, requirement in enumerate(plans.QUALIFICATION_CHECKLISTS[frozen["base_type"]], start=1):
        item = declared.get(number) or {}
        met = "具备" if item.get("declared") else ("不具备" if item else "未声明")
        rows.append([str(number), requirement, met, _value(item.get("statement")),
                     "；".join(names.get(sha) or sha[:12] for sha in item.get("evidence") or [])])
    # the table of qualification items stands under （二）资质条件, the second heading
    feasibility.update(table={"columns": ["序号", "资质条件", "是否具备", "说明", "证明材料"], "rows": rows,
                                  "widths": [7, 35, 11, 27, 20]},
                       table_after=2)
    return {"before": [_narrative("significance", sections), feasibility],
            "after": [_narrative("safeguards", sections)]}


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _value(value)


def _goals(goals: dict) -> dict:
    schedule = goals.get("schedule") or {}
    period = []
    if schedule.get("start_date"):
        first, last = plans.construction_period(datetime.fromisoformat(schedule["start_date"]).date())
        period = [f"建设期：{chinese_date(first)}至{chinese_date(last)}（{plans.CONSTRUCTION_YEARS}年）"]
    return {
        "goal": _paragraphs(goals.get("goal")),
        "tables": [
            {"heading": "（二）重点任务", "before": [], "columns": ["序号", "任务", "主要内容"], "widths": [8, 22, 70],
             "rows": [[str(i), t["title"], t["content"]] for i, t in enumerate(goals.get("key_tasks") or [], 1)]},
            {"heading": "（三）考核指标", "before": [], "columns": ["序号", "类别", "指标", "目标值", "单位"],
             "widths": [8, 18, 44, 16, 14],
             "rows": [[str(n), plans.INDICATOR_KINDS.get(i["kind"], i["kind"]), i["metric"],
                       _number(i["target_value"]), i["unit"]]
                      for n, i in enumerate(goals.get("indicators") or [], 1)]},
            {"heading": "（四）进度计划", "before": period, "columns": ["年度", "年度安排"], "widths": [16, 84],
             "rows": [[f"第{n['year']}年", n["description"]]
                      for n in sorted(schedule.get("yearly_nodes") or [], key=lambda n: n["year"])]},
            {"heading": "重点节点安排", "before": [], "columns": ["时间节点", "重点节点安排"], "widths": [22, 78],
             "rows": [[chinese_date(m["date"]), m["description"]]
                      for m in sorted(schedule.get("milestones") or [], key=lambda m: m["date"])]},
        ],
        "mid_term": _paragraphs(schedule.get("mid_term_goal")),
    }


def _opinions(applicant_opinion: dict, organizing_opinion: dict | None) -> list[dict]:
    """七's two boxes: the typed opinion and date; the seal and the head's signature are left
    for ink (a typed name is no signature)."""
    def box(label: str, opinion: dict | None) -> dict:
        opinion = opinion or {}
        text = opinion.get("opinion") or opinion.get("text")
        return {"label": label, "paragraphs": _paragraphs(text) if text else [],
                "date": chinese_date(opinion.get("date"))}

    return [box("申报单位意见", applicant_opinion), box("申报组织单位意见", organizing_opinion)]
