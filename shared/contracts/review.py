"""Integration events published by `formal_review` (形式审查) and `expert_review`
(专家论证, 批准筹建), and the deadline events both share."""
from marshmallow import Schema, fields, validate

from shared.contracts.core import BASE_TYPES, SECTIONS, Attachment, register

DEADLINE_KINDS = ("supplement", "revision", "construction_plan")
CONCLUSIONS = ("pass", "pass_with_revisions", "fail")
DIMENSIONS = ("necessity", "feasibility", "goals_and_tasks", "safeguards")
DECLINE_REASONS = ("conflict_of_interest", "unavailable", "outside_expertise", "other")
INFORMED_DECISIONS = ("found_inadmissible", "passed")


# --- deadlines (both services) ----------------------------------------------

class DeadlineApproachingV1(Schema):
    """A reminder is due: `days_before` days remain until the deadline."""

    application_id = fields.UUID(required=True)
    deadline_kind = fields.String(required=True, validate=validate.OneOf(DEADLINE_KINDS))
    request_id = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)
    days_before = fields.Integer(required=True)


class DeadlineMissedV1(Schema):
    """The deadline passed with nothing received; recorded once."""

    application_id = fields.UUID(required=True)
    deadline_kind = fields.String(required=True, validate=validate.OneOf(DEADLINE_KINDS))
    request_id = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)


class DeadlineExtendedV1(Schema):
    """The officer extended a deadline (usually after it was missed), with a reason."""

    application_id = fields.UUID(required=True)
    deadline_kind = fields.String(required=True, validate=validate.OneOf(DEADLINE_KINDS))
    request_id = fields.String(required=True)
    new_deadline = fields.AwareDateTime(required=True)
    reason = fields.String(required=True)


# --- formal review ------------------------------------------------------------

class FormalReviewOpenedV1(Schema):
    """A recommendation opened a formal review case."""

    application_id = fields.UUID(required=True)
    case_id = fields.UUID(required=True)
    plan_version = fields.Integer(required=True)
    name = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))


class ApplicationAcceptedV1(Schema):
    """The officer accepted the case; the application has its official number (编号)."""

    application_id = fields.UUID(required=True)
    number = fields.String(required=True)
    year = fields.Integer(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))


class SupplementRequestedV1(Schema):
    """The officer asked for supplementary material: `sections` reopen in intake."""

    application_id = fields.UUID(required=True)
    request_id = fields.String(required=True)
    items = fields.List(fields.String(), required=True)
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True,
                           validate=validate.Length(min=1))
    reason = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)


class SupplementReceivedV1(Schema):
    """The applicant's supplement arrived as a new plan version; the case resumes."""

    application_id = fields.UUID(required=True)
    request_id = fields.String(required=True)
    plan_version = fields.Integer(required=True)


class FormalReviewPassedV1(Schema):
    """Formal review passed: the application enters expert review."""

    application_id = fields.UUID(required=True)
    number = fields.String(required=True)
    plan_version = fields.Integer(required=True)
    name = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    region = fields.String(required=True, allow_none=True)
    domain = fields.String(required=True, allow_none=True)
    applicant_organization = fields.String(required=True)
    applicant_name = fields.String(required=True)
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)


class ApplicationFoundInadmissibleV1(Schema):
    """Formal review rejected the application (found inadmissible), with reasons."""

    application_id = fields.UUID(required=True)
    number = fields.String(required=True, allow_none=True)
    reasons = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class ApplicantInformedV1(Schema):
    """The officer recorded that the applicant was informed of a decision."""

    application_id = fields.UUID(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(INFORMED_DECISIONS))
    informed_at = fields.AwareDateTime(required=True)


# --- expert review and approval -------------------------------------------------

class ExpertRegisteredV1(Schema):
    """An expert joined the register (专家库)."""

    expert_id = fields.String(required=True)
    name = fields.String(required=True)
    organization = fields.String(required=True)  # credit code
    organization_name = fields.String(required=True)
    region = fields.String(required=True)
    fields_ = fields.List(fields.String(), required=True, data_key="fields")
    email = fields.Email(required=True)
    phone = fields.String(required=True, allow_none=True)


class PanelMember(Schema):
    expert_id = fields.String(required=True)
    is_chair = fields.Boolean(required=True)


class PanelFormedV1(Schema):
    """The officer formed a panel for a meeting (论证会)."""

    panel_id = fields.UUID(required=True)
    meeting_date = fields.AwareDateTime(required=True)
    place = fields.String(required=True)
    application_ids = fields.List(fields.UUID(), required=True)
    members = fields.List(fields.Nested(PanelMember), required=True)


class ExpertAssignedV1(Schema):
    """An expert is assigned to review one application on a panel."""

    application_id = fields.UUID(required=True)
    panel_id = fields.UUID(required=True)
    expert_id = fields.String(required=True)
    is_chair = fields.Boolean(required=True)
    meeting_date = fields.AwareDateTime(required=True)
    place = fields.String(required=True)


class ExpertDeclinedV1(Schema):
    """An assigned expert declined, with a typed reason."""

    application_id = fields.UUID(required=True)
    panel_id = fields.UUID(required=True)
    expert_id = fields.String(required=True)
    reason_kind = fields.String(required=True, validate=validate.OneOf(DECLINE_REASONS))
    reason = fields.String(required=True)


class OpinionSubmittedV1(Schema):
    """An expert submitted an opinion (scores stay in expert review until the conclusion)."""

    application_id = fields.UUID(required=True)
    panel_id = fields.UUID(required=True)
    expert_id = fields.String(required=True)


class SiteVisitScheduledV1(Schema):
    application_id = fields.UUID(required=True)
    visit_date = fields.AwareDateTime(required=True)
    place = fields.String(required=True)


class SiteVisitRecordedV1(Schema):
    application_id = fields.UUID(required=True)
    findings = fields.String(required=True)


class PanelConcludedV1(Schema):
    """The panel's conclusion (论证意见)."""

    application_id = fields.UUID(required=True)
    panel_id = fields.UUID(required=True)
    conclusion = fields.String(required=True, validate=validate.OneOf(CONCLUSIONS))
    text = fields.String(required=True)


class RevisionRequestedV1(Schema):
    """The panel asks for revisions by a deadline: `sections` reopen in intake."""

    application_id = fields.UUID(required=True)
    request_id = fields.String(required=True)
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True,
                           validate=validate.Length(min=1))
    reason = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True)


class RevisionConfirmedV1(Schema):
    """The chair confirmed the revised plan version."""

    application_id = fields.UUID(required=True)
    request_id = fields.String(required=True)
    plan_version = fields.Integer(required=True)


class ApplicationApprovedV1(Schema):
    """SAC approved construction (批准筹建); the construction plan is due in 3 months."""

    application_id = fields.UUID(required=True)
    number = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    region = fields.String(required=True, allow_none=True)
    domain = fields.String(required=True, allow_none=True)
    organizing_unit_id = fields.String(required=True)
    construction_plan_due = fields.AwareDateTime(required=True)
    reasons = fields.String(required=True)


class ApplicationDeclinedV1(Schema):
    """SAC declined to approve, with reasons; the application ends here."""

    application_id = fields.UUID(required=True)
    number = fields.String(required=True, allow_none=True)
    reasons = fields.String(required=True)


class ConstructionPlanSubmittedV1(Schema):
    """The organizing unit submitted the construction plan (建设方案)."""

    application_id = fields.UUID(required=True)
    organizing_unit_id = fields.String(required=True)
    plan = fields.Nested(Attachment, required=True)
    on_time = fields.Boolean(required=True)


for _source in ("formal_review", "expert_review"):
    register(_source, "DeadlineApproaching", 1, DeadlineApproachingV1)
    register(_source, "DeadlineMissed", 1, DeadlineMissedV1)
    register(_source, "DeadlineExtended", 1, DeadlineExtendedV1)

register("formal_review", "FormalReviewOpened", 1, FormalReviewOpenedV1)
register("formal_review", "ApplicationAccepted", 1, ApplicationAcceptedV1)
register("formal_review", "SupplementRequested", 1, SupplementRequestedV1)
register("formal_review", "SupplementReceived", 1, SupplementReceivedV1)
register("formal_review", "FormalReviewPassed", 1, FormalReviewPassedV1)
register("formal_review", "ApplicationFoundInadmissible", 1, ApplicationFoundInadmissibleV1)
register("formal_review", "ApplicantInformed", 1, ApplicantInformedV1)

register("expert_review", "ExpertRegistered", 1, ExpertRegisteredV1)
register("expert_review", "PanelFormed", 1, PanelFormedV1)
register("expert_review", "ExpertAssigned", 1, ExpertAssignedV1)
register("expert_review", "ExpertDeclined", 1, ExpertDeclinedV1)
register("expert_review", "OpinionSubmitted", 1, OpinionSubmittedV1)
register("expert_review", "SiteVisitScheduled", 1, SiteVisitScheduledV1)
register("expert_review", "SiteVisitRecorded", 1, SiteVisitRecordedV1)
register("expert_review", "PanelConcluded", 1, PanelConcludedV1)
register("expert_review", "RevisionRequested", 1, RevisionRequestedV1)
register("expert_review", "RevisionConfirmed", 1, RevisionConfirmedV1)
register("expert_review", "ApplicationApproved", 1, ApplicationApprovedV1)
register("expert_review", "ApplicationDeclined", 1, ApplicationDeclinedV1)
register("expert_review", "ConstructionPlanSubmitted", 1, ConstructionPlanSubmittedV1)
