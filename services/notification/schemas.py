"""What notification's RPCs accept."""
from marshmallow import Schema, fields, validate


class InboxQuery(Schema):
    unread_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class MarkRead(Schema):
    notification_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=500))


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)
