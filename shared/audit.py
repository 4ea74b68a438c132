"""What auditors rely on: a hash chain over every service's log, anchors of its
head kept outside the service's database, and a verifier that names the first
position where the log no longer matches.

Each event's chain hash is SHA-256 over the previous hash and the event's
position, aggregate id, version, topic and state. It is written in the same
transaction as the event (inserts are serialized by the library's table lock,
so "previous" is well defined), by the insert statement itself (`link_sql`, the
same function in SQL) so that a commit need not read its events back. `verify` recomputes the chain from the events
and compares it with the stored hashes and with the anchors: an edited row,
a deleted row and two swapped rows each break it at a position it names; a
rewrite of the whole tail is caught by the anchor recorded before it.

The events table also refuses UPDATE, DELETE and TRUNCATE by trigger, so a
service's own connection cannot change its history.
"""
from __future__ import annotations

import hashlib
import heapq
import json
from dataclasses import dataclass

import psycopg2
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared import clock, settings
from shared.database import connect, ensure_database

GENESIS = "0" * 64

CHAIN_DDL = """
CREATE TABLE IF NOT EXISTS event_hashes (
    position bigint PRIMARY KEY,
    hash text NOT NULL
);
CREATE OR REPLACE FUNCTION innobase_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""

ANCHORS_DDL = """
CREATE TABLE IF NOT EXISTS anchors (
    service text NOT NULL,
    position bigint NOT NULL,
    hash text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (service, position)
);
"""


def immutability_ddl(events_table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {events_table}_append_only ON {events_table};
CREATE TRIGGER {events_table}_append_only BEFORE UPDATE OR DELETE ON {events_table}
    FOR EACH ROW EXECUTE FUNCTION innobase_refuse_change();
DROP TRIGGER IF EXISTS {events_table}_no_truncate ON {events_table};
CREATE TRIGGER {events_table}_no_truncate BEFORE TRUNCATE ON {events_table}
    FOR EACH STATEMENT EXECUTE FUNCTION innobase_refuse_change();
"""


def link(previous: str, position: int, originator_id, version: int, topic: str, state: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(previous.encode())
    digest.update(f"|{position}|{originator_id}|{version}|{topic}|".encode())
    digest.update(bytes(state))
    return digest.hexdigest()


def chain(previous: str, events) -> list[tuple[int, str]]:
    """(position, hash) of each (position, originator_id, version, topic, state), continuing from `previous`;
    `events` in position order."""
    hashes = []
    for position, originator_id, version, topic, state in events:
        previous = link(previous, position, originator_id, version, topic, state)
        hashes.append((position, previous))
    return hashes


def link_sql(previous: str, position: str, originator_id: str, version: str, topic: str, state: str) -> str:
    """`link` as a PostgreSQL expression over the given SQL expressions: the same bytes hashed in the
    same order (integers and the UUID in their usual text, UTF-8), so a chain the database extends
    inside an insert verifies with `link`."""
    return (f"encode(sha256(convert_to({previous} || '|' || {position} || '|' || {originator_id} || '|' || {version}"
            f" || '|' || {topic} || '|', 'UTF8') || {state}), 'hex')")


def extend_chain(session, events_table: str) -> None:
    """Hash every event not yet chained, in position order (inside the insert's transaction).

    The general case: logs from before the chain, or a chain whose head is not the log's last
    event. A command's commit hashes its own events in the insert itself (`link_sql`, see
    `shared.eventstore.TrackedRecorder`) when the chain is complete up to them.
    """
    last = session.execute(text("SELECT position, hash FROM event_hashes ORDER BY position DESC LIMIT 1")).first()
    after, previous = (last[0], last[1]) if last else (0, GENESIS)
    rows = session.execute(
        text(f"SELECT id, originator_id, originator_version, topic, state FROM {events_table}"
             " WHERE id > :after ORDER BY id"),
        {"after": after},
    ).all()
    hashes = chain(previous, rows)
    if hashes:
        session.execute(text("INSERT INTO event_hashes (position, hash) VALUES (:p, :h)"),
                        [{"p": position, "h": hash_} for position, hash_ in hashes])


# --- anchors, outside the service's database ---------------------------------------

def anchor_database_url() -> str:
    return settings.get().database_url("audit")


def _anchor_connection():
    url = anchor_database_url()
    ensure_database(url)
    conn = connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(ANCHORS_DDL)
    return conn


def record_anchor(service: str, position: int, hash_: str) -> None:
    conn = _anchor_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO anchors (service, position, hash, recorded_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (service, position, hash_, clock.now()),
            )
    finally:
        conn.close()


def anchors(service: str) -> list[tuple[int, str]]:
    conn = _anchor_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT position, hash FROM anchors WHERE service = %s ORDER BY position", (service,))
            return cursor.fetchall()
    finally:
        conn.close()


# --- verification -------------------------------------------------------------------

@dataclass
class Verdict:
    service: str
    events: int
    head_position: int
    head_hash: str
    first_bad_position: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None

    def as_dict(self) -> dict:
        return {**self.__dict__, "ok": self.ok}


def verify(service: str, database_url: str | None = None, events_table: str | None = None) -> Verdict:
    """Recompute the chain over the service's log; compare with the stored hashes and the anchors."""
    url = database_url or settings.get().database_url(service)
    events_table = events_table or f"{service.replace('_', '')}_events"
    conn = psycopg2.connect(**{k: v for k, v in make_url(url).translate_connect_args(
        username="user", database="dbname").items() if v is not None})
    try:
        with conn.cursor(name="verify") as events, conn.cursor() as hashes_cursor:
            hashes_cursor.execute("SELECT position, hash FROM event_hashes ORDER BY position")
            stored = dict(hashes_cursor.fetchall())
            events.itersize = 5000
            events.execute(f"SELECT id, originator_id, originator_version, topic, state FROM {events_table} ORDER BY id")
            previous, count, position = GENESIS, 0, 0
            seen = set()
            for position, originator_id, version, topic, state in events:
                count += 1
                seen.add(position)
                previous = link(previous, position, originator_id, version, topic, state)
                if stored.get(position) != previous:
                    why = "no stored hash for this event" if position not in stored else "content does not match its hash"
                    missing = [p for p in stored if p < position and p not in seen]
                    if missing:
                        return Verdict(service, count, position, previous, min(missing), "an event was deleted")
                    return Verdict(service, count, position, previous, position, why)
            head_position, head_hash = position, previous
            missing = sorted(p for p in stored if p not in seen)
            if missing:
                return Verdict(service, count, head_position, head_hash, missing[0], "an event was deleted")
    finally:
        conn.close()
    for anchored_position, anchored_hash in anchors(service):
        if anchored_position > head_position:
            return Verdict(service, count, head_position, head_hash, head_position + 1,
                           f"events up to anchored position {anchored_position} are missing")
        if stored.get(anchored_position) != anchored_hash:
            return Verdict(service, count, head_position, head_hash, anchored_position,
                           "the log was rewritten since it was anchored")
    return Verdict(service, count, head_position, head_hash, None, None)


def jsonable_state(aggregate) -> dict:
    """An aggregate's attributes as JSON values (for auditors' state-at answers)."""
    state = {}
    for key, value in vars(aggregate).items():
        if key.startswith("_") and key not in ("_id", "_version"):
            continue
        state[key.lstrip("_")] = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return state


def merge_histories(histories: list[list[dict]]) -> list[dict]:
    """One application's events from every service's `audit_history`, merged by time, each
    service's kept in its own log order (the order its events happened, even within one
    transaction), each event given its `cause`: the upstream event it names, where it is among
    them. The CLI's timeline, the API's and the auditor's page all show this one merge."""
    events = list(heapq.merge(*histories, key=lambda e: e["occurred_at"]))
    # an upstream position is the position of the *source* event in its service's log
    by_position = {(e["service"], e["position"]): e for e in events}
    for event in events:
        cause = event.get("caused_by")
        upstream = by_position.get((cause["source"], cause["position"])) if cause else None
        event["cause"] = (
            {"service": upstream["service"], "position": upstream["position"], "type": upstream["type"]}
            if upstream else (cause and {"service": cause["source"], "position": cause["position"], "type": None})
        )
    return events
