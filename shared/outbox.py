"""Transactional outbox: integration events leave a service from its own log.

A command commits its domain events and nothing else; this publisher then
reads the log in order from its cursor, turns each event that matters to
other services into its integration event, publishes it to the topic
exchange with publisher confirms, and only then advances the cursor. A crash
anywhere in between republishes (consumers drop the duplicate); nothing is
lost. A broker outage stops the cursor, so events wait in the log.

Among several instances of a service, one holds a PostgreSQL advisory lock
and publishes; the others stand by. A commit wakes the publisher through the
library's NOTIFY on the events table, with a poll as a fallback.
"""
from __future__ import annotations

import logging
import os
import select
import signal
import uuid

import eventlet
from kombu import Connection, Exchange

from shared import contracts, settings
from shared.background import BackgroundLoop
from shared.eventstore import ServiceApplication, application, connect

log = logging.getLogger(__name__)

EVENT_ID_NAMESPACE = uuid.UUID("5b0c7d1e-8a43-4f0e-9d55-1c3f0a6b2e91")
POLL_SECONDS = 1.0
BATCH = 200


def events_exchange() -> Exchange:
    return Exchange(settings.get().events_exchange, type="topic", durable=True)


def event_id(source: str, position: int) -> str:
    """Stable per log position, so a republished event is recognisably the same one."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{position}"))


class Outbox:
    """Reads the log after the cursor and publishes; one pass per call to `publish_pending`."""

    def __init__(self, app: ServiceApplication):
        self.app = app
        self.source = app.service
        self._position: int | None = None  # the leader's cursor, kept in memory
        self._chain: dict[str, int | None] = {}

    def cursor(self) -> int:
        with self.app.recorder.reading_cursor() as cursor:
            cursor.execute("SELECT position FROM outbox_cursor")
            row = cursor.fetchone()
        return row[0] if row else 0

    def lead(self) -> None:
        """Called on taking the lock: read where the previous leader stopped."""
        self._position = self.cursor()
        self._chain = {}

    def publish_pending(self, producer) -> int:
        if self._position is None:
            self.lead()
        batch = self.app.read_log(self._position, BATCH)
        if not batch:
            return 0
        chain: dict[str, int | None] = {}
        exchange = events_exchange()
        for position, domain_event in batch:
            event = self.integration_event(position, domain_event, chain)
            if event is not None:
                if "crash_before_publish" in settings.get().faults:
                    # Fault test: die like `kill -9`, the event committed and not yet published.
                    os.kill(os.getpid(), signal.SIGKILL)
                producer.publish(
                    event.as_message(),
                    exchange=exchange,
                    routing_key=event.routing_key,
                    serializer="json",
                    delivery_mode=2,
                    message_id=event.event_id,
                    declare=[exchange],
                    retry=False,
                )
        self.advance(batch[-1][0], chain)
        self._position = batch[-1][0]
        self._chain.update(chain)
        if len(self._chain) > 100_000:
            self._chain.clear()
        return len(batch)

    def integration_event(self, position, domain_event, chain) -> contracts.IntegrationEvent | None:
        described = self.app.integration_event(domain_event)
        if described is None:
            return None
        event_type, version, payload = described
        application_id = payload.get("application_id")
        key = str(application_id or domain_event.originator_id)
        if key not in chain and key in self._chain:
            chain[key] = self._chain[key]
        if key not in chain:
            rows = self.app.query(
                "SELECT last_position FROM outbox_chain WHERE ordering_key = :k", k=key
            )
            chain[key] = rows[0]["last_position"] if rows else None
        event = contracts.build(
            self.source, event_type, version, payload,
            event_id=event_id(self.source, position),
            position=position,
            application_id=str(application_id) if application_id else None,
            occurred_at=domain_event.timestamp.isoformat(),
            actor=getattr(domain_event, "actor", None),
            previous_position=chain[key],
            caused_by=getattr(domain_event, "caused_by", None),
        )
        chain[key] = position
        return event

    def advance(self, position: int, chain: dict[str, int | None]) -> None:
        """Record how far the log is published, and each ordering key's last position, together.

        It follows every command's commit in the same process, so it is one round trip, and it
        does not wait for the disk: a cursor lost with the database server only republishes
        what consumers then drop as duplicates, and the chain rows, committed with the cursor,
        are lost or kept with it, so a republished event names the same predecessor.
        """
        rows = [(key, last) for key, last in chain.items() if last is not None]
        with self.app.recorder.autocommit_cursor() as cursor:
            # Statements sent together run as one transaction of their own.
            statements = [b"SET LOCAL synchronous_commit TO OFF"]
            if rows:
                statements.append(
                    b"INSERT INTO outbox_chain (ordering_key, last_position) VALUES "
                    + b",".join(cursor.mogrify("(%s,%s)", row) for row in rows)
                    + b" ON CONFLICT (ordering_key) DO UPDATE SET last_position = EXCLUDED.last_position")
            statements.append(cursor.mogrify(
                "INSERT INTO outbox_cursor (id, position) VALUES (1, %s)"
                " ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position", (position,)))
            cursor.execute(b";".join(statements))


class OutboxPublisher(BackgroundLoop):
    """Runs the outbox in the background of every instance; the lock holder publishes."""

    identifier = "outbox"

    def setup(self):
        self.outbox = Outbox(application(self.app_cls))

    def get_dependency(self, worker_ctx):
        return self.outbox

    def run_once(self):
        self._lead_and_publish()

    def _lead_and_publish(self):
        pg = connect(self.outbox.app.database_url)
        pg.autocommit = True
        try:
            with pg.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"outbox:{self.outbox.source}",))
                if not cursor.fetchone()[0]:
                    eventlet.sleep(POLL_SECONDS)
                    return
                self.outbox.lead()
                cursor.execute(f"LISTEN {self.outbox.app.recorder.channel_name}")
            with Connection(settings.get().amqp_uri, transport_options={"confirm_publish": True}) as amqp:
                producer = amqp.Producer()
                while not self.stopping:
                    # A short batch read everything committed before it; what commits later NOTIFYs.
                    if self.outbox.publish_pending(producer) >= BATCH:
                        continue
                    select.select([pg], [], [], POLL_SECONDS)
                    pg.poll()
                    pg.notifies.clear()
        finally:
            pg.close()
