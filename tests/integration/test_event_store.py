"""The event store and consumer tracking on the real PostgreSQL, without the broker.

Here the test process is the worker: it calls the service applications
directly, as their nameko entrypoints do.
"""
import threading
import uuid

import pytest

from services.endorsement.application import Endorsement
from services.intake.application import Intake
from shared import contracts
from shared.errors import ConcurrencyConflict, RuleViolation
from shared.eventstore import Duplicate, OutOfOrder
from tests.support.applications import Direct, complete_draft, create_draft, prepare
from tests.support.cluster import sql
from tests.support.messages import submitted_payload

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def intake():
    return Intake()


@pytest.fixture(scope="module")
def setup(intake):
    """An applicant unit and its two units, registered through a worker in this process."""
    return prepare(Direct(intake))


@pytest.fixture(scope="module")
def endorsement():
    return Endorsement()


def a_draft(intake, setup):
    with Direct(intake).intake(setup.applicant) as worker:
        return create_draft(worker, setup)


def a_complete_draft(intake, setup):
    return complete_draft(Direct(intake), setup)


def submitted_event(position, application_id=None, previous=None, plan_version=1):
    application_id = application_id or str(uuid.uuid4())
    payload = submitted_payload(application_id, "OU-store", plan_version=plan_version)
    return contracts.build(
        "intake", "ApplicationSubmitted", 1, payload,
        event_id=str(uuid.uuid4()), position=position, application_id=application_id,
        occurred_at="2026-06-01T10:00:00+08:00", actor=None, previous_position=previous, caused_by=None,
    )


def withdrawn_event(position, application_id, previous):
    return contracts.build(
        "intake", "ApplicationWithdrawn", 1,
        {"application_id": application_id, "reason": "r", "withdrawn_at": "2026-06-02T10:00:00+08:00"},
        event_id=str(uuid.uuid4()), position=position, application_id=application_id,
        occurred_at="2026-06-02T10:00:00+08:00", actor=None, previous_position=previous, caused_by=None,
    )


def items_of(application_id):
    return sql("endorsement", "SELECT state FROM organizing_queue WHERE application_id = %s", application_id)


def base_position():
    return 10_000_000 + uuid.uuid4().int % 1_000_000 * 100


def test_state_is_rebuilt_from_the_events_in_the_log(intake, setup):
    draft = a_complete_draft(intake, setup)
    intake.submit(setup.applicant, uuid.UUID(draft["application_id"]))
    rows = sql("intake", "SELECT topic FROM intake_events WHERE originator_id = %s ORDER BY originator_version",
               draft["application_id"])
    topics = [r[0].rsplit(".", 1)[-1] for r in rows]
    assert (topics[0], topics[-1]) == ("Drafted", "Submitted")
    assert topics.count("SectionSaved") == 8
    rebuilt = Intake().application(setup.applicant, uuid.UUID(draft["application_id"]), 1)
    assert rebuilt["stage"] == "submitted" and rebuilt["sections"]["goals"]["indicators"]


def test_two_commands_on_one_version_one_wins_the_other_gets_a_typed_conflict(intake, setup):
    application_id = uuid.UUID(a_draft(intake, setup)["application_id"])
    workers = [Intake(), Intake()]
    loaded = [w.repository.get(application_id) for w in workers]
    barrier = threading.Barrier(2)
    outcomes = []

    def withdraw(worker, application):
        application.withdraw("racing", setup.applicant.as_actor())
        barrier.wait()
        try:
            worker.save(application)
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=withdraw, args=pair) for pair in zip(workers, loaded)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["conflict", "won"]
    versions = sql("intake", "SELECT originator_version FROM intake_events WHERE originator_id = %s",
                   str(application_id))
    assert sorted(v[0] for v in versions) == [1, 2]


def test_a_command_refused_by_a_rule_changes_nothing(intake, setup):
    application_id = uuid.UUID(a_complete_draft(intake, setup)["application_id"])
    intake.submit(setup.applicant, application_id)
    before = intake.log_position()
    with pytest.raises(RuleViolation):
        intake.submit(setup.applicant, application_id)
    assert intake.log_position() == before


def test_a_duplicate_message_changes_nothing(endorsement):
    event = submitted_event(base_position())
    assert endorsement.process(event) == "applied"
    position = endorsement.log_position()
    with pytest.raises(Duplicate):
        endorsement.process(event)
    assert endorsement.log_position() == position
    assert items_of(event.application_id) == [("queued",)]
    assert sql("endorsement", "SELECT count(*) FROM processed_messages WHERE source='intake' AND position=%s",
               event.position) == [(1,)]


def test_a_later_position_finishing_first_does_not_swallow_an_earlier_one(endorsement):
    """The trap of a high-water-mark tracker: competing consumers finish out of order."""
    base = base_position()
    earlier, later = submitted_event(base + 1), submitted_event(base + 2)
    endorsement.process(later)
    endorsement.process(earlier)
    assert items_of(earlier.application_id) == [("queued",)]
    assert items_of(later.application_id) == [("queued",)]


def test_an_applications_events_apply_in_log_order(endorsement):
    base = base_position()
    submitted = submitted_event(base + 1)
    withdrawn = withdrawn_event(base + 2, submitted.application_id, previous=base + 1)
    with pytest.raises(OutOfOrder):
        endorsement.process(withdrawn)
    assert items_of(submitted.application_id) == []
    endorsement.process(submitted)
    endorsement.process(withdrawn)
    assert items_of(submitted.application_id) == [("closed",)]


def test_the_consumers_reaction_and_its_tracking_commit_together(endorsement, monkeypatch):
    event = submitted_event(base_position())

    def projection_fails(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(endorsement, "_project_queued", projection_fails)
    with pytest.raises(RuntimeError):
        endorsement.process(event)
    monkeypatch.undo()
    assert items_of(event.application_id) == []
    assert sql("endorsement", "SELECT count(*) FROM processed_messages WHERE position=%s", event.position) == [(0,)]
    assert endorsement.process(event) == "applied"


def test_read_models_rebuilt_from_the_log_equal_the_live_ones(endorsement):
    endorsement.process(submitted_event(base_position()))
    live = sql("endorsement", "SELECT * FROM organizing_queue ORDER BY item_id")
    endorsement.rebuild_read_models()
    assert sql("endorsement", "SELECT * FROM organizing_queue ORDER BY item_id") == live
