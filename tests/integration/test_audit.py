"""Auditors' guarantees on the real PostgreSQL: an append-only log, a hash chain
that names the first tampered position, signed anchors outside the database that an insider
with the server's superuser cannot rewrite, history and state as of any moment."""
import base64
import json
import os
import subprocess
import sys
import threading
import uuid
from datetime import timedelta

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.domain import Aggregate, event

from shared import anchors, audit, clock, settings
from shared.eventstore import ServiceApplication
from tests.support.cluster import db

pytestmark = pytest.mark.integration


class Probe(Aggregate):
    """A small aggregate standing in for any service's, with an application id."""

    def __init__(self, application_id: str, note: str):
        self.application_id = application_id
        self.note = note

    @event("Noted")
    def note_again(self, note: str, application_id: str) -> None:
        self.note = note


class AuditProbe(ServiceApplication):
    name = "AuditProbe"
    service = "audit_probe"


@pytest.fixture
def probe():
    app = AuditProbe()
    yield app
    conn = db("audit_probe")
    conn.autocommit = True
    with conn.cursor() as cursor:  # a fresh log for every test: the attacker's tools, not the service's
        cursor.execute("ALTER TABLE auditprobe_events DISABLE TRIGGER USER")
        cursor.execute("TRUNCATE auditprobe_events, event_hashes, audit_index")
        cursor.execute("ALTER TABLE auditprobe_events ENABLE TRIGGER USER")
    conn.close()
    delete_table_anchors("audit_probe")
    if os.path.exists(anchor_file()):
        os.remove(anchor_file())


def anchor_file(service: str = "audit_probe") -> str:
    return anchors.path_for(settings.get().database_name(service))


def delete_table_anchors(service: str) -> None:
    conn = psycopg2.connect(audit.anchor_database_url().replace("postgresql+psycopg2", "postgresql"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS anchors (service text)")
        cursor.execute("DELETE FROM anchors WHERE service = %s", (service,))
    conn.close()


def fill(app, count=6):
    application_id = str(uuid.uuid4())
    aggregate = Probe(application_id, "first")
    for i in range(count - 1):
        aggregate.note_again(f"note {i}", application_id)
    app.save(aggregate)
    return application_id, aggregate


def attacker(sql, *params):
    """A superuser who disables the append-only triggers first."""
    conn = db("audit_probe")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("ALTER TABLE auditprobe_events DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE auditprobe_events ENABLE TRIGGER USER")
    conn.close()


def positions():
    conn = db("audit_probe")
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM auditprobe_events ORDER BY id")
        rows = [r[0] for r in cursor.fetchall()]
    conn.close()
    return rows


def test_an_untouched_log_verifies(probe):
    fill(probe)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert verdict.ok and verdict.events == 6


@pytest.mark.parametrize("statement", [
    "UPDATE auditprobe_events SET topic = topic",
    "DELETE FROM auditprobe_events",
    "TRUNCATE auditprobe_events",
])
def test_the_services_connection_cannot_change_or_delete_events(probe, statement):
    fill(probe)
    conn = db("audit_probe")
    with pytest.raises(psycopg2.errors.RaiseException, match="append-only"):
        with conn.cursor() as cursor:
            cursor.execute(statement)
    conn.close()
    assert len(positions()) == 6


def test_an_edited_row_is_caught_at_its_position(probe):
    fill(probe)
    target = positions()[2]
    attacker("UPDATE auditprobe_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
             " 'note 1', 'note X'), 'UTF8') WHERE id = %s", target)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert verdict.first_bad_position == target


def test_a_deleted_row_is_caught_at_its_position(probe):
    fill(probe)
    target = positions()[3]
    attacker("DELETE FROM auditprobe_events WHERE id = %s", target)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert verdict.first_bad_position == target and verdict.problem == "an event was deleted"


def test_two_swapped_rows_are_caught_at_the_first_of_them(probe):
    fill(probe)
    first, second = positions()[1], positions()[4]
    attacker("UPDATE auditprobe_events a SET state = b.state"
             " FROM auditprobe_events b WHERE a.id IN (%s, %s) AND b.id IN (%s, %s) AND a.id <> b.id",
             first, second, first, second)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert verdict.first_bad_position == first


def test_a_rewritten_tail_is_caught_by_the_anchor_kept_outside(probe):
    fill(probe)
    head = positions()[-1]
    assert audit.anchor("audit_probe")["position"] == head
    # the attacker deletes the last event and its hash: the chain left behind is self-consistent
    attacker("DELETE FROM auditprobe_events WHERE id = %s", head)
    attacker("DELETE FROM event_hashes WHERE position = %s", head)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok and verdict.first_bad_position == head


def rewrite_note(position: int, note: str = "note X") -> None:
    """The insider's edit: one event's content, as a superuser who disables the triggers."""
    attacker("UPDATE auditprobe_events SET state = convert_to(regexp_replace(convert_from(state, 'UTF8'),"
             " '\"note\": *\"[^\"]*\"', '\"note\":\"' || %s || '\"'), 'UTF8') WHERE id = %s", note, position)


def recompute_chain(service: str = "audit_probe", events_table: str = "auditprobe_events") -> None:
    """The insider's cover-up: every stored hash recomputed over the edited log."""
    conn = db(service)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT id, originator_id, originator_version, topic, state FROM {events_table} ORDER BY id")
        hashes = audit.chain(audit.GENESIS, [(p, o, v, t, bytes(s)) for p, o, v, t, s in cursor.fetchall()])
        cursor.execute("DELETE FROM event_hashes")
        cursor.executemany("INSERT INTO event_hashes (position, hash) VALUES (%s, %s)", hashes)
    conn.close()


def test_a_rewrite_with_its_chain_recomputed_and_the_table_anchors_deleted_is_located_at_the_edited_event(probe):
    _, aggregate = fill(probe, 8)
    target = positions()[3]
    audit.anchor("audit_probe")
    more, _ = fill(probe, 3)  # anchored in a second line
    audit.anchor("audit_probe")
    rewrite_note(target)
    recompute_chain()
    delete_table_anchors("audit_probe")
    assert audit.table_anchors("audit_probe") == []

    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok
    assert (verdict.first_bad_position, verdict.first_bad_aggregate, verdict.first_bad_type) == (
        target, str(aggregate.id), "Probe.Noted")
    assert verdict.problem == "content does not match the signed anchor"


def test_an_edit_after_the_last_anchor_is_caught_against_the_stored_chain(probe):
    fill(probe, 3)
    audit.anchor("audit_probe")
    fill(probe, 3)
    target = positions()[4]
    rewrite_note(target)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert verdict.first_bad_position == target and verdict.problem == "content does not match its hash"
    assert verdict.anchored_position == positions()[2]


def _lines() -> list[dict]:
    with open(anchor_file()) as lines:
        return [json.loads(line) for line in lines]


def _write_lines(records: list[dict]) -> None:
    with open(anchor_file(), "w") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")


@pytest.mark.parametrize("forger", ["same key id, no valid signature", "a key of the forger's own"])
def test_a_forged_anchor_is_caught(probe, forger):
    fill(probe, 5)
    target = positions()[1]
    audit.anchor("audit_probe")
    rewrite_note(target)
    recompute_chain()
    delete_table_anchors("audit_probe")
    # the forger writes the anchor the rewritten chain would have had
    conn = db("audit_probe")
    with conn.cursor() as cursor:
        cursor.execute("SELECT position, hash FROM event_hashes ORDER BY position")
        chain = cursor.fetchall()
    conn.close()
    (line,) = _lines()
    line["links"] = [[p, h[:anchors.LINK_CHARS]] for p, h in chain]
    line["hash"] = chain[-1][1]
    if forger != "same key id, no valid signature":
        own = Ed25519PrivateKey.generate()
        line["key"] = anchors.key_id(own.public_key())
        line["signature"] = base64.b64encode(own.sign(anchors._signed_bytes(line))).decode()
    _write_lines([line])

    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok and verdict.first_bad_position == positions()[0]
    assert "anchors file is damaged at anchors file line 1" in verdict.problem
    assert ("signature does not match" if forger.startswith("same") else "signed by another key") in verdict.problem


def test_an_anchor_line_removed_from_the_middle_of_the_file_is_caught(probe):
    for _ in range(3):
        fill(probe, 2)
        audit.anchor("audit_probe")
    first, second, third = _lines()
    _write_lines([first, third])
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok
    assert "line 2: it is anchor 3 of the file, so an anchor before it was removed" in verdict.problem
    assert verdict.first_bad_position == third["links"][0][0]


def test_a_forged_anchor_in_the_anchors_table_is_caught(probe):
    fill(probe, 3)
    audit.anchor("audit_probe")
    os.remove(anchor_file())  # the insider also reached the anchors file, but not the key
    conn = psycopg2.connect(audit.anchor_database_url().replace("postgresql+psycopg2", "postgresql"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("UPDATE anchors SET record = jsonb_set(record, '{recorded_at}', '\"2026-01-01\"')"
                       " WHERE service = 'audit_probe'")
    conn.close()
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok and verdict.problem == "an anchor in the anchors table is not signed by the anchor key"


def test_verify_needs_the_public_key_once_there_are_signed_anchors(probe, tmp_path, monkeypatch):
    fill(probe, 2)
    audit.anchor("audit_probe")
    monkeypatch.setattr(settings, "_settings", settings.load({
        **os.environ, "INNOBASE_ANCHOR_KEY": str(tmp_path / "none.pem")}))
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok and "cannot be checked: no anchor public key" in verdict.problem


def test_two_instances_starting_at_once_both_create_the_anchor_table():
    url = settings.get().database_url("audit_race")
    admin = psycopg2.connect(host="127.0.0.1", dbname="postgres", user="root")
    admin.autocommit = True
    failures = []
    for _ in range(5):  # the race is short: several rounds, each on a database made anew
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{settings.get().database_name("audit_race")}" WITH (FORCE)')
        start = threading.Barrier(4)

        def instance():
            start.wait()
            try:
                audit.create_anchor_table(url)
            except Exception as exc:  # noqa: BLE001  (what the test looks for)
                failures.append(exc)

        threads = [threading.Thread(target=instance) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    admin.close()
    assert failures == []
    conn = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM anchors")
        assert cursor.fetchone()[0] == 0
    conn.close()


def innobase(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "innobase.cli", *args], capture_output=True, text=True, timeout=120)


def test_the_operator_s_verify_names_the_event_an_insider_rewrote_behind_a_recomputed_chain():
    from tests.support.applications import OverRpc, prepare
    from tests.support.cluster import eventually, running, sql

    with running("intake", INNOBASE_ANCHOR_SECONDS="0.3"):
        prepare(OverRpc(), "regional")  # the applicant and both units registered: intake's events
        (head,) = sql("intake", "SELECT max(id) FROM intake_events")[0]
        eventually(lambda: anchors.last_position(settings.get().database_name("intake")) == head, timeout=20)
    assert innobase("audit", "verify", "intake").returncode == 0
    target, aggregate, topic = sql("intake", "SELECT id, originator_id::text, topic FROM intake_events"
                                             " ORDER BY id LIMIT 1 OFFSET 1")[0]
    conn = db("intake")
    conn.autocommit = True
    with conn.cursor() as cursor:  # the insider: superuser of the database server, not of the anchors
        cursor.execute("ALTER TABLE intake_events DISABLE TRIGGER USER")
        cursor.execute("UPDATE intake_events SET state = state || '\\x20'::bytea WHERE id = %s", (target,))
        cursor.execute("ALTER TABLE intake_events ENABLE TRIGGER USER")
    conn.close()
    try:
        recompute_chain("intake", "intake_events")
        delete_table_anchors("intake")
        out = innobase("audit", "verify", "intake")
        assert out.returncode == 1, out.stdout + out.stderr
        assert (f"intake: TAMPERED at position {target} (aggregate {aggregate}, {audit.event_type(topic)}):"
                " content does not match the signed anchor") in out.stdout
    finally:  # put intake's log back for the tests after this one
        conn = db("intake")
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("ALTER TABLE intake_events DISABLE TRIGGER USER")
            cursor.execute("UPDATE intake_events SET state = substring(state FROM 1 FOR length(state) - 1)"
                           " WHERE id = %s", (target,))
            cursor.execute("ALTER TABLE intake_events ENABLE TRIGGER USER")
        conn.close()
        recompute_chain("intake", "intake_events")
    restored = innobase("audit", "verify", "intake")
    assert restored.returncode == 0 and f"signed anchors up to {head}" in restored.stdout


def test_history_lists_every_event_of_the_application_in_log_order(probe):
    application_id, _ = fill(probe, 4)
    fill(probe, 2)  # another application's events stay out
    history = probe.history(application_id)
    assert [e["type"] for e in history] == ["Created", "Noted", "Noted", "Noted"]
    assert [e["position"] for e in history] == sorted(e["position"] for e in history)
    assert history[1]["payload"]["note"] == "note 0"


def test_state_as_of_a_moment_is_rebuilt_from_the_log(probe):
    application_id, aggregate = fill(probe, 2)
    between = clock.now()
    aggregate.note_again("later", application_id)
    probe.save(aggregate)
    before = probe.state_at(application_id, between)
    now = probe.state_at(application_id, clock.now() + timedelta(seconds=1))
    assert before[str(aggregate.id)]["state"]["note"] == "note 0"
    assert now[str(aggregate.id)]["state"]["note"] == "later"
