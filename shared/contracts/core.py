"""The envelope every integration event travels in, the registry of contracts,
and the nested shapes several contracts share.

Every message on the events exchange is an `Envelope` whose `payload` matches
the schema registered for its (`source`, `type`, `version`). A message that does
not match is never applied: the consumer parks it in the dead-letter queue
with the reason. Adding a field is a new version; old versions stay registered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from marshmallow import Schema, ValidationError, fields, validate

BASE_TYPES = ("regional", "domain", "international")
# The roles a caller's token may name (shared.auth), and an account may hold (accounts).
ROLES = (
    "applicant",          # 申报单位
    "organizing_unit",    # 申报组织单位
    "recommending_unit",  # 推荐单位
    "officer",            # 国家标准委
    "expert",             # 专家
    "auditor",            # 审计
    "ops",                # 运维
    "gateway",            # the HTTP edge itself (it calls accounts for sessions and tokens)
)
# The sections of the plan (附件2) that can be reopened one by one.
SECTIONS = (
    "basic",              # 一 基本信息
    "significance",       # 二 意义和必要性
    "feasibility",        # 三 可行性 (工作基础, 资质条件, 优势分析)
    "qualifications",     # the qualification checklist of the base type, with evidence
    "goals",              # 四 目标和任务 (目标, 重点任务, 考核指标, 进度计划)
    "safeguards",         # 五 保障措施
    "attachments",        # 六 附件
    "applicant_opinion",  # 七 申报意见 (the applicant's part)
)


class Person(Schema):
    """A named person of a unit, with how to reach them."""

    name = fields.String(required=True)
    title = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    fax = fields.String(required=True, allow_none=True)
    email = fields.String(required=True, allow_none=True)


class Attachment(Schema):
    """A stored file, by its SHA-256."""

    sha256 = fields.String(required=True, validate=validate.Length(equal=64))
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    media_type = fields.String(required=True)


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


CONTRACTS: dict[tuple[str, str, int], type[Schema]] = {}


def register(source: str, event_type: str, version: int, schema: type[Schema]) -> None:
    CONTRACTS[(source, event_type, version)] = schema


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
