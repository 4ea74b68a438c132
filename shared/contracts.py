"""Integration event contracts: the only shape in which facts cross services.

Every message on the events exchange is an `Envelope` whose `payload` matches
the schema registered for its (`type`, `version`). A message that does not
match is never applied: the consumer parks it in the dead-letter queue with
the reason. Adding a field is a new version; old versions stay registered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

BASE_TYPES = ("regional", "domain", "international")


class Actor(Schema):
    party_id = fields.String(required=True)
    role = fields.String(required=True)
    organization = fields.String(required=True)


class Cause(Schema):
    source = fields.String(required=True)
    position = fields.Integer(required=True)


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    source = fields.String(required=True)
    position = fields.Integer(required=True, validate=validate.Range(min=1))
    type = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    application_id = fields.UUID(required=True, allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)
    actor = fields.Nested(Actor, required=True, allow_none=True)
    previous_position = fields.Integer(required=True, allow_none=True)
    caused_by = fields.Nested(Cause, required=True, allow_none=True)
    payload = fields.Dict(required=True)


# --- intake ---------------------------------------------------------------

class ApplicationSubmittedV1(Schema):
    """An applicant submitted (or resubmitted) a version of its plan."""

    application_id = fields.UUID(required=True)
    applicant_id = fields.String(required=True)
    applicant_organization = fields.String(required=True)
    base_type = fields.String(required=True, validate=validate.OneOf(BASE_TYPES))
    name = fields.String(required=True)
    organizing_unit_id = fields.String(required=True)
    recommending_unit_id = fields.String(required=True)
    plan_version = fields.Integer(required=True, validate=validate.Range(min=1))
    digest = fields.String(required=True, validate=validate.Length(equal=64))
    receipt_number = fields.String(required=True)
    submitted_at = fields.AwareDateTime(required=True)


class ApplicationWithdrawnV1(Schema):
    """The applicant withdrew its application; every later stage stops."""

    application_id = fields.UUID(required=True)
    reason = fields.String(required=True)
    withdrawn_at = fields.AwareDateTime(required=True)


# --- endorsement ----------------------------------------------------------

class ReviewItemQueuedV1(Schema):
    """A submitted version entered its organizing unit's queue (审核盖章)."""

    application_id = fields.UUID(required=True)
    item_id = fields.UUID(required=True)
    organizing_unit_id = fields.String(required=True)
    plan_version = fields.Integer(required=True)
    digest = fields.String(required=True)
    queued_at = fields.AwareDateTime(required=True)


class ReviewItemClosedV1(Schema):
    """A queue item left the queue without a decision (the application was withdrawn)."""

    application_id = fields.UUID(required=True)
    item_id = fields.UUID(required=True)
    reason = fields.String(required=True)


CONTRACTS: dict[tuple[str, str, int], type[Schema]] = {
    ("intake", "ApplicationSubmitted", 1): ApplicationSubmittedV1,
    ("intake", "ApplicationWithdrawn", 1): ApplicationWithdrawnV1,
    ("endorsement", "ReviewItemQueued", 1): ReviewItemQueuedV1,
    ("endorsement", "ReviewItemClosed", 1): ReviewItemClosedV1,
}


class ContractViolation(Exception):
    """A message that matches no contract; carries the reason for the dead-letter queue."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IntegrationEvent:
    event_id: str
    source: str
    position: int
    type: str
    version: int
    application_id: str | None
    occurred_at: str
    actor: dict | None
    previous_position: int | None
    caused_by: dict | None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def routing_key(self) -> str:
        return routing_key(self.source, self.type, self.version)

    def as_message(self) -> dict:
        return {
            "event_id": self.event_id, "source": self.source, "position": self.position,
            "type": self.type, "version": self.version, "application_id": self.application_id,
            "occurred_at": self.occurred_at, "actor": self.actor,
            "previous_position": self.previous_position, "caused_by": self.caused_by,
            "payload": self.payload,
        }


def routing_key(source: str, event_type: str, version: int) -> str:
    return f"{source}.{event_type}.v{version}"


def build(source: str, event_type: str, version: int, payload: dict, **envelope) -> IntegrationEvent:
    """Make an event from a service's own facts, checked against its contract."""
    schema = _contract(source, event_type, version)
    data = {key: _plain(value) for key, value in payload.items()}
    errors = schema().validate(data)
    if errors:
        raise ContractViolation(f"{source}.{event_type}.v{version} payload: {errors}")
    return IntegrationEvent(source=source, type=event_type, version=version, payload=data, **envelope)


def _plain(value: Any) -> Any:
    """JSON's own types: what goes on the wire."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def parse(message: Any) -> IntegrationEvent:
    """Check a received message against the envelope and its payload's contract."""
    if not isinstance(message, dict):
        raise ContractViolation(f"message is a {type(message).__name__}, not an object")
    try:
        EnvelopeSchema().load(message)
    except ValidationError as exc:
        raise ContractViolation(f"envelope: {exc.messages}") from None
    schema = _contract(message["source"], message["type"], message["version"])
    try:
        schema().load(message["payload"])
    except ValidationError as exc:
        raise ContractViolation(
            f"{message['source']}.{message['type']}.v{message['version']} payload: {exc.messages}"
        ) from None
    return IntegrationEvent(**{k: message[k] for k in EnvelopeSchema().fields})


def _contract(source: str, event_type: str, version: int) -> type[Schema]:
    try:
        return CONTRACTS[(source, event_type, version)]
    except KeyError:
        raise ContractViolation(f"no contract for {source}.{event_type}.v{version}") from None
