"""A command's commit in few round trips keeps every guarantee: the database hashes the events
onto the chain exactly as `audit.link` does, a chain that stops short of the log is completed
first, the audit index and the events commit or roll back together, and a connection lent out
for one autocommitted read never comes back to a transaction in autocommit."""
import select
import uuid

import pytest
from eventsourcing.domain import Aggregate, event

from shared import audit
from shared.errors import ConcurrencyConflict
from shared.database import INSTANCE
from shared.eventstore import ServiceApplication
from shared.outbox import Outbox
from tests.support.cluster import db, eventually, sql

pytestmark = pytest.mark.integration


class Entry(Aggregate):
    """An aggregate with an application id, and text that is not ASCII (hashed as UTF-8)."""

    def __init__(self, application_id: str, text: str):
        self.application_id = application_id
        self.text = text

    @event("Amended")
    def amend(self, text: str) -> None:
        self.text = text


class Sheet(Aggregate):
    """An aggregate whose later events do not name their application: the index inherits it."""

    def __init__(self, application_id: str):
        self.application_id = application_id
        self.lines = 0

    @event("LineAdded")
    def add_line(self) -> None:
        self.lines += 1


class Note(Aggregate):
    """An aggregate whose id is its application's, with no read model: its events are written in
    one round trip outside a transaction. `shout` makes an event the outbox publishes."""

    @event("Written")
    def write(self, text: str) -> None:
        self.text = text

    @event("Shouted")
    def shout(self, text: str) -> None:
        self.text = text


class CommitProbe(ServiceApplication):
    name = "CommitProbe"
    service = "commit_probe"
    application_aggregates = ("Note",)

    def integration_event(self, domain_event):
        if type(domain_event).__name__ == "Shouted":
            return "NoteShouted", 1, {"application_id": str(domain_event.originator_id), "text": domain_event.text}
        return None


@pytest.fixture(scope="module")
def probe():
    return CommitProbe()


def verified() -> audit.Verdict:
    return audit.verify("commit_probe", events_table="commitprobe_events")


def rows_in_log_hashes_and_index() -> list[tuple]:
    return sql("commit_probe", "SELECT (SELECT count(*) FROM commitprobe_events),"
               " (SELECT count(*) FROM event_hashes), (SELECT count(*) FROM audit_index)")


def committed(statement: str, *params) -> None:
    conn = db("commit_probe")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(statement, params)
    conn.close()


def test_events_saved_together_are_chained_in_position_order_as_link_computes(probe):
    entry = Entry(str(uuid.uuid4()), "申报方案 第一稿")
    for i in range(4):
        entry.amend(f"第{i + 2}稿：创新基地")
    probe.save(entry)
    rows = sql("commit_probe", "SELECT e.id, e.originator_id, e.originator_version, e.topic, e.state, h.hash"
               " FROM commitprobe_events e JOIN event_hashes h ON h.position = e.id"
               " WHERE e.originator_id = %s ORDER BY e.id", str(entry.id))
    assert len(rows) == 5
    previous = sql("commit_probe", "SELECT hash FROM event_hashes WHERE position < %s ORDER BY position DESC LIMIT 1",
                   rows[0][0])
    previous = previous[0][0] if previous else audit.GENESIS
    for position, originator_id, version, topic, state, stored in rows:
        previous = audit.link(previous, position, originator_id, version, topic, bytes(state))
        assert stored == previous
    assert verified().ok


def test_each_event_is_indexed_under_its_application_even_when_it_does_not_name_it(probe):
    application_id = str(uuid.uuid4())
    sheet = Sheet(application_id)
    sheet.add_line()
    probe.save(sheet)
    sheet.add_line()
    probe.save(sheet)
    assert [e["type"] for e in probe.history(application_id)] == ["Created", "LineAdded", "LineAdded"]


def test_a_chain_that_stops_short_of_the_log_is_completed_by_the_next_commit(probe):
    entry = Entry(str(uuid.uuid4()), "first")
    probe.save(entry)
    head = sql("commit_probe", "SELECT max(position) FROM event_hashes")[0][0]
    committed("DELETE FROM event_hashes WHERE position = %s", head)  # as in a log older than the chain
    assert sql("commit_probe", "SELECT count(*) FROM event_hashes WHERE position = %s", head) == [(0,)]
    entry.amend("second")
    probe.save(entry)
    assert sql("commit_probe", "SELECT count(*) FROM event_hashes WHERE position = %s", head) == [(1,)]
    assert verified().ok


@pytest.mark.parametrize("make, change", [
    (lambda: Entry(str(uuid.uuid4()), "one"), Entry.amend),  # its changes do not name their application
    (Note, Note.write),  # every event of it is its application's: the one-round-trip path
], ids=["in a transaction", "in one round trip"])
def test_a_conflicting_commit_leaves_no_event_hash_or_index_row_and_the_next_one_succeeds(probe, heard, make,
                                                                                         change):
    aggregate = make()
    probe.save(aggregate)
    stale = probe.repository.get(aggregate.id)
    change(aggregate, "two")
    probe.save(aggregate)
    before, told = rows_in_log_hashes_and_index(), len(heard)
    change(stale, "lost")
    with pytest.raises(ConcurrencyConflict):
        probe.save(stale)
    assert rows_in_log_hashes_and_index() == before and len(heard) == told  # no commit to tell of
    for _ in range(3):  # the same pooled connections, their prepared statement kept across the rollback
        change(aggregate, "three")
        probe.save(aggregate)
    assert verified().ok


@pytest.mark.fast_path
def test_the_connections_kept_for_one_round_trip_commits_outlive_a_conflict_and_are_replaced_when_lost(probe):
    def save_note(text: str) -> Note:
        note = Note()
        note.write(text)
        probe.save(note)
        return note

    note = save_note("kept")
    kept = probe.recorder._idle_autocommit

    def backends() -> set[int]:
        return {connection.dbapi_connection.get_backend_pid() for connection in kept}

    before = backends()
    assert before and len(kept) <= probe.recorder.KEPT_AUTOCOMMIT
    stale = probe.repository.get(note.id)
    note.write("two")
    probe.save(note)
    stale.write("lost")
    with pytest.raises(ConcurrencyConflict):
        probe.save(stale)
    assert backends() == before  # a refused statement leaves the connection as good as it was

    for pid in before:  # the database ends them (restarted, or an administrator)
        committed("SELECT pg_terminate_backend(%s)", pid)
    eventually(lambda: sql("commit_probe", "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                           list(before)) == [(0,)])
    save_note("after the connections were lost")  # no error: the lost ones are seen and replaced
    assert backends() and backends().isdisjoint(before)  # every kept connection given up
    for text in ("after", "and again"):
        save_note(text)
    assert backends().isdisjoint(before) and verified().ok
    assert sql("commit_probe", "SELECT count(*) FROM commitprobe_events WHERE convert_from(state, 'UTF8') LIKE %s",
               "%after the connections were lost%") == [(1,)]


def test_a_failed_autocommitted_read_gives_back_a_connection_that_is_transactional_again(probe):
    with pytest.raises(Exception):
        with probe.recorder.reading_cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    entry = Entry(str(uuid.uuid4()), "atomic")
    probe.save(entry)
    with pytest.raises(RuntimeError):
        with probe.transaction() as session:
            entry.amend("never")
            probe.save(entry)
            raise RuntimeError("the command fails after its save")
    assert sql("commit_probe", "SELECT count(*) FROM commitprobe_events WHERE originator_id = %s",
               str(entry.id)) == [(1,)]


def test_the_outbox_cursor_and_chain_are_recorded_together(probe):
    outbox = Outbox(probe)
    position = probe.log_position()
    outbox.advance(position, {"key-a": position, "key-b": None})
    assert outbox.cursor() == position
    assert sql("commit_probe", "SELECT ordering_key, last_position FROM outbox_chain") == [("key-a", position)]


@pytest.fixture
def heard(probe):
    """What the probe tells its commit listeners: the positions of each one-round-trip commit."""
    told = []

    def listener(positions, domain_events):
        told.append(positions)

    probe.commit_listeners.append(listener)
    yield told
    probe.commit_listeners.remove(listener)


def note_positions(note) -> list[int]:
    return [r[0] for r in sql("commit_probe", "SELECT id FROM commitprobe_events WHERE originator_id = %s ORDER BY id",
                              str(note.id))]


@pytest.mark.fast_path
def test_events_needing_no_read_model_commit_in_one_round_trip_with_hashes_index_and_notice(probe, heard):
    listening = db("commit_probe")
    listening.autocommit = True
    with listening.cursor() as cursor:
        cursor.execute(f"LISTEN {probe.recorder.channel_name}")
    note = Note()
    note.write("申报方案 第一稿")
    probe.save(note)
    positions = note_positions(note)
    assert heard == [positions]  # only the one-round-trip path tells, and only once committed
    assert sql("commit_probe", "SELECT count(*) FROM event_hashes WHERE position = ANY(%s)", positions) == [(2,)]
    assert [e["type"] for e in probe.history(note.id)] == ["Created", "Written"]
    assert verified().ok

    def notices():
        select.select([listening], [], [], 0.2)
        listening.poll()
        return [n.payload for n in listening.notifies]

    # the last position (for the outbox) and the writer (for the other instances' caches)
    assert eventually(notices) == [f"{positions[-1]} {INSTANCE}"]
    listening.close()


@pytest.mark.fast_path
def test_inside_a_transaction_the_same_events_commit_or_roll_back_with_it(probe, heard, monkeypatch):
    appending = []  # what the outbox would see of this process's one-round-trip appends in flight
    insert_events = probe.recorder.insert_events
    monkeypatch.setattr(probe.recorder, "insert_events",
                        lambda *args, **kwargs: appending.append(probe.appending) or insert_events(*args, **kwargs))
    note = Note()
    with pytest.raises(RuntimeError):
        with probe.transaction():
            probe.save(note)
            raise RuntimeError("the command fails after its save")
    assert note_positions(note) == [] and heard == []
    kept = Note()
    with probe.transaction():
        probe.save(kept)
    assert len(note_positions(kept)) == 1 and heard == []
    assert appending == [0, 0]  # not counted as in flight: the outbox never waits for them
    probe.save(Note())
    assert appending == [0, 0, 1] and probe.appending == 0


@pytest.mark.fast_path
def test_the_outbox_passes_its_own_quiet_commits_without_reading_them_back(probe):
    outbox = Outbox(probe)
    outbox.advance(probe.log_position(), {})
    outbox.lead()
    probe.commit_listeners.append(outbox.on_committed)
    try:
        note = Note()
        note.write("quiet")
        probe.save(note)
        assert outbox._position == probe.log_position()  # passed without a read
        assert outbox.caught_up([str(probe.log_position())]) and not outbox.caught_up([])

        with probe.transaction():  # committed another way: not told, so the cursor stays behind
            probe.save(Note())
        behind = outbox._position
        probe.save(Note())
        assert outbox._position == behind  # a gap before it: left for the next read
        assert not outbox.caught_up([str(probe.log_position())])

        outbox._position = probe.log_position()
        loud = Note()
        loud.shout("to be published")
        probe.save(loud)
        assert outbox._position < probe.log_position()  # an event to publish is never passed over
    finally:
        probe.commit_listeners.remove(outbox.on_committed)


def test_a_notice_of_an_own_commit_heard_before_its_committer_told_the_outbox_is_not_read_back(probe):
    """The notice of a one-round-trip commit can reach the outbox's listener before the committing
    green thread is told: the outbox waits for it (briefly) instead of reading the log back."""
    import eventlet

    from shared.outbox import OWN_COMMIT_GRACE, OutboxPublisher

    publisher = OutboxPublisher(CommitProbe)
    publisher.outbox = outbox = Outbox(probe)
    outbox.advance(probe.log_position(), {})
    outbox.lead()
    head = probe.log_position()
    quiet = Note()
    quiet.write("quiet")
    events = quiet.collect_events()

    def committer_tells_later():
        eventlet.sleep(0.001)
        outbox.on_committed([head + 1], events)
        probe.appending -= 1

    probe.appending += 1  # an append of this process in flight
    teller = eventlet.spawn(committer_tells_later)
    assert publisher._caught_up([f"{head + 1} {INSTANCE}"])  # waited for the committer: nothing to read
    teller.wait()
    assert outbox._position == head + 1

    assert not publisher._caught_up([f"{head + 2} another-host:1"])  # another process's: read at once
    probe.appending += 1  # in flight, and never telling (it failed): read after the grace, not later
    try:
        started = eventlet.hubs.get_hub().clock()
        assert not publisher._caught_up([f"{head + 2} {INSTANCE}"])
        assert OWN_COMMIT_GRACE <= eventlet.hubs.get_hub().clock() - started < OWN_COMMIT_GRACE + 0.1
    finally:
        probe.appending -= 1
    assert not publisher._caught_up([f"{head + 2} {INSTANCE}"])  # nothing in flight: read at once
