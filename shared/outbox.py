"""Transactional outbox: integration events leave a service from its own log.

A command commits its domain events and nothing else; this publisher then
reads the log in order from its cursor, turns each event that matters to
other services into its integration event, publishes it to the topic
exchange with publisher confirms, and only then advances the cursor. A crash
anywhere in between republishes (consumers drop the duplicate); nothing is
lost. A broker outage stops the cursor, so events wait in the log. Passes
that publish nothing record the cursor later, with the next one that
publishes or once the log is quiet for a second.

Among several instances of a service, one holds a PostgreSQL advisory lock
and publishes; the others stand by. A commit wakes the publisher through its
NOTIFY naming its last position (heard by the process's commit listener,
`shared.notices`), with a poll as a fallback; commits of the publisher's own
process that publish nothing it passes without reading.
"""
from __future__ import annotations

import logging
import time
import uuid

import eventlet
from kombu import Connection, Exchange

from shared import contracts, settings
from shared.background import BackgroundLoop
from shared.database import INSTANCE, connect
from shared.eventstore import ServiceApplication, application
from shared.notices import wait_for_news, wake_on_notices

log = logging.getLogger(__name__)

EVENT_ID_NAMESPACE = uuid.UUID("5b0c7d1e-8a43-4f0e-9d55-1c3f0a6b2e91")
POLL_SECONDS = 1.0
BATCH = 200
UNRECORDED_LIMIT = 1000  # events past the recorded cursor that published nothing, at most
OWN_COMMIT_GRACE = 0.005  # seconds an own commit's notice waits for its committer to tell the outbox


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
        self._recorded = 0  # the cursor as last recorded; behind `_position` after passes that published nothing

    def cursor(self) -> int:
        with self.app.recorder.reading_cursor() as cursor:
            cursor.execute("SELECT position FROM outbox_cursor")
            row = cursor.fetchone()
        return row[0] if row else 0

    def lead(self) -> None:
        """Called on taking the lock: read where the previous leader stopped."""
        self._position = self._recorded = self.cursor()
        self._chain = {}

    def publish_pending(self, producer) -> int:
        if self._position is None:
            self.lead()
        batch = self.app.read_log(self._position, BATCH)
        if not batch:
            return 0
        chain: dict[str, int | None] = {}
        exchange = events_exchange()
        published = 0
        for position, domain_event in batch:
            event = self.integration_event(position, domain_event, chain)
            if event is not None:
                published += 1
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
        self._position = batch[-1][0]
        # When nothing left the service (a section saved, a file uploaded), recording the cursor
        # waits for a pass that publishes or a quiet log: one write fewer per command. Should this
        # process die first, its successor reads those events again and publishes nothing for them.
        if published or self._position - self._recorded >= UNRECORDED_LIMIT:
            self.advance(self._position, chain)
        self._chain.update(chain)
        if len(self._chain) > 100_000:
            self._chain.clear()
        return len(batch)

    def on_committed(self, positions: list[int], domain_events: list) -> None:
        """This process committed `positions` (see `ServiceApplication.commit_listeners`). When they
        follow the cursor at once and none of them leaves the service, move past them without
        reading them back: the outbox's read after every section saved costs a round trip and a
        decode, on the same cores as the reply. Anything else (a gap, another instance's events,
        an event to publish) is left to the next read."""
        if self._position is None or positions[0] != self._position + 1:
            return
        if positions != list(range(positions[0], positions[-1] + 1)):
            return
        if any(self.app.integration_event(domain_event) is not None for domain_event in domain_events):
            return
        self._position = positions[-1]

    def caught_up(self, notified: list[str]) -> bool:
        """Whether every commit announced ("<last position> <instance>") is behind the cursor."""
        heads = [payload.partition(" ")[0] for payload in notified]
        return bool(heads) and self._position is not None and all(
            head.isdigit() and int(head) <= self._position for head in heads)

    def own_commits_landing(self, notified: list[str]) -> bool:
        """Whether every commit announced is this process's and one of its appends has not yet
        told `on_committed`: the notice can arrive first, and is better left to it."""
        return self.app.appending > 0 and all(payload.partition(" ")[2] == INSTANCE for payload in notified)

    def record_quiet_cursor(self) -> None:
        """The log is quiet: record the cursor if passes that published nothing moved it."""
        if self._position is not None and self._position != self._recorded:
            self.advance(self._position, {})

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
        self._recorded = position


class OutboxPublisher(BackgroundLoop):
    """Runs the outbox in the background of every instance; the lock holder publishes."""

    identifier = "outbox"

    def setup(self):
        self.outbox = Outbox(application(self.app_cls))
        self.outbox.app.commit_listeners.append(self.outbox.on_committed)

    def get_dependency(self, worker_ctx):
        return self.outbox

    def run_once(self):
        self._lead_and_publish()

    def _lead_and_publish(self):
        pg = connect(self.outbox.app.database_url)  # holds the lock while it lives
        pg.autocommit = True
        try:
            with pg.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"outbox:{self.outbox.source}",))
                if not cursor.fetchone()[0]:
                    eventlet.sleep(POLL_SECONDS)
                    return
            self.outbox.lead()
            # Woken by the process's commit listener (shared.notices) for commits not yet passed.
            news, waiter = wake_on_notices(self.outbox.app.commit_notices,
                                           lambda notified: not self._caught_up(notified))
            try:
                with Connection(settings.get().amqp_uri, transport_options={"confirm_publish": True}) as amqp:
                    producer = amqp.Producer()
                    while not self.stopping:
                        # A short batch read everything committed before it; what commits later is told.
                        if self.outbox.publish_pending(producer) >= BATCH:
                            continue
                        if not wait_for_news(news, POLL_SECONDS):
                            self.outbox.record_quiet_cursor()  # no commit for a while
                        pg.poll()  # the lock's connection: raises once the database closed it
            finally:
                self.outbox.app.commit_notices.unsubscribe(waiter)
        finally:
            pg.close()

    def _caught_up(self, notified: list[str]) -> bool:
        """Whether the commits announced are passed, once this process's own appends in flight,
        if they are what was announced, have told the outbox (for `OWN_COMMIT_GRACE` at most)."""
        deadline = time.monotonic() + OWN_COMMIT_GRACE
        pause = 0.0  # first let the other green threads run, then wait a little between looks
        while not self.outbox.caught_up(notified):
            if not self.outbox.own_commits_landing(notified) or time.monotonic() > deadline:
                return False
            eventlet.sleep(pause)
            pause = 0.0001
        return True
