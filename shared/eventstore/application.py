"""`ServiceApplication`: each service's append-only event log in PostgreSQL, and what is derived
from it.

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
- the hash chain and the audit index (`shared.audit`), the outbox cursor (`shared.outbox`).

What a commit writes is in `shared.eventstore.recorder`; the speed-ups are in
`shared.eventstore.fast`, each chosen here by `fast.enabled()`.
"""
from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import sqlalchemy.exc
from eventsourcing.application import Repository
from eventsourcing.persistence import IntegrityError, Notification
from sqlalchemy import text

from shared import audit, freshness, settings
from shared.contracts import IntegrationEvent
from shared.database import ensure_database, schema_lock
from shared.errors import ConcurrencyConflict
from shared.eventstore import fast, library
from shared.freshness import TrustingRepository
from shared.notices import CommitNotices

log = logging.getLogger(__name__)
ORDER_WAIT_SECONDS = 0.5

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


class Duplicate(Exception):
    """The message was processed before; nothing more to do."""


class OutOfOrder(Exception):
    """An earlier event of the same application has not been applied yet."""

    def __init__(self, event: IntegrationEvent):
        super().__init__(
            f"{event.source} position {event.position} waits for position "
            f"{event.previous_position} of application {event.application_id}"
        )


# The saves of the outermost `ServiceApplication.transaction()` of this greenthread.
_transaction_saves: contextvars.ContextVar[list | None] = contextvars.ContextVar("innobase_transaction_saves",
                                                                                default=None)


class PlainRepository(Repository):
    """The library's repository: every command reads its aggregate's new events (the plain path)."""

    def committed(self, domain_events, mark: int, saved: dict | None = None) -> None:
        pass  # it keeps no state of its own to bring up to date: every command reads

    def forget(self, aggregate_ids) -> None:
        pass  # it trusts nothing it would have to forget


class ServiceApplication(library.Store):
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
        self.fast = fast.enabled()
        # Told (positions, domain events) of what this process committed in one round trip (the outbox).
        self.commit_listeners: list[Callable[[list[int], list], None]] = []
        # One-round-trip appends of this process sent and not yet told to the commit listeners: a
        # commit's notice can be heard before the committing green thread is told (`shared.outbox`).
        self.appending = 0
        self.freshness = freshness.Freshness()  # which cached aggregates need no read (shared.freshness)
        self.commit_notices = CommitNotices()  # what the process's listener hears (shared.notices)
        url = database_url or settings.get().database_url(self.service)
        ensure_database(url)
        self.database_url = url
        with schema_lock(url):  # instances starting together must not race to create tables
            super().__init__(
                env={
                    "PERSISTENCE_MODULE": "shared.eventstore.fast:Factory" if self.fast
                    else "shared.eventstore.recorder:Factory",
                    "TRANSCODER_TOPIC": "shared.eventstore.fast:Transcoder" if self.fast
                    else "eventsourcing.persistence:JSONTranscoder",
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

    @contextmanager
    def transaction(self):
        """One database transaction; reads and `save` inside it commit or roll back together."""
        if library.in_transaction():
            with self.recorder.transaction(commit=True) as session:
                yield session
            return
        saves: list = []
        token = _transaction_saves.set(saves)
        committed = False
        try:
            with self.recorder.transaction(commit=True) as session:
                yield session
            committed = True
        finally:
            _transaction_saves.reset(token)
            if committed:  # this process wrote them: its cached aggregates follow, as after a one-round-trip append
                for events, mark, aggregates in saves:
                    self.repository.committed(events, mark, aggregates)
            elif saves:  # rolled back: what the process cached of them is not known current
                self.freshness.foreign += 1

    def construct_repository(self):
        if not self.fast:
            return PlainRepository(
                event_store=self.events,
                snapshot_store=self.snapshots,
                cache_maxsize=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0) or None,
            )
        repository = TrustingRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0) or None,
        )
        repository.freshness = self.freshness
        return repository

    def record(self, processing_event):
        """The library's recording of a save, told how to index, project and (on the fast path)
        append alone; a version taken meanwhile is a `ConcurrencyConflict`."""
        events = list(processing_event.events)

        def index(session):
            return self.audit_index_rows(session, events)

        def project(session, positions):
            for domain_event, position in zip(events, positions):
                self._project_read_models(session, domain_event, position)

        saved = processing_event.saved_kwargs
        saved["index"] = index
        saved["project"] = project
        # Outside a transaction, events that need neither a read model nor a lookup are written in
        # one round trip (`TrackedRecorder._append_autonomously`).
        saved["autonomous"] = self.fast and saved.get("processed") is None and not library.in_transaction() and not any(
            self.needs_projection(e) or self._application_of(e) is None for e in events)

        mark = self.freshness.mark()
        autonomous = []

        def committed(positions):  # called by the autonomous path only, once the events are committed
            autonomous.append(positions)
            self.repository.committed(events, mark, processing_event.aggregates)
            for listener in self.commit_listeners:
                listener(positions, events)

        saved["committed"] = committed
        self.appending += saved["autonomous"]
        try:
            recordings = self.record_as_library_does(processing_event)
        except (IntegrityError, sqlalchemy.exc.IntegrityError):
            self.repository.forget(processing_event.aggregates)  # read them again next time
            # Raw from SQLAlchemy inside an outer transaction, wrapped by the library outside one.
            raise ConcurrencyConflict(
                "the application changed since it was read; reload and try again",
                {"rule": "optimistic_concurrency"},
            ) from None
        finally:
            self.appending -= saved["autonomous"]
        freshness.saved_in_attempt()
        if not autonomous:
            saves = _transaction_saves.get()
            if saves is not None:  # the cache follows once the outer transaction has committed
                saves.append((events, mark, processing_event.aggregates))
            else:
                self.freshness.foreign += 1  # committed in the library's own transaction
        return recordings

    def save(self, *objs, **kwargs):
        """The library's `save`; on the fast path its events are collected by `fast.Collected` and
        its snapshots taken from memory."""
        if not self.fast:
            return super().save(*objs, **kwargs)
        processing_event = fast.Collected()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self.record(processing_event)
        self._take_snapshots(processing_event)
        self.announce(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, kept as it calls it
        return recordings

    def _take_snapshots(self, processing_event) -> None:
        """Each snapshot due (`snapshotting_intervals`) taken from the aggregate just saved, as it
        stands in memory, when the event due one is its last; the library reads it back from the
        log instead, on the command's path. The snapshot is the same: the aggregate in memory is
        what its events made it."""
        if not (self.snapshots and self.snapshotting_intervals):
            return
        for domain_event in processing_event.events:
            aggregate = processing_event.aggregates.get(domain_event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or domain_event.originator_version % interval:
                continue
            if aggregate.version == domain_event.originator_version:
                snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:  # an earlier event of several saved together: its state is gone from memory
                self.take_snapshot(domain_event.originator_id, version=domain_event.originator_version)

    def needs_projection(self, domain_event) -> bool:
        """Whether the event changes a read model (a projection may be more particular)."""
        return type(domain_event).__name__ in self.projections

    def _application_of(self, domain_event):
        """The application the event belongs to, when the event itself says so."""
        application_id = getattr(domain_event, "application_id", None)
        if application_id is None and type(domain_event).__qualname__.split(".")[0] in self.application_aggregates:
            application_id = domain_event.originator_id
        return application_id

    def project(self, session, domain_event, position: int) -> None:
        """Index one logged event for auditors and apply it to the read models."""
        self._insert_audit_index(session, [(domain_event, position)])
        self._project_read_models(session, domain_event, position)

    def _project_read_models(self, session, domain_event, position: int) -> None:
        method = self.projections.get(type(domain_event).__name__)
        if method is not None:
            getattr(self, method)(session, domain_event, position)

    def audit_index_rows(self, session, domain_events) -> list[tuple]:
        """Which application each event belongs to: (application_id, event type, occurred_at), for
        auditors' history and state-at. An event that does not name its application inherits it
        from an earlier event of its aggregate, among `domain_events` or already indexed."""
        rows, known = [], {}
        for domain_event in domain_events:
            originator_id = domain_event.originator_id
            application_id = self._application_of(domain_event)
            if application_id is None:
                application_id = known.get(originator_id)
            if application_id is None:
                row = session.execute(
                    text("SELECT application_id FROM audit_index WHERE originator_id = :id"
                         " AND application_id IS NOT NULL LIMIT 1"),
                    {"id": originator_id},
                ).first()
                application_id = row[0] if row else None
            if application_id is not None:
                known[originator_id] = application_id
            rows.append((str(application_id) if application_id else None, type(domain_event).__name__,
                         domain_event.timestamp))
        return rows

    def _insert_audit_index(self, session, logged) -> None:
        """Index (domain event, position) pairs in one statement (rebuilding the read models)."""
        logged = list(logged)
        rows = self.audit_index_rows(session, [domain_event for domain_event, _ in logged])
        if rows:
            with session.connection().connection.cursor() as cursor:
                cursor.execute(b"INSERT INTO audit_index (position, application_id, originator_id, originator_version,"
                               b" event_type, occurred_at) VALUES " + b",".join(
                                   cursor.mogrify("(%s,%s,%s,%s,%s,%s)", (
                                       position, application_id, str(domain_event.originator_id),
                                       domain_event.originator_version, event_type, occurred_at))
                                   for (domain_event, position), (application_id, event_type, occurred_at)
                                   in zip(logged, rows)))

    # --- audit ----------------------------------------------------------------

    def history(self, application_id) -> list[dict]:
        """Every event of this service's log about the application, in log order."""
        return self._events_where("JOIN audit_index i ON i.position = e.id WHERE i.application_id = :a",
                                  a=str(application_id))

    def aggregate_history(self, *aggregate_ids) -> list[dict]:
        """Every event of these aggregates, in log order (for what belongs to no application,
        such as an account)."""
        return self._events_where("WHERE e.originator_id = ANY(CAST(:ids AS uuid[]))",
                                  ids=[str(aggregate_id) for aggregate_id in aggregate_ids])

    def _events_where(self, condition: str, **params) -> list[dict]:
        table = self.recorder.events_table_name
        with self.transaction() as session:
            rows = session.execute(
                text(f"SELECT e.id, e.originator_id, e.originator_version, e.topic, e.state FROM {table} e"
                     f" {condition} ORDER BY e.id"),
                params,
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

    def replay(self, after: int = 0, page: int = 2000) -> Iterator[tuple[int, Any]]:
        """Every (position, domain event) of the log after `after`, in log order: what a rebuild
        of the read models and an auditor's replay of the whole log read.

        The next page is read on a thread of its own while this one is decoded (psycopg2 lets go
        of the GIL while PostgreSQL works), and the cyclic garbage collector runs less often
        meanwhile (see `fewer_collections`)."""
        def fetch(start: int):
            return self.recorder.select_notifications(start, page, inclusive_of_start=False)

        if not self.fast:
            while notifications := fetch(after):
                for notification in notifications:
                    yield notification.id, self.mapper.to_domain_event(notification)
                after = notifications[-1].id
            return
        with fast.fewer_collections(), ThreadPoolExecutor(1, thread_name_prefix="replay") as reader:
            pending = reader.submit(fetch, after)
            while notifications := pending.result():
                pending = reader.submit(fetch, notifications[-1].id)
                to_domain_event = self.mapper.to_domain_event
                for notification in notifications:
                    yield notification.id, to_domain_event(notification)

    def replay_to_state(self, progress: Callable[[int, int], None] | None = None) -> dict:
        """Replay the whole log into memory: every aggregate in its latest state, by id, and how
        many of each type. Proves that every event decodes and applies; `progress(position,
        log_position)` every 2,000 events."""
        total, aggregates, events = self.log_position(), {}, 0
        for position, domain_event in self.replay():
            originator_id = domain_event.originator_id
            aggregates[originator_id] = domain_event.mutate(aggregates.get(originator_id))
            events += 1
            if progress and events % 2000 == 0:
                progress(position, total)
        if progress:
            progress(total, total)
        by_type: dict[str, int] = {}
        for aggregate in aggregates.values():
            by_type[type(aggregate).__name__] = by_type.get(type(aggregate).__name__, 0) + 1
        return {"events": events, "aggregates": aggregates, "by_type": dict(sorted(by_type.items()))}

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
            batch: list = []

            def project(batch) -> None:
                self._insert_audit_index(session, batch)
                for domain_event, position in batch:
                    self._project_read_models(session, domain_event, position)
                if progress:
                    progress(batch[-1][1], total)

            for position, domain_event in self.replay():
                batch.append((domain_event, position))
                count += 1
                if len(batch) == 500:
                    project(batch)
                    batch = []
            if batch:
                project(batch)
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
