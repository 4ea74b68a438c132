"""Auditors' guarantees on the real PostgreSQL: an append-only log, a hash chain
that names the first tampered position, history and state as of any moment."""
import uuid
from datetime import timedelta

import psycopg2
import pytest
from eventsourcing.domain import Aggregate, event

from shared import audit, clock
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
    anchors = psycopg2.connect(audit.anchor_database_url().replace("postgresql+psycopg2", "postgresql"))
    anchors.autocommit = True
    with anchors.cursor() as cursor:
        cursor.execute("DELETE FROM anchors WHERE service = 'audit_probe'")
    anchors.close()


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
    conn = db("audit_probe")
    with conn.cursor() as cursor:
        cursor.execute("SELECT hash FROM event_hashes WHERE position = %s", (head,))
        audit.record_anchor("audit_probe", head, cursor.fetchone()[0])
    conn.close()
    # the attacker deletes the last event and its hash: the chain left behind is self-consistent
    attacker("DELETE FROM auditprobe_events WHERE id = %s", head)
    attacker("DELETE FROM event_hashes WHERE position = %s", head)
    verdict = audit.verify("audit_probe", events_table="auditprobe_events")
    assert not verdict.ok and verdict.first_bad_position == head


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
