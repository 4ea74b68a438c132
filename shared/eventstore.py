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

import contextvars
import gc
import json
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import orjson
import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
import sqlalchemy.exc
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Notification, StoredEvent
from eventsourcing_sqlalchemy.datastore import transactions as datastore_transactions
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import text

from shared import audit, clock, freshness, settings
from shared.contracts import IntegrationEvent
from shared.database import INSTANCE, connect, ensure_database, schema_lock
from shared.errors import ConcurrencyConflict
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


class TrackedRecorder(SQLAlchemyApplicationRecorder):
    """Inserts events, their hashes, the audit index, the processed-message row and the read-model
    rows in one transaction.

    A command's commit is on every caller's path, so it talks to PostgreSQL in as few round trips
    as the order allows, on the session's own connection (psycopg2 sends several statements
    together; they run in order, in the session's transaction): the processed-message row, the
    table lock and one prepared statement that writes the events, hashes them onto the chain,
    indexes them for auditors and notifies the outbox of the last position (`pg_notify`, sent
    on commit), bringing back their positions; then the service's projections. Reads skip the
    ORM for the same reason.
    """

    APPEND = "innobase_append"
    KEPT_AUTOCOMMIT = 2  # connections kept checked out, in autocommit, between autocommitted statements

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._idle_autocommit: list = []

    def insert_events(self, stored_events: Sequence[StoredEvent], *, session=None, **kwargs: Any):
        if kwargs.pop("autonomous", False) and session is None and stored_events and not _in_transaction():
            positions = self._append_autonomously(stored_events, kwargs["index"](None))
            if kwargs.get("committed"):
                kwargs["committed"](positions)
            return positions
        return super().insert_events(stored_events, session=session, **kwargs)

    def _append_autonomously(self, stored_events: Sequence[StoredEvent], indexed: list[tuple]) -> list[int]:
        """Events that touch no read model and answer no upstream message, written in one round
        trip: PostgreSQL runs the statements of one message as one transaction, the lock and the
        append together, committed when the last one succeeds (and durably: the commit waits for
        the disk like any other). BEGIN and COMMIT cost a round trip each otherwise, as much
        again as the append itself."""
        with self._autocommit() as (connection, cursor):
            prepared = f"{self.APPEND}:{self.events_table_name}"
            append = connection.info.get(prepared)
            if append is None:
                append = connection.info[prepared] = self._prepare_append(cursor)
            try:
                cursor.execute(b";".join([
                    f"LOCK TABLE {self.events_table_name} IN EXCLUSIVE MODE".encode(),
                    self._append(cursor, append, stored_events, indexed),
                ]))
            except psycopg2.IntegrityError as exc:  # a version taken meanwhile
                raise IntegrityError(exc) from exc
            returned = cursor.fetchall()
        if not returned[0][3]:  # the chain stops short of the log: extend it now, in a transaction of its own
            with self.transaction(commit=True) as session:
                audit.extend_chain(session, self.events_table_name)
        return _positions(returned, stored_events)

    def _insert_stored_events(self, session, stored_events: Sequence[StoredEvent], **kwargs: Any):
        processed: IntegrationEvent | None = kwargs.get("processed")
        index = kwargs.get("index")
        # Which application each event belongs to is known before the insert (it may read the index).
        indexed = index(session) if index is not None and stored_events else None
        connection = session.connection().connection
        with connection.cursor() as cursor:
            statements = []
            if processed is not None:
                statements.append(cursor.mogrify(
                    "INSERT INTO processed_messages"
                    " (source, position, event_id, application_id, event_type, processed_at, processed_by)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (processed.source, processed.position, processed.event_id, processed.application_id,
                     processed.type, clock.now(), INSTANCE),
                ))
            try:
                if stored_events:
                    # The lock serializes inserts: positions commit in order, and the chain's head is ours.
                    statements.append(f"LOCK TABLE {self.events_table_name} IN EXCLUSIVE MODE".encode())
                    prepared = f"{self.APPEND}:{self.events_table_name}"  # the connection remembers its own
                    append = connection.info.get(prepared)
                    if append is None:  # the connection's first commit: prepare, under the lock (it locks the tables)
                        cursor.execute(b";".join(statements))
                        statements = []
                        append = connection.info[prepared] = self._prepare_append(cursor)
                    statements.append(self._append(cursor, append, stored_events, indexed))  # last: rows come back
                if statements:
                    cursor.execute(b";".join(statements))
            except psycopg2.IntegrityError as exc:  # a version taken, or the message processed meanwhile
                raise IntegrityError(exc) from exc
            if not stored_events:
                return []
            returned = cursor.fetchall()
        ids = _positions(returned, stored_events)
        if not returned[0][3]:  # the chain stops short of the log (tampered with, or older than the chain)
            audit.extend_chain(session, self.events_table_name)
        project = kwargs.get("project")
        if project is not None:
            project(session, ids)
        return ids

    def _prepare_append(self, cursor) -> str:
        """Prepare the append statement on this connection and name it: planning it on every commit
        costs more than running it. A prepared statement outlives a rolled-back transaction, so the
        connection keeps the name; a new name each time never collides with one prepared before."""
        name = f"{self.APPEND}_{uuid.uuid4().hex[:12]}"
        table = self.events_table_name
        link = audit.link_sql("chain.hash", "w.id", "w.originator_id", "w.originator_version", "w.topic", "w.state")
        # The statement's snapshot is taken before its insert: `complete` compares the chain's head
        # with the log's last event before ours.
        cursor.execute(
            f"PREPARE {name} (uuid[], bigint[], text[], bytea[], uuid[], text[], timestamptz[], boolean) AS"
            " WITH RECURSIVE"
            " input AS (SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7) WITH ORDINALITY"
            "  AS t (originator_id, originator_version, topic, state, application_id, event_type, occurred_at, n)),"
            f" new AS (INSERT INTO {table} (originator_id, originator_version, topic, state)"
            "  SELECT originator_id, originator_version, topic, state FROM input ORDER BY n"
            "  RETURNING id, originator_id, originator_version),"
            " written AS (SELECT row_number() OVER (ORDER BY new.id) AS k, new.id, input.* FROM new"
            "  JOIN input USING (originator_id, originator_version)),"
            " head AS (SELECT position, hash FROM event_hashes ORDER BY position DESC LIMIT 1),"
            " complete AS (SELECT coalesce(max(id), 0) = coalesce((SELECT position FROM head), 0) AS ok"
            f"  FROM {table}),"
            f" chain (k, position, hash) AS (SELECT 0::bigint, 0::bigint, coalesce((SELECT hash FROM head),"
            f"  '{audit.GENESIS}') UNION ALL SELECT w.k, w.id, {link} FROM chain JOIN written w ON w.k = chain.k + 1),"
            " hashed AS (INSERT INTO event_hashes (position, hash)"
            "  SELECT position, hash FROM chain WHERE k > 0 AND (SELECT ok FROM complete)),"
            " indexed AS (INSERT INTO audit_index (position, application_id, originator_id, originator_version,"
            "  event_type, occurred_at) SELECT id, application_id, originator_id, originator_version, event_type,"
            "  occurred_at FROM written WHERE $8),"
            # Wakes the outbox on commit, naming the last position written and the writing instance
            # (see `shared.outbox` and `shared.freshness`).
            f" notified AS (SELECT pg_notify('{self.channel_name}', (SELECT max(id) FROM written)::text"
            f"  || ' ' || {_sql_text(INSTANCE)}))"
            " SELECT id, originator_id::text, originator_version, (SELECT ok FROM complete) FROM written,"
            " notified")
        return name

    def _append(self, cursor, name: str, stored_events: Sequence[StoredEvent], indexed: list[tuple] | None) -> bytes:
        """Insert the events; hash them onto the chain in position order if it is complete up to the
        log's last event; index them for auditors; return (position, aggregate id, version, chained)
        of each."""
        rows = indexed if indexed is not None else [(None, None, None)] * len(stored_events)
        return cursor.mogrify(
            f"EXECUTE {name} (%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s::uuid[], %s::text[],"
            " %s::timestamptz[], %s)",
            ([_text(e.originator_id) for e in stored_events], [e.originator_version for e in stored_events],
             [e.topic for e in stored_events], [psycopg2.Binary(e.state) for e in stored_events],
             [application_id for application_id, _, _ in rows], [event_type for _, event_type, _ in rows],
             [occurred_at for _, _, occurred_at in rows], indexed is not None))

    @contextmanager
    def autocommit_cursor(self):
        """A cursor on a pooled connection of its own, each statement (or batch of statements sent
        together) its own transaction: one round trip where BEGIN, the query and COMMIT or
        ROLLBACK take three."""
        with self._autocommit() as (_, cursor):
            yield cursor

    @contextmanager
    def _autocommit(self):
        """(pooled connection, cursor) in autocommit; the connection's `info` outlives the checkout.

        A few such connections stay checked out between uses, in autocommit: a checkout from the
        engine's pool and back (its events, its reset, autocommit set and unset) costs as much
        Python as the append it serves. One lost, or left inside a transaction, is not kept."""
        try:
            connection = self._idle_autocommit.pop()
        except IndexError:
            connection = self.datastore.engine.raw_connection()
            connection.dbapi_connection.autocommit = True
        dbapi = connection.dbapi_connection
        try:
            with connection.cursor() as cursor:
                yield connection, cursor
        finally:
            try:  # a statement refused (a version taken) leaves it idle; a connection lost, not
                idle = not dbapi.closed and dbapi.info.transaction_status == TRANSACTION_STATUS_IDLE
            except Exception:
                idle = False
            if idle and len(self._idle_autocommit) < self.KEPT_AUTOCOMMIT:
                self._idle_autocommit.append(connection)
            else:
                self._give_back(connection, idle)
            if not idle:  # the database restarted, likely: the kept ones are lost too
                while self._idle_autocommit:
                    self._give_back(self._idle_autocommit.pop(), False)

    @staticmethod
    def _give_back(connection, idle: bool) -> None:
        """To the engine's pool, transactional again; never a connection that commits each
        statement or is inside a transaction (it is discarded)."""
        try:
            if not idle:
                raise RuntimeError("left inside a transaction or a query")
            connection.dbapi_connection.autocommit = False
        except Exception:
            connection.invalidate()
        finally:
            connection.close()

    @contextmanager
    def reading_cursor(self):
        """A cursor for reads: the current transaction's, which sees its own writes, or else one
        in autocommit."""
        if _in_transaction():
            with self.transaction(commit=False) as session:
                with session.connection().connection.cursor() as cursor:
                    yield cursor
        else:
            with self.autocommit_cursor() as cursor:
                yield cursor

    def select_events(self, originator_id, gt: int | None = None, lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> list[StoredEvent]:
        """One aggregate's events: what every command reads first (a cached aggregate's new events)."""
        sql = f"SELECT originator_version, topic, state FROM {self.events_table_name} WHERE originator_id = %s"
        params: list = [_text(originator_id)]
        if gt is not None:
            sql += " AND originator_version > %s"
            params.append(gt)
        if lte is not None:
            sql += " AND originator_version <= %s"
            params.append(lte)
        sql += " ORDER BY originator_version" + (" DESC" if desc else "")
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        with self.reading_cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        originator_id = _uuid(originator_id)
        return [StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=bytes(state))
                for version, topic, state in rows]

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = (),
                             *, inclusive_of_start: bool = True) -> list[Notification]:
        """The log in position order: what the outbox reads after every commit, in the same process
        as the commands."""
        sql = f"SELECT id, originator_id, originator_version, topic, state FROM {self.events_table_name} WHERE true"
        params: list = []
        if start is not None:
            sql += " AND id >= %s" if inclusive_of_start else " AND id > %s"
            params.append(start)
        if stop is not None:
            sql += " AND id <= %s"
            params.append(stop)
        if topics:
            sql += " AND topic = ANY(%s)"
            params.append(list(topics))
        sql += " ORDER BY id LIMIT %s"
        params.append(limit)
        with self.reading_cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [Notification(id=position, originator_id=_uuid(originator_id), originator_version=version, topic=topic,
                             state=bytes(state))
                for position, originator_id, version, topic, state in rows]

    def max_notification_id(self) -> int | None:
        with self.reading_cursor() as cursor:
            cursor.execute(f"SELECT max(id) FROM {self.events_table_name}")
            return cursor.fetchone()[0]


# The saves of the outermost `ServiceApplication.transaction()` of this greenthread.
_transaction_saves: contextvars.ContextVar[list | None] = contextvars.ContextVar("innobase_transaction_saves",
                                                                                default=None)
_collections_lock = threading.Lock()
_collections_paused = [0, None]  # holders, the thresholds before the first


@contextmanager
def fewer_collections(threshold: int = 100_000):
    """Let the cyclic garbage collector run less often for a while.

    A replay allocates millions of short-lived objects while the aggregates it builds stay
    alive: at Python's default thresholds (700, 10, 10) the collector walks that growing heap
    again and again, half the replay's time (figures: docs/performance.md). Objects are still collected, in larger batches. Holders may overlap (green
    threads of one process): the thresholds come back when the last one leaves."""
    with _collections_lock:
        if _collections_paused[0] == 0:
            _collections_paused[1] = gc.get_threshold()
            gc.set_threshold(threshold, 50, 100)
        _collections_paused[0] += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections_paused[0] -= 1
            if _collections_paused[0] == 0:
                gc.set_threshold(*_collections_paused[1])


def _sql_text(value: str) -> str:
    """A string literal for SQL text built here (a host name and a process id)."""
    return "'" + value.replace("'", "''") + "'"


def _positions(returned: list[tuple], stored_events: Sequence[StoredEvent]) -> list[int]:
    """The log position of each stored event, from the append's (position, aggregate id, version, chained) rows."""
    positions = {(originator_id, version): position for position, originator_id, version, _ in returned}
    return [positions[(_text(e.originator_id), e.originator_version)] for e in stored_events]


def _in_transaction() -> bool:
    """Whether this greenthread is inside `ServiceApplication.transaction()` (the library's context)."""
    return datastore_transactions.get(None) is not None


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _text(value) -> str:
    """A UUID (or its text) as PostgreSQL prints it, so both sides of a comparison agree."""
    return str(_uuid(value))


class _Collected(ProcessingEvent):
    """The library's `ProcessingEvent`, telling an aggregate by its class first: `isinstance`
    against the library's runtime-checkable protocols walks each protocol's members (docs/performance.md),
    twice for every aggregate a command saves."""

    def collect_events(self, *objs, **kwargs):
        others = []
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                others.append(obj)
        super().collect_events(*others, **kwargs)


class Factory(SQLAlchemyFactory):
    application_recorder_class = TrackedRecorder


_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 120 for byte in range(256))  # "0" for a digit, "x" else
_LONG_RUN = b"0" * 19


class Transcoder(JSONTranscoder):
    """The library's JSON transcoder, decoding faster: what every replay, audit and command spends
    most of its reading time on.

    The library parses with an object hook, a Python call for every JSON object, and a submitted
    plan holds hundreds of them. Our events keep their typed values (`{"_type_": ..., "_data_":
    ...}`: timestamps, ids) at the top level, so this parses with orjson and decodes the typed
    values it finds there. Where the stored bytes hold more `"_type_"` keys than that (a typed
    value deeper down), a run of 19 digits or more (an integer orjson may turn into a float
    beyond 64 bits) or what orjson refuses (NaN), the library's own decoder runs: the result is
    always what the library would return. Encoding is the library's, so stored bytes, and the
    hash chain over them, do not change. What it saves: docs/performance.md.
    """

    def decode(self, data: bytes):
        if _LONG_RUN in data.translate(_DIGITS_AS_ZEROS):  # a regular expression costs 9 times more
            return super().decode(data)
        try:
            state = orjson.loads(data)
        except orjson.JSONDecodeError:
            return super().decode(data)
        typed = data.count(b'"_type_"')
        if typed:
            if type(state) is not dict:
                return super().decode(data)
            found = 0
            for key, value in state.items():
                if type(value) is dict and len(value) == 2 and "_type_" in value and "_data_" in value:
                    state[key] = self._decode_obj(value)
                    found += 1
            if found != typed:
                return super().decode(data)
        return state


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
                    "PERSISTENCE_MODULE": "shared.eventstore:Factory",
                    "TRANSCODER_TOPIC": "shared.eventstore:Transcoder",
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
        if _in_transaction():
            with self.recorder.transaction(commit=True) as session:
                yield session
            return
        saves: list = []
        token = _transaction_saves.set(saves)
        try:
            with self.recorder.transaction(commit=True) as session:
                yield session
        finally:
            _transaction_saves.reset(token)
            if saves:  # committed or rolled back: what the process cached of them is not known current
                self.freshness.foreign += 1

    def construct_repository(self):
        repository = TrustingRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0) or None,
        )
        repository.freshness = self.freshness
        return repository

    def _record(self, processing_event):
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
        saved["autonomous"] = saved.get("processed") is None and not _in_transaction() and not any(
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
            recordings = super()._record(processing_event)
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
            if saves is not None:
                saves.append(True)  # known current again only after the outer transaction ends
            else:
                self.freshness.foreign += 1  # committed in the library's own transaction
        return recordings

    def save(self, *objs, **kwargs):
        """The library's `save`, its events collected by `_Collected`."""
        processing_event = _Collected()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
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
                                       position, application_id, _text(domain_event.originator_id),
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

        with fewer_collections(), ThreadPoolExecutor(1, thread_name_prefix="replay") as reader:
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
