"""A command happens once per command id: the same id with the same arguments answers the first
outcome again and appends nothing; with other arguments, another method or another caller it is
`IdempotencyKeyReused`; a repeat racing the first run, a typed refusal that recorded something,
and a command that retries a conflict inside itself all commit once (shared.commands)."""
import threading
import uuid

import pytest
from eventsourcing.domain import Aggregate, event
from marshmallow import Schema, fields

from shared import auth
from shared.errors import ConcurrencyConflict, IdempotencyKeyReused, InvalidInput, RuleViolation
from shared.eventstore import ServiceApplication
from shared.rpc import command, query
from tests.support.cluster import sql

pytestmark = pytest.mark.integration

APPLICANT = auth.Caller("applicant-once", "applicant", "org-once")


class Tally(Aggregate):
    """An aggregate whose id is its application's, with no read model: its events are written in
    one round trip outside a transaction when no command wraps them."""

    def __init__(self, label: str):
        self.label = label
        self.total = 0

    @event("Counted")
    def count(self, by: int) -> None:
        self.total += by


class OnceProbe(ServiceApplication):
    name = "OnceProbe"
    service = "once_probe"
    application_aggregates = ("Tally",)


class Count(Schema):
    tally_id = fields.UUID(required=True)
    by = fields.Integer(required=True)


class Open(Schema):
    label = fields.String(required=True)


class ProbeService:
    """What a nameko service gives a command: its application, the caller and the command id."""

    name = "once_probe"

    def __init__(self, app, caller=APPLICANT):
        self.app = app
        self._caller = caller
        self.command_id = None
        self.runs = 0
        self.before_save = None  # a test's hook, run once inside the first run

    def caller(self):
        return self._caller

    @command(Open)
    def open_tally(self, caller, data):
        """A new aggregate with a new id on every run (as `create_draft` without a request id)."""
        self.runs += 1
        tally = Tally(label=data["label"])
        self.app.save(tally)
        return {"tally_id": str(tally.id)}

    @command(Count)
    def count(self, caller, data):
        self.runs += 1
        tally = self.app.repository.get(data["tally_id"])
        tally.count(data["by"])
        if self.before_save is not None:
            hook, self.before_save = self.before_save, None
            hook()
        self.app.save(tally)
        return {"total": tally.total, "version": tally.version}

    @command(Count)
    def count_then_refuse(self, caller, data):
        """Records a change and refuses all the same (as a failed sign-in counts, then refuses)."""
        self.runs += 1
        tally = self.app.repository.get(data["tally_id"])
        tally.count(data["by"])
        self.app.save(tally)
        raise RuleViolation.of("too_many", "counted, and refused", total=tally.total)

    @command(Count)
    def count_retrying(self, caller, data):
        """Retries a conflict inside itself (as accounts' `_change` does)."""
        self.runs += 1
        for _ in range(3):
            tally = self.app.repository.get(data["tally_id"])
            tally.count(data["by"])
            if self.before_save is not None:
                hook, self.before_save = self.before_save, None
                hook()
            try:
                self.app.save(tally)
                return {"total": tally.total}
            except ConcurrencyConflict:
                continue
        raise AssertionError("no attempt saved")

    @query(Open)
    def peek(self, caller, data):
        self.runs += 1
        return {"label": data["label"]}


@pytest.fixture(scope="module")
def app():
    return OnceProbe()


@pytest.fixture
def service(app):
    return ProbeService(app)


def as_command(service, command_id, method, **arguments):
    service.command_id = command_id
    return getattr(service, method)(**arguments)


def new_tally(service) -> str:
    return as_command(service, f"open-{uuid.uuid4()}", "open_tally", label="t")["tally_id"]


def events_of(tally_id: str) -> list[str]:
    return [topic.rsplit(".", 1)[-1] for (topic,) in sql(
        "once_probe", "SELECT topic FROM onceprobe_events WHERE originator_id = %s ORDER BY id", tally_id)]


def recorded(command_id: str) -> list[tuple]:
    return sql("once_probe", "SELECT method, failed, positions FROM commands WHERE command_id = %s", command_id)


def test_the_same_command_id_with_the_same_arguments_answers_the_first_answer_and_appends_nothing(service):
    tally_id = new_tally(service)
    command_id = str(uuid.uuid4())
    first = as_command(service, command_id, "count", tally_id=tally_id, by=2)
    again = as_command(service, command_id, "count", tally_id=tally_id, by=2)
    assert first == again == {"total": 2, "version": 2}
    assert events_of(tally_id).count("Counted") == 1
    [(method, failed, positions)] = recorded(command_id)
    assert (method, failed) == ("count", False)
    assert positions == [p for (p,) in sql("once_probe", "SELECT id FROM onceprobe_events WHERE originator_id = %s"
                                           " AND originator_version = 2", tally_id)]


def test_the_same_command_id_with_other_arguments_is_refused_and_changes_nothing(service):
    tally_id = new_tally(service)
    command_id = str(uuid.uuid4())
    as_command(service, command_id, "count", tally_id=tally_id, by=2)
    with pytest.raises(IdempotencyKeyReused) as refused:
        as_command(service, command_id, "count", tally_id=tally_id, by=3)
    assert refused.value.details == {"rule": "command_id_reused", "field": "command_id", "command_id": command_id}
    with pytest.raises(IdempotencyKeyReused):  # another method
        as_command(service, command_id, "count_retrying", tally_id=tally_id, by=2)
    assert events_of(tally_id).count("Counted") == 1
    assert as_command(service, str(uuid.uuid4()), "count", tally_id=tally_id, by=0)["total"] == 2


def test_the_same_command_id_from_another_caller_is_refused(app, service):
    tally_id = new_tally(service)
    command_id = str(uuid.uuid4())
    as_command(service, command_id, "count", tally_id=tally_id, by=1)
    stranger = ProbeService(app, auth.Caller("applicant-other", "applicant", "org-other"))
    with pytest.raises(IdempotencyKeyReused):
        as_command(stranger, command_id, "count", tally_id=tally_id, by=1)
    assert events_of(tally_id).count("Counted") == 1


def test_a_repeated_creation_answers_the_first_aggregate_and_leaves_no_orphan(service):
    command_id = str(uuid.uuid4())
    label = f"label-{uuid.uuid4()}"
    before = sql("once_probe", "SELECT count(*) FROM onceprobe_events")[0][0]
    first = as_command(service, command_id, "open_tally", label=label)
    again = as_command(service, command_id, "open_tally", label=label)
    assert again == first
    assert sql("once_probe", "SELECT count(*) FROM onceprobe_events")[0][0] == before + 1


def test_a_refusal_that_recorded_a_change_commits_it_once_and_refuses_the_repeat_alike(service):
    tally_id = new_tally(service)
    command_id = str(uuid.uuid4())
    with pytest.raises(RuleViolation) as first:
        as_command(service, command_id, "count_then_refuse", tally_id=tally_id, by=5)
    with pytest.raises(RuleViolation) as again:
        as_command(service, command_id, "count_then_refuse", tally_id=tally_id, by=5)
    assert (type(again.value), again.value.message, again.value.details) == (
        type(first.value), first.value.message, first.value.details)
    assert events_of(tally_id).count("Counted") == 1
    assert recorded(command_id)[0][:2] == ("count_then_refuse", True)


def test_a_repeat_racing_the_first_run_commits_once_and_both_get_the_first_answer(app):
    tally_id = new_tally(ProbeService(app))
    command_id = str(uuid.uuid4())
    answers, errors = [], []
    both_read = threading.Barrier(2, timeout=10)

    def run():
        service = ProbeService(app)
        service.before_save = both_read.wait  # each has read the tally before either saves
        try:
            answers.append(as_command(service, command_id, "count", tally_id=tally_id, by=4))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert answers == [{"total": 4, "version": 2}] * 2
    assert events_of(tally_id).count("Counted") == 1


def test_a_command_retrying_a_conflict_inside_itself_runs_again_whole_and_commits_once(app, service):
    tally_id = new_tally(service)
    command_id = str(uuid.uuid4())

    def another_instance_counts_first():
        elsewhere = ProbeService(app)  # its own thread: its own connection and transaction
        thread = threading.Thread(target=as_command, args=(elsewhere, str(uuid.uuid4()), "count"),
                                  kwargs={"tally_id": tally_id, "by": 10})
        thread.start()
        thread.join(10)

    service.before_save = another_instance_counts_first
    assert as_command(service, command_id, "count_retrying", tally_id=tally_id, by=1) == {"total": 11}
    assert events_of(tally_id).count("Counted") == 2
    assert len(recorded(command_id)) == 1


def test_a_command_id_that_is_not_printable_text_is_refused_by_name_before_anything_runs(service):
    tally_id = new_tally(service)
    for bad in (None, "", "x" * 201, "a\nb", 7):
        with pytest.raises(InvalidInput) as refused:
            as_command(service, bad, "count", tally_id=tally_id, by=1)
        assert list(refused.value.fields) == ["command_id"]
    assert events_of(tally_id).count("Counted") == 0


def test_a_query_is_not_recorded(service):
    command_id = str(uuid.uuid4())
    assert as_command(service, command_id, "peek", label="x") == {"label": "x"}
    assert as_command(service, command_id, "peek", label="y") == {"label": "y"}
    assert recorded(command_id) == []


def test_the_recorded_answer_is_not_readable_in_the_database(service):
    command_id = str(uuid.uuid4())
    label = f"secret-{uuid.uuid4().hex}"
    as_command(service, command_id, "open_tally", label=label)
    tally_id = as_command(service, command_id, "open_tally", label=label)["tally_id"]
    [(outcome,)] = sql("once_probe", "SELECT outcome FROM commands WHERE command_id = %s", command_id)
    assert tally_id.encode() not in bytes(outcome)
