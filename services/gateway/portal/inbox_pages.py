"""Messages from every party in one inbox (消息), and an application's revisions side by side: the
submitted versions, and what changed between two of them, section by section."""
from __future__ import annotations

import uuid

from services.gateway.portal import plan_forms
from services.gateway.portal.pages import portal_page, redirect
from services.gateway.web import http

INBOX_ROLES = ("applicant", "organizing_unit", "recommending_unit", "officer", "expert")
PAGE_SIZE = 20
# Where each party reads the application a message is about.
APPLICATION_PAGES = {"applicant": "/applicant/applications/", "organizing_unit": "/units/applications/",
                     "recommending_unit": "/units/applications/", "officer": "/sac/applications/",
                     "expert": "/expert/applications/"}
SUBMISSION_KINDS_ZH = {"initial": "首次提交", "returned": "按申报组织单位意见修改", "supplement": "补充材料",
                       "revision": "按专家意见修改"}


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# The plan's field names (docs/intake.md) as the diff names them.
FIELDS_ZH = {
    "name": "名称", "region": "地区", "domain": "领域", "head": "负责人", "contact": "联系人", "title": "职务",
    "phone": "电话", "fax": "传真", "email": "电子邮箱", "postcode": "邮政编码", "address": "通讯地址",
    "significance": "意义", "necessity": "必要性", "work_foundation": "工作基础", "qualifications": "资质条件",
    "advantages": "优势分析", "items": "条目", "item": "项", "declared": "是否具备", "statement": "说明",
    "evidence": "证明材料", "goal": "建设目标", "key_tasks": "重点任务", "content": "内容", "indicators": "考核指标",
    "kind": "类别", "metric": "指标", "target_value": "目标值", "unit": "单位", "schedule": "进度安排",
    "start_date": "建设期开始", "yearly_nodes": "年度节点", "year": "年度", "description": "说明",
    "milestones": "里程碑", "date": "日期", "mid_term_goal": "中期目标", "organization_mechanism": "组织机制",
    "policy_support": "政策支持", "funds_and_talent": "资金和人才保障", "sha256": "文件", "cited": "是否引用",
    "opinion": "申报单位意见",
}


def field_label(path: str) -> str:
    """`goals.key_tasks.0.title` → `四、目标和任务 · 重点任务 · 第1项 · 职务`: the section by its heading."""
    section, _, rest = str(path).partition(".")
    parts = [plan_forms.SECTION_TITLES.get(section, section)]
    for piece in rest.split(".") if rest else []:
        parts.append(f"第{int(piece) + 1}项" if piece.isdigit() else FIELDS_ZH.get(piece, piece))
    return " · ".join(parts)


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def revisions_page(page, application_id: str, base: str, home: tuple[str, str]):
    """The versions and the diff between `from` and `to` (default: the last two), for whoever may read them."""
    try:
        uuid.UUID(str(application_id))
    except ValueError:
        return page.not_found()
    application = page.call("intake", "get_application", application_id=application_id, version=None)
    versions = page.call("intake", "versions", application_id=application_id)
    numbers = [v["plan_version"] for v in versions]
    args = page.request.args
    to_version = _int(args.get("to"), numbers[-1] if numbers else 0)
    from_version = _int(args.get("from"), to_version - 1 if to_version > 1 else (numbers[-1] if numbers else 0))
    diff = None
    if from_version >= 1 and (to_version == 0 or to_version in numbers) and from_version != to_version:
        diff = page.call("intake", "diff", application_id=application_id, from_version=from_version,
                         to_version=to_version)
    sections = [(name, title, (diff or {}).get("sections", {}).get(name) or {"changed": False, "changes": []})
                for name, title in plan_forms.SECTIONS]
    return page.render("revisions.html", application=application, versions=versions, diff=diff,
                       from_version=from_version, to_version=to_version, sections=sections, base=base,
                       field_label=field_label, shown=_shown, kinds_zh=SUBMISSION_KINDS_ZH,
                       breadcrumbs=[home, (application["name"], base.rsplit("/", 1)[0]), ("修改前后对照", None)])


class InboxPages:
    @http("GET", "/inbox")
    @portal_page(roles=INBOX_ROLES)
    def inbox(self, page):
        offset = max(0, _int(page.request.args.get("offset"), 0))
        unread_only = page.request.args.get("unread") == "1"
        found = page.call("notification", "my_notifications", unread_only=unread_only, limit=PAGE_SIZE,
                          offset=offset)
        items = found.get("items", [])
        shown = offset + len(items)
        total = found.get("unread" if unread_only else "total", shown) or 0
        return page.render("inbox.html", items=items, total=found.get("total", 0), unread=found.get("unread", 0),
                           unread_only=unread_only, offset=offset, page_size=PAGE_SIZE, more=shown < total,
                           application_page=APPLICATION_PAGES[page.account.role],
                           breadcrumbs=[("首页", "/"), ("消息", None)])

    @http("POST", "/inbox/read")
    @portal_page(roles=INBOX_ROLES)
    def inbox_mark_read(self, page):
        ids = []
        for value in page.request.form.getlist("notification_ids"):
            try:
                ids.append(str(uuid.UUID(value)))
            except ValueError:
                continue
        if ids:
            page.call("notification", "mark_read", notification_ids=ids[:500])
        return redirect("/inbox?notice=marked_read")

    @http("GET", "/applicant/applications/<application_id>/revisions")
    @portal_page(roles=("applicant",))
    def applicant_revisions(self, page, application_id):
        base = f"/applicant/applications/{application_id}"
        return revisions_page(page, application_id, base + "/revisions", ("我的申报", "/applicant"))

    @http("GET", "/expert/applications/<application_id>/revisions")
    @portal_page(roles=("expert",))
    def expert_revisions(self, page, application_id):
        base = f"/expert/applications/{application_id}"
        return revisions_page(page, application_id, base + "/revisions", ("评审任务", "/expert"))
