"""Every HTTP resource of /api/v1/ and the RPC behind it, as data.

A route names the RPC it maps to and the marshmallow schema that RPC loads its
arguments with (the services' own schemas: the OpenAPI document is generated
from them, never written twice). Arguments come from the path, then the query
string (GET, DELETE) or the body (JSON, or multipart/form-data for files).
Who may call is the service's decision on every call; `roles` only documents it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema

from services.accounts import schemas as accounts
from services.endorsement import schemas as endorsement
from services.intake import schemas as intake
from services.notification import schemas as notification
from services.review.expert_review import schemas as expert_review
from services.review.formal_review import schemas as formal_review
from shared import rpc as common


@dataclass(frozen=True)
class Route:
    method: str
    path: str                  # werkzeug rule under /api/v1, e.g. "/applications/<application_id>"
    service: str
    rpc: str
    schema: type[Schema] | None
    summary: str
    tag: str
    roles: tuple[str, ...] = ()
    status: int = 200
    body: str = "json"         # "json": the arguments; "content": the body is the `content` argument; "upload": multipart file
    result: str = "json"       # "json", or "file": base64 `content` sent as the file itself
    gateway: bool = False      # made as the gateway (anonymous callers: sign-in, registration, links)
    public: bool = False       # anyone may call, signed in or not (as the gateway when nobody is)
    paginated: bool = False    # limit/offset of the RPC answered as a cursor
    etag: bool = False         # the answer carries `version`: sent as ETag
    if_match: bool = False     # If-Match becomes the RPC's `expected_version`
    tags_extra: tuple = field(default_factory=tuple)

    @property
    def operation_id(self) -> str:
        return f"{self.service}.{self.rpc}"


APP = "/applications/<application_id>"
ALL_STAFF = ("officer", "auditor")


A = "accounts"
ROUTES: tuple[Route, ...] = (
    # --- accounts and sessions ----------------------------------------------------------
    Route("POST", "/accounts", A, "register", accounts.Register, "注册账户 (an applicant unit registers)", A,
          ("anyone",), status=201, gateway=True),
    Route("POST", "/accounts/confirmation", A, "confirm_email", accounts.LinkToken, "确认邮箱 (the link of the e-mail)", A,
          ("anyone",), gateway=True),
    Route("POST", "/accounts/confirmation-requests", A, "resend_confirmation", accounts.EmailOnly,
          "A new confirmation e-mail (same answer for unknown addresses)", A, ("anyone",), status=202, gateway=True),
    Route("POST", "/password-resets", A, "request_password_reset", accounts.EmailOnly,
          "忘记密码: a reset link by e-mail (same answer for unknown addresses)", A, ("anyone",), status=202, gateway=True),
    Route("POST", "/password-resets/completion", A, "reset_password", accounts.ResetPassword, "重置密码 with the e-mailed link", A,
          ("anyone",), gateway=True),
    Route("POST", "/invitations/acceptance", A, "accept_invitation", accounts.AcceptInvitation,
          "接受邀请: the invitee sets a password", A, ("anyone",), gateway=True),
    Route("GET", "/me", A, "me", None, "The signed-in account", A, ("any account",)),
    Route("POST", "/me/password", A, "change_password", accounts.ChangePassword, "修改密码", A, ("any account",)),
    Route("GET", "/me/tokens", A, "list_tokens", None, "My personal access tokens", A, ("any account",)),
    Route("POST", "/me/tokens", A, "create_token", accounts.CreateToken,
          "A personal access token for scripts (shown once)", A, ("any account",), status=201),
    Route("DELETE", "/me/tokens/<token_id>", A, "revoke_token", accounts.TokenRef, "Revoke a token", A, ("any account",)),
    Route("POST", "/invitations", A, "invite", accounts.Invite, "邀请 a clerk, expert, officer or auditor (e-mail, 72 h)", A,
          ("SAC administrator",), status=201),
    Route("GET", "/invitations", A, "list_invitations", None, "Invitations", A, ("SAC administrator",)),
    Route("GET", "/accounts", A, "list_accounts", accounts.ListAccounts, "Accounts, filtered", A, ("SAC administrator",)),
    Route("POST", "/accounts/<account_id>/deactivation", A, "deactivate", accounts.Deactivate, "停用 an account", A,
          ("SAC administrator",)),
    Route("POST", "/accounts/<account_id>/reactivation", A, "reactivate", accounts.AccountRef, "启用 an account again", A,
          ("SAC administrator",)),
    Route("PUT", "/accounts/<account_id>/role", A, "set_role", accounts.SetRole, "Grant a role and organization", A,
          ("SAC administrator",)),
    Route("GET", "/accounts/<account_id>/history", A, "account_history", accounts.AccountRef,
          "Who granted what, when", A, ("SAC administrator", "auditor")),

    # --- intake: registers ---------------------------------------------------------------
    Route("POST", "/applicants", "intake", "register_applicant", intake.RegisterApplicant,
          "登记申报单位 (the applicant unit's registration)", "intake", ("applicant",), status=201),
    Route("GET", "/applicants/<credit_code>", "intake", "get_applicant", intake.ApplicantQuery,
          "An applicant unit's registration", "intake", ("applicant (own)", *ALL_STAFF)),
    Route("POST", "/credit-code-overrides", "intake", "grant_credit_code_override", intake.CreditCodeOverride,
          "Accept a credit code failing its check character", "intake", ("officer",), status=201),
    Route("POST", "/units", "intake", "register_unit", intake.RegisterUnit,
          "登记申报组织单位或推荐单位", "intake", ("officer",), status=201),
    Route("GET", "/units", "intake", "list_units", intake.UnitQuery, "The register of units", "intake",
          ("any account",)),

    # --- intake: the plan ------------------------------------------------------------------
    Route("GET", "/applications", "intake", "my_applications", intake.ApplicationsQuery,
          "Applications: an applicant's own, a unit's, or all (officer, auditor)", "intake", ("any account",),
          paginated=True),
    Route("GET", "/applications/search", "intake", "search_applications", intake.ApplicationSearch,
          "Search every application by name, applicant, credit code or number, with filters and a sort",
          "intake", ALL_STAFF, paginated=True),
    Route("GET", "/applications/counts", "intake", "application_counts", None,
          "The round's applications counted by stage, base type and region or domain", "intake", ALL_STAFF),
    Route("POST", "/applications", "intake", "create_draft", intake.CreateDraft, "起草申报 (a new draft)", "intake",
          ("applicant",), status=201),
    Route("GET", APP, "intake", "get_application", intake.VersionRef,
          "An application: the working copy or a submitted `version`", "intake", ("parties of the application",),
          etag=True),
    Route("PUT", APP + "/sections/<section>", "intake", "save_section", intake.SaveSection,
          "Save one section of the plan (附件2); the body is the section's content", "intake", ("applicant",),
          body="content", if_match=True),
    Route("POST", APP + "/attachments", "intake", "upload_attachment", intake.Upload,
          "Upload evidence (multipart/form-data field `file`; PDF, JPEG or PNG, ≤ 10 MiB)", "intake", ("applicant",),
          status=201, body="upload", if_match=True),
    Route("GET", APP + "/attachments/<sha256>", "intake", "get_attachment", intake.AttachmentRef,
          "Download an attachment", "intake", ("parties of the application",), result="file"),
    Route("GET", APP + "/check", "intake", "check", intake.ApplicationRef,
          "The completeness check (what is missing, by section and field)", "intake", ("applicant", *ALL_STAFF)),
    Route("POST", APP + "/submission", "intake", "submit", intake.Submit, "提交申报", "intake",
          ("applicant",), if_match=True),
    Route("POST", APP + "/withdrawal", "intake", "withdraw", intake.Withdraw, "撤回申报", "intake", ("applicant",),
          if_match=True),
    Route("POST", APP + "/late-submission", "intake", "grant_late_submission", intake.Reasoned,
          "Allow a submission outside the window (an exception, with its reason)", "intake", ("officer",)),
    Route("GET", APP + "/versions", "intake", "versions", intake.ApplicationRef, "Submitted versions", "intake",
          ("parties of the application",)),
    Route("GET", APP + "/diff", "intake", "diff", intake.Diff, "What changed between two versions", "intake",
          ("parties of the application",)),
    Route("GET", APP + "/plan.pdf", "intake", "plan_pdf", intake.VersionRef,
          "The printed plan (申报方案), A4 PDF", "intake", ("parties of the application",), result="file"),
    Route("POST", "/print-verifications", "intake", "verify_print", intake.VerifyPrint,
          "Is a printed plan (its digest, or the PDF) a submitted version in the log?", "intake",
          ("anyone",), public=True),

    # --- endorsement -------------------------------------------------------------------------
    Route("GET", "/endorsement/organizing-queue", "endorsement", "organizing_queue", endorsement.QueueQuery,
          "申报组织单位's queue, with counts", "endorsement", ("organizing_unit",), paginated=True),
    Route("GET", "/endorsement/recommending-queue", "endorsement", "recommending_queue", endorsement.QueueQuery,
          "推荐单位's queue, with counts", "endorsement", ("recommending_unit",), paginated=True),
    Route("GET", "/endorsement/quota", "endorsement", "recommending_quota", endorsement.QuotaQuery,
          "The recommending unit's quota use for a round", "endorsement", ("recommending_unit", *ALL_STAFF)),
    Route("GET", APP + "/endorsement", "endorsement", "endorsement_history", endorsement.ApplicationRef,
          "The endorsement of an application: checks, returns, stamps, recommendation", "endorsement",
          ("parties of the application",)),
    Route("POST", APP + "/endorsement/return", "endorsement", "return_to_applicant", endorsement.ReturnToApplicant,
          "退回申报单位 with the sections to correct", "endorsement", ("organizing_unit",)),
    Route("POST", APP + "/endorsement/forward", "endorsement", "forward", endorsement.Forward,
          "审核盖章: the organizing unit stamps and forwards (stamped plan scan)", "endorsement",
          ("organizing_unit",)),
    Route("POST", APP + "/endorsement/decline", "endorsement", "decline", endorsement.Reasoned,
          "The recommending unit declines to recommend", "endorsement", ("recommending_unit",)),
    Route("POST", APP + "/endorsement/return-to-organizing-unit", "endorsement", "return_to_organizing_unit",
          endorsement.Reasoned, "退回申报组织单位", "endorsement", ("recommending_unit",)),
    Route("POST", APP + "/endorsement/recommendation", "endorsement", "recommend", endorsement.Recommend,
          "推荐: with the stamped plan and the signed letter", "endorsement", ("recommending_unit",)),
    Route("POST", APP + "/endorsement/recommendation-withdrawal", "endorsement", "withdraw_recommendation",
          endorsement.Reasoned, "撤回推荐", "endorsement", ("recommending_unit",)),
    Route("POST", APP + "/recommendation-letter/reference", "endorsement", "number_recommendation_letter",
          endorsement.NumberLetter, "发文字号 of the recommendation letter (the letter then prints as issued)",
          "endorsement", ("recommending_unit",)),
    Route("GET", APP + "/recommendation-letter.pdf", "endorsement", "recommendation_letter_pdf",
          endorsement.ApplicationRef, "The recommendation letter to print, sign and stamp", "endorsement",
          ("recommending_unit", *ALL_STAFF), result="file"),
    Route("GET", APP + "/scans/<sha256>", "endorsement", "get_scan", endorsement.ScanRef,
          "A scan of a stamped plan or letter", "endorsement", ("parties of the application",), result="file"),

    # --- formal review -----------------------------------------------------------------------
    Route("GET", "/formal-review/cases", "formal_review", "cases", formal_review.CaseQuery,
          "形式审查 cases with counts by state", "formal_review", ALL_STAFF, paginated=True),
    Route("GET", APP + "/formal-review", "formal_review", "get_case", formal_review.ApplicationRef,
          "An application's formal review", "formal_review", ("officer", "auditor", "applicant (own)")),
    Route("POST", APP + "/formal-review/acceptance", "formal_review", "accept", formal_review.ApplicationRef,
          "受理 (gives the number)", "formal_review", ("officer",)),
    Route("POST", APP + "/formal-review/findings", "formal_review", "record_finding", formal_review.RecordFinding,
          "A finding on one checklist item", "formal_review", ("officer",)),
    Route("POST", APP + "/formal-review/supplement-requests", "formal_review", "request_supplement",
          formal_review.RequestSupplement, "补正: ask for supplementary material by a deadline", "formal_review",
          ("officer",)),
    Route("POST", APP + "/formal-review/deadline-extension", "formal_review", "extend_deadline",
          formal_review.ExtendDeadline, "Extend a supplement's deadline", "formal_review", ("officer",)),
    Route("POST", APP + "/formal-review/pass", "formal_review", "pass_review", formal_review.PassReview,
          "通过形式审查", "formal_review", ("officer",)),
    Route("POST", APP + "/formal-review/rejection", "formal_review", "reject", formal_review.Reject,
          "不予受理 / inadmissible, with reasons", "formal_review", ("officer",)),
    Route("POST", APP + "/formal-review/applicant-informed", "formal_review", "record_applicant_informed",
          formal_review.RecordInformed, "Record that the applicant was informed", "formal_review", ("officer",)),

    # --- expert review -----------------------------------------------------------------------
    Route("POST", "/experts", "expert_review", "register_expert", expert_review.RegisterExpert,
          "登记专家", "expert_review", ("officer",), status=201),
    Route("GET", "/experts", "expert_review", "experts", expert_review.ExpertQuery, "The register of experts",
          "expert_review", ALL_STAFF, paginated=True),
    Route("POST", "/experts/conflicts", "expert_review", "declare_conflict", expert_review.DeclareConflict,
          "Declare a conflict of interest (an expert their own)", "expert_review", ("expert", "officer")),
    Route("POST", "/panels/check", "expert_review", "check_panel", expert_review.PanelDraft,
          "Check a draft panel: who is excluded and why", "expert_review", ("officer",)),
    Route("POST", "/panels", "expert_review", "form_panel", expert_review.FormPanel, "组建专家组", "expert_review",
          ("officer",), status=201),
    Route("GET", "/panels/<panel_id>", "expert_review", "get_panel", expert_review.PanelRef, "A panel",
          "expert_review", ("officer", "auditor", "its members")),
    Route("POST", "/panels/<panel_id>/members", "expert_review", "add_panel_member", expert_review.AddPanelMember,
          "Add a member to a panel", "expert_review", ("officer",)),
    Route("GET", "/me/assignments", "expert_review", "my_assignments", None, "An expert's assignments",
          "expert_review", ("expert",)),
    Route("GET", "/expert-review/reviews", "expert_review", "reviews", expert_review.ReviewQuery,
          "Applications in expert review and approval, with counts", "expert_review", ALL_STAFF, paginated=True),
    Route("GET", "/bases", "expert_review", "approved_bases", None, "Approved bases", "expert_review",
          ("any account",)),
    Route("GET", APP + "/expert-review", "expert_review", "get_review", expert_review.ApplicationRef,
          "An application's expert review", "expert_review", ("officer", "auditor", "assigned experts")),
    Route("GET", APP + "/expert-review/opinions", "expert_review", "opinions", expert_review.ApplicationRef,
          "The opinions (sealed until all are in)", "expert_review", ("officer", "auditor", "assigned experts")),
    Route("POST", APP + "/expert-review/avoidance", "expert_review", "request_avoidance",
          expert_review.RequestAvoidance, "The applicant asks an expert to stand aside (回避)", "expert_review",
          ("applicant", "officer")),
    Route("POST", APP + "/expert-review/assignment-declined", "expert_review", "decline_assignment",
          expert_review.DeclineAssignment, "An expert declines an assignment", "expert_review", ("expert",)),
    Route("POST", APP + "/expert-review/opinions", "expert_review", "submit_opinion", expert_review.SubmitOpinion,
          "提交评审意见", "expert_review", ("expert",), status=201),
    Route("POST", APP + "/expert-review/site-visit", "expert_review", "schedule_site_visit",
          expert_review.ScheduleSiteVisit, "Schedule a site visit (现场考察)", "expert_review", ("officer",)),
    Route("POST", APP + "/expert-review/site-visit/findings", "expert_review", "record_site_visit",
          expert_review.RecordSiteVisit, "Record the site visit's findings", "expert_review", ("expert", "officer")),
    Route("POST", APP + "/expert-review/conclusion", "expert_review", "conclude", expert_review.Conclude,
          "论证意见: the chair concludes", "expert_review", ("expert (chair)",)),
    Route("POST", APP + "/expert-review/revision-requests", "expert_review", "request_revision",
          expert_review.RequestRevision, "Ask the applicant to revise sections", "expert_review", ("officer",)),
    Route("POST", APP + "/expert-review/revision-confirmation", "expert_review", "confirm_revision",
          expert_review.ConfirmRevision, "The chair confirms the revised plan", "expert_review", ("expert (chair)",)),
    Route("POST", APP + "/expert-review/deadline-extension", "expert_review", "extend_deadline",
          expert_review.ExtendDeadline, "Extend a revision or construction-plan deadline", "expert_review",
          ("officer",)),
    Route("POST", APP + "/approval", "expert_review", "approve", expert_review.Approve, "批准筹建", "expert_review",
          ("officer",)),
    Route("POST", APP + "/refusal", "expert_review", "decline", expert_review.Decline, "不予批准, with reasons",
          "expert_review", ("officer",)),
    Route("POST", APP + "/construction-plan", "expert_review", "submit_construction_plan",
          expert_review.SubmitConstructionPlan, "Submit the construction plan (建设方案)", "expert_review",
          ("organizing_unit",), status=201),
    Route("GET", APP + "/construction-plan", "expert_review", "get_construction_plan", expert_review.ApplicationRef,
          "The construction plan", "expert_review", ("parties of the application",)),

    # --- notification ------------------------------------------------------------------------
    Route("GET", "/me/notifications", "notification", "my_notifications", notification.InboxQuery,
          "My inbox (通知), newest first", "notification", ("any account with an inbox",), paginated=True),
    Route("GET", "/me/notifications/unread-count", "notification", "unread_count", None, "Unread messages",
          "notification", ("any account with an inbox",)),
    Route("POST", "/me/notifications/read", "notification", "mark_read", notification.MarkRead,
          "Mark messages read", "notification", ("any account with an inbox",)),
    Route("GET", APP + "/notifications", "notification", "notifications_of", notification.ApplicationRef,
          "Notifications about an application", "notification", ("officer", "auditor")),
)

AUDITED_SERVICES = ("intake", "endorsement", "formal_review", "expert_review", "notification")
AUDIT_ROUTES = tuple(
    route for service in AUDITED_SERVICES for route in (
        Route("GET", f"/audit/{service}/applications/<application_id>/history", service, "audit_history",
              common.ApplicationRef, f"Every {service} event about the application, in log order", "audit",
              ("auditor",)),
        Route("GET", f"/audit/{service}/applications/<application_id>/state", service, "audit_state_at",
              common.StateAt, f"{service}'s part of the application as of `at`", "audit", ("auditor",)),
        Route("GET", f"/audit/{service}/verification", service, "audit_verify", None,
              f"Recompute {service}'s hash chain", "audit", ("auditor",)),
    )
)
AUDIT_ROUTES += (
    Route("GET", "/audit/accounts/verification", "accounts", "audit_verify", None,
          "Recompute accounts' hash chain", "audit", ("auditor",)),
)
# Made by the edge itself (sessions: /api/v1/session), or by ops' CLI only.
NOT_ROUTED = {
    ("accounts", "sign_in"), ("accounts", "sign_out"), ("accounts", "resolve_session"), ("accounts", "resolve_token"),
    ("accounts", "create_admin"),
    # accounts hold no application: its log is verified, its history read per account
    ("accounts", "audit_history"), ("accounts", "audit_state_at"),
}


def _versioned(route: Route) -> Route:
    """A formal review case and an expert review have versions: their GET answers an ETag, and a
    write on one application honours If-Match (the services check `expected_version`)."""
    from dataclasses import replace

    if route.service not in ("formal_review", "expert_review") or not route.path.startswith(APP):
        return route
    if route.method == "GET" and route.rpc in ("get_case", "get_review"):
        return replace(route, etag=True)
    if route.method == "POST":
        return replace(route, if_match=True)
    return route


ROUTES = tuple(_versioned(route) for route in ROUTES)
ALL_ROUTES = ROUTES + AUDIT_ROUTES
