"""One listener per process hears every commit's notice and tells both the cache's freshness and
the waiters (the outbox, the mail sender): a waiter is told each notice, and told when the
listener connected, for what it may have missed; a lost connection makes the cache read again."""
import eventlet
import pytest
from eventsourcing.domain import Aggregate, event

from shared.commit_listener import CommitListener
from shared.database import INSTANCE
from shared.eventstore import ServiceApplication
from shared.notices import CommitNotices, wait_for_news, wake_on_notices
from tests.support.cluster import db

pytestmark = pytest.mark.integration


class Tally(Aggregate):
    @event("Counted")
    def count(self) -> None:
        pass


class NoticeProbe(ServiceApplication):
    name = "NoticeProbe"
    service = "notice_probe"
    application_aggregates = ("Tally",)


def listening(app: ServiceApplication) -> tuple[CommitListener, eventlet.greenthread.GreenThread]:
    """The process's listener running in a green thread, as nameko runs it."""
    listener = CommitListener(NoticeProbe)
    listener.app, listener.trusting, listener.deaf = app, True, False  # what `setup` reads
    return listener, eventlet.spawn(listener.run_once)


def until(condition, seconds: float = 5.0) -> None:
    deadline = eventlet.hubs.get_hub().clock() + seconds
    while not condition():
        assert eventlet.hubs.get_hub().clock() < deadline, "not in time"
        eventlet.sleep(0.01)


@pytest.mark.fast_path
def test_every_commit_is_told_to_the_waiters_and_heard_by_the_cache_once_per_process():
    app, elsewhere = NoticeProbe(), NoticeProbe()
    told: list = []
    app.commit_notices.subscribe(told.append)
    listener, thread = listening(app)
    try:
        until(lambda: told == [None])  # connected: whatever came before may have gone unheard
        assert app.freshness.listening
        foreign = app.freshness.foreign

        tally = Tally()
        tally.count()
        app.save(tally)  # this process's commit
        until(lambda: len(told) == 2)
        assert told[1] == [f"{app.log_position()} {INSTANCE}"]
        assert app.freshness.foreign == foreign  # its own: cached aggregates stay current

        other = elsewhere.repository.get(tally.id)
        other.count()
        elsewhere.save(other)
        until(lambda: len(told) == 3)  # another application object's commit, told the same way
        assert told[2] == [f"{app.log_position()} {INSTANCE}"]

        backends = db("notice_probe")
        backends.autocommit = True
        with backends.cursor() as cursor:  # the database ends the listener's connection
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE query LIKE 'LISTEN%%' AND datname = current_database()")
        backends.close()
        until(lambda: thread.dead)
        assert not app.freshness.listening  # no longer hearing: every command reads
        with pytest.raises(Exception):
            thread.wait()
    finally:
        listener._stopping = True
        thread.kill()


def test_a_waiter_wakes_for_the_notices_that_matter_and_takes_them_all_at_once():
    notices = CommitNotices()
    news, waiter = wake_on_notices(notices, lambda notified: any(not p.endswith(" passed") for p in notified))
    assert not wait_for_news(news, 0.01)  # nothing told: the timeout
    notices.tell(["7 passed"])
    assert not wait_for_news(news, 0.01)  # not worth waking for
    notices.tell(["8 new"])
    notices.tell(None)  # the listener reconnected
    notices.tell(["9 new"])
    assert wait_for_news(news, 0.01) and not wait_for_news(news, 0.01)  # one look covers all three
    notices.unsubscribe(waiter)
    notices.tell(["10 new"])
    assert not wait_for_news(news, 0.01)


def test_a_failing_waiter_does_not_keep_the_others_from_being_told():
    notices, told = CommitNotices(), []

    def broken(notified):
        raise RuntimeError("a waiter's bug")

    notices.subscribe(broken)
    notices.subscribe(told.append)
    notices.tell(["1 host:1"])
    assert told == [["1 host:1"]]


def test_the_outbox_is_woken_by_the_process_listener_for_a_commit_it_was_not_told_of(monkeypatch):
    """A commit the outbox's process did not make itself (here: another application object, as
    another instance would) reaches the outbox through the listener's notice, long before its
    poll would have found it."""
    from shared import outbox as outbox_module
    from shared.outbox import Outbox, OutboxPublisher

    monkeypatch.setattr(outbox_module, "POLL_SECONDS", 60.0)  # only a notice can wake it in time
    app, elsewhere = NoticeProbe(), NoticeProbe()
    listener, listening_thread = listening(app)
    publisher = OutboxPublisher(NoticeProbe)
    publisher.outbox = Outbox(app)
    publishing_thread = eventlet.spawn(publisher._lead_and_publish)
    try:
        until(lambda: publisher.outbox._position == app.log_position())  # led, and read what was there
        tally = Tally()
        tally.count()
        elsewhere.save(tally)
        until(lambda: publisher.outbox._position == app.log_position(), seconds=5.0)
    finally:
        publisher._stopping = listener._stopping = True
        publishing_thread.kill()
        listening_thread.kill()
