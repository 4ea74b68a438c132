"""Messages from every party in one inbox (消息), and an application's revisions side by side: the
submitted versions, and what changed between two of them, section by section."""
from __future__ import annotations

import uuid

from services.gateway.portal import plan_forms
from services.gateway.portal.pages import portal_page, redirect
from services.gateway.web import http

INBOX_ROLES = ("applicant", "organizing_unit", "recommending_unit", "officer", "expert")
PAGE_SIZE = 20
SUBMISSION_KINDS_ZH = {"initial": "首次提交", "returned": "按申报组织单位意见修改", "supplement": "补充材料",
                       "revision": "按专家意见修改"}


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def field_label(path: str) -> str:
    """`goals.key_tasks.0.title` → `四、目标和任务 · key_tasks 第1项 · title`: the section by its heading."""
    section, _, rest = str(path).partition(".")
    parts = [plan_forms.SECTION_TITLES.get(section, section)]
    for piece in rest.split(".") if rest else []:
        parts.append(f"第{int(piece) + 1}项" if piece.isdigit() else piece)
    return " · ".join(parts)


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def revisions_page(page, application_id: str, base: str, crumbs: list):
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
                       breadcrumbs=[*crumbs, ("修改前后对照", None)])


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
        return revisions_page(page, application_id, base + "/revisions",
                              [("我的申报", "/applicant"), ("申报", base)])

    @http("GET", "/expert/applications/<application_id>/revisions")
    @portal_page(roles=("expert",))
    def expert_revisions(self, page, application_id):
        base = f"/expert/applications/{application_id}"
        return revisions_page(page, application_id, base + "/revisions", [("评审任务", "/expert"), ("申报", base)])
