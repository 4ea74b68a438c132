"""What intake's RPCs accept: the registers, the application commands, and one schema
per section of the plan (附件2), each field with its type and a sensible length.

Section fields are optional at save (partial saves are normal; `check` names what is
still missing), but what is given must be well formed: a target value is a number,
a milestone falls inside the construction period, a file reference is a SHA-256.
"""
import math
from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from shared.blobs import MAX_BYTES, SHA256_ERROR, SHA256_PATTERN
from shared.contracts import BASE_TYPES, SECTIONS
from shared.contracts.intake import UNIT_KINDS, UNIT_ROLES
from shared.fastload import FastLoader
from shared.listing import sort_field
from shared.reference import catalogue
from shared.text import no_control_characters, single_line
from services.intake import plan
from services.intake.domain import APPLICANT_CATEGORIES, STAGES

UNIT_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                          error="A unit id is 1-64 letters, digits, '.', '_' or '-'.")
# Its length is the first check of GB 32100: a code of the wrong one is `InvalidCreditCode`, like any
# other failed check (services.intake.application), not a schema error.
CREDIT_CODE = validate.Length(min=1, max=64)
REGION = validate.Regexp(r"^[0-9]{6}$", error="A region is a 6-digit GB/T 2260 code.")
POSTCODE = validate.Regexp(r"^[0-9]{6}$", error="A postcode is 6 digits.")
PHONE = validate.Regexp(r"^[0-9+(][0-9 ()+/,-]{4,39}$", error="Not a phone number.")
SHA256 = validate.Regexp(SHA256_PATTERN, error=SHA256_ERROR)
NAME = validate.Length(min=1, max=100)
TITLE = validate.Length(min=1, max=50)
UNIT_NAME = validate.Length(min=1, max=200)
ADDRESS = validate.Length(min=1, max=200)
REASON = validate.Length(min=1, max=2000)
LINE = validate.Length(min=1, max=200)
PASSAGE = validate.Length(min=1, max=5000)
ESSAY = validate.Length(min=1, max=20000)
FILE_NAME = validate.Length(min=1, max=200)
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _known_domain(code: str) -> None:
    if not catalogue.is_known_domain(code):
        raise ValidationError("Not a domain of the catalogue (e.g. EI.01).")


def _plausible_date(value: date) -> None:
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(f"A date between {EARLIEST} and {LATEST}.")


MULTI_LINE = (REASON, PASSAGE, ESSAY)


def _checks(check) -> list:
    """The field's own check, and what its kind of text refuses: a reason or a passage keeps
    its line breaks; any other field is one line (a trailing newline would pass a `$` regexp)."""
    return [check, no_control_characters if check in MULTI_LINE else single_line]


def _text(check, **kwargs):
    return fields.String(validate=_checks(check), **kwargs)


def _optional_text(check):
    return fields.String(load_default=None, allow_none=True, validate=_checks(check))


class Number(fields.Field):
    """A JSON number and nothing else: "about 20" or "20" is not a target value."""

    default_error_messages = {"invalid": "A number is required (e.g. 20 or 99.5), not text."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.make_error("invalid")
        if abs(value) > 1e15:
            raise ValidationError("At most 10^15 in magnitude.")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class IsoDate(fields.Date):
    """A date, checked as one (and by its validators), kept as the plan stores it: "2027-06-30"."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        loaded = super().deserialize(value, attr, data, **kwargs)
        return loaded.isoformat() if isinstance(loaded, date) else loaded


class StrictBoolean(fields.Boolean):
    """true or false, not 1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# --- the parties -------------------------------------------------------------------


class Head(Schema):
    name = _text(NAME, required=True)
    title = _text(TITLE, required=True)
    phone = _optional_text(PHONE)
    fax = _optional_text(PHONE)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))


class Contact(Schema):
    name = _text(NAME, required=True)
    title = _text(TITLE, required=True)
    phone = _text(PHONE, required=True)
    fax = _optional_text(PHONE)
    email = fields.Email(required=True, validate=validate.Length(max=254))


class RegisterApplicant(Schema):
    credit_code = _text(CREDIT_CODE, required=True)
    name = _text(UNIT_NAME, required=True)
    category = fields.String(required=True, validate=validate.OneOf(tuple(APPLICANT_CATEGORIES)))
    region = _text(REGION, required=True)
    head = fields.Nested(Head, required=True)
    contact = fields.Nested(Contact, required=True)
    postcode = _text(POSTCODE, required=True)
    address = _text(ADDRESS, required=True)


class CreditCodeOverride(Schema):
    credit_code = _text(CREDIT_CODE, required=True)
    reason = _text(REASON, required=True)


class RegisterUnit(Schema):
    unit_id = _text(UNIT_ID, required=True)
    name = _text(UNIT_NAME, required=True)
    role = fields.String(required=True, validate=validate.OneOf(UNIT_ROLES))
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    region = _optional_text(REGION)
    domain = fields.String(load_default=None, allow_none=True, validate=_known_domain)
    credit_code = _optional_text(CREDIT_CODE)
    contact = fields.Nested(Contact, load_default=None, allow_none=True)
    address = _optional_text(ADDRESS)
    postcode = _optional_text(POSTCODE)


class UnitQuery(Schema):
    role = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(UNIT_ROLES))
    base_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(BASE_TYPES))


class ApplicantQuery(Schema):
    credit_code = _optional_text(CREDIT_CODE)


# --- the application --------------------------------------------------------------


class CreateDraft(Schema):
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    name = _text(validate.Length(min=1, max=80), required=True)
    organizing_unit_id = _text(UNIT_ID, required=True)
    recommending_unit_id = _text(UNIT_ID, required=True)
    region = _optional_text(REGION)
    domain = fields.String(load_default=None, allow_none=True, validate=_known_domain)
    request_id = _optional_text(validate.Length(min=1, max=64))


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)


class Reasoned(ApplicationRef):
    reason = _text(REASON, required=True)


def _expected_version():
    """The version the caller read (HTTP If-Match): a write based on an older one is refused
    (`ConcurrencyConflict`, rule `expected_version`)."""
    return fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))


class Submit(ApplicationRef):
    expected_version = _expected_version()


class Withdraw(Reasoned):
    expected_version = _expected_version()


class VersionRef(ApplicationRef):
    version = fields.Integer(load_default=None, allow_none=True, strict=True,
                             validate=validate.Range(min=0, max=10_000))


class Diff(ApplicationRef):
    from_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    to_version = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(min=0, max=10_000))


class Upload(ApplicationRef):
    expected_version = _expected_version()
    # as sent: shared.blobs normalises a file's name (folders, control characters) and keeps the original
    name = fields.String(required=True, validate=FILE_NAME)
    # base64 of at most MAX_BYTES: 4 characters per 3 bytes
    content = _text(validate.Length(min=1, max=4 * (MAX_BYTES // 3 + 1)), required=True)


class AttachmentRef(ApplicationRef):
    sha256 = _text(SHA256, required=True)


class ApplicationsQuery(Schema):
    stage = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STAGES))
    sort = sort_field(("created_at", "updated_at", "name", "stage", "base_type", "number", "next_deadline"))
    limit = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))


SEARCH_COLUMNS = ("created_at", "updated_at", "name", "applicant_name", "stage", "base_type", "number",
                  "next_deadline")


class ApplicationSearch(Schema):
    """SAC's search of every application: `text` found in the name, the applicant's name, its credit
    code or the number (case-insensitive, anywhere in them), with filters, a sort and a page."""

    text = _optional_text(validate.Length(max=100))
    stage = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STAGES))
    base_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(BASE_TYPES))
    region = _optional_text(REGION)
    sort = sort_field(SEARCH_COLUMNS)
    limit = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))


# --- the sections of the plan ------------------------------------------------------


class BasicSection(Schema):
    """一 基本信息: the base, the applicant's head and contact, the two units chosen."""

    name = _text(validate.Length(min=1, max=80), required=True)
    region = _optional_text(REGION)
    domain = fields.String(load_default=None, allow_none=True, validate=_known_domain)
    organizing_unit_id = _text(UNIT_ID, required=True)
    recommending_unit_id = _text(UNIT_ID, required=True)
    head = fields.Nested(Head, load_default=None, allow_none=True)
    contact = fields.Nested(Contact, load_default=None, allow_none=True)
    postcode = _optional_text(POSTCODE)
    address = _optional_text(ADDRESS)


class SignificanceSection(Schema):
    """二 意义和必要性."""

    significance = _optional_text(ESSAY)
    necessity = _optional_text(ESSAY)


class FeasibilitySection(Schema):
    """三 可行性: 工作基础, 资质条件, 优势分析."""

    work_foundation = _optional_text(ESSAY)
    qualifications = _optional_text(ESSAY)
    advantages = _optional_text(ESSAY)


class QualificationItem(Schema):
    item = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=6))
    declared = StrictBoolean(required=True)
    statement = _optional_text(PASSAGE)
    evidence = fields.List(_text(SHA256), load_default=list, validate=validate.Length(max=20))


class QualificationsSection(Schema):
    """The qualification checklist of the base type (guide §二(二)), item by item with evidence."""

    items = fields.List(fields.Nested(QualificationItem), load_default=list, validate=validate.Length(max=6))

    @validates_schema
    def each_item_once(self, data, **kwargs):
        numbers = [item["item"] for item in data.get("items") or []]
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        if repeated:
            raise ValidationError(f"Items declared more than once: {repeated}.", "items")


class KeyTask(Schema):
    title = _text(LINE, required=True)
    content = _text(PASSAGE, required=True)


class Indicator(Schema):
    """考核指标: specific, quantifiable, assessable."""

    kind = fields.String(required=True, validate=validate.OneOf(tuple(plan.INDICATOR_KINDS)))
    metric = _text(LINE, required=True)
    target_value = Number(required=True)
    unit = _text(validate.Length(min=1, max=20), required=True)


class Milestone(Schema):
    date = IsoDate(required=True, validate=_plausible_date)
    description = _text(PASSAGE, required=True)


class YearlyNode(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=plan.CONSTRUCTION_YEARS))
    description = _text(PASSAGE, required=True)


class Schedule(Schema):
    """进度计划 over the 2-year construction period starting on `start_date`."""

    start_date = IsoDate(load_default=None, allow_none=True, validate=_plausible_date)
    milestones = fields.List(fields.Nested(Milestone), load_default=list, validate=validate.Length(max=50))
    yearly_nodes = fields.List(fields.Nested(YearlyNode), load_default=list, validate=validate.Length(max=10))
    mid_term_goal = _optional_text(PASSAGE)

    @validates_schema
    def milestones_fall_in_the_construction_period(self, data, **kwargs):
        if not data.get("start_date"):
            return
        first, last = plan.construction_period(date.fromisoformat(data["start_date"]))
        outside = {
            i: {"date": [f"Outside the construction period {first} to {last}."]}
            for i, milestone in enumerate(data.get("milestones") or [])
            if not first.isoformat() <= milestone["date"] <= last.isoformat()
        }
        if outside:
            raise ValidationError({"milestones": outside})


class GoalsSection(Schema):
    """四 目标和任务: goal, key tasks, assessment indicators, schedule."""

    goal = _optional_text(ESSAY)
    key_tasks = fields.List(fields.Nested(KeyTask), load_default=list, validate=validate.Length(max=30))
    indicators = fields.List(fields.Nested(Indicator), load_default=list, validate=validate.Length(max=50))
    schedule = fields.Nested(Schedule, load_default=None, allow_none=True)


class SafeguardsSection(Schema):
    """五 保障措施: 组织机制, 政策支持, 资金人才."""

    organization_mechanism = _optional_text(ESSAY)
    policy_support = _optional_text(ESSAY)
    funds_and_talent = _optional_text(ESSAY)


class AttachmentItem(Schema):
    title = _text(LINE, required=True)
    sha256 = _text(SHA256, required=True)


class AttachmentsSection(Schema):
    """六 附件: the evidence (证明材料), each an uploaded file."""

    items = fields.List(fields.Nested(AttachmentItem), load_default=list, validate=validate.Length(max=50))


class ApplicantOpinionSection(Schema):
    """七 申报意见, the applicant unit's part: its opinion, its head, the date."""

    opinion = _optional_text(PASSAGE)
    head = _optional_text(NAME)
    date = IsoDate(load_default=None, allow_none=True, validate=_plausible_date)


SECTION_SCHEMAS = {
    "basic": BasicSection,
    "significance": SignificanceSection,
    "feasibility": FeasibilitySection,
    "qualifications": QualificationsSection,
    "goals": GoalsSection,
    "safeguards": SafeguardsSection,
    "attachments": AttachmentsSection,
    "applicant_opinion": ApplicantOpinionSection,
}
assert set(SECTION_SCHEMAS) == set(SECTIONS)


# Building a nested schema costs more than loading with it, and a schema holds no state
# between loads: one instance per section serves every call, through `FastLoader` (valid content
# loads without most of marshmallow's bookkeeping; anything else is marshmallow's to refuse).
_SECTION_LOADERS = {section: FastLoader(schema()) for section, schema in SECTION_SCHEMAS.items()}


def normalised_section(section: str, content) -> dict:
    """The content as the plan stores it: loaded through the section's schema, every value plain
    JSON (dates as ISO strings), every field of the schema present."""
    return _SECTION_LOADERS[section].load(content)


class SaveSection(ApplicationRef):
    """One section of the plan; `content` follows that section's schema (see docs/intake.md)."""

    section = fields.String(required=True, validate=validate.OneOf(SECTIONS))
    content = fields.Dict(required=True)
    expected_version = _expected_version()

    @post_load
    def content_of_the_section(self, data, **kwargs):
        try:
            data["content"] = normalised_section(data["section"], data["content"])
        except ValidationError as exc:
            raise ValidationError({"content": exc.messages}) from None
        return data


def _typed_digest(value):
    """A digest as typed from paper: spaces and line breaks dropped, any case."""
    return "".join(value.split()).lower() if isinstance(value, str) else value


class VerifyPrint(Schema):
    """A digest read from a printed plan, or the PDF itself (base64; its printed digest is read
    from it), or both (they must agree)."""

    digest = fields.String(load_default=None, allow_none=True,
                           validate=validate.Regexp(SHA256_PATTERN, error="A digest is 64 hex digits (摘要 SHA-256)."),
                           metadata={"description": "the 64 hex digits of 摘要 SHA-256; spaces are ignored"})
    document = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=MAX_BYTES * 4 // 3 + 4),
                             metadata={"description": "the PDF, base64-encoded"})

    @pre_load
    def _normalize(self, data, **_):
        if isinstance(data, dict) and "digest" in data:
            return {**data, "digest": _typed_digest(data["digest"])}
        return data

    @validates_schema
    def _something(self, data, **_):
        if data.get("digest") is None and data.get("document") is None:
            raise ValidationError("give the digest printed on the paper, or the PDF", "digest")
