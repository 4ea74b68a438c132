"""A running intake serves cached applications without reading the log while only it writes
(shared.freshness); another writer's commit is seen by the next read, and a command racing it is
never refused for a state it could have read."""
import pytest
from eventsourcing.domain import Aggregate, event

from services.intake.application import Intake
from shared import freshness
from shared.database import INSTANCE
from shared.eventstore import ServiceApplication
from shared.errors import ConcurrencyConflict
from tests.support.applications import Direct, OverRpc, create_draft, prepare, sections
from tests.support.cluster import running, sql

pytestmark = pytest.mark.integration


def race(faults: str = "") -> tuple[int, str, str]:
    """30 times: this test process (another intake instance) saves a section of an application,
    and at once the running service saves another. Returns the conflicts the service answered,
    the application's id and the significance section as the service then shows it."""
    over_rpc, elsewhere = OverRpc(), Direct(Intake())
    with running("intake", faults=faults):
        setup = prepare(over_rpc)
        with over_rpc.intake(setup.applicant) as service, elsewhere.intake(setup.applicant) as other:
            return _race(service, other, setup)


def _race(service, other, setup) -> tuple[int, str, str]:
    content = sections(setup, {}, [])
    draft = create_draft(service, setup)
    application_id = draft["application_id"]
    service.save_section(application_id=application_id, section="significance",
                         content=content["significance"])  # cached by the service, known current
    conflicts = 0
    for n in range(30):
        text = {**content["significance"], "significance": f"另一实例第{n}次修改：意义与必要性"}
        other.save_section(application_id=application_id, section="significance", content=text)
        try:  # at once: the service may not have heard of that commit yet
            service.save_section(application_id=application_id, section="feasibility",
                                 content=content["feasibility"])
        except ConcurrencyConflict:
            conflicts += 1
    plan = service.get_application(application_id=application_id)
    return conflicts, application_id, plan["sections"]["significance"]["significance"]



def events_of(application_id) -> int:
    return sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s", application_id)[0][0]


def test_a_write_by_another_process_is_seen_by_the_services_next_commands_and_reads():
    conflicts, application_id, seen = race()
    assert conflicts == 0
    assert seen == "另一实例第29次修改：意义与必要性"
    assert events_of(application_id) == 1 + 1 + 60  # drafted, the first save, 30 saves here and 30 there


def test_a_command_that_used_a_stale_cache_is_run_again_with_the_read_not_refused():
    # The service hears no notice at all: every save of the other process leaves its cache stale.
    conflicts, application_id, _ = race(faults="deaf_freshness")
    assert conflicts == 0
    assert events_of(application_id) == 1 + 1 + 60


# --- the repository itself, in this process ------------------------------------------------------


class Memo(Aggregate):
    """An aggregate whose events are its application's (so saved in one round trip)."""

    @event("Written")
    def write(self, text: str) -> None:
        self.text = text


class Shelf(Aggregate):
    """An aggregate copied one level for commands: its events must replace what its dicts hold."""

    copied_one_level = True

    def __init__(self):
        self.books = {"a": {"title": "一"}}

    @event("Renamed")
    def rename(self, title: str) -> None:
        self.books["a"] = {"title": title}  # replaces the value held: the promise kept

    @event("Scribbled")
    def scribble(self, title: str) -> None:
        self.books["a"]["title"] = title  # changes the value held in place: the promise broken


class CacheProbe(ServiceApplication):
    name = "CacheProbe"
    service = "cache_probe"
    application_aggregates = ("Memo", "Shelf")
    env = {"AGGREGATE_CACHE_MAXSIZE": "100"}


def loaded(app, aggregate_id) -> tuple[object, bool]:
    """The aggregate as a command gets it, and whether the log was left unread."""
    with freshness.command_attempt():
        aggregate = app.repository.get(aggregate_id)
        return aggregate, freshness._served_unread.get()


@pytest.mark.fast_path
def test_a_cached_aggregate_is_served_unread_only_while_nothing_else_wrote_it():
    app, other = CacheProbe(), CacheProbe()  # `other`: another instance, heard of only by notice
    app.freshness.listening = True
    memo = Memo()
    memo.write("一")
    app.save(memo)
    _, unread = loaded(app, memo.id)
    assert not unread  # first time: read from the log
    copy, unread = loaded(app, memo.id)
    assert unread and copy.text == "一"

    copy.write("二")
    unsaved, unread = loaded(app, memo.id)
    assert unread and (unsaved.text, unsaved.version) == ("一", copy.version - 1)  # a copy: the cache untouched
    app.save(copy)  # one round trip: its events brought to the cached aggregate too
    again, unread = loaded(app, memo.id)
    assert unread and (again.text, again.version) == ("二", copy.version)

    theirs = other.repository.get(memo.id)
    theirs.write("三")
    other.save(theirs)
    app.freshness.heard(f"{other.log_position()} elsewhere:1", INSTANCE)  # its notice arrives
    fresh, unread = loaded(app, memo.id)
    assert not unread and (fresh.text, fresh.version) == ("三", theirs.version)

    with app.transaction():  # a save of this process inside a transaction: the cache follows once it commits
        fresh.write("四")
        app.save(fresh)
    after, unread = loaded(app, memo.id)
    assert unread and (after.text, after.version) == ("四", fresh.version)

    with pytest.raises(RuntimeError):  # rolled back: nothing of it is trusted, the next load reads
        with app.transaction():
            after.write("五")
            app.save(after)
            raise RuntimeError("the command fails after its save")
    rolled_back, unread = loaded(app, memo.id)
    assert not unread and (rolled_back.text, rolled_back.version) == ("四", fresh.version)

    app.freshness.lost()  # no listener: every load reads
    _, unread = loaded(app, memo.id)
    assert not unread


@pytest.mark.fast_path
def test_a_command_copy_shares_what_its_aggregate_replaces_and_changing_it_in_place_is_caught():
    app = CacheProbe()
    app.freshness.listening = True
    shelf = Shelf()
    app.save(shelf)
    first, unread = loaded(app, shelf.id)
    assert not unread
    cached = app.repository.cache.get(shelf.id)
    assert first.books == cached.books and first.books is not cached.books  # the dict is the copy's own
    assert first.books["a"] is cached.books["a"]  # what it holds is shared

    first.rename("二")
    app.save(first)  # the cache now holds a copy of the aggregate saved
    renamed, unread = loaded(app, shelf.id)
    assert unread and renamed.books == {"a": {"title": "二"}} == app.repository.cache.get(shelf.id).books
    first.rename("不存")  # the command's own copy changes on: the cache does not
    assert app.repository.cache.get(shelf.id).books == {"a": {"title": "二"}}

    renamed.rename("三")
    renamed.rename("四")
    app.save(renamed)  # two events at once
    again, unread = loaded(app, shelf.id)
    assert unread and again.books == {"a": {"title": "四"}} and again.version == renamed.version

    again.scribble("五")  # changes the cached aggregate's title too, without an event of its own
    with pytest.raises(AssertionError, match="changed without an event"):
        loaded(app, shelf.id)  # the tests' check (INNOBASE_CHECK_CACHE=1) fails the next command
