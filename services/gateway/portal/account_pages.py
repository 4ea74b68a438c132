"""Pages of one's account: 登录, 退出, 注册账户, 确认邮箱, 忘记密码 / 重置密码, 接受邀请."""
from __future__ import annotations

from services.gateway.web import http

from services.gateway.problems import EdgeError
from services.gateway.portal.pages import form_errors, home_of, local_path, portal_page, redirect

REGISTRATION_FIELDS = ("credit_code", "unit_name", "contact_name", "email")


def _passwords(form) -> tuple[str, dict]:
    """The new password, and the refusal when the two typed differ (before asking the service)."""
    password = form.get("password", "")
    if not password:
        return password, {"password": ["请输入密码"]}
    if password != form.get("password_confirmation", ""):
        return password, {"password_confirmation": ["两次输入的密码不一致"]}
    return password, {}


class AccountPages:
    @http("GET", "/")
    @portal_page(public=True)
    def start_page(self, page):
        if page.account is None:
            return redirect("/sign-in")
        return redirect(home_of(page.account))

    @http("GET", "/home")
    @portal_page()
    def role_home(self, page):
        return page.render("home.html", breadcrumbs=[("首页", None)])

    # -- sign-in and sign-out -------------------------------------------------------------

    @http("GET", "/sign-in")
    @portal_page(public=True)
    def sign_in_form(self, page):
        return page.render("sign_in.html", next=local_path(page.request.args.get("next"), ""),
                           email="", errors={}, summary=None, breadcrumbs=[("登录", None)])

    @http("POST", "/sign-in")
    @portal_page(public=True)
    def sign_in(self, page):
        form = page.request.form
        email, password = form.get("email", "").strip(), form.get("password", "")
        target = local_path(form.get("next"), "")
        errors = {}
        if not email:
            errors["email"] = ["请输入电子邮箱"]
        if not password:
            errors["password"] = ["请输入密码"]
        if not errors:
            try:
                account, session_id, expires_at = page.edge.sign_in(email, password)
            except EdgeError as error:
                if error.status in (400, 401, 403, 422, 423, 429):
                    fields, summary = form_errors(error)
                    return page.render("sign_in.html", status=error.status, next=target, email=email,
                                       errors=fields, summary=summary, breadcrumbs=[("登录", None)])
                raise
            response = redirect(target or home_of(account))
            # A browser-session cookie: it ends with the browser, and accounts ends it on the server
            # at its lifetime or idle timeout; no expiry date that a skewed client clock could misread.
            page.edge.set_session_cookie(response, session_id, None)
            return response
        return page.render("sign_in.html", status=422, next=target, email=email, errors=errors,
                           summary=None, breadcrumbs=[("登录", None)])

    @http("POST", "/sign-out")
    @portal_page(public=True)
    def sign_out(self, page):
        page.edge.sign_out(page.request)
        response = redirect("/sign-in?notice=signed_out")
        page.edge.clear_session_cookie(response)
        return response

    # -- registration and e-mail confirmation ---------------------------------------------

    @http("GET", "/register")
    @portal_page(public=True)
    def registration_form(self, page):
        return page.render("register.html", values={}, errors={}, summary=None,
                           breadcrumbs=[("登录", "/sign-in"), ("注册账户", None)])

    @http("POST", "/register")
    @portal_page(public=True)
    def register(self, page):
        form = page.request.form
        values = {name: form.get(name, "").strip() for name in REGISTRATION_FIELDS}
        values["credit_code"] = values["credit_code"].upper()
        password, errors = _passwords(form)
        summary = None
        if not errors:
            try:
                page.edge.gateway_call("register", password=password, **values)
            except EdgeError as error:
                if error.status >= 500:
                    raise
                errors, summary = form_errors(error)
            else:
                return page.render("registered.html", email=values["email"],
                                   breadcrumbs=[("注册账户", "/register"), ("请确认邮箱", None)])
        return page.render("register.html", status=422, values=values, errors=errors, summary=summary,
                           breadcrumbs=[("登录", "/sign-in"), ("注册账户", None)])

    @http("GET", "/confirm")
    @portal_page(public=True)
    def confirm_email(self, page):
        token = page.request.args.get("token", "")
        try:
            page.edge.gateway_call("confirm_email", token=token)
        except EdgeError as error:
            if error.status >= 500:
                raise
            return page.render("link_refused.html", status=error.status, error=error, title="邮箱确认未完成",
                               breadcrumbs=[("确认邮箱", None)])
        return redirect("/sign-in?notice=email_confirmed")

    # -- password reset -------------------------------------------------------------------

    @http("GET", "/forgot-password")
    @portal_page(public=True)
    def forgot_password_form(self, page):
        return page.render("forgot_password.html", email="", errors={}, summary=None,
                           breadcrumbs=[("登录", "/sign-in"), ("忘记密码", None)])

    @http("POST", "/forgot-password")
    @portal_page(public=True)
    def forgot_password(self, page):
        email = page.request.form.get("email", "").strip()
        if not email:
            return page.render("forgot_password.html", status=422, email=email,
                               errors={"email": ["请输入注册时使用的电子邮箱"]}, summary=None,
                               breadcrumbs=[("登录", "/sign-in"), ("忘记密码", None)])
        try:
            page.edge.gateway_call("request_password_reset", email=email)
        except EdgeError as error:
            if error.status >= 500 or error.status == 429:
                raise
            errors, summary = form_errors(error)
            if errors or error.status == 400 or error.name == "InvalidInput":
                return page.render("forgot_password.html", status=422, email=email, errors=errors,
                                   summary=summary, breadcrumbs=[("登录", "/sign-in"), ("忘记密码", None)])
            # anything else says nothing about whether the address has an account
        return page.render("reset_sent.html", email=email, breadcrumbs=[("登录", "/sign-in"), ("忘记密码", None)])

    @http("GET", "/reset-password")
    @portal_page(public=True)
    def reset_password_form(self, page):
        return page.render("set_password.html", token=page.request.args.get("token", ""), errors={}, summary=None,
                           action="/reset-password", title="重设密码", button="重设密码",
                           breadcrumbs=[("登录", "/sign-in"), ("重设密码", None)])

    @http("POST", "/reset-password")
    @portal_page(public=True)
    def reset_password(self, page):
        return self._set_password(page, "reset_password", "/reset-password", "重设密码", "password_reset")

    # -- invitations (clerks, experts, auditors) --------------------------------------------

    @http("GET", "/invitation")
    @portal_page(public=True)
    def invitation_form(self, page):
        return page.render("set_password.html", token=page.request.args.get("token", ""), errors={}, summary=None,
                           action="/invitation", title="接受邀请，设置密码", button="启用账户",
                           breadcrumbs=[("接受邀请", None)])

    @http("POST", "/invitation")
    @portal_page(public=True)
    def accept_invitation(self, page):
        return self._set_password(page, "accept_invitation", "/invitation", "接受邀请，设置密码",
                                  "invitation_accepted")

    def _set_password(self, page, method: str, action: str, title: str, notice: str):
        form = page.request.form
        token = form.get("token", "")
        password, errors = _passwords(form)
        summary = None
        if not errors:
            try:
                page.edge.gateway_call(method, token=token, password=password)
            except EdgeError as error:
                if error.status >= 500:
                    raise
                errors, summary = form_errors(error)
            else:
                return redirect(f"/sign-in?notice={notice}")
        return page.render("set_password.html", status=422, token=token, errors=errors, summary=summary,
                           action=action, title=title, button="启用账户" if method == "accept_invitation" else "重设密码",
                           breadcrumbs=[(title, None)])
