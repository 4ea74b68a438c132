"""What accounts' RPCs accept."""
from marshmallow import Schema, fields, post_load, validate

from services.accounts.domain import ACCOUNT_ROLES, SCOPES, STATUSES, normalised_email
from shared.text import free_text as text


def secret(max_length: int = 1024, **kwargs) -> fields.String:
    """A password or a token: never echoed back in an error."""
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class Email(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        return normalised_email(super()._deserialize(value.strip() if isinstance(value, str) else value,
                                                     attr, data, **kwargs))


def email(**kwargs) -> Email:
    return Email(validate=validate.Length(max=254), **kwargs)


class Register(Schema):
    """An applicant unit's contact person registers (注册账户)."""

    credit_code = fields.String(required=True, validate=validate.Length(equal=18))
    unit_name = text(200, required=True)
    contact_name = text(100, required=True)
    email = email(required=True)
    password = secret(required=True)
    phone = text(40, load_default=None, allow_none=True)

    @post_load
    def upper_case_code(self, data, **kwargs):
        data["credit_code"] = data["credit_code"].strip().upper()
        return data


class LinkToken(Schema):
    token = secret(2048, required=True)


class SignIn(Schema):
    email = email(required=True)
    password = secret(required=True)


class SessionRef(Schema):
    session_id = secret(256, required=True)


class EmailOnly(Schema):
    email = email(required=True)


class ResetPassword(LinkToken):
    password = secret(required=True)


class AcceptInvitation(LinkToken):
    password = secret(required=True)
    name = text(100, load_default=None, allow_none=True)


class AccessToken(Schema):
    token = secret(256, required=True)


class ChangePassword(Schema):
    current_password = secret(required=True)
    new_password = secret(required=True)


class CreateToken(Schema):
    name = text(100, required=True)
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    expires_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))
    # The same request_id again answers the first call's token instead of creating another.
    request_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class TokenRef(Schema):
    token_id = fields.UUID(required=True)


class Identity(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ACCOUNT_ROLES))
    organization = text(100, required=True)
    party_id = text(100, load_default=None, allow_none=True)
    admin = fields.Boolean(load_default=False)


class Invite(Identity):
    email = email(required=True)
    name = text(100, required=True)


class ListAccounts(Schema):
    role = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ACCOUNT_ROLES))
    organization = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=400))


class AccountRef(Schema):
    account_id = fields.UUID(required=True)


class Deactivate(AccountRef):
    reason = text(500, required=True)


class SetRole(AccountRef, Identity):
    admin = fields.Boolean(load_default=None, allow_none=True)  # None: as it is


class CreateAdmin(Schema):
    email = email(required=True)
    name = text(100, required=True)
    password = secret(required=True)
