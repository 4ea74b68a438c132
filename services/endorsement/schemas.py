"""What endorsement's RPCs accept."""
from marshmallow import Schema, fields, validate

STATES = ("queued", "closed")


class QueueQuery(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
