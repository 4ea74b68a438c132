"""The words of every notification: one template per event type, in Chinese (zh-CN),
as plain text and HTML, naming the application, its number once it has one, the
stage, what the reader must do and by when.

A template says what happened (`summary`) and, for each audience it concerns,
what that reader must do (`actions`); the layout around them is the same for
every message. Placeholders are `string.Template` names filled from the event's
payload (dates in Beijing time, sections and kinds in Chinese) and from what the
service knows of the application (`application_name`, `number`, `applicant_name`).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from string import Template as Text

from marshmallow import fields as mfields

from shared.clock import BEIJING
from services.notification.domain import Message

PRODUCT = "国家技术标准创新基地申报系统"
SIGNATURE = "国家标准化管理委员会 · " + PRODUCT
FOOTER = "请登录" + PRODUCT + "查看详情并办理。本邮件由系统自动发送，请勿直接回复。"

# The six stages of the guide (§三); a registration belongs to the first.
ORGANIZING, SUBMISSION, ENDORSEMENT = "申报组织", "网上申报", "审核推荐"
FORMAL_REVIEW, EXPERT_REVIEW, APPROVAL = "形式审查", "专家论证", "批准筹建"

SECTION_NAMES = {
    "basic": "基本信息", "significance": "意义和必要性", "feasibility": "可行性",
    "qualifications": "资质条件及证明材料", "goals": "目标和任务", "safeguards": "保障措施",
    "attachments": "附件", "applicant_opinion": "申报单位意见",
}
DEADLINE_NAMES = {"supplement": "补正材料", "revision": "修改申报方案", "construction_plan": "报送建设方案"}
CONCLUSION_NAMES = {"pass": "通过", "pass_with_revisions": "修改后通过", "fail": "不通过"}
UNIT_ROLE_NAMES = {"organizing": "申报组织单位", "recommending": "推荐单位"}
BASE_TYPE_NAMES = {"regional": "区域（综合）", "domain": "领域（专业）", "international": "国际"}

NO_ACTION = "无需操作。"


@dataclass(frozen=True)
class Act:
    """What one reader must do; `due` names the context value saying by when."""

    text: str
    due: str | None = None


@dataclass(frozen=True)
class Template:
    stage: str
    subject: str
    summary: str
    actions: dict = field(default_factory=dict)  # audience -> Act or plain text (nothing due)
    # Only the parties the application has reached hear of it (a withdrawal, say).
    involved_only: bool = False

    @property
    def audiences(self) -> tuple[str, ...]:
        return tuple(self.actions)

    def act(self, audience: str) -> Act:
        action = self.actions[audience]
        return action if isinstance(action, Act) else Act(action)


# Audiences: applicant (申报单位), organizing_unit (申报组织单位), recommending_unit (推荐单位),
# officer (国家标准委), experts (the application's assigned experts), expert (the one the
# event names), registrant (the party that just registered).

TEMPLATES: dict[tuple[str, str | None], Template] = {
    # --- registrations ---------------------------------------------------------
    ("ApplicantRegistered", None): Template(
        ORGANIZING, "申报单位注册成功",
        "贵单位（$name，统一社会信用代码 $credit_code）已在" + PRODUCT + "完成注册。",
        {"registrant": Act("如拟申报，请在受理期（每年 5 月 5 日至 7 月 30 日）内填写并提交申报方案。",
                           "window_close")},
    ),
    ("UnitRegistered", "organizing"): Template(
        ORGANIZING, "贵单位已登记为申报组织单位",
        "国家标准委已将贵单位（$name）登记为申报组织单位。",
        {"registrant": "请组织符合条件的单位申报，申报单位提交申报方案后，请及时审核盖章或退回修改。"},
    ),
    ("UnitRegistered", "recommending"): Template(
        ORGANIZING, "贵单位已登记为推荐单位",
        "国家标准委已将贵单位（$name）登记为推荐单位。",
        {"registrant": "收到经申报组织单位审核盖章的申报方案后，请及时审核，出具推荐函或说明不予推荐的理由。"},
    ),
    ("ExpertRegistered", None): Template(
        ORGANIZING, "您已入选创新基地评审专家库",
        "$name 专家，您已入选国家技术标准创新基地评审专家库。",
        {"registrant": "无需操作。如被选入论证专家组，您将另行收到通知。"},
    ),
    # --- intake ------------------------------------------------------------------
    ("ApplicationSubmitted", "initial"): Template(
        SUBMISSION, "申报方案已提交：$application_name",
        "贵单位已提交申报方案（第 $plan_version 版），回执号 $receipt_number，提交时间 $submitted_at。",
        {"applicant": "无需操作。申报组织单位审核盖章或退回后，您将收到通知。"},
    ),
    ("ApplicationSubmitted", "returned"): Template(
        SUBMISSION, "修改后的申报方案已提交：$application_name",
        "贵单位已按退回意见修改并重新提交申报方案（第 $plan_version 版），回执号 $receipt_number，"
        "提交时间 $submitted_at。",
        {"applicant": "无需操作。申报组织单位重新审核后，您将收到通知。"},
    ),
    ("ApplicationSubmitted", "supplement"): Template(
        FORMAL_REVIEW, "补正材料已提交：$application_name",
        "贵单位已提交补正后的申报方案（第 $plan_version 版），回执号 $receipt_number，提交时间 $submitted_at。",
        {"applicant": "无需操作。国家标准委将继续形式审查。"},
    ),
    ("ApplicationSubmitted", "revision"): Template(
        EXPERT_REVIEW, "修改后的申报方案已提交：$application_name",
        "申报单位已按专家组意见修改并提交申报方案（第 $plan_version 版），回执号 $receipt_number，"
        "提交时间 $submitted_at。",
        {"applicant": "无需操作。专家组确认修改后，您将收到通知。",
         "experts": "请审阅修改后的申报方案；由专家组组长确认修改是否到位。",
         "officer": "无需操作。待专家组组长确认修改。"},
    ),
    ("ApplicationWithdrawn", None): Template(
        SUBMISSION, "申报已撤回：$application_name",
        "申报单位（$applicant_name）已撤回该申报，撤回理由：$reason。后续各环节不再办理。",
        {"applicant": "无需操作。",
         "organizing_unit": "无需操作。该申报已从贵单位的待办事项中移除。",
         "recommending_unit": "无需操作。该申报已从贵单位的待办事项中移除。",
         "officer": "无需操作。该申报不再进入后续审查。",
         "experts": "无需操作。您无需再审阅该申报。"},
        involved_only=True,
    ),
    # --- endorsement -----------------------------------------------------------------
    ("ReviewItemQueued", None): Template(
        SUBMISSION, "待审核盖章：$application_name",
        "$applicant_name 提交的申报方案（第 $plan_version 版）已进入贵单位的待审核队列。",
        {"organizing_unit": "请审核申报方案：审核通过的，盖章后转报推荐单位；需修改的，退回申报单位并说明理由。"},
    ),
    ("ReviewItemClosed", None): Template(
        SUBMISSION, "待审核事项已关闭：$application_name",
        "该申报已从贵单位的待审核队列中移除，原因：$reason。",
        {"organizing_unit": NO_ACTION},
    ),
    ("ApplicationReturned", None): Template(
        SUBMISSION, "申报方案被退回修改：$application_name",
        "申报组织单位退回了申报方案（第 $plan_version 版），退回理由：$reason。需修改的部分：$sections。",
        {"applicant": Act("请修改上述部分后重新提交申报方案。", "window_close")},
    ),
    ("ApplicationForwarded", None): Template(
        ENDORSEMENT, "申报方案已审核盖章并转报推荐单位：$application_name",
        "申报组织单位已审核盖章，并将申报方案（第 $plan_version 版）转报推荐单位。审核意见：$opinion_text。",
        {"applicant": "无需操作。推荐单位审核后，您将收到通知。",
         "recommending_unit": "请审核申报方案：推荐的，出具正式推荐函，上传盖章的申报方案和推荐函扫描件；"
                              "不予推荐的，说明理由。"},
    ),
    ("ApplicationRecommended", None): Template(
        ENDORSEMENT, "申报已推荐至国家标准委：$application_name",
        "推荐单位已推荐该申报，申报材料已报送国家标准委。推荐意见：$opinion_text。",
        {"applicant": "无需操作。国家标准委形式审查后，您将收到通知。",
         "organizing_unit": NO_ACTION},
    ),
    ("RecommendationDeclined", None): Template(
        ENDORSEMENT, "推荐单位不予推荐：$application_name",
        "推荐单位决定不予推荐该申报，理由：$reason。本次申报到此结束。",
        {"applicant": NO_ACTION, "organizing_unit": NO_ACTION},
    ),
    ("ApplicationReturnedToOrganizingUnit", None): Template(
        ENDORSEMENT, "推荐单位退回申报组织单位：$application_name",
        "推荐单位将申报方案（第 $plan_version 版）退回申报组织单位，理由：$reason。",
        {"organizing_unit": "请重新审核该申报方案：审核通过的盖章后转报推荐单位，需修改的退回申报单位。",
         "applicant": "无需操作。申报组织单位将重新审核。"},
    ),
    ("RecommendationWithdrawn", None): Template(
        ENDORSEMENT, "推荐已撤回：$application_name",
        "推荐单位撤回了对该申报的推荐，理由：$reason。",
        {"applicant": NO_ACTION, "organizing_unit": NO_ACTION,
         "officer": "无需操作。该申报不再进入形式审查。"},
    ),
    # --- formal review -----------------------------------------------------------------
    ("FormalReviewOpened", None): Template(
        FORMAL_REVIEW, "待形式审查：$application_name",
        "推荐单位推荐的申报方案（第 $plan_version 版，申报单位 $applicant_name）已进入形式审查。",
        {"officer": "请审查申报材料是否齐全、符合要求：受理并编号，要求补正材料，或不予受理。"},
    ),
    ("ApplicationAccepted", None): Template(
        FORMAL_REVIEW, "申报已受理：$application_name",
        "国家标准委已受理该申报，申报编号为 $number。",
        {"applicant": "无需操作。请在后续联系中使用申报编号。",
         "organizing_unit": NO_ACTION, "recommending_unit": NO_ACTION},
    ),
    ("SupplementRequested", None): Template(
        FORMAL_REVIEW, "请补正申报材料：$application_name",
        "国家标准委在形式审查中要求补正材料，理由：$reason。需补正的材料：$items。已开放修改的部分：$sections。",
        {"applicant": Act("请补正上述材料并重新提交申报方案。", "deadline")},
    ),
    ("SupplementReceived", None): Template(
        FORMAL_REVIEW, "补正材料已收到：$application_name",
        "申报单位已提交补正材料（第 $plan_version 版），形式审查继续。",
        {"officer": "请继续形式审查。"},
    ),
    ("FormalReviewPassed", None): Template(
        FORMAL_REVIEW, "形式审查通过：$application_name",
        "该申报已通过形式审查，进入专家论证。",
        {"applicant": "无需操作。论证会安排确定后，您将收到通知。",
         "organizing_unit": NO_ACTION, "recommending_unit": NO_ACTION},
    ),
    ("ApplicationFoundInadmissible", None): Template(
        FORMAL_REVIEW, "申报不予受理：$application_name",
        "经形式审查，该申报不予受理，理由：$reasons。本次申报到此结束。",
        {"applicant": "无需操作。如有疑问，请联系国家标准委。",
         "organizing_unit": NO_ACTION, "recommending_unit": NO_ACTION},
    ),
    # --- deadlines (formal review and expert review) ------------------------------------------
    ("DeadlineApproaching", "supplement"): Template(
        FORMAL_REVIEW, "提醒：补正材料还有 $days_before 天截止：$application_name",
        "补正材料的截止时间为 $deadline，还有 $days_before 天。",
        {"applicant": Act("请在截止时间前提交补正材料。", "deadline")},
    ),
    ("DeadlineApproaching", "revision"): Template(
        EXPERT_REVIEW, "提醒：修改申报方案还有 $days_before 天截止：$application_name",
        "修改申报方案的截止时间为 $deadline，还有 $days_before 天。",
        {"applicant": Act("请在截止时间前提交修改后的申报方案。", "deadline")},
    ),
    ("DeadlineApproaching", "construction_plan"): Template(
        APPROVAL, "提醒：建设方案还有 $days_before 天截止报送：$application_name",
        "建设方案的报送截止时间为 $deadline，还有 $days_before 天。",
        {"organizing_unit": Act("请在截止时间前报送创新基地建设方案。", "deadline"),
         "applicant": Act("请配合申报组织单位在截止时间前完成建设方案。", "deadline")},
    ),
    ("DeadlineMissed", "supplement"): Template(
        FORMAL_REVIEW, "补正材料已逾期：$application_name",
        "补正材料的截止时间 $deadline 已过，未收到补正材料，已记录逾期。",
        {"applicant": "如需延期，请尽快联系国家标准委并说明理由。",
         "officer": "请决定是否延长期限，或作出形式审查结论。"},
    ),
    ("DeadlineMissed", "revision"): Template(
        EXPERT_REVIEW, "修改申报方案已逾期：$application_name",
        "修改申报方案的截止时间 $deadline 已过，未收到修改后的申报方案，已记录逾期。",
        {"applicant": "如需延期，请尽快联系国家标准委并说明理由。",
         "officer": "请决定是否延长期限，或作出审批决定。"},
    ),
    ("DeadlineMissed", "construction_plan"): Template(
        APPROVAL, "建设方案已逾期未报送：$application_name",
        "建设方案的报送截止时间 $deadline 已过，未收到建设方案，已记录逾期。",
        {"organizing_unit": "请尽快报送建设方案；如需延期，请联系国家标准委并说明理由。",
         "applicant": NO_ACTION,
         "officer": "请决定是否延长期限。"},
    ),
    ("DeadlineExtended", "supplement"): Template(
        FORMAL_REVIEW, "补正材料期限已延长：$application_name",
        "国家标准委已将补正材料的截止时间延长至 $new_deadline，理由：$reason。",
        {"applicant": Act("请在新的截止时间前提交补正材料。", "new_deadline")},
    ),
    ("DeadlineExtended", "revision"): Template(
        EXPERT_REVIEW, "修改申报方案期限已延长：$application_name",
        "国家标准委已将修改申报方案的截止时间延长至 $new_deadline，理由：$reason。",
        {"applicant": Act("请在新的截止时间前提交修改后的申报方案。", "new_deadline")},
    ),
    ("DeadlineExtended", "construction_plan"): Template(
        APPROVAL, "建设方案报送期限已延长：$application_name",
        "国家标准委已将建设方案的报送截止时间延长至 $new_deadline，理由：$reason。",
        {"organizing_unit": Act("请在新的截止时间前报送建设方案。", "new_deadline"),
         "applicant": Act("请配合申报组织单位在新的截止时间前完成建设方案。", "new_deadline")},
    ),
    # --- expert review and approval ------------------------------------------------------------
    ("ExpertAssigned", None): Template(
        EXPERT_REVIEW, "论证任务：$application_name",
        "您已被选入该申报的论证专家组$chair_note，论证会定于 $meeting_date 在 $place 召开。",
        {"expert": Act("请在论证会前审阅申报方案；如需回避或不能参加，请尽快在系统中说明理由。", "meeting_date")},
    ),
    ("ExpertDeclined", None): Template(
        EXPERT_REVIEW, "专家不能参加论证：$application_name",
        "$expert_name 专家不能参加该申报的论证，理由：$reason。",
        {"officer": "请另行选派专家。"},
    ),
    ("SiteVisitScheduled", None): Template(
        EXPERT_REVIEW, "现场考察安排：$application_name",
        "专家组将于 $visit_date 在 $place 进行现场考察。",
        {"applicant": Act("请做好现场考察准备，安排单位负责人和联系人到场。", "visit_date"),
         "experts": Act("请按时参加现场考察。", "visit_date"),
         "organizing_unit": NO_ACTION},
    ),
    ("PanelConcluded", None): Template(
        EXPERT_REVIEW, "专家组论证结论（$conclusion）：$application_name",
        "专家组已形成论证意见，结论：$conclusion。论证意见：$text",
        {"officer": "请根据论证意见作出批准或不予批准的决定，或要求申报单位修改申报方案。"},
    ),
    ("RevisionRequested", None): Template(
        EXPERT_REVIEW, "请修改申报方案：$application_name",
        "专家组要求修改申报方案，理由：$reason。已开放修改的部分：$sections。",
        {"applicant": Act("请修改上述部分并重新提交申报方案。", "deadline")},
    ),
    ("RevisionConfirmed", None): Template(
        EXPERT_REVIEW, "修改已确认：$application_name",
        "专家组组长已确认修改后的申报方案（第 $plan_version 版）。",
        {"applicant": "无需操作。国家标准委作出审批决定后，您将收到通知。",
         "officer": "请作出审批决定。"},
    ),
    ("ApplicationApproved", None): Template(
        APPROVAL, "批准筹建：$application_name",
        "国家标准委已批准筹建该创新基地。意见：$reasons。",
        {"organizing_unit": Act("请组织编制并报送创新基地建设方案。", "construction_plan_due"),
         "applicant": Act("请配合申报组织单位编制创新基地建设方案。", "construction_plan_due"),
         "recommending_unit": NO_ACTION},
    ),
    ("ApplicationDeclined", None): Template(
        APPROVAL, "不予批准：$application_name",
        "国家标准委决定不予批准筹建，理由：$reasons。本次申报到此结束。",
        {"applicant": NO_ACTION, "organizing_unit": NO_ACTION, "recommending_unit": NO_ACTION},
    ),
    ("ConstructionPlanSubmitted", None): Template(
        APPROVAL, "建设方案已报送：$application_name",
        "申报组织单位已报送创新基地建设方案$on_time_note。",
        {"officer": "请审阅建设方案。", "applicant": NO_ACTION},
    ),
    # --- this service's own reminder ------------------------------------------------------
    ("SubmissionWindowClosing", None): Template(
        SUBMISSION, "提醒：申报受理还有 $days_left 天截止：$application_name",
        "贵单位的申报尚未提交。本年度申报受理截至 $window_close，还有 $days_left 天。",
        {"applicant": Act("请在截止时间前完成并提交申报方案，逾期不予受理。", "window_close")},
    ),
}

# Events nobody is told of, and why: the template of another event already says it.
SILENT = {
    "ApplicationDrafted": "the applicant started the draft itself; it only opens the dossier",
    "SectionsReopened": "the return, supplement or revision request that reopened them already told the applicant",
    "ApplicantInformed": "the officer's own record that the applicant was told",
    "PanelFormed": "each member hears of each application through ExpertAssigned",
    "OpinionSubmitted": "opinions reach SAC with the panel's conclusion",
    "SiteVisitRecorded": "the findings reach SAC with the panel's conclusion",
}

VARIANT_FIELDS = {
    "ApplicationSubmitted": "submission_kind",
    "UnitRegistered": "role",
    "DeadlineApproaching": "deadline_kind",
    "DeadlineMissed": "deadline_kind",
    "DeadlineExtended": "deadline_kind",
}


def template_for(event_type: str, payload: dict) -> Template | None:
    variant_field = VARIANT_FIELDS.get(event_type)
    variant = payload.get(variant_field) if variant_field else None
    return TEMPLATES.get((event_type, variant))


# --- values as a reader reads them ---------------------------------------------------------

def beijing(value) -> str:
    """An instant in Beijing time; midnight reads as 24:00 of the day before, as deadlines are read."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(BEIJING)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        day = local - timedelta(days=1)
        return f"{day.year}年{day.month}月{day.day}日 24:00（北京时间）"
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"


def _readable(name: str, value, field) -> str:
    if value is None:
        return "无"
    if isinstance(field, mfields.AwareDateTime):
        return beijing(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        if name in ("sections", "changed_sections"):
            return "、".join(SECTION_NAMES.get(v, str(v)) for v in value) or "无"
        return "；".join(str(v) for v in value if not isinstance(v, dict)) or "无"
    return str(value)


def context(payload: dict, schema=None, **facts) -> dict[str, str]:
    """The placeholders' values: the payload as a reader reads it, then what the service knows."""
    schema_fields = schema().fields if schema is not None else {}
    values: dict[str, str] = {}
    for name, value in payload.items():
        if name == "number" and not value:
            continue  # no number yet: the message does not mention one
        field = schema_fields.get(name) or schema_fields.get(f"{name}_")
        if isinstance(value, dict):
            for key, inner in value.items():
                values[f"{name}_{key}"] = _readable(key, inner, None)
        else:
            values[name] = _readable(name, value, field)
    for key in ("deadline_kind",):
        if key in payload:
            values["deadline_kind"] = DEADLINE_NAMES.get(payload[key], payload[key])
    if "conclusion" in payload:
        values["conclusion"] = CONCLUSION_NAMES.get(payload["conclusion"], payload["conclusion"])
    if "role" in payload:
        values["unit_role"] = UNIT_ROLE_NAMES.get(payload["role"], payload["role"])
    if "base_type" in payload:
        values["base_type"] = BASE_TYPE_NAMES.get(payload["base_type"], payload["base_type"])
    if "is_chair" in payload:
        values["chair_note"] = "并担任组长" if payload["is_chair"] else ""
    if "on_time" in payload:
        values["on_time_note"] = "（按期报送）" if payload["on_time"] else "（逾期报送）"
    for key, value in facts.items():
        if value is not None:
            values[key] = value if isinstance(value, str) else _readable(key, value, None)
    return values


# --- the layout ----------------------------------------------------------------------------

def render(template: Template, audience: str, values: dict[str, str], salutation: str) -> Message:
    """The message one reader gets. A placeholder without a value is a bug: it raises KeyError."""
    act = template.act(audience)
    subject = Text(template.subject).substitute(values)
    number = values.get("number")
    if number and "application_name" in values:
        subject = f"{subject}（编号 {number}）"
    subject = "【创新基地申报】" + re.sub(r"\s*[\r\n]+\s*", " ", subject)  # one header line, whatever was typed
    summary = Text(template.summary).substitute(values)
    action = Text(act.text).substitute(values)
    due = values[act.due] if act.due else None

    rows = []
    if values.get("application_name"):
        rows.append(("申报名称", values["application_name"]))
        if number:
            rows.append(("申报编号", number))
        if values.get("applicant_name"):
            rows.append(("申报单位", values["applicant_name"]))
    rows.append(("当前阶段", template.stage))
    rows.append(("需要您办理", action))
    if due:
        rows.append(("办理时限", due))

    text = "\n".join([
        f"{salutation}：", "", summary, "",
        *(f"{label}：{value}" for label, value in rows), "",
        FOOTER, SIGNATURE, "",
    ])
    e = html.escape
    table = "\n".join(
        f'<tr><th align="left" style="padding:4px 12px 4px 0">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in rows
    )
    body = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>\n"
        '<body style="font-family:sans-serif;font-size:14px">\n'
        f"<p>{e(salutation)}：</p>\n<p>{e(summary)}</p>\n"
        f"<table>\n{table}\n</table>\n"
        f'<p style="color:#666">{e(FOOTER)}<br>{e(SIGNATURE)}</p>\n'
        "</body>\n</html>\n"
    )
    return Message(subject=subject, text=text, html=body)


AUDIENCE_NAMES = {
    "applicant": "applicant", "organizing_unit": "organizing unit", "recommending_unit": "recommending unit",
    "officer": "SAC officers", "experts": "assigned experts", "expert": "the expert it names",
    "registrant": "the party registered",
}


def who_hears_table() -> str:
    """The table of docs/notification.md: who hears of each event (`*`: with a date to act by)."""
    lines = ["| event (variant) | stage | who hears it (`*`: must act by a date) |", "|---|---|---|"]
    for (event_type, variant), template in TEMPLATES.items():
        who = ", ".join(AUDIENCE_NAMES[a] + ("\\*" if template.act(a).due else "") for a in template.audiences)
        if template.involved_only:
            who += " — only those the application has reached"
        lines.append(f"| `{event_type}`{f' ({variant})' if variant else ''} | {template.stage} | {who} |")
    for event_type, why in SILENT.items():
        lines.append(f"| `{event_type}` | — | nobody: {why} |")
    return "\n".join(lines)
