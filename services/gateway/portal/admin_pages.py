"""SAC administrators' pages (账户管理): the accounts in pages of `next_cursor`, invitations, deactivation
and reactivation, roles, and each account's history. Only for an officer whose account has `admin`."""
from __future__ import annotations

import uuid

from services.gateway.portal.pages import form_errors, portal_page, redirect
from services.gateway.portal.rendering import ROLES_ZH
from services.gateway.problems import EdgeError
from services.gateway.web import http

PAGE_SIZE = 20
STATUSES_ZH = {"unconfirmed": "待确认邮箱", "active": "正常", "deactivated": "已停用"}
# What an account's history says, in Chinese; the sessions' heartbeat is left out (it says nothing of rights).
HISTORY_ZH = {
    "Opened": "开设账户", "Issued": "发出邀请", "Reissued": "重新发出邀请", "Accepted": "接受邀请",
    "EmailConfirmationRequested": "发送确认邮件", "EmailConfirmed": "确认邮箱", "PasswordResetRequested": "申请重设密码",
    "PasswordChanged": "修改密码", "PasswordRehashed": "密码重新加密", "SignInFailed": "登录失败", "Locked": "临时锁定",
    "SignedIn": "登录", "SessionEnded": "退出或会话结束", "RoleChanged": "变更角色", "Deactivated": "停用",
    "Reactivated": "重新启用", "TokenCreated": "创建访问令牌", "TokenRevoked": "吊销访问令牌",
}
UNSHOWN_EVENTS = ("SessionTouched",)
INVITE_FIELDS = ("email", "name", "role", "organization", "party_id")


def _crumbs(*more):
    return [("国家标准委工作台", "/sac"), ("账户管理", "/sac/accounts"), *more]


def _is_admin(page) -> bool:
    return bool(getattr(page.account, "admin", False))


def admin_page(fn):
    """An officer's page that only an SAC administrator sees; for any other officer it is not there."""

    @portal_page(roles=("officer",))
    def handler(self, page, **values):
        if not _is_admin(page):
            return page.not_found()
        return fn(self, page, **values)

    handler.__name__ = fn.__name__
    return handler


def current_view(account_id: str, events: list[dict]) -> dict:
    """The account as its history leaves it (accounts has no `get_account`): identity, status."""
    view = {"account_id": account_id, "status": "unconfirmed"}
    for entry in events:
        kind, payload = entry.get("type"), entry.get("payload") or {}
        if kind == "Opened":
            view.update({k: payload.get(k) for k in ("email", "name", "role", "organization", "party_id", "admin")})
            view["status"] = "active" if payload.get("confirmed") else "unconfirmed"
        elif kind == "RoleChanged":
            view.update({k: payload.get(k) for k in ("role", "organization", "party_id", "admin")})
        elif kind == "EmailConfirmed":
            view["status"] = "active"
        elif kind == "Deactivated":
            view["status"] = "deactivated"
        elif kind == "Reactivated":
            view["status"] = "active"
    return view


class AdminPages:
    @http("GET", "/sac/accounts")
    @admin_page
    def admin_accounts(self, page):
        args = page.request.args
        role = args.get("role") if args.get("role") in ROLES_ZH else None
        status = args.get("status") if args.get("status") in STATUSES_ZH else None
        cursor = (args.get("cursor") or "")[:400] or None
        found = page.call("accounts", "list_accounts", role=role, organization=None, status=status,
                          limit=PAGE_SIZE, cursor=cursor)
        filters = "&".join(f"{name}={value}" for name, value in (("role", role), ("status", status)) if value)
        return page.render("sac/accounts.html", items=found.get("items", []), next_cursor=found.get("next_cursor"),
                           cursor=cursor, role=role, status=status, filters=filters, roles_zh=ROLES_ZH,
                           statuses_zh=STATUSES_ZH, breadcrumbs=_crumbs()[:1] + [("账户管理", None)])

    @http("GET", "/sac/accounts/invite")
    @admin_page
    def admin_invite_form(self, page):
        return self._invite_page(page, {"role": page.request.args.get("role", "")}, {}, None)

    def _invite_page(self, page, values, errors, summary, status=200):
        return page.render("sac/invite.html", status=status, values=values, errors=errors, summary=summary,
                           roles=[(r, ROLES_ZH[r]) for r in ROLES_ZH if r != "applicant"],
                           breadcrumbs=_crumbs(("邀请", None)))

    @http("POST", "/sac/accounts/invite")
    @admin_page
    def admin_invite(self, page):
        form = page.request.form
        values = {name: (form.get(name) or "").strip() for name in INVITE_FIELDS}
        values["admin"] = form.get("admin") == "yes"
        errors = {}
        for name, message in (("email", "请填写电子邮箱"), ("name", "请填写姓名"), ("role", "请选择角色"),
                              ("organization", "请填写所在单位（统一社会信用代码或单位编号）")):
            if not values[name]:
                errors[name] = [message]
        if values["role"] == "expert" and not values["party_id"]:
            errors["party_id"] = ["邀请专家时请填写专家库中的专家编号"]
        if values["admin"] and values["role"] != "officer":
            errors["admin"] = ["只有国家标准委工作人员可以设为管理员"]
        if errors:
            return self._invite_page(page, values, errors, None, 422)
        try:
            invitation = page.call("accounts", "invite", email=values["email"], name=values["name"],
                                   role=values["role"], organization=values["organization"],
                                   party_id=values["party_id"] or None, admin=values["admin"])
        except EdgeError as error:
            if error.status >= 500:
                raise
            fields, summary = form_errors(error)
            return self._invite_page(page, values, fields, summary, error.status)
        return page.render("sac/invited.html", invitation=invitation, roles_zh=ROLES_ZH,
                           breadcrumbs=_crumbs(("邀请已发出", None)))

    @http("GET", "/sac/accounts/<account_id>")
    @admin_page
    def admin_account(self, page, account_id):
        return self._account_page(page, account_id, {}, None, {})

    def _account_page(self, page, account_id, errors, summary, values, status=200):
        try:
            uuid.UUID(str(account_id))
        except ValueError:
            return page.not_found()
        history = page.call("accounts", "account_history", account_id=account_id)
        events = [e for e in history.get("events", []) if e.get("type") not in UNSHOWN_EVENTS]
        account = current_view(account_id, history.get("events", []))
        return page.render("sac/account.html", status=status, account=account, events=events,
                           history_zh=HISTORY_ZH, roles_zh=ROLES_ZH, statuses_zh=STATUSES_ZH,
                           roles=list(ROLES_ZH.items()), errors=errors, summary=summary, values=values,
                           yourself=account_id == page.account.account_id,
                           breadcrumbs=_crumbs((account.get("name") or account.get("email") or account_id, None)))

    def _change_account(self, page, account_id, method, notice, values, **kwargs):
        try:
            page.call("accounts", method, account_id=account_id, **kwargs)
        except EdgeError as error:
            if error.status >= 500 or error.status == 404:
                raise
            fields, summary = form_errors(error)
            return self._account_page(page, account_id, fields, summary, values, error.status)
        return redirect(f"/sac/accounts/{account_id}?notice={notice}")

    @http("POST", "/sac/accounts/<account_id>/deactivate")
    @admin_page
    def admin_deactivate(self, page, account_id):
        reason = (page.request.form.get("reason") or "").strip()
        if not reason:
            return self._account_page(page, account_id, {"reason": ["请写明停用的理由"]}, None, {}, 422)
        return self._change_account(page, account_id, "deactivate", "account_deactivated", {"reason": reason},
                            reason=reason[:500])

    @http("POST", "/sac/accounts/<account_id>/reactivate")
    @admin_page
    def admin_reactivate(self, page, account_id):
        return self._change_account(page, account_id, "reactivate", "account_reactivated", {})

    @http("POST", "/sac/accounts/<account_id>/role")
    @admin_page
    def admin_set_role(self, page, account_id):
        form = page.request.form
        values = {name: (form.get(name) or "").strip() for name in ("role", "organization", "party_id")}
        values["admin"] = form.get("admin") == "yes"
        errors = {}
        if values["role"] not in ROLES_ZH:
            errors["role"] = ["请选择角色"]
        if not values["organization"]:
            errors["organization"] = ["请填写所在单位"]
        if errors:
            return self._account_page(page, account_id, errors, None, values, 422)
        return self._change_account(page, account_id, "set_role", "role_changed", values, role=values["role"],
                            organization=values["organization"], party_id=values["party_id"] or None,
                            admin=values["admin"] if values["role"] == "officer" else False)
