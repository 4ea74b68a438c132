"""Integration events published by `accounts` (who may sign in, as whom, and how).

No event carries a password, a session id, a personal access token or a link
token: sessions and tokens travel as their SHA-256 digests, and an e-mailed
link as the random nonce it is signed from (`shared.auth.link_token`), which
is of no use without the services' secret.
"""
from marshmallow import Schema, fields, validate

from shared.contracts.core import ROLES, register

ACCOUNT_ROLES = tuple(role for role in ROLES if role != "gateway")
PASSWORD_CHANGES = ("changed", "reset")
SESSION_ENDINGS = ("signed_out", "password_changed", "password_reset", "deactivated")
DIGEST = validate.Length(equal=64)


class Identity(Schema):
    """Who an account acts as: the caller a token minted for it names."""

    role = fields.String(required=True, validate=validate.OneOf(ACCOUNT_ROLES))
    organization = fields.String(required=True)
    party_id = fields.String(required=True)
    admin = fields.Boolean(required=True)


class AccountRegisteredV1(Identity):
    """An applicant unit's contact person registered an account (注册账户); it is unconfirmed
    until the e-mail address is confirmed. `organization` is the unit's credit code."""

    account_id = fields.UUID(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    unit_name = fields.String(required=True)
    credit_code = fields.String(required=True)
    phone = fields.String(required=True, allow_none=True)


class AdminCreatedV1(Identity):
    """Ops created an SAC administrator (`innobase accounts create-admin`)."""

    account_id = fields.UUID(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)


class LinkMailV1(Schema):
    """What an e-mailed link is made of: the nonce it is signed from and when it expires."""

    email = fields.String(required=True)
    name = fields.String(required=True)
    nonce = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)


class EmailConfirmationRequestedV1(LinkMailV1):
    """Send the confirmation e-mail: link `/confirm?token=`, the link token of purpose
    `confirm_email` for subject `account_id`."""

    account_id = fields.UUID(required=True)


class AccountConfirmedV1(Schema):
    """The account's e-mail address is confirmed: it may sign in."""

    account_id = fields.UUID(required=True)
    email = fields.String(required=True)


class InvitedV1(LinkMailV1, Identity):
    """An SAC administrator invited someone to an account (a unit's clerk, an expert, an
    auditor, an officer): link `/invitation?token=`, purpose `invitation`, subject
    `invitation_id`, valid 72 h. Inviting the same address again sends a new link."""

    invitation_id = fields.UUID(required=True)


class InvitationAcceptedV1(Identity):
    """The invitee set a password: the account exists, active."""

    invitation_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)


class PasswordResetRequestedV1(LinkMailV1):
    """Send the password-reset e-mail: link `/reset-password?token=`, purpose `password_reset`,
    subject `account_id`, valid 1 h."""

    account_id = fields.UUID(required=True)


class PasswordChangedV1(Schema):
    """The account's password changed (by the account, or reset by e-mail); every session of
    the account ended with it."""

    account_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(PASSWORD_CHANGES))


class RoleChangedV1(Identity):
    """An SAC administrator changed what the account acts as; `previous` is what it was."""

    account_id = fields.UUID(required=True)
    previous = fields.Nested(Identity, required=True)


class AccountLockedV1(Schema):
    """Too many failed sign-ins: the account refuses sign-in until `until`."""

    account_id = fields.UUID(required=True)
    until = fields.AwareDateTime(required=True)
    failures = fields.Integer(required=True)


class AccountDeactivatedV1(Schema):
    """An SAC administrator deactivated the account: no session or token of it works any more."""

    account_id = fields.UUID(required=True)
    reason = fields.String(required=True)


class AccountReactivatedV1(Schema):
    """An SAC administrator reactivated the account (its old sessions stay ended)."""

    account_id = fields.UUID(required=True)


class SessionEndedV1(Schema):
    """A browser session ended; `session_digest` is the SHA-256 (hex) of its id."""

    account_id = fields.UUID(required=True)
    session_digest = fields.String(required=True, validate=DIGEST)
    reason = fields.String(required=True, validate=validate.OneOf(SESSION_ENDINGS))


class TokenRevokedV1(Schema):
    """A personal access token was revoked; `token_digest` is the SHA-256 (hex) of the token."""

    account_id = fields.UUID(required=True)
    token_id = fields.UUID(required=True)
    token_digest = fields.String(required=True, validate=DIGEST)


register("accounts", "AccountRegistered", 1, AccountRegisteredV1)
register("accounts", "AdminCreated", 1, AdminCreatedV1)
register("accounts", "EmailConfirmationRequested", 1, EmailConfirmationRequestedV1)
register("accounts", "AccountConfirmed", 1, AccountConfirmedV1)
register("accounts", "Invited", 1, InvitedV1)
register("accounts", "InvitationAccepted", 1, InvitationAcceptedV1)
register("accounts", "PasswordResetRequested", 1, PasswordResetRequestedV1)
register("accounts", "PasswordChanged", 1, PasswordChangedV1)
register("accounts", "RoleChanged", 1, RoleChangedV1)
register("accounts", "AccountLocked", 1, AccountLockedV1)
register("accounts", "AccountDeactivated", 1, AccountDeactivatedV1)
register("accounts", "AccountReactivated", 1, AccountReactivatedV1)
register("accounts", "SessionEnded", 1, SessionEndedV1)
register("accounts", "TokenRevoked", 1, TokenRevokedV1)
