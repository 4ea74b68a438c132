"""Pages from Jinja2 templates (autoescaped), in zh-CN: dates in Beijing time, the domain's words in Chinese."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

TEMPLATES = Path(__file__).resolve().parent / "templates"
BEIJING = timezone(timedelta(hours=8), "北京时间")

ROLES_ZH = {
    "applicant": "申报单位",
    "organizing_unit": "申报组织单位",
    "recommending_unit": "推荐单位",
    "officer": "国家标准委",
    "expert": "专家",
    "auditor": "审计",
    "ops": "运维",
}
ITEM_STATES_ZH = {
    "queued": "待审核盖章",
    "forwarded": "已报送推荐单位",
    "returned": "已退回申报单位",
    "recommended": "已推荐",
    "declined": "不予推荐",
    "closed": "已结束",
}
BASE_TYPES_ZH = {"regional": "区域（综合）", "domain": "领域（专业）", "international": "国际"}
STAGES_ZH = {
    "draft": "草稿",
    "submitted": "已提交",
    "returned": "已退回修改",
    "supplement_requested": "待补充材料",
    "revision_requested": "待修改方案",
    "forwarded": "已审核盖章",
    "recommended": "已推荐",
    "not_recommended": "未获推荐",
    "formal_review": "形式审查中",
    "expert_review": "专家论证中",
    "panel_concluded": "专家论证完成",
    "approved": "已批准筹建",
    "declined": "未获批准",
    "inadmissible": "形式审查未通过",
    "withdrawn": "已撤回",
}
EVENTS_ZH = {
    "ReviewItemQueued": "收到申报方案",
    "ApplicationForwarded": "审核盖章并报送推荐单位",
    "ApplicationReturned": "退回申报单位修改",
    "ApplicationRecommended": "推荐",
    "RecommendationDeclined": "不予推荐",
    "ApplicationReturnedToOrganizingUnit": "退回申报组织单位",
    "RecommendationWithdrawn": "撤回推荐",
    "ReviewItemClosed": "申报结束",
}
# Who asked the applicant to change the plan (intake's `request.kind`), as the remark's heading.
REQUEST_KINDS_ZH = {"returned": "申报组织单位的修改意见", "supplement": "国家标准委要求补充材料",
                    "revision": "专家组的修改要求"}
# What the applicant does next, by stage (the dashboard's 下一步).
NEXT_STEP_ZH = {
    "draft": "填写申报方案各部分，检查完整后提交",
    "submitted": "打印申报方案一式四份并盖章，寄送申报组织单位",
    "returned": "按申报组织单位意见修改退回的部分后重新提交",
    "supplement_requested": "在截止日期前补充材料并重新提交",
    "revision_requested": "在截止日期前按专家意见修改方案并重新提交",
    "forwarded": "等待推荐单位审核推荐",
    "recommended": "等待国家标准委形式审查",
    "formal_review": "等待形式审查结果",
    "expert_review": "等待专家论证",
    "panel_concluded": "等待国家标准委批准",
    "approved": "申报组织单位在批准后3个月内提交建设方案",
}


def section_remarks(history: list[dict] = (), revisions: list[dict] = ()) -> dict[str, list[dict]]:
    """What each section was asked to change, by whom and when: the organizing unit's returns
    (endorsement's history) and the panel's revision requests (expert review), by section name."""
    remarks: dict[str, list[dict]] = {}
    for event in history or []:
        details = event.get("details") or {}
        if event.get("type") == "ApplicationReturned":
            for section in details.get("sections") or []:
                remarks.setdefault(section, []).append({
                    "who": "申报组织单位退回修改", "text": details.get("reason") or "", "at": event.get("at"),
                    "version": event.get("plan_version")})
    for revision in revisions or []:
        for section in revision.get("sections") or []:
            remarks.setdefault(section, []).append({
                "who": "专家组修改要求", "text": revision.get("reason") or "", "at": revision.get("deadline"),
                "version": revision.get("received_version"), "deadline": True})
    return remarks


def _parse(value) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, (datetime, date)):
        return value
    text = str(value)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None


def beijing_datetime(value) -> str:
    """`2026年6月1日 10:00`, in Beijing time; a date alone as `2026年6月1日`."""
    moment = _parse(value)
    if moment is None:
        return "" if value in (None, "") else str(value)
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(BEIJING)
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    return f"{moment.year}年{moment.month}月{moment.day}日"


def beijing_date(value) -> str:
    moment = _parse(value)
    if moment is None:
        return "" if value in (None, "") else str(value)
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def field_id(path: str) -> str:
    """An HTML id for a field path: `content.indicators.0.target_value` → `f-content-indicators-0-target_value`."""
    return "f-" + str(path).replace(".", "-")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default_for_string=True),
        # an RPC's answer may lack an optional key: the page shows nothing there rather than failing
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        beijing=beijing_datetime,
        beijing_date=beijing_date,
        field_id=field_id,
        stage_zh=lambda stage: STAGES_ZH.get(stage, stage or ""),
        role_zh=lambda role: ROLES_ZH.get(role, role or ""),
        item_state_zh=lambda state: ITEM_STATES_ZH.get(state, state or ""),
        base_type_zh=lambda kind: BASE_TYPES_ZH.get(kind, kind or ""),
    )
    env.globals.update(REQUEST_KINDS_ZH=REQUEST_KINDS_ZH, EVENTS_ZH=EVENTS_ZH, ITEM_STATES_ZH=ITEM_STATES_ZH, STAGES_ZH=STAGES_ZH, BASE_TYPES_ZH=BASE_TYPES_ZH, NEXT_STEP_ZH=NEXT_STEP_ZH)
    return env


ENVIRONMENT = _environment()


def render(template: str, **context) -> str:
    return ENVIRONMENT.get_template(template).render(**context)


def html(template: str, status: int = 200, headers=None, **context) -> Response:
    response = Response(render(template, **context), status=status, mimetype="text/html")
    # pages show one account's data: never from a shared cache, and no stale page after 退出
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
