"""The printable plan (系统生成的《申报方案》): a frozen plan laid out as 附件2, cover,
filling notes and sections 一 to 七 in the form's order and headings, with the number,
version and digest in the header of every page.
"""
from __future__ import annotations

from datetime import datetime

from shared.clock import BEIJING
from shared.printable import Document, Heading, KeyValues, PageBreak, Paragraph, Table, render
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
PENDING_NUMBER = "（由国家标准委统一填写）"
SIGNATURE = "单位（公章）：\n负责人（签字）：{head}\n{date}"


def pdf(frozen: dict, *, version_label: str, digest: str, number: str | None,
        submitted_at: datetime | None, organizing_opinion: dict | None = None) -> bytes:
    """The plan as A4 PDF bytes; the same inputs give the same bytes."""
    return render(document(frozen, version_label=version_label, digest=digest, number=number,
                           submitted_at=submitted_at, organizing_opinion=organizing_opinion))


def document(frozen: dict, *, version_label: str, digest: str, number: str | None,
             submitted_at: datetime | None, organizing_opinion: dict | None = None) -> Document:
    sections = frozen["sections"]
    basic = sections["basic"]
    files = frozen.get("files") or {}
    blocks = [
        *_cover(basic, number, submitted_at),
        PageBreak(),
        Heading("填 写 说 明", 1),
        *[Paragraph(note) for note in FILLING_NOTES],
        PageBreak(),
        *_basic(basic),
        *_narrative("significance", sections),
        *_feasibility(frozen["base_type"], sections, files),
        *_goals(sections.get("goals") or {}),
        *_narrative("safeguards", sections),
        *_attachments(sections, files),
        *_opinions(sections.get("applicant_opinion") or {}, organizing_opinion),
    ]
    return Document(
        title="国家技术标准创新基地",
        subtitle="申 报 方 案",
        header_left=f"编号：{number or '（待编号）'}　{version_label}",
        header_right=f"摘要 SHA-256：{digest}",
        blocks=blocks,
        created_at=submitted_at,
    )


def _value(value) -> str:
    return "" if value is None else str(value)


def _cover(basic: dict, number: str | None, submitted_at: datetime | None) -> list:
    applicant = basic.get("applicant") or {}
    organizing = basic.get("organizing_unit") or {}
    when = submitted_at.astimezone(BEIJING).strftime("%Y年%m月%d日") if submitted_at else "（未提交）"
    return [
        KeyValues([
            ("编号", number or PENDING_NUMBER),
            ("创新基地名称", _value(basic.get("name"))),
            ("申报单位（盖章）", _value(applicant.get("name"))),
            ("申报组织单位（盖章）", _value(organizing.get("name"))),
            ("申报时间", when),
        ]),
        Paragraph("国家标准化管理委员会印制"),
    ]


def _ticks(chosen: str) -> str:
    return "　".join(("■ " if key == chosen else "□ ") + name for key, name in plans.BASE_TYPE_NAMES.items())


def _person(person: dict | None) -> dict:
    return person or {}


def _basic(basic: dict) -> list:
    applicant = basic.get("applicant") or {}
    head, contact = _person(basic.get("head")), _person(basic.get("contact"))
    organizing = basic.get("organizing_unit") or {}
    organizing_contact = _person(organizing.get("contact"))
    recommending = basic.get("recommending_unit") or {}
    where = ([("所在区域", f"{_value(basic.get('region_name'))}（{_value(basic.get('region'))}）")]
             if basic.get("base_type") == "regional"
             else [("所属领域", f"{_value(basic.get('domain_name'))}（{_value(basic.get('domain'))}）")])
    return [
        Heading(plans.SECTION_TITLES["basic"], 1),
        Heading("（一）创新基地基本信息", 2),
        KeyValues([("创新基地名称", _value(basic.get("name"))), ("创新基地类型", _ticks(basic.get("base_type"))),
                   *where]),
        Heading("（二）申报单位基本信息", 2),
        KeyValues([
            ("单位名称", _value(applicant.get("name"))),
            ("统一社会信用代码/组织机构代码", _value(applicant.get("credit_code"))),
            ("单位类别", APPLICANT_CATEGORIES.get(applicant.get("category"), _value(applicant.get("category")))),
            ("单位负责人", _value(head.get("name"))), ("职务/职称", _value(head.get("title"))),
            ("联 系 人", _value(contact.get("name"))), ("职务/职称", _value(contact.get("title"))),
            ("联系电话", _value(contact.get("phone"))), ("传真号码", _value(contact.get("fax"))),
            ("邮 编", _value(basic.get("postcode"))), ("电子邮箱", _value(contact.get("email"))),
            ("通讯地址", _value(basic.get("address"))),
        ]),
        Heading("（三）申报组织单位基本信息", 2),
        KeyValues([
            ("单位名称", _value(organizing.get("name"))),
            ("联 系 人", _value(organizing_contact.get("name"))), ("职务/职称", _value(organizing_contact.get("title"))),
            ("联系电话", _value(organizing_contact.get("phone"))), ("传真号码", _value(organizing_contact.get("fax"))),
            ("邮 编", _value(organizing.get("postcode"))), ("电子邮箱", _value(organizing_contact.get("email"))),
            ("通讯地址", _value(organizing.get("address"))),
        ]),
        Heading("（四）推荐单位基本信息", 2),
        KeyValues([("单位名称", _value(recommending.get("name"))),
                   ("单位类型", UNIT_KIND_NAMES.get(recommending.get("kind"), ""))]),
    ]


def _paragraphs(text: str | None) -> list:
    return [Paragraph(part) for part in (text or "").split("\n\n")] if text else [Paragraph("（未填写）")]


def _narrative(section: str, sections: dict) -> list:
    content = sections.get(section) or {}
    blocks = [PageBreak(), Heading(plans.SECTION_TITLES[section], 1)]
    for field, heading in plans.NARRATIVE_FIELDS[section]:
        blocks += [Heading(heading, 2), *_paragraphs(content.get(field))]
    return blocks


def _file_names(shas: list[str], files: dict) -> str:
    return "；".join(_value((files.get(sha) or {}).get("name") or sha[:12]) for sha in shas)


def _feasibility(base_type: str, sections: dict, files: dict) -> list:
    content = sections.get("feasibility") or {}
    declared = {item["item"]: item for item in (sections.get("qualifications") or {}).get("items") or []}
    rows = []
    for number, requirement in enumerate(plans.QUALIFICATION_CHECKLISTS[base_type], start=1):
        item = declared.get(number) or {}
        met = "具备" if item.get("declared") else ("不具备" if item else "未声明")
        rows.append([str(number), requirement, met, _value(item.get("statement")),
                     _file_names(item.get("evidence") or [], files)])
    (foundation, h1), (qualifications, h2), (advantages, h3) = plans.NARRATIVE_FIELDS["feasibility"]
    return [
        PageBreak(), Heading(plans.SECTION_TITLES["feasibility"], 1),
        Heading(h1, 2), *_paragraphs(content.get(foundation)),
        Heading(h2, 2), *_paragraphs(content.get(qualifications)),
        Table(["序号", "资质条件", "是否具备", "说明", "证明材料"], rows, widths=[0.6, 4, 1, 3, 2]),
        Heading(h3, 2), *_paragraphs(content.get(advantages)),
    ]


def _goals(goals: dict) -> list:
    schedule = goals.get("schedule") or {}
    blocks = [PageBreak(), Heading(plans.SECTION_TITLES["goals"], 1),
              Heading("（一）目标", 2), *_paragraphs(goals.get("goal")),
              Heading("（二）重点任务", 2),
              Table(["序号", "任务", "主要内容"],
                    [[str(i), t["title"], t["content"]] for i, t in enumerate(goals.get("key_tasks") or [], 1)],
                    widths=[0.6, 2, 6]),
              Heading("（三）考核指标", 2),
              Table(["类别", "指标", "目标值", "单位"],
                    [[plans.INDICATOR_KINDS.get(i["kind"], i["kind"]), i["metric"], _number(i["target_value"]),
                      i["unit"]] for i in goals.get("indicators") or []],
                    widths=[1.2, 4, 1.2, 1])]
    blocks.append(Heading("（四）进度计划", 2))
    if schedule.get("start_date"):
        first, last = plans.construction_period(datetime.fromisoformat(schedule["start_date"]).date())
        blocks.append(Paragraph(f"建设期：{first:%Y年%m月%d日}至{last:%Y年%m月%d日}（{plans.CONSTRUCTION_YEARS}年）"))
    blocks += [
        Table(["年度", "年度安排"], [[f"第{n['year']}年", n["description"]]
                                  for n in sorted(schedule.get("yearly_nodes") or [], key=lambda n: n["year"])],
              widths=[1, 6]),
        Table(["时间节点", "重点节点安排"], [[m["date"], m["description"]]
                                      for m in sorted(schedule.get("milestones") or [], key=lambda m: m["date"])],
              widths=[1.4, 6]),
        Heading("中期目标", 3), *_paragraphs(schedule.get("mid_term_goal")),
    ]
    return blocks


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _value(value)


def _attachments(sections: dict, files: dict) -> list:
    rows = []
    for item in (sections.get("attachments") or {}).get("items") or []:
        rows.append([item["title"], item["sha256"]])
    for item in (sections.get("qualifications") or {}).get("items") or []:
        for sha in item.get("evidence") or []:
            rows.append([f"资质条件第{item['item']}项证明材料", sha])
    table = [[str(i), title, _value((files.get(sha) or {}).get("name")), _size(files.get(sha)), sha[:16]]
             for i, (title, sha) in enumerate(rows, 1)]
    return [PageBreak(), Heading(plans.SECTION_TITLES["attachments"], 1), Paragraph("相关证明材料如下："),
            Table(["序号", "材料名称", "文件", "大小", "SHA-256（前16位）"], table, widths=[0.6, 3, 3, 1.2, 2.2])]


def _size(attachment: dict | None) -> str:
    if not attachment:
        return ""
    size = attachment["size"]
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} B"


def _opinions(applicant_opinion: dict, organizing_opinion: dict | None) -> list:
    def signed(opinion: dict | None) -> list:
        opinion = opinion or {}
        when = opinion.get("date")
        date_line = f"{when[:4]}年{when[5:7]}月{when[8:10]}日" if when else "年　　月　　日"
        return [*(_paragraphs(opinion.get("opinion") or opinion.get("text")) if opinion else [Paragraph("")]),
                Paragraph(SIGNATURE.format(head=_value(opinion.get("head")), date=date_line))]

    return [PageBreak(), Heading("七、申报意见", 1),
            Heading("申报单位意见", 2), *signed(applicant_opinion),
            Heading("申报组织单位意见", 2), *signed(organizing_opinion)]
