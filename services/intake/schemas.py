"""What intake's RPCs accept."""
from marshmallow import Schema, fields, validate

from services.intake.domain import BASE_TYPES

UNIT_ID = validate.Length(min=1, max=64)


class CreateDraft(Schema):
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    organizing_unit_id = fields.String(required=True, validate=UNIT_ID)
    recommending_unit_id = fields.String(required=True, validate=UNIT_ID)
    request_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)


class Withdraw(Schema):
    application_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
