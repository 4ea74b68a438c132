"""Typed errors as HTTP answers: RFC 9457 `application/problem+json`.

Every error a service raises on purpose crosses the wire by its class name with
its message and details (shared.errors). Here each name gets its HTTP status
and a Chinese and English title. A foreign application answers 404 exactly as a
missing one does, so that no caller learns which exist.
"""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

PROBLEM_TYPE = "https://innobase.local/problems/"

# name: (status, 中文, English)
PROBLEMS: dict[str, tuple[int, str, str]] = {
    # the request itself
    "MalformedRequest": (400, "请求格式错误", "The request could not be read"),
    "AuthenticationFailed": (401, "未登录或登录已失效", "Not signed in, or the sign-in has expired"),
    "NotAuthorized": (403, "无权执行此操作", "Not allowed to do this"),
    "CsrfRejected": (403, "表单已失效，请刷新页面后重试", "The form's CSRF token is missing or wrong"),
    "TokenScope": (403, "该令牌为只读，不能修改数据", "This token is read-only"),
    "NotTheChair": (403, "只有专家组组长可以执行此操作", "Only the panel's chair may do this"),
    "RouteNotFound": (404, "页面或接口不存在", "No such resource"),
    "MethodNotAllowed": (405, "不支持该请求方法", "Method not allowed"),
    "PayloadTooLarge": (413, "上传内容过大", "The request body is too large"),
    "UnsupportedMediaType": (415, "不支持的内容类型", "Unsupported content type"),
    "PreconditionFailed": (412, "内容已被他人修改，请刷新后再试", "The resource changed since it was read (If-Match)"),
    "IdempotencyKeyReused": (422, "同一幂等键用于不同的请求内容", "The Idempotency-Key was used with another request body"),
    "IdempotencyKeyInFlight": (409, "相同的请求仍在处理中", "A request with this Idempotency-Key is still in progress"),
    "InvalidInput": (422, "填写内容有误", "Invalid input"),
    "InternalError": (500, "系统内部错误，请稍后再试", "Internal error"),
    "ServiceUnavailable": (503, "服务暂时不可用，请稍后再试", "A service is not available"),
    "UpstreamTimeout": (504, "服务响应超时，请稍后再试", "A service did not answer in time"),
    # the common errors of every service
    "InnobaseError": (409, "操作未能完成", "The command was refused"),
    "NotFound": (404, "未找到", "Not found"),
    "ApplicationNotFound": (404, "申报不存在", "No such application"),
    "NotYourApplication": (404, "申报不存在", "No such application"),
    "ConcurrencyConflict": (409, "内容已被他人修改，请刷新后再试", "Changed by someone else meanwhile: reload and retry"),
    "RuleViolation": (409, "不符合申报规则", "A rule of the process refuses this"),
    # intake
    "InvalidCreditCode": (422, "统一社会信用代码无效", "The unified social credit code is not valid"),
    "AlreadyRegistered": (409, "该单位已注册", "Already registered"),
    "ApplicantNotRegistered": (409, "申报单位尚未登记", "The applicant unit is not registered"),
    "UnitNotFound": (404, "单位不存在", "No such unit"),
    "UnitPairNotAllowed": (422, "申报组织单位与推荐单位的组合不符合指南要求", "The guide does not allow this pair of units for the base type"),
    "SectionClosed": (409, "该部分当前不可修改", "This section is not open for changes"),
    "SubmissionWindowClosed": (409, "不在申报受理期内", "Outside the submission window"),
    "PlanIncomplete": (422, "申报方案尚未填写完整", "The plan is incomplete"),
    "VersionNotFound": (404, "版本不存在", "No such version"),
    "AttachmentNotFound": (404, "附件不存在", "No such attachment"),
    "ApplicationClosed": (409, "申报已结束", "The application is closed"),
    # endorsement
    "QuotaExceeded": (409, "超出推荐名额", "The recommending unit's quota is used up"),
    "QuotaScopeUnknown": (422, "无法确定推荐名额的范围", "The quota's scope cannot be determined"),
    "UnitNotRegistered": (409, "单位尚未登记", "The unit is not registered"),
    "UnitPairMismatch": (409, "单位与申报不符", "The units do not match the application"),
    "WrongStage": (409, "当前阶段不能执行此操作", "Not possible at the application's current stage"),
    "PlanVersionSuperseded": (409, "申报方案已有新版本", "The plan has a newer version"),
    "ScanNotFound": (404, "扫描件不存在", "No such scan"),
    # review
    "DeadlineInPast": (422, "截止时间已过", "The deadline lies in the past"),
    "DeadlineClosed": (409, "已过截止时间", "The deadline has passed"),
    "RequestNotFound": (404, "补正要求不存在", "No such request"),
    "AlreadyAccepted": (409, "已受理", "Already accepted"),
    "ChecklistIncomplete": (422, "形式审查清单未完成", "The checklist is incomplete"),
    "UnknownChecklistItem": (422, "未知的审查项", "Unknown checklist item"),
    "AlreadyInformed": (409, "已通知申报单位", "The applicant was already informed"),
    "ExpertNotFound": (404, "专家不存在", "No such expert"),
    "ExpertAlreadyRegistered": (409, "专家已登记", "The expert is already registered"),
    "PanelNotFound": (404, "专家组不存在", "No such panel"),
    "PanelSize": (422, "专家组人数不符合要求", "The panel's size is not allowed"),
    "ConflictOfInterest": (409, "存在利益冲突，需回避", "A conflict of interest excludes this expert"),
    "NotAssigned": (404, "申报不存在", "No such application"),
    "OpinionAlreadySubmitted": (409, "已提交评审意见", "The opinion was already submitted"),
    "OpinionsOutstanding": (409, "尚有专家未提交意见", "Opinions are still outstanding"),
    "BaseLimitExceeded": (409, "超出创新基地数量限制", "The limit of bases is reached"),
    "RegionalBaseExists": (409, "该地区已设置区域（综合）创新基地", "The region already has a regional base"),
    "DomainBaseExists": (409, "该领域已设置创新基地", "The domain already has a base"),
    "DomainBaseLimitReached": (409, "同一领域创新基地已达上限", "The domain's limit of bases is reached"),
    # notification
    "NotificationNotFound": (404, "消息不存在", "No such message"),
    "NotYourNotification": (404, "消息不存在", "No such message"),
    # accounts
    "AccountLocked": (429, "登录失败次数过多，账户已临时锁定", "Too many failed sign-ins: the account is locked for a while"),
    "AccountNotConfirmed": (403, "邮箱尚未确认", "The e-mail address is not confirmed yet"),
    "AccountDeactivated": (403, "账户已停用", "The account is deactivated"),
    "AccountNotFound": (404, "账户不存在", "No such account"),
    "EmailTaken": (409, "该邮箱已注册", "An account with this e-mail exists"),
    "PartyTaken": (409, "该专家已有账户", "Another account acts as this party"),
    "WeakPassword": (422, "密码强度不足", "The password is too weak"),
    "LinkInvalid": (422, "链接无效或已过期", "The link is invalid or has expired"),
    "TokenNotFound": (404, "令牌不存在", "No such token"),
}
# Details that would tell a caller about another party's data are not passed on.
HIDDEN_DETAILS = {"NotYourApplication", "NotAssigned", "NotYourNotification"}


def describe(name: str) -> tuple[int, str, str]:
    """Status and titles of a typed error; an unlisted one by the family its name says it is of."""
    if name in PROBLEMS:
        return PROBLEMS[name]
    if name.endswith("NotFound"):
        return 404, "未找到", "Not found"
    return 409, "不符合申报规则", "A rule of the process refuses this"


class EdgeError(Exception):
    """An error answered to the HTTP caller: a service's typed error or the edge's own."""

    def __init__(self, name: str, message: str = "", details: dict | None = None, status: int | None = None,
                 headers: dict | None = None):
        known_status, self.message_zh, self.message_en = describe(name)
        self.name = name
        self.status = status or known_status
        self.message = message or self.message_en
        self.details = {} if name in HIDDEN_DETAILS else (details or {})
        self.headers = headers or {}
        super().__init__(f"{name}: {self.message}")

    @classmethod
    def from_remote(cls, error: dict) -> "EdgeError":
        """From nameko's serialised error: `exc_type` and the arguments (message, details as JSON)."""
        name = error.get("exc_type") or "Error"
        args = error.get("exc_args") or []
        message = str(args[0]) if args else str(error.get("value", ""))
        details = {}
        if len(args) > 1:
            try:
                details = json.loads(args[1]) if isinstance(args[1], str) else dict(args[1])
            except (TypeError, ValueError):
                details = {}
        if name not in PROBLEMS and not error.get("exc_path", "").startswith(("shared.errors", "services.")):
            # Not one of ours: a defect. The caller learns nothing of its inside.
            return cls("InternalError", "internal error", status=500)
        if name in HIDDEN_DETAILS:
            message = "not found"
        return cls(name, message, details)

    @property
    def fields(self) -> dict:
        return self.details.get("fields", {}) if isinstance(self.details, dict) else {}

    def problem(self, instance: str = "") -> dict:
        body = {
            "type": PROBLEM_TYPE + self.name,
            "title": self.message_en,
            "status": self.status,
            "detail": self.message,
            "error": self.name,
            "title_zh": self.message_zh,
            "details": self.details,
        }
        if instance:
            body["instance"] = instance
        if self.fields:
            body["fields"] = self.fields
        if isinstance(self.details, dict) and self.details.get("field"):
            body["field"] = self.details["field"]
        return body

    def response(self, instance: str = "") -> Response:
        return Response(json.dumps(self.problem(instance), ensure_ascii=False), status=self.status,
                        headers=self.headers, content_type="application/problem+json; charset=utf-8")
