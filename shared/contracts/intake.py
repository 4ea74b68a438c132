"""Integration events published by `intake` (applicants, units, applications and their plans)."""
from marshmallow import Schema, fields, validate

from shared.contracts.core import BASE_TYPES, SECTIONS, Attachment, Person, register

UNIT_ROLES = ("organizing", "recommending")
UNIT_KINDS = (
    "local_standardization_authority",  # 地方标准化主管部门
    "industry_department_standardization_body",  # 行业部门的标准化主管机构
    "industry_department",  # 行业部门 (recommending only)
    "industry_association",  # 行业协会、联合会
    "local_government",  # 地方政府
)
SUBMISSION_KINDS = ("initial", "returned", "supplement", "revision")


class ApplicantRegisteredV1(Schema):
    """An applicant unit (申报单位) registered itself; `unit_id` is its credit code."""

    unit_id = fields.String(required=True)
    name = fields.String(required=True)
    credit_code = fields.String(required=True)
    credit_code_override = fields.String(required=True, allow_none=True)  # the officer's reason, if any
    category = fields.String(required=True)
    region = fields.String(required=True)
    region_known = fields.Boolean(required=True)
    head = fields.Nested(Person, required=True)
    contact = fields.Nested(Person, required=True)
    postcode = fields.String(required=True)
    address = fields.String(required=True)
    registered_by = fields.String(required=True)  # party id of the registering user


class UnitRegisteredV1(Schema):
    """An SAC officer registered an organizing (申报组织单位) or recommending (推荐单位) unit."""

    unit_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(UNIT_ROLES))
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    credit_code = fields.String(required=True, allow_none=True)
    region = fields.String(required=True, allow_none=True)
    domain = fields.String(required=True, allow_none=True)
    contact = fields.Nested(Person, required=True, allow_none=True)
    address = fields.String(required=True, allow_none=True)
    postcode = fields.String(required=True, allow_none=True)


class ApplicationDraftedV1(Schema):
    """An applicant started an application (draft)."""

    application_id = fields.UUID(required=True)
    applicant_id = fields.String(required=True)
    applicant_organization = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    name = fields.String(required=True)
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)


class ApplicationSubmittedV1(Schema):
    """An applicant submitted a version of its plan: the first time, or answering a
    return (organizing unit), a supplement request (formal review) or a revision
    request (expert review) — `submission_kind` and `answers_request` say which."""

    application_id = fields.UUID(required=True)
    applicant_id = fields.String(required=True)  # the submitting party
    applicant_organization = fields.String(required=True)  # the applicant unit id
    applicant_name = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    name = fields.String(required=True)
    region = fields.String(required=True, allow_none=True)  # regional bases: GB/T 2260 code
    domain = fields.String(required=True, allow_none=True)  # domain/international bases: catalogue code
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)
    plan_version = fields.Integer(required=True, validate=validate.Range(min=1))
    digest = fields.String(required=True, validate=validate.Length(equal=64))
    receipt_number = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)
    submission_kind = fields.String(required=True, validate=validate.OneOf(SUBMISSION_KINDS))
    answers_request = fields.String(required=True, allow_none=True)  # the request id it answers
    changed_sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True)
    qualification_items = fields.List(fields.Dict(), required=True)  # [{item, declared, evidence: [Attachment]}]
    attachments = fields.List(fields.Nested(Attachment), required=True)
    late_exception = fields.String(required=True, allow_none=True)  # the officer's recorded reason


class SectionsReopenedV1(Schema):
    """Intake reopened the named sections of the application for the applicant to change."""

    application_id = fields.UUID(required=True)
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True)
    reason = fields.String(required=True)
    requested_by = fields.String(required=True)  # source service of the request
    request_id = fields.String(required=True)
    deadline = fields.AwareDateTime(required=True, allow_none=True)


class ApplicationWithdrawnV1(Schema):
    """The applicant withdrew its application; every later stage stops."""

    application_id = fields.UUID(required=True)
    reason = fields.String(required=True)
    withdrawn_at = fields.AwareDateTime(required=True)


register("intake", "ApplicantRegistered", 1, ApplicantRegisteredV1)
register("intake", "UnitRegistered", 1, UnitRegisteredV1)
register("intake", "ApplicationDrafted", 1, ApplicationDraftedV1)
register("intake", "ApplicationSubmitted", 1, ApplicationSubmittedV1)
register("intake", "SectionsReopened", 1, SectionsReopenedV1)
register("intake", "ApplicationWithdrawn", 1, ApplicationWithdrawnV1)
