"""The draft recommendation letter (推荐函) a recommending unit prints, signs and stamps
before uploading its scan: filled from the application it recommends."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.printable import Document, Heading, KeyValues, Paragraph
from shared.reference import catalogue
from shared.reference.regions import region_name

BASE_TYPE_LABELS = {"regional": "区域（综合）", "domain": "领域（专业）", "international": "国际"}
BLANK = "＿＿＿＿＿＿"


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
    recommending_contact: dict | None
    opinion: dict | None
    plan_version: int
    digest: str
    receipt_number: str
    drafted_at: datetime


def title_of(facts: LetterFacts) -> str:
    return f"关于推荐{facts.applicant_name}申报国家技术标准创新基地的函"


def _region(code: str | None) -> str:
    if not code:
        return BLANK
    name = region_name(code)
    return f"{name}（{code}）" if name else code


def _domain(code: str | None) -> str:
    found = catalogue.domain(code) if code else None
    if found is None:
        return code or BLANK
    if found.parent is None:
        return f"{found.name}（{found.code}）"
    return f"{catalogue.domain(found.parent).name} · {found.name}（{found.code}）"


def _scope(facts: LetterFacts) -> tuple[str, str]:
    if facts.base_type == "regional":
        return "所在区域", _region(facts.region)
    return "所属领域", _domain(facts.domain)


def _commitment(facts: LetterFacts) -> str | None:
    """The unit's own statement of the guide's §四 quota, which it signs."""
    if facts.base_type == "regional":
        return (f"我单位确认：本年度在{_region(facts.region)}区域范围内，仅推荐此一个区域（综合）"
                f"创新基地申报方案。")
    if facts.base_type == "domain":
        first = catalogue.first_level_of(facts.domain) if facts.domain else None
        scope = catalogue.domain(first).name if first else _domain(facts.domain)
        return f"我单位确认：本年度在{scope}及相近领域范围内，仅推荐此一个领域（专业）创新基地申报方案。"
    return None


def _opinion(opinion: dict | None) -> str:
    if not opinion:
        return BLANK
    return f"{opinion['text']}（负责人：{opinion['head']}，{opinion['date']}）"


def recommendation_letter(facts: LetterFacts) -> Document:
    """The letter as a printable document: the body, the particulars, the signature block."""
    contact = facts.recommending_contact or {}
    scope_label, scope = _scope(facts)
    type_label = BASE_TYPE_LABELS[facts.base_type]
    blocks = [
        Paragraph("国家标准化管理委员会："),
        Paragraph(
            f"根据《国家技术标准创新基地管理办法（试行）》和《国家技术标准创新基地申报指南》，"
            f"{facts.organizing_unit_name}已对{facts.applicant_name}编制的《国家技术标准创新基地申报方案》"
            f"审核盖章并报送我单位。经审核，该申报方案符合申报要求，现推荐{facts.applicant_name}"
            f"申报{facts.name}。"
        ),
        Heading("推荐事项", 2),
        KeyValues([
            ("创新基地名称", facts.name),
            ("创新基地类型", type_label),
            (scope_label, scope),
            ("申报单位", facts.applicant_name),
            ("统一社会信用代码", facts.applicant_credit_code or BLANK),
            ("申报组织单位", facts.organizing_unit_name),
            ("申报组织单位意见", _opinion(facts.opinion)),
            ("推荐单位", facts.recommending_unit_name),
            ("申报方案", f"第 {facts.plan_version} 版；回执号 {facts.receipt_number}；摘要 {facts.digest}"),
        ]),
    ]
    commitment = _commitment(facts)
    if commitment:
        blocks.append(Paragraph(commitment))
    blocks += [
        Paragraph("特此函告。"),
        Paragraph(f"联系人：{contact.get('name') or BLANK}    联系电话：{contact.get('phone') or BLANK}"),
        Paragraph(f"推荐单位（公章）：{facts.recommending_unit_name}\n负责人（签字）：{BLANK}\n\n"
                  f"{' ' * 40}年    月    日"),
    ]
    return Document(
        title=title_of(facts),
        subtitle="（草稿：打印后由负责人签字、加盖推荐单位公章，扫描上传）",
        header_left=f"申报回执号：{facts.receipt_number}",
        header_right=f"申报方案第 {facts.plan_version} 版",
        blocks=blocks,
        created_at=facts.drafted_at,
    )
