"""The recommendation letter (推荐函) a recommending unit prints, stamps and uploads: an official
letter filled from the application it recommends, with the 发文字号 the unit entered. Until
it entered one the letter is a preview, watermarked 草稿 · 非正式文本 on every page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from shared.printable import chinese_date, render, templates
from shared.reference import catalogue
from shared.reference.regions import region_name

BASE_TYPE_LABELS = {"regional": "区域（综合）", "domain": "领域（专业）", "international": "国际"}
BLANK = "＿＿＿＿＿＿"
TEMPLATES = templates(Path(__file__).resolve().parent / "print_templates")


@dataclass(frozen=True)
class LetterFacts:
    """What the letter says, gathered from the review item and the registered units."""

    name: str
    base_type: str
    region: str | None
    domain: str | None
    applicant_name: str
    applicant_credit_code: str | None
    organizing_unit_name: str
    recommending_unit_name: str
    recommending_region: str | None    # the unit's registered region: its jurisdiction (区域范围)
    recommending_contact: dict | None
    plan_version: int
    digest: str
    receipt_number: str
    drafted_at: datetime
    reference: str | None = None       # 发文字号, e.g. 苏政函〔2027〕12号, entered by the unit
    issued_on: date | None = None      # the day it entered the 发文字号: the letter's date

    @property
    def is_preview(self) -> bool:
        return self.reference is None


def title_of(facts: LetterFacts) -> str:
    return f"关于推荐{facts.applicant_name}申报国家技术标准创新基地的函"


def _domain(code: str | None) -> str:
    found = catalogue.domain(code) if code else None
    if found is None:
        return code or BLANK
    if found.parent is None:
        return f"{found.name}（{found.code}）"
    return f"{catalogue.domain(found.parent).name} · {found.name}（{found.code}）"


def jurisdiction(facts: LetterFacts) -> str:
    """The recommending unit's own region (its 区域范围), e.g. 江苏省: where a regional base it
    recommends lies, not the base's city."""
    return (region_name(facts.recommending_region) if facts.recommending_region else None) or BLANK


def _commitment(facts: LetterFacts) -> str | None:
    """The unit's own statement of the guide's §四 quota, which it stamps."""
    if facts.base_type == "regional":
        return (f"我单位承诺：本年度在{jurisdiction(facts)}行政区域范围内，仅推荐此一个区域（综合）"
                f"创新基地申报方案。")
    if facts.base_type == "domain":
        first = catalogue.first_level_of(facts.domain) if facts.domain else None
        scope = catalogue.domain(first).name if first else _domain(facts.domain)
        return f"我单位承诺：本年度在{scope}及相近领域范围内，仅推荐此一个领域（专业）创新基地申报方案。"
    return None


def _where(facts: LetterFacts) -> str:
    if facts.base_type == "regional":
        name = region_name(facts.region) if facts.region else None
        return f"所在区域为{name or facts.region or BLANK}"
    return f"所属领域为{_domain(facts.domain)}"


def body(facts: LetterFacts) -> list[str]:
    credit = f"（统一社会信用代码：{facts.applicant_credit_code or BLANK}）"
    paragraphs = [
        f"根据《国家技术标准创新基地管理办法（试行）》和《国家技术标准创新基地申报指南》，"
        f"{facts.organizing_unit_name}已对{facts.applicant_name}{credit}编制的《国家技术标准创新基地申报方案》"
        f"审核盖章并报送我单位。经审核，该申报方案符合申报要求，现推荐{facts.applicant_name}申报"
        f"{facts.name}，创新基地类型为{BASE_TYPE_LABELS[facts.base_type]}，{_where(facts)}。",
        f"所推荐的申报方案为第{facts.plan_version}版（申报回执号：{facts.receipt_number}；"
        f"摘要SHA-256：{facts.digest}）。",
    ]
    commitment = _commitment(facts)
    return paragraphs + ([commitment] if commitment else [])


def pdf(facts: LetterFacts) -> bytes:
    """The letter as A4 PDF bytes; a preview (no 发文字号 yet) carries the draft watermark."""
    contact = facts.recommending_contact or {}
    html = TEMPLATES.get_template("letter.html").render(
        title=title_of(facts), draft=facts.is_preview, reference=facts.reference, body=body(facts),
        unit=facts.recommending_unit_name, issued_on=chinese_date(facts.issued_on),
        contact_name=contact.get("name") or BLANK, contact_phone=contact.get("phone") or BLANK,
    )
    return render(html, title=title_of(facts), created_at=facts.drafted_at)
