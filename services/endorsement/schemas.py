"""What endorsement's RPCs accept."""
from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.endorsement.domain import STATES
from shared import blobs
from shared.contracts.core import SECTIONS
from shared.errors import InvalidInput
from shared.listing import sort_field
from shared.text import free_text

# A file up to twice the limit still reaches shared.blobs, whose size rule names the limit;
# anything larger is refused here, before it is decoded.
MAX_BASE64 = (2 * blobs.MAX_BYTES + 2) // 3 * 4


class File(Schema):
    """An uploaded scan: its file name and its bytes in base64; type and size are checked
    from the content (shared.blobs)."""

    name = free_text(255, required=True)
    content = fields.String(required=True, validate=validate.Length(max=MAX_BASE64))

    @post_load
    def decode(self, data, **kwargs):
        try:
            data["content"] = blobs.decode(data["content"])
        except InvalidInput:
            raise ValidationError("Not valid base64.", "content") from None
        return data


class Opinion(Schema):
    """附件2 section 七: the organizing unit's opinion, the head who signs it, and the date."""

    text = free_text(4000, required=True)
    head = free_text(100, required=True)
    date = fields.Date(required=True)


class QueueQuery(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    sort = sort_field(("queued_at", "submitted_at", "forwarded_at", "updated_at", "name", "state", "base_type"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)


class ScanRef(ApplicationRef):
    sha256 = fields.String(required=True, validate=validate.Regexp(blobs.SHA256_PATTERN, error=blobs.SHA256_ERROR))


class Decision(ApplicationRef):
    # The version the unit looked at: a decision on a superseded version is refused.
    plan_version = fields.Integer(load_default=None, validate=validate.Range(min=1))


class Forward(Decision):
    opinion = fields.Nested(Opinion, required=True)
    stamped_plan = fields.Nested(File, load_default=None, allow_none=True)


class ReturnToApplicant(Decision):
    sections = fields.List(fields.String(validate=validate.OneOf(SECTIONS)), required=True,
                           validate=validate.Length(min=1, max=len(SECTIONS)))
    reason = free_text(2000, required=True)


class Recommend(Decision):
    stamped_plan = fields.Nested(File, required=True)
    recommendation_letter = fields.Nested(File, required=True)


class Reasoned(Decision):
    reason = free_text(2000, required=True)


class QuotaQuery(Schema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


# 发文字号 as GB/T 9704 writes it: the issuing organ's code, the year in 〔〕, the serial, 号.
LETTER_REFERENCE = validate.Regexp(
    r"^[^\s〔〕]{1,20}〔[0-9]{4}〕[0-9]{1,6}号$",
    error="A 发文字号 reads like 苏政函〔2027〕12号: the organ's code, the year in 〔〕, the serial number, 号.")


class NumberLetter(Decision):
    reference = fields.String(required=True, validate=LETTER_REFERENCE,
                              metadata={"description": "发文字号 of the recommendation letter, e.g. 苏政函〔2027〕12号"})
