"""Integration events published by `endorsement` (organizing and recommending units)."""
from marshmallow import Schema, fields, validate

from shared.contracts.core import BASE_TYPES, SECTIONS, Attachment, register


class Opinion(Schema):
    """Section 七 of 附件2: the organizing unit's opinion, its head and the date."""

    text = fields.String(required=True)
    head = fields.String(required=True)
    date = fields.Date(required=True)


class ReviewItemQueuedV1(Schema):
    """A submitted version entered its organizing unit's queue (审核盖章)."""

    application_id = fields.UUID(required=True)
    item_id = fields.UUID(required=True)
    organizing_unit_id = fields.String(required=True)
    plan_version = fields.Integer(required=True)
    digest = fields.String(required=True)
    queued_at = fields.AwareDateTime(required=True)


class ReviewItemClosedV1(Schema):
    """A review item closed because its application ended (the applicant withdrew it, formal
    review found it inadmissible, or SAC declined it); `reason` says which. A recommendation
    it carried no longer stands and its quota slot is free again."""

    application_id = fields.UUID(required=True)
    item_id = fields.UUID(required=True)
    reason = fields.String(required=True)


class ApplicationReturnedV1(Schema):
    """The organizing unit returned the application to the applicant: `sections` reopen."""

    application_id = fields.UUID(required=True)
    plan_version = fields.Integer(required=True)
    organizing_unit_id = fields.String(required=True)
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True,
                           validate=validate.Length(min=1))
    reason = fields.String(required=True)
    request_id = fields.String(required=True)


class ApplicationForwardedV1(Schema):
    """The organizing unit checked and stamped (审核盖章) and forwarded to the recommending unit."""

    application_id = fields.UUID(required=True)
    plan_version = fields.Integer(required=True)
    digest = fields.String(required=True)
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)
    opinion = fields.Nested(Opinion, required=True)
    stamped_plan_scan = fields.Nested(Attachment, required=True, allow_none=True)


class ApplicationRecommendedV1(Schema):
    """The recommending unit recommended the application to SAC (推荐), within its quota."""

    application_id = fields.UUID(required=True)
    plan_version = fields.Integer(required=True)
    digest = fields.String(required=True)
    name = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    region = fields.String(required=True, allow_none=True)
    domain = fields.String(required=True, allow_none=True)
    applicant_organization = fields.String(required=True)
    applicant_name = fields.String(required=True)
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)
    year = fields.Integer(required=True)  # Beijing time, the year of the quota
    # `<recommending unit>/<year>/<base type>/<region or first-level domain>`; null for an
    # international base, which has no quota (guide §四).
    quota_slot = fields.String(required=True, allow_none=True)
    opinion = fields.Nested(Opinion, required=True)
    stamped_plan_scan = fields.Nested(Attachment, required=True)
    recommendation_letter = fields.Nested(Attachment, required=True)
    recommended_at = fields.AwareDateTime(required=True)


class RecommendationDeclinedV1(Schema):
    """The recommending unit declined to recommend; the application ends here."""

    application_id = fields.UUID(required=True)
    recommending_unit_id = fields.String(required=True)
    reason = fields.String(required=True)


class ApplicationReturnedToOrganizingUnitV1(Schema):
    """The recommending unit sent the application back to the organizing unit's queue."""

    application_id = fields.UUID(required=True)
    plan_version = fields.Integer(required=True)
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)
    reason = fields.String(required=True)


class RecommendationWithdrawnV1(Schema):
    """The recommending unit withdrew its recommendation; its quota slot is free again and
    the application awaits the recommending unit's decision once more (it may be recommended
    again later, declined, or returned to the organizing unit)."""

    application_id = fields.UUID(required=True)
    recommending_unit_id = fields.String(required=True)
    quota_slot = fields.String(required=True, allow_none=True)  # null: the recommendation held none
    reason = fields.String(required=True)


register("endorsement", "ReviewItemQueued", 1, ReviewItemQueuedV1)
register("endorsement", "ReviewItemClosed", 1, ReviewItemClosedV1)
register("endorsement", "ApplicationReturned", 1, ApplicationReturnedV1)
register("endorsement", "ApplicationForwarded", 1, ApplicationForwardedV1)
register("endorsement", "ApplicationRecommended", 1, ApplicationRecommendedV1)
register("endorsement", "RecommendationDeclined", 1, RecommendationDeclinedV1)
register("endorsement", "ApplicationReturnedToOrganizingUnit", 1, ApplicationReturnedToOrganizingUnitV1)
register("endorsement", "RecommendationWithdrawn", 1, RecommendationWithdrawnV1)
