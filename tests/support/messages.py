"""Integration events as an upstream service would publish them, for tests that play that service:
`Upstream` builds them through the contracts and chains them as an outbox does, `deliver` puts
any message on the events exchange, `envelope` writes one by hand (for messages a test breaks)."""
from __future__ import annotations

import itertools
import random
import threading
import uuid
from dataclasses import dataclass

from kombu import Connection

from shared import clock, contracts, settings
from shared.outbox import event_id, events_exchange

NAME = "国家技术标准创新基地（江苏）"


def submitted_payload(application_id: str, unit: str, **overrides) -> dict:
    payload = {
        "application_id": application_id, "applicant_id": "a", "applicant_organization": "o",
        "applicant_name": "江苏省标准化研究院", "base_type": "regional", "name": NAME,
        "region": "320000", "domain": None, "organizing_unit_id": unit, "recommending_unit_id": "RU-f",
        "plan_version": 1, "digest": "a" * 64, "receipt_number": "SB-f",
        "submitted_at": "2026-06-01T10:00:00+08:00", "submission_kind": "initial", "answers_request": None,
        "changed_sections": [], "qualification_items": [], "attachments": [], "late_exception": None,
    }
    payload.update(overrides)
    return payload


def envelope(source: str, event_type: str, position: int, payload: dict, previous=None) -> dict:
    return {
        "event_id": str(uuid.uuid4()), "source": source, "position": position, "type": event_type,
        "version": 1, "application_id": payload.get("application_id"),
        "occurred_at": "2026-06-01T10:00:00+08:00", "actor": None, "previous_position": previous,
        "caused_by": None, "payload": payload,
    }


def deliver(*messages: dict, routing_key: str | None = None) -> None:
    """Put messages on the events exchange, as an outbox does (the first time, or again as a
    redelivery); `routing_key` for messages whose own fields do not name it (a broken contract)."""
    exchange = events_exchange()
    with Connection(settings.get().amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for message in messages:
            key = routing_key or contracts.routing_key(message["source"], message["type"], message["version"])
            producer.publish(message, exchange=exchange, routing_key=key, serializer="json", delivery_mode=2,
                             message_id=message.get("event_id"), declare=[exchange])


class Upstream:
    """Other services as a consumer sees them: their events on the exchange, each source's
    positions increasing from a base of this object's own (random: objects and runs do not meet),
    each application's events chained by `previous_position` as the source's outbox chains them,
    every payload checked against its contract. `sent` keeps every message, for tests that
    deliver them again."""

    def __init__(self):
        self._base = random.randrange(10**6, 10**9) * 100
        self._positions: dict[str, itertools.count] = {}
        self._last: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.sent: list[dict] = []

    deliver = staticmethod(deliver)

    def message(self, source: str, event_type: str, payload: dict, chain: str | None = None) -> dict:
        """The event as `source`'s outbox would publish it next; `chain` names the ordering key
        when it is not the payload's application."""
        with self._lock:
            position = next(self._positions.setdefault(source, itertools.count(self._base)))
            application_id = payload.get("application_id")
            key = chain or (str(application_id) if application_id else None)
            previous = self._last.get((source, key)) if key else None
            if key:
                self._last[(source, key)] = position
        return contracts.build(
            source, event_type, 1, payload, event_id=event_id(source, position), position=position,
            application_id=str(application_id) if application_id else None,
            occurred_at=clock.now().isoformat(), actor=None, previous_position=previous, caused_by=None,
        ).as_message()

    def publish(self, source: str, event_type: str, payload: dict, chain: str | None = None) -> dict:
        message = self.message(source, event_type, payload, chain)
        deliver(message)
        self.sent.append(message)
        return message

    def speaking_as(self, source: str) -> Source:
        return Source(self, source)


@dataclass(frozen=True)
class Source:
    """One upstream service: `publish(event_type, payload)` in its name."""

    upstream: Upstream
    source: str

    def publish(self, event_type: str, payload: dict) -> dict:
        return self.upstream.publish(self.source, event_type, payload)
