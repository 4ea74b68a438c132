"""What formal review's RPCs accept."""
from marshmallow import Schema, fields, validate

from services.review.formal_review.domain import DECISIONS, FINDINGS, INFORMED_BY, STATES
from shared.contracts import BASE_TYPES, SECTIONS
from shared.listing import sort_field

TEXT = validate.Length(min=1, max=2000)
NOTE = validate.Length(max=2000)
ITEM = validate.Length(min=1, max=64)


class CaseQuery(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    base_type = fields.String(load_default=None, validate=validate.OneOf(BASE_TYPES))
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    sort = sort_field(("opened_at", "updated_at", "number", "name", "state", "deadline"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)


class RecordFinding(Schema):
    application_id = fields.UUID(required=True)
    item = fields.String(required=True, validate=ITEM)
    finding = fields.String(required=True, validate=validate.OneOf(FINDINGS))
    note = fields.String(load_default="", validate=NOTE)


class RequestSupplement(Schema):
    application_id = fields.UUID(required=True)
    items = fields.List(fields.String(validate=ITEM), required=True, validate=validate.Length(min=1, max=50))
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), load_default=list,
                           validate=validate.Length(max=len(SECTIONS)))
    reason = fields.String(required=True, validate=TEXT)
    deadline = fields.AwareDateTime(required=True)


class ExtendDeadline(Schema):
    application_id = fields.UUID(required=True)
    request_id = fields.String(required=True, validate=ITEM)
    new_deadline = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=TEXT)


class PassReview(Schema):
    application_id = fields.UUID(required=True)
    note = fields.String(load_default="", validate=NOTE)


class Reject(Schema):
    application_id = fields.UUID(required=True)
    reasons = fields.List(fields.String(validate=TEXT), required=True, validate=validate.Length(min=1, max=20))


class RecordInformed(Schema):
    application_id = fields.UUID(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    channel = fields.String(required=True, validate=validate.OneOf(INFORMED_BY))
    informed_at = fields.AwareDateTime(load_default=None)
    note = fields.String(load_default="", validate=NOTE)
