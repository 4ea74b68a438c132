"""What every portal page does before its own work: who asks, CSRF on every POST, sign-in where needed,
and the edge's typed errors turned into the pages a person expects (404, 403, the form again)."""
from __future__ import annotations

import functools
from urllib.parse import quote, urlsplit

from werkzeug.utils import redirect as _redirect
from werkzeug.wrappers import Request, Response

from services.gateway.problems import EdgeError
from services.gateway.portal import rendering, settings

# Notices after a redirect (`?notice=…`): fixed texts, so a link cannot make the page say anything else.
NOTICES = {
    "signed_out": ("success", "您已退出。"),
    "email_confirmed": ("success", "邮箱已确认，请登录。"),
    "password_reset": ("success", "密码已重设，请用新密码登录。"),
    "invitation_accepted": ("success", "账户已启用，请用刚设置的密码登录。"),
    "draft_created": ("success", "申报草稿已创建，请逐部分填写申报方案。"),
    "section_saved": ("success", "已保存。"),
    "uploaded": ("success", "附件已上传。"),
    "submitted": ("success", "申报方案已提交。请打印申报方案一式四份，盖章后寄送申报组织单位。"),
    "registered_unit": ("success", "单位信息已登记，现在可以创建申报草稿。"),
    "returned": ("success", "已退回申报单位修改。"),
    "forwarded": ("success", "已审核盖章并报送推荐单位。"),
    "recommended": ("success", "已推荐。"),
    "declined": ("success", "已不予推荐。"),
    "case_accept": ("success", "已受理，申报已编号。"),
    "case_record_finding": ("success", "审查结果已记录。"),
    "case_request_supplement": ("success", "已要求补充材料，申报单位将收到通知。"),
    "case_pass_review": ("success", "形式审查合格，已纳入专家论证。"),
    "case_reject": ("success", "已作出不予受理决定。"),
    "opinion_submitted": ("success", "评审意见已提交，提交后不能修改。"),
    "account_deactivated": ("success", "账户已停用，其登录会话已结束。"),
    "account_reactivated": ("success", "账户已重新启用。"),
    "role_changed": ("success", "角色已变更。"),
    "late_granted": ("success", "已准予受理期外提交，申报单位现在可以提交。"),
    "approved": ("success", "已批准筹建。申报组织单位须在3个月内提交建设方案。"),
    "approval_declined": ("success", "已作出不予批准决定。"),
    "conflict_declared": ("success", "利益冲突已声明：今后不会安排您论证涉及该单位的申报。"),
    "concluded": ("success", "论证结论已提交。"),
    "marked_read": ("success", "已标记为已读。"),
    "expert_registered": ("success", "专家已登记，可选入专家组；邀请其开设账户时填写专家编号。"),
    "site_visit_scheduled": ("success", "现场审核已安排，专家组将收到通知。"),
    "site_visit_recorded": ("success", "现场审核情况已记录。"),
    "member_added": ("success", "专家已增补进专家组。"),
    "revision_confirmed": ("success", "修改稿已确认，国家标准委可以作出批准决定。"),
    "revision_requested": ("success", "已要求再次修改，申报单位将收到通知。"),
    "unit_registered": ("success", "单位已登记，申报单位起草申报时即可选择。"),
}

# The page each role starts from after signing in.
HOMES = {
    "applicant": "/applicant",
    "organizing_unit": "/units",
    "recommending_unit": "/units",
    "officer": "/sac",
    "auditor": "/audit",
    "expert": "/expert",
}

NOT_FOUND_NAMES = {"NotFound", "NotYourApplication", "ApplicationNotFound", "UnitNotFound"}


def home_of(account) -> str:
    return HOMES.get(getattr(account, "role", None), "/home")


def local_path(target: str | None, fallback: str = "/") -> str:
    """`target` when it is a path on this site (sign-in's `next`), else `fallback`: no open redirect."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def redirect(location: str) -> Response:
    return _redirect(location, code=303)


class Page:
    """One request as a page sees it: the edge, the request, the signed-in account."""

    def __init__(self, edge, request: Request, account):
        self.edge = edge
        self.request = request
        self.account = account
        self._csrf = None

    @property
    def csrf_token(self) -> str:
        if self._csrf is None:
            self._csrf = self.edge.csrf_token(self.request)
        return self._csrf

    def call(self, service: str, method: str, **kwargs):
        return self.edge.call(service, method, **kwargs)

    def notices(self, extra=()) -> list[dict]:
        found = [NOTICES[code] for code in self.request.args.getlist("notice") if code in NOTICES]
        return [{"kind": kind, "text": text} for kind, text in [*found, *extra]]

    def render(self, template: str, status: int = 200, notices=(), **context) -> Response:
        return rendering.html(
            template,
            status=status,
            user=self.account,
            csrf_token=self.csrf_token,
            development=settings.get().development,
            notices=self.notices(notices),
            request_path=self.request.path,
            **context,
        )

    def not_found(self) -> Response:
        return self.render("not_found.html", status=404, breadcrumbs=[("首页", "/"), ("页面不存在", None)])

    def problem(self, error: EdgeError) -> Response:
        if error.status == 404 or error.name in NOT_FOUND_NAMES:
            return self.not_found()
        if error.status == 401:
            return redirect(f"/sign-in?next={quote(self.request.full_path.rstrip('?'))}")
        return self.render("problem.html", status=error.status or 500, error=error,
                           breadcrumbs=[("首页", "/"), ("无法完成操作", None)])


# Rules of the guide a refusal names, as the person who broke one reads it beside the field.
RULES_ZH = {
    "opinion_date": "日期不能晚于今天",
    "base_name": "名称应为“国家技术标准创新基地（×××）”",
    "submission_window": "不在网上申报受理期（每年5月5日至7月30日）内",
    "credentials": "电子邮箱或密码不正确",
}


def form_errors(error: EdgeError) -> tuple[dict, str | None]:
    """The fields an error names (path → messages) and a sentence for the summary when it names none."""
    details = getattr(error, "details", None) or {}
    fields = details.get("fields") or {}
    if not fields and isinstance(details.get("field"), str):
        # a rule refusing one field: its message beside that field
        return {details["field"]: [RULES_ZH.get(details.get("rule"), error.message_zh)]}, None
    errors = {}
    for path, messages in fields.items():
        if isinstance(messages, dict):  # nested marshmallow messages: flatten to dotted paths
            for inner, inner_messages in form_errors_from_nested(messages, str(path)).items():
                errors[inner] = inner_messages
        else:
            errors[str(path)] = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
    return errors, (None if errors else (error.message_zh or error.message_en or error.name))


def form_errors_from_nested(messages: dict, prefix: str) -> dict:
    flat = {}
    for key, value in messages.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(form_errors_from_nested(value, path))
        else:
            flat[path] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return flat


def portal_page(roles: tuple[str, ...] | None = None, public: bool = False):
    """Wraps a page handler `fn(self, page, **path_values)`; apply under nameko's `@http`."""

    def wrap(fn):
        @functools.wraps(fn)
        def handler(self, request: Request, **path_values):
            edge = self.edge
            try:
                account = edge.identify(request)
            except EdgeError:
                account = None
            page = Page(edge, request, account)
            try:
                if request.method == "POST":
                    edge.check_csrf(request)
                if account is None and not public:
                    response = redirect(f"/sign-in?next={quote(request.full_path.rstrip('?'))}")
                elif roles and account.role not in roles:
                    # another party's page answers as a missing one: no existence oracle
                    response = page.not_found()
                else:
                    response = fn(self, page, **path_values)
            except EdgeError as error:
                response = page.problem(error)
            # the edge's headers, and the CSRF cookie of a browser not signed in yet
            return edge.finish(request, response)

        return handler

    return wrap
