"""Fault tests: processes killed, messages redelivered, connections dropped,
poison messages. Each asserts the exact state that results."""
import subprocess
import sys
import threading
import time
import uuid

import pytest

from services.intake.application import Intake
from shared import settings
from shared.deadletters import list_dead_letters
from shared.errors import InnobaseError
from tests.support.applications import Direct, OverRpc, complete_draft, prepare, submit_complete, token_for
from tests.support.messages import deliver, envelope, submitted_payload
from tests.support.cluster import Cluster, eventually, purge, queue_depth, rpc, sql
from tests.support.outage import BrokerLink

pytestmark = pytest.mark.faults


@pytest.fixture
def cluster():
    cluster = Cluster()
    purge("endorsement")
    yield cluster
    cluster.stop_all()


def an_applicant(unit):
    """A registered applicant unit whose applications go through the organizing unit `unit`."""
    return prepare(OverRpc(), organizing_unit_id=unit)


def draft_and_submit(applicant, withdraw=False, rpc_timeout=10):
    """A complete plan drafted and submitted (and withdrawn) by `applicant` (an `an_applicant` setup)."""
    via = OverRpc(timeout=rpc_timeout)
    receipt = submit_complete(via, applicant)
    if withdraw:
        with via.intake(applicant.applicant) as intake:
            intake.withdraw(application_id=receipt["application_id"], reason="changed plans")
    return receipt["application_id"]


def items(unit):
    return sql("endorsement", "SELECT application_id::text, plan_version, state FROM organizing_queue"
                              " WHERE organizing_unit_id = %s ORDER BY application_id", unit)


def published_intake_positions(application_ids):
    """Positions of intake's integration events (Drafted, Submitted, Withdrawn) for these applications."""
    rows = sql("intake", "SELECT id FROM intake_events WHERE originator_id::text = ANY(%s)"
                         " AND (topic LIKE %s OR topic LIKE %s OR topic LIKE %s) ORDER BY id",
               list(application_ids), "%.Drafted", "%.Submitted", "%.Withdrawn")
    return [r[0] for r in rows]


def processed_positions(application_ids):
    rows = sql("endorsement", "SELECT position FROM processed_messages WHERE source = 'intake'"
                              " AND application_id::text = ANY(%s) ORDER BY position", list(application_ids))
    return [r[0] for r in rows]


def submitted_message(position, unit):
    application_id = str(uuid.uuid4())
    return envelope("intake", "ApplicationSubmitted", position, submitted_payload(application_id, unit))


def synthetic_position():
    return 50_000_000 + uuid.uuid4().int % 10_000_000


def test_intake_killed_between_commit_and_publish_loses_nothing(cluster):
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    cluster.start("endorsement")
    # A healthy intake registers the parties and takes the draft, and publishes all of it ...
    healthy = cluster.start("intake")
    applicant = an_applicant(unit)
    draft = complete_draft(OverRpc(), applicant)
    eventually(lambda: sql("intake", "SELECT position FROM outbox_cursor")
               == sql("intake", "SELECT max(id) FROM intake_events"))
    cluster.kill(healthy)
    # ... then the doomed one takes the submission.
    doomed = cluster.start("intake", faults="crash_before_publish")
    with rpc(token_for(applicant.applicant), timeout=5) as services:
        try:
            services.intake.submit(application_id=draft["application_id"])
        except Exception:
            pass  # the process may die before it answers
    assert doomed.wait(20) == -9  # SIGKILL, like kill -9
    committed = sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s AND topic LIKE %s",
                    draft["application_id"], "%Submitted")
    assert committed == [(1,)]
    time.sleep(1)
    assert items(unit) == []  # committed, never published

    cluster.start("intake")
    assert eventually(lambda: items(unit)) == [(draft["application_id"], 1, "queued")]
    assert processed_positions([draft["application_id"]]) == published_intake_positions([draft["application_id"]])


def test_the_same_message_delivered_twice_has_one_effect(cluster):
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    cluster.start("endorsement")
    message = submitted_message(synthetic_position(), unit)
    deliver(message)
    eventually(lambda: items(unit))
    log_position = sql("endorsement", "SELECT max(id) FROM endorsement_events")
    deliver(message)
    deliver(message)
    eventually(lambda: queue_depth("endorsement.events") == 0)
    time.sleep(0.5)
    assert items(unit) == [(message["application_id"], 1, "queued")]
    assert sql("endorsement", "SELECT max(id) FROM endorsement_events") == log_position
    assert sql("endorsement", "SELECT count(*) FROM processed_messages WHERE position = %s",
               message["position"]) == [(1,)]


def test_two_consumer_instances_finishing_out_of_order_lose_and_double_nothing(cluster):
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    cluster.start("intake")
    first = cluster.start("endorsement", faults="slow_reactions")
    second = cluster.start("endorsement", faults="slow_reactions")
    applicant = an_applicant(unit)
    application_ids = []
    lock = threading.Lock()

    def one(i):
        application_id = draft_and_submit(applicant, withdraw=(i % 2 == 0))
        with lock:
            application_ids.append(application_id)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    [t.start() for t in threads]
    [t.join() for t in threads]

    expected = published_intake_positions(application_ids)
    assert len(expected) == 75  # 30 drafts, 30 submissions, 15 withdrawals
    eventually(lambda: processed_positions(application_ids) == expected, timeout=60)
    rows = items(unit)
    assert len(rows) == 30 and len({r[0] for r in rows}) == 30
    assert sorted(r[2] for r in rows) == ["closed"] * 15 + ["queued"] * 15
    # both instances took work, and some later positions committed before earlier ones
    by = sql("endorsement", "SELECT position, processed_by, processed_at FROM processed_messages"
                            " WHERE position = ANY(%s) ORDER BY processed_at", expected)
    assert {row[1].split(":")[1] for row in by} == {str(first.pid), str(second.pid)}
    commit_order = [row[0] for row in by]
    assert commit_order != sorted(commit_order), "instances never finished out of order: test proves nothing"


def test_a_dropped_broker_connection_delays_and_loses_nothing(cluster):
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    cluster.start("intake")
    cluster.start("endorsement")
    applicant = an_applicant(unit)
    application_ids = []
    stop = threading.Event()

    def load():
        while not stop.is_set() and len(application_ids) < 40:
            try:
                application_ids.append(draft_and_submit(applicant))
            except (InnobaseError, Exception):
                time.sleep(0.2)  # our own connection was dropped too: try again

    worker = threading.Thread(target=load)
    worker.start()
    eventually(lambda: len(application_ids) >= 10)
    vhost = settings.get().amqp_uri.rsplit("/", 1)[-1]
    subprocess.run(["rabbitmqctl", "close_all_connections", "-p", vhost, "fault test"],
                   check=True, capture_output=True, timeout=30)
    eventually(lambda: len(application_ids) >= 20, timeout=60)
    stop.set()
    worker.join(30)

    submitted = sql("intake", "SELECT originator_id::text FROM intake_events e WHERE topic LIKE %s"
                              " AND originator_id IN (SELECT application_id FROM applications"
                              " WHERE applicant_id = %s)", "%Submitted", applicant.applicant.party_id)
    submitted_ids = sorted(r[0] for r in submitted)
    assert len(submitted_ids) >= 20
    eventually(lambda: [r[0] for r in items(unit)] == submitted_ids, timeout=60)
    assert processed_positions(submitted_ids) == published_intake_positions(submitted_ids)


def test_a_broker_outage_delays_publishing_and_drops_nothing(cluster):
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    link = BrokerLink(settings.get().amqp_uri)  # intake and endorsement reach the broker only through it
    try:
        cluster.start("intake", INNOBASE_AMQP_URI=link.amqp_uri)
        cluster.start("endorsement", INNOBASE_AMQP_URI=link.amqp_uri)
        worker = Direct(Intake())  # this test process acts as an intake worker while the broker is away
        applicant = prepare(worker, organizing_unit_id=unit)
        eventually(lambda: sql("intake", "SELECT position FROM outbox_cursor")
                   == sql("intake", "SELECT max(id) FROM intake_events"))
        link.cut()
        ids = [submit_complete(worker, applicant)["application_id"] for _ in range(5)]
        time.sleep(3)  # the publisher keeps trying against a broker that is not there
        assert link.connections == 0
        assert items(unit) == []
        published = sql("intake", "SELECT position FROM outbox_cursor")
        assert published < sql("intake", "SELECT max(id) FROM intake_events")
        link.restore()
        eventually(lambda: sorted(r[0] for r in items(unit)) == sorted(ids), timeout=90)
        assert processed_positions(ids) == published_intake_positions(ids)
        assert link.connections > 0  # they came back through the link, not around it
    finally:
        cluster.stop_all()
        link.close()


def test_a_message_breaking_its_contract_is_parked_with_the_reason_and_changes_nothing(cluster):
    cluster.start("endorsement")
    before = sql("endorsement", "SELECT coalesce(max(id), 0) FROM endorsement_events")
    message = submitted_message(synthetic_position(), "OU-poison")
    del message["payload"]["digest"]
    deliver(message)
    letters = eventually(lambda: [d for d in list_dead_letters("endorsement") if d["event_id"] == message["event_id"]])
    assert letters[0]["error_type"] == "ContractViolation"
    assert "digest" in letters[0]["error"]
    assert sql("endorsement", "SELECT coalesce(max(id), 0) FROM endorsement_events") == before
    assert items("OU-poison") == []


def test_a_failing_handler_is_retried_then_parked_and_ops_replay_it(cluster):
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    failing = cluster.start("endorsement", faults="fail_reactions")
    message = submitted_message(synthetic_position(), unit)
    deliver(message)
    letters = eventually(lambda: [d for d in list_dead_letters("endorsement") if d["event_id"] == message["event_id"]],
                         timeout=30)
    assert letters[0]["attempts"] == len(settings.get().retry_delays_ms)
    assert letters[0]["error_type"] == "RuntimeError"
    assert items(unit) == []
    cluster.kill(failing)

    cluster.start("endorsement")
    out = subprocess.run([sys.executable, "-m", "innobase.cli", "deadletters", "replay", "endorsement",
                          "--event-id", message["event_id"]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "replayed 1 message(s)" in out.stdout, out.stderr
    assert eventually(lambda: items(unit)) == [(message["application_id"], 1, "queued")]
    assert not [d for d in list_dead_letters("endorsement") if d["event_id"] == message["event_id"]]
