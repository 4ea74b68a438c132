"""The speed-ups of the event store, all behind one switch: `INNOBASE_FAST_PATH` (on unless it is 0).

Each does what the plain code beside it does, in less time, and is measured in
docs/performance.md (the figures, with the plain path measured in the same run):

- `FastRecorder`: a commit in as few round trips as the order allows, on the session's own
  connection, through one prepared statement that inserts, chains, indexes and notifies
  (`shared.eventstore.recorder.TrackedRecorder` writes the same rows a statement at a time);
  events that touch no read model and answer no message are written outside any transaction in
  one round trip (`_append_autonomously`); reads skip the ORM, on a few connections kept in
  autocommit;
- `Transcoder`: the library's JSON transcoder, decoding with orjson;
- `fewer_collections`: the cyclic garbage collector runs less often during a replay;
- `Collected`: an aggregate told by its class before the library's runtime-checkable protocols.

`shared.freshness.TrustingRepository` (the cache served without a read) and
`shared.fastload.FastLoader` (valid input loaded without marshmallow's bookkeeping) are the
other two; `ServiceApplication` and `FastLoader` choose by the same switch (`enabled()`).
"""
from __future__ import annotations

import gc
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Sequence

import orjson
import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from eventlet.patcher import original
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Notification, StoredEvent

from shared import audit, clock, settings
from shared.contracts import IntegrationEvent
from shared.database import INSTANCE
from shared.eventstore import library, recorder
from shared.eventstore.recorder import TrackedRecorder


def enabled() -> bool:
    """Whether the speed-ups run (`INNOBASE_FAST_PATH`, read once with the settings)."""
    return settings.get().fast_path


class FastRecorder(TrackedRecorder):
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
        if kwargs.pop("autonomous", False) and session is None and stored_events and not library.in_transaction():
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

    def write(self, session, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
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
        connection = None
        while self._idle_autocommit and connection is None:
            connection = self._idle_autocommit.pop()
            if not _still_connected(connection.dbapi_connection):  # the database restarted meanwhile
                self._give_back(connection, False)
                connection = None
        if connection is None:  # from the pool, which pings it first (`recorder.Datastore`)
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


# The operating system's select, not eventlet's: a look at one socket that never waits is not
# worth a switch to eventlet's hub and back on every commit.
_select = original("select").select


def _still_connected(dbapi) -> bool:
    """Whether a kept connection still reaches its server, without a round trip: an idle
    connection that LISTENs to nothing has nothing to read, unless its server ended it (a
    shutdown, a restart, an administrator) and sent its farewell or closed the socket. Whatever
    else it might have read (a changed server parameter) only costs a new connection."""
    if dbapi.closed:
        return False
    try:
        readable, _, _ = _select([dbapi.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg2.Error):
        return False
    return not readable


def _sql_text(value: str) -> str:
    """A string literal for SQL text built here (a host name and a process id)."""
    return "'" + value.replace("'", "''") + "'"


def _positions(returned: list[tuple], stored_events: Sequence[StoredEvent]) -> list[int]:
    """The log position of each stored event, from the append's (position, aggregate id, version, chained) rows."""
    positions = {(originator_id, version): position for position, originator_id, version, _ in returned}
    return [positions[(_text(e.originator_id), e.originator_version)] for e in stored_events]


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _text(value) -> str:
    """A UUID (or its text) as PostgreSQL prints it, so both sides of a comparison agree."""
    return str(_uuid(value))


class Collected(ProcessingEvent):
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


class Factory(recorder.Factory):
    application_recorder_class = FastRecorder


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
                    state[key] = library.decode_typed(self, value)
                    found += 1
            if found != typed:
                return super().decode(data)
        return state


