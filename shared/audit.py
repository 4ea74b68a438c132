"""What auditors rely on: a hash chain over every service's log, signed anchors of it kept
outside PostgreSQL, and a verifier that names the first event that no longer matches.

Each event's chain hash is SHA-256 over the previous hash and the event's
position, aggregate id, version, topic and state. It is written in the same
transaction as the event (inserts are serialized by the library's table lock,
so "previous" is well defined), by the insert statement itself (`link_sql`, the
same function in SQL) so that a commit need not read its events back.

At intervals each service signs the links since its last anchor and appends them to its
anchors file (`shared.anchors`: Ed25519, a key no database holds), with a copy in the anchors
table. `verify` recomputes the chain from the events and compares it, event by event, with the
signed links, the copies and the stored hashes: an edited row, a deleted row, two swapped rows,
and a rewrite whose chain was recomputed and whose table anchors were deleted are each reported
at the first event that no longer matches, with its aggregate and type. What changed after the
last anchor is compared with the stored hashes only.

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

from shared import anchors, settings
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
ALTER TABLE anchors ADD COLUMN IF NOT EXISTS record jsonb;
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

_prepared: set[str] = set()


def anchor_database_url() -> str:
    return settings.get().database_url("audit")


def prepare_anchor_table(url: str) -> None:
    """Create the anchors table, once per process, under a transaction-scoped advisory lock: two
    instances starting at once, each running `CREATE TABLE IF NOT EXISTS`, can both find the table
    absent, and the second then fails on the catalogue's unique index."""
    if url not in _prepared:
        create_anchor_table(url)
        _prepared.add(url)


def create_anchor_table(url: str) -> None:
    ensure_database(url)
    conn = connect(url)
    try:
        with conn, conn.cursor() as cursor:  # one transaction: the lock is held until it commits
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('innobase-anchors-ddl'))")
            cursor.execute(ANCHORS_DDL)
    finally:
        conn.close()


def anchor(service: str, database_url: str | None = None) -> dict | None:
    """Sign every link of the service's chain since its last anchor and record them: a line of its
    anchors file (`shared.anchors`), the record that counts, then a copy in the anchors table.
    The newest line, or None when the chain has not moved."""
    url = database_url or settings.get().database_url(service)
    key = anchors.signing_key()
    conn = connect(url)
    conn.autocommit = True
    try:
        def hashes_after(position: int) -> list[tuple[int, str]]:
            with conn.cursor() as cursor:
                cursor.execute("SELECT position, hash FROM event_hashes WHERE position > %s ORDER BY position",
                               (position,))
                return cursor.fetchall()

        written = anchors.append(make_url(url).database, service, hashes_after, key)
    finally:
        conn.close()
    if written:
        _copy_to_table(written)
    return written[-1] if written else None


def _copy_to_table(records: list[dict]) -> None:
    url = anchor_database_url()
    prepare_anchor_table(url)
    conn = connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO anchors (service, position, hash, recorded_at, record) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(r["service"], r["position"], r["hash"], r["recorded_at"], json.dumps(r)) for r in records],
            )
    finally:
        conn.close()


def table_anchors(service: str) -> list[tuple[int, str, dict | None]]:
    """The copies in the anchors table: (position, hash, signed record)."""
    url = anchor_database_url()
    prepare_anchor_table(url)
    conn = connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT position, hash, record FROM anchors WHERE service = %s ORDER BY position",
                           (service,))
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
    first_bad_aggregate: str | None = None  # the edited event's aggregate id and type, when it is in the log
    first_bad_type: str | None = None
    anchored_position: int | None = None  # the last position the signed anchors cover

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict:
        return {**self.__dict__, "ok": self.ok}


@dataclass
class _Finding:
    position: int | None
    problem: str
    aggregate: str | None = None
    type: str | None = None


def event_type(topic: str) -> str:
    """`Aggregate.Event` out of the library's topic (`module:Aggregate.Event`)."""
    return topic.rsplit(":", 1)[-1]


def verify(service: str, database_url: str | None = None, events_table: str | None = None) -> Verdict:
    """Recompute the chain over the service's log and compare it, event by event, with the signed
    anchors in its anchors file, the copies in the anchors table and the stored hashes: the first
    event that does not match any of them is named, with its aggregate and type."""
    url = database_url or settings.get().database_url(service)
    events_table = events_table or f"{service.replace('_', '')}_events"
    damage, signed = None, []
    try:
        signed = anchors.read(make_url(url).database)
    except anchors.AnchorFileDamaged as exc:
        damage = _Finding(exc.position, f"the anchors file is damaged at {exc}")
    except anchors.AnchorKeyMissing as exc:
        damage = _Finding(None, f"the signed anchors cannot be checked: {exc}")
    copies, forged = {}, None
    public = None
    for position, hash_, record in table_anchors(service):
        if record is not None:
            try:
                public = public or anchors.public_key()
            except anchors.AnchorKeyMissing as exc:
                damage = damage or _Finding(None, f"the signed anchors cannot be checked: {exc}")
                break
            if not anchors.verify_record(record, public) or (record["position"], record["hash"]) != (position, hash_):
                forged = forged or _Finding(position, "an anchor in the anchors table is not signed by the anchor key")
                continue
        copies[position] = hash_
    conn = psycopg2.connect(**{k: v for k, v in make_url(url).translate_connect_args(
        username="user", database="dbname").items() if v is not None})
    try:
        with conn.cursor(name="verify") as events, conn.cursor() as hashes_cursor:
            hashes_cursor.execute("SELECT position, hash FROM event_hashes ORDER BY position")
            stored = dict(hashes_cursor.fetchall())
            events.itersize = 5000
            events.execute(f"SELECT id, originator_id, originator_version, topic, state FROM {events_table} ORDER BY id")
            count, head_position, head_hash, finding = _walk(events, stored, signed, copies)
    finally:
        conn.close()
    finding = finding or damage or forged
    return Verdict(service, count, head_position, head_hash,
                   finding.position if finding else None, finding.problem if finding else None,
                   finding.aggregate if finding else None, finding.type if finding else None,
                   signed[-1].position if signed else None)


def _walk(events, stored: dict, signed: list, copies: dict):
    """(events, head position, head hash, the first finding or None) over the log in order."""
    links = ((position, short) for line in signed for position, short in line.links)
    anchored_up_to = signed[-1].position if signed else 0
    expected = next(links, None)
    previous, count, position = GENESIS, 0, 0
    seen = set()
    for position, originator_id, version, topic, state in events:
        count += 1
        seen.add(position)
        previous = link(previous, position, originator_id, version, topic, state)
        here = (str(originator_id), event_type(topic))
        if expected is not None and expected[0] < position:
            return count, position, previous, _Finding(expected[0], "an event was deleted (its position is anchored)")
        if expected is not None and expected[0] == position:
            if previous[:anchors.LINK_CHARS] != expected[1]:
                return count, position, previous, _Finding(position, "content does not match the signed anchor", *here)
            expected = next(links, None)
        elif position <= anchored_up_to:
            return count, position, previous, _Finding(
                position, "an event the signed anchors do not know was inserted", *here)
        if position in copies and copies[position] != previous:
            return count, position, previous, _Finding(
                position, "content does not match the anchor in the anchors table", *here)
        if stored.get(position) != previous:
            missing = [p for p in stored if p < position and p not in seen]
            if missing:
                return count, position, previous, _Finding(min(missing), "an event was deleted")
            why = "no stored hash for this event" if position not in stored else "content does not match its hash"
            return count, position, previous, _Finding(position, why, *here)
    head_position, head_hash = position, previous
    if expected is not None:
        return count, head_position, head_hash, _Finding(
            expected[0], f"events up to anchored position {anchored_up_to} are missing")
    beyond = [p for p in copies if p > head_position]
    if beyond:
        return count, head_position, head_hash, _Finding(
            head_position + 1, f"events up to anchored position {max(beyond)} are missing")
    missing = sorted(p for p in stored if p not in seen)
    if missing:
        return count, head_position, head_hash, _Finding(missing[0], "an event was deleted")
    return count, head_position, head_hash, None


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
