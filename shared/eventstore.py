"""Each service's append-only event log in PostgreSQL, and what is derived from it.

Built on the eventsourcing library with eventsourcing-sqlalchemy on psycopg2
(cooperative under eventlet, unlike psycopg 3). Beside the library's events
table, every service database holds:

- `processed_messages`: one row per upstream (source, position) a consumer has
  applied, written in the same transaction as the events the message caused.
  It is a set, not a high-water mark: with competing consumers, position 7 may
  commit before position 6, and 6 must still be applied.
- read models, written by the application's projector in the same
  transaction as the events they come from, so an RPC reads its own writes;
  they can be dropped and rebuilt from the log at any time.
- the outbox cursor (see `shared.outbox`).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import random
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Sequence

import psycopg2
import sqlalchemy.exc
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared import audit, clock, settings
from shared.contracts import IntegrationEvent
from shared.errors import ConcurrencyConflict

log = logging.getLogger(__name__)
ORDER_WAIT_SECONDS = 0.5
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"

BACKBONE_DDL = """
CREATE TABLE IF NOT EXISTS processed_messages (
    source text NOT NULL,
    position bigint NOT NULL,
    event_id uuid NOT NULL,
    application_id uuid,
    event_type text NOT NULL,
    processed_at timestamptz NOT NULL,
    processed_by text NOT NULL,
    PRIMARY KEY (source, position)
);
CREATE TABLE IF NOT EXISTS outbox_cursor (
    id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_chain (
    ordering_key text PRIMARY KEY,
    last_position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_index (
    position bigint PRIMARY KEY,
    application_id uuid,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_index_by_application ON audit_index (application_id, position);
CREATE INDEX IF NOT EXISTS audit_index_by_aggregate ON audit_index (originator_id, position);
""" + audit.CHAIN_DDL


class TrackedRecorder(SQLAlchemyApplicationRecorder):
    """Inserts events, the processed-message row and the read-model rows in one transaction."""

    def _insert_stored_events(self, session, stored_events: Sequence[StoredEvent], **kwargs: Any):
        processed: IntegrationEvent | None = kwargs.get("processed")
        if processed is not None:
            session.execute(
                text(
                    "INSERT INTO processed_messages"
                    " (source, position, event_id, application_id, event_type, processed_at, processed_by)"
                    " VALUES (:source, :position, :event_id, :application_id, :type, :at, :by)"
                ),
                {
                    "source": processed.source, "position": processed.position,
                    "event_id": processed.event_id, "application_id": processed.application_id,
                    "type": processed.type, "at": clock.now(), "by": INSTANCE,
                },
            )
        if not stored_events:
            return []
        ids = super()._insert_stored_events(session, stored_events, **kwargs)
        audit.extend_chain(session, self.events_table_name)
        project = kwargs.get("project")
        if project is not None:
            project(session, ids)
        return ids


class Factory(SQLAlchemyFactory):
    application_recorder_class = TrackedRecorder


def ensure_database(url: str) -> None:
    """Create the service's database on first start; two instances racing is fine."""
    parsed = make_url(url)
    admin = psycopg2.connect(**_connect_args(parsed.set(database="postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
            if cursor.fetchone() is None:
                try:
                    cursor.execute(f'CREATE DATABASE "{parsed.database}"')
                except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
                    pass
    finally:
        admin.close()


def connect(url: str):
    """A plain psycopg2 connection to the service database (LISTEN, advisory locks)."""
    return psycopg2.connect(**_connect_args(make_url(url)))


@contextmanager
def schema_lock(url: str):
    conn = connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('innobase-schema'))")
        yield
    finally:
        conn.close()


def _connect_args(url) -> dict:
    args = url.translate_connect_args(username="user", database="dbname")
    return {k: v for k, v in args.items() if v is not None}


class Duplicate(Exception):
    """The message was processed before; nothing more to do."""


class OutOfOrder(Exception):
    """An earlier event of the same application has not been applied yet."""

    def __init__(self, event: IntegrationEvent):
        super().__init__(
            f"{event.source} position {event.position} waits for position "
            f"{event.previous_position} of application {event.application_id}"
        )


class ServiceApplication(Application):
    """One per service: its event log, its read models and its reactions.

    Subclasses set `name` (the table prefix), `read_model_ddl`, `projections`
    (domain event class name -> method(session, event, position)), `reactions`
    ((source, type) -> method(event) returning the aggregates it changed) and
    `integration_event(domain_event)` for what the outbox publishes.
    """

    service: str = ""
    read_model_ddl: str = ""
    read_model_tables: tuple[str, ...] = ()
    # Aggregates whose id is the application's id (intake's Application).
    application_aggregates: tuple[str, ...] = ()
    snapshotting_intervals = {}
    reactions: dict[tuple[str, str], str] = {}
    projections: dict[str, str] = {}

    def __init__(self, database_url: str | None = None):
        url = database_url or settings.get().database_url(self.service)
        ensure_database(url)
        self.database_url = url
        with schema_lock(url):  # instances starting together must not race to create tables
            super().__init__(
                env={
                    "PERSISTENCE_MODULE": "shared.eventstore:Factory",
                    "SQLALCHEMY_URL": url,
                    "SQLALCHEMY_AUTOFLUSH": "n",
                }
            )
            with self.transaction() as session:
                session.execute(text(BACKBONE_DDL))
                session.execute(text(audit.immutability_ddl(self.recorder.events_table_name)))
                if self.read_model_ddl:
                    session.execute(text(self.read_model_ddl))
                audit.extend_chain(session, self.recorder.events_table_name)  # logs from before the chain

    # --- transactions -------------------------------------------------------

    @property
    def datastore(self):
        return self.factory.datastore

    def transaction(self):
        """One database transaction; reads and `save` inside it commit or roll back together."""
        return self.recorder.transaction(commit=True)

    def _record(self, processing_event):
        events = list(processing_event.events)

        def project(session, positions):
            for domain_event, position in zip(events, positions):
                self.project(session, domain_event, position)

        processing_event.saved_kwargs["project"] = project
        try:
            return super()._record(processing_event)
        except (IntegrityError, sqlalchemy.exc.IntegrityError):
            # Raw from SQLAlchemy inside an outer transaction, wrapped by the library outside one.
            raise ConcurrencyConflict(
                "the application changed since it was read; reload and try again",
                {"rule": "optimistic_concurrency"},
            ) from None

    def project(self, session, domain_event, position: int) -> None:
        self._index_for_audit(session, domain_event, position)
        method = self.projections.get(type(domain_event).__name__)
        if method is not None:
            getattr(self, method)(session, domain_event, position)

    def _index_for_audit(self, session, domain_event, position: int) -> None:
        """Which application each logged event belongs to: auditors' history and state-at."""
        application_id = getattr(domain_event, "application_id", None)
        if application_id is None and type(domain_event).__qualname__.split(".")[0] in self.application_aggregates:
            application_id = domain_event.originator_id
        if application_id is None:
            row = session.execute(
                text("SELECT application_id FROM audit_index WHERE originator_id = :id"
                     " AND application_id IS NOT NULL LIMIT 1"),
                {"id": domain_event.originator_id},
            ).first()
            application_id = row[0] if row else None
        session.execute(
            text("INSERT INTO audit_index (position, application_id, originator_id, originator_version,"
                 " event_type, occurred_at) VALUES (:p, :a, :o, :v, :t, :at)"),
            {"p": position, "a": str(application_id) if application_id else None, "o": domain_event.originator_id,
             "v": domain_event.originator_version, "t": type(domain_event).__name__, "at": domain_event.timestamp},
        )

    # --- audit ----------------------------------------------------------------

    def history(self, application_id) -> list[dict]:
        """Every event of this service's log about the application, in log order."""
        table = self.recorder.events_table_name
        with self.transaction() as session:
            rows = session.execute(
                text(f"SELECT e.id, e.originator_id, e.originator_version, e.topic, e.state FROM {table} e"
                     " JOIN audit_index i ON i.position = e.id WHERE i.application_id = :a ORDER BY e.id"),
                {"a": str(application_id)},
            ).all()
        events = []
        for position, originator_id, version, topic, state in rows:
            domain_event = self.mapper.to_domain_event(Notification(
                id=position, originator_id=originator_id, originator_version=version, topic=topic,
                state=bytes(state)))
            payload = {k: v for k, v in domain_event.__dict__.items()
                       if k not in ("originator_id", "originator_version", "timestamp", "originator_topic",
                                    "actor", "caused_by")}
            events.append(json.loads(json.dumps({
                "service": self.service,
                "position": position,
                "occurred_at": domain_event.timestamp.isoformat(),
                "type": type(domain_event).__name__,
                "aggregate_id": str(originator_id),
                "aggregate_version": version,
                "actor": getattr(domain_event, "actor", None),
                "caused_by": getattr(domain_event, "caused_by", None),
                "payload": payload,
            }, default=str, ensure_ascii=False)))
        return events

    def state_at(self, application_id, at) -> dict:
        """The state of each of this service's aggregates about the application, as of `at`."""
        rows = self.query(
            "SELECT originator_id, max(originator_version) AS version FROM audit_index"
            " WHERE application_id = :a AND occurred_at <= :at GROUP BY originator_id ORDER BY originator_id",
            a=str(application_id), at=at,
        )
        state = {}
        for row in rows:
            aggregate = self.repository.get(row["originator_id"], version=row["version"])
            state[str(row["originator_id"])] = {
                "type": type(aggregate).__name__, "version": row["version"],
                "state": audit.jsonable_state(aggregate),
            }
        return state

    # --- the log ------------------------------------------------------------

    def log_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def read_log(self, after: int, limit: int = 100):
        """(position, domain event) pairs after `after`, in log order."""
        notifications = self.recorder.select_notifications(after + 1, limit)
        return [(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    def integration_event(self, domain_event) -> tuple[str, int, dict] | None:
        """What the outbox publishes for one logged event: (type, version, payload), or None."""
        return None

    # --- reacting to other services ------------------------------------------

    def process(self, event: IntegrationEvent) -> str:
        """Apply one upstream event exactly once, in its application's order.

        A predecessor still in flight on another instance is usually done within
        milliseconds, so wait briefly here before handing the message back to the
        broker's slower retry; likewise retry at once when another instance
        changed the same aggregate first.
        """
        waited, conflicts = 0.0, 0
        while True:
            try:
                return self._process_once(event)
            except OutOfOrder:
                if waited >= ORDER_WAIT_SECONDS:
                    raise
                time.sleep(0.01)
                waited += 0.01
            except ConcurrencyConflict:
                conflicts += 1
                if conflicts >= 5:
                    raise

    def _process_once(self, event: IntegrationEvent) -> str:
        if "slow_reactions" in settings.get().faults:
            time.sleep(random.uniform(0, 0.05))  # fault tests: instances finish out of order
        if "fail_reactions" in settings.get().faults:
            raise RuntimeError("reactions fail (INNOBASE_FAULTS=fail_reactions)")
        with self.transaction() as session:
            if self._was_processed(session, event.source, event.position):
                raise Duplicate()
            if event.previous_position is not None and not self._was_processed(
                session, event.source, event.previous_position
            ):
                raise OutOfOrder(event)
            method = self.reactions.get((event.source, event.type))
            changed = getattr(self, method)(event) if method else []
            self.save(*changed, processed=event)
        return "applied" if method else "ignored"

    def _was_processed(self, session, source: str, position: int) -> bool:
        row = session.execute(
            text("SELECT 1 FROM processed_messages WHERE source = :s AND position = :p"),
            {"s": source, "p": position},
        ).first()
        return row is not None

    def processed_positions(self, source: str) -> list[int]:
        with self.transaction() as session:
            rows = session.execute(
                text("SELECT position FROM processed_messages WHERE source = :s ORDER BY position"),
                {"s": source},
            )
            return [r[0] for r in rows]

    # --- read models --------------------------------------------------------

    def query(self, sql: str, **params) -> list[dict]:
        with self.transaction() as session:
            return [dict(r._mapping) for r in session.execute(text(sql), params)]

    def rebuild_read_models(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop every read-model row and project the whole log again."""
        total = self.log_position()
        count = 0
        with self.transaction() as session:
            for table in ("audit_index", *self.read_model_tables):
                session.execute(text(f"TRUNCATE {table}"))
            after = 0
            while True:
                batch = self.read_log(after, 500)
                if not batch:
                    break
                for position, domain_event in batch:
                    self.project(session, domain_event, position)
                    count += 1
                    after = position
                if progress:
                    progress(after, total)
        return count


def jsonable(row: dict) -> dict:
    """A read-model row as plain JSON values for an RPC answer."""
    return {
        key: value.isoformat() if hasattr(value, "isoformat")
        else value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
        for key, value in row.items()
    }


_apps: dict[type, ServiceApplication] = {}
_apps_lock = threading.Lock()


def application(cls: type[ServiceApplication]) -> ServiceApplication:
    """The process's single instance of a service application."""
    with _apps_lock:  # nameko sets up extensions in parallel greenthreads
        if cls not in _apps:
            _apps[cls] = cls()
        return _apps[cls]
