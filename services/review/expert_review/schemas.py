"""What expert review's RPCs accept."""
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.review.expert_review.domain import STATES
from shared.contracts import BASE_TYPES, SECTIONS
from shared.contracts.review import CONCLUSIONS, DECLINE_REASONS
from shared.listing import sort_field

TEXT = validate.Length(min=1, max=2000)
LONG_TEXT = validate.Length(min=1, max=20000)
NOTE = validate.Length(max=2000)
ID = validate.Length(min=1, max=64)
CREDIT_CODE = validate.Length(equal=18)


class Paging(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)


class PanelRef(Schema):
    panel_id = fields.UUID(required=True)


class DeclaredConflict(Schema):
    organization = fields.String(required=True, validate=CREDIT_CODE)
    reason = fields.String(required=True, validate=TEXT)


class RegisterExpert(Schema):
    expert_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    organization = fields.String(required=True, validate=CREDIT_CODE)
    organization_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    region = fields.String(required=True, validate=validate.Length(equal=6))
    fields_ = fields.List(fields.String(validate=validate.Length(min=2, max=8)), required=True,
                          validate=validate.Length(min=1, max=10), data_key="fields")
    email = fields.Email(required=True)
    phone = fields.String(load_default=None, validate=validate.Length(min=3, max=30))
    conflicts = fields.List(fields.Nested(DeclaredConflict), load_default=list, validate=validate.Length(max=50))

    @post_load
    def named_as_in_the_register(self, data, **kwargs):
        data["fields"] = data.pop("fields_")
        return data


class DeclareConflict(Schema):
    expert_id = fields.String(load_default=None, validate=ID)
    organization = fields.String(required=True, validate=CREDIT_CODE)
    reason = fields.String(required=True, validate=TEXT)


class ExpertQuery(Paging):
    field = fields.String(load_default=None, validate=validate.Length(min=2, max=8))
    region = fields.String(load_default=None, validate=validate.Length(equal=6))
    sort = sort_field(("expert_id", "name", "region"))


class RequestAvoidance(Schema):
    application_id = fields.UUID(required=True)
    expert_id = fields.String(load_default=None, validate=ID)
    expert_name = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    organization = fields.String(load_default=None, validate=CREDIT_CODE)
    reason = fields.String(required=True, validate=TEXT)

    @validates_schema
    def names_someone(self, data, **kwargs):
        if not (data.get("expert_id") or data.get("expert_name") or data.get("organization")):
            raise ValidationError("Name the expert: expert_id, expert_name or organization.", "expert_id")


class PanelDraft(Schema):
    application_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=30))
    members = fields.List(fields.String(validate=ID), required=True, validate=validate.Length(min=1, max=51))
    chair = fields.String(required=True, validate=ID)

    @validates_schema
    def applications_distinct(self, data, **kwargs):
        if len(set(data.get("application_ids", []))) != len(data.get("application_ids", [])):
            raise ValidationError("An application appears twice.", "application_ids")


class FormPanel(PanelDraft):
    meeting_date = fields.AwareDateTime(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    request_id = fields.String(load_default=None, validate=ID)


class AddPanelMember(Schema):
    panel_id = fields.UUID(required=True)
    expert_id = fields.String(required=True, validate=ID)
    application_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=30))
    as_chair = fields.Boolean(load_default=False)


class DeclineAssignment(Schema):
    application_id = fields.UUID(required=True)
    reason_kind = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS))
    reason = fields.String(required=True, validate=TEXT)


class Judgement(Schema):
    """One of the four dimensions: a score out of 100 and the reasoning."""

    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))
    text = fields.String(required=True, validate=LONG_TEXT)


class SubmitOpinion(Schema):
    application_id = fields.UUID(required=True)
    necessity = fields.Nested(Judgement, required=True)
    feasibility = fields.Nested(Judgement, required=True)
    goals_and_tasks = fields.Nested(Judgement, required=True)
    safeguards = fields.Nested(Judgement, required=True)
    recommendation = fields.String(required=True, validate=validate.OneOf(CONCLUSIONS))
    summary = fields.String(required=True, validate=LONG_TEXT)


class ScheduleSiteVisit(Schema):
    application_id = fields.UUID(required=True)
    visit_date = fields.AwareDateTime(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RecordSiteVisit(Schema):
    application_id = fields.UUID(required=True)
    findings = fields.String(required=True, validate=LONG_TEXT)


class Revision(Schema):
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True,
                           validate=validate.Length(min=1, max=len(SECTIONS)))
    reason = fields.String(required=True, validate=TEXT)
    deadline = fields.AwareDateTime(required=True)


class Conclude(Schema):
    application_id = fields.UUID(required=True)
    conclusion = fields.String(required=True, validate=validate.OneOf(CONCLUSIONS))
    text = fields.String(required=True, validate=LONG_TEXT)
    revision = fields.Nested(Revision, load_default=None)

    @validates_schema
    def revision_with_revisions(self, data, **kwargs):
        wants = data.get("conclusion") == "pass_with_revisions"
        if wants and not data.get("revision"):
            raise ValidationError("A pass with revisions names the sections, reason and deadline.", "revision")
        if not wants and data.get("revision"):
            raise ValidationError("Only a pass with revisions asks for a revision.", "revision")


class RequestRevision(Revision):
    application_id = fields.UUID(required=True)


class ConfirmRevision(Schema):
    application_id = fields.UUID(required=True)
    note = fields.String(load_default="", validate=NOTE)


class ExtendDeadline(Schema):
    application_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("revision", "construction_plan")))
    request_id = fields.String(load_default=None, validate=ID)
    new_deadline = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=TEXT)


class Approve(Schema):
    application_id = fields.UUID(required=True)
    reasons = fields.String(required=True, validate=TEXT)
    second_base_reason = fields.String(load_default=None, validate=TEXT)


class Decline(Schema):
    application_id = fields.UUID(required=True)
    reasons = fields.String(required=True, validate=TEXT)


class SubmitConstructionPlan(Schema):
    application_id = fields.UUID(required=True)
    file_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = fields.String(required=True, validate=validate.Length(min=1, max=14_000_000))


class ReviewQuery(Paging):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    sort = sort_field(("opened_at", "updated_at", "number", "name", "state", "meeting_date"))
    base_type = fields.String(load_default=None, validate=validate.OneOf(BASE_TYPES))
