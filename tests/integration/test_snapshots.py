"""Long histories load from a snapshot plus the events after it, with the same state."""
import uuid

import pytest
from eventsourcing.domain import Aggregate, event

from shared.eventstore import ServiceApplication
from tests.support.cluster import sql

pytestmark = pytest.mark.integration


class Ledger(Aggregate):
    def __init__(self):
        self.entries: list[int] = []

    @event("Entered")
    def enter(self, amount: int) -> None:
        self.entries.append(amount)


class SnapshotProbe(ServiceApplication):
    name = "SnapshotProbe"
    service = "snapshot_probe"
    snapshotting_intervals = {Ledger: 10}


def test_a_long_history_is_snapshotted_and_loads_the_same_state():
    app = SnapshotProbe()
    ledger = Ledger()
    for amount in range(25):
        ledger.enter(amount)
        app.save(ledger)
    snapshots = sql("snapshot_probe", "SELECT originator_version FROM snapshotprobe_snapshots"
                                      " WHERE originator_id = %s ORDER BY originator_version", str(ledger.id))
    assert [v for (v,) in snapshots] == [10, 20]
    assert SnapshotProbe().repository.get(ledger.id).entries == list(range(25))
    assert SnapshotProbe().repository.get(ledger.id, version=15).entries == list(range(14))


def test_an_unknown_aggregate_is_not_found():
    from eventsourcing.application import AggregateNotFoundError

    with pytest.raises(AggregateNotFoundError):
        SnapshotProbe().repository.get(uuid.uuid4())



def test_snapshots_are_the_state_the_log_rebuilds_whether_taken_from_memory_or_read_back():
    """A snapshot due on the last event saved is taken from the aggregate just saved; one due on
    an earlier event of several saved together is read back from the log. Either is the state
    the events alone rebuild at that version."""
    app = SnapshotProbe()
    read_back = []
    take_snapshot = app.take_snapshot
    app.take_snapshot = lambda aggregate_id, version=None, **kw: (read_back.append(version),
                                                                   take_snapshot(aggregate_id, version, **kw))
    ledger = Ledger()
    amounts = iter(range(1000))

    def save(events: int) -> None:
        for _ in range(events):
            ledger.enter(next(amounts))
        app.save(ledger)

    save(8)  # versions 1-9 (created, 8 entries): none due
    save(1)  # 10: due on the last event saved
    for _ in range(9):
        save(1)  # 11-19
    save(2)  # 20 and 21 together: due on the earlier one
    save(9)  # 22-30: due on the last of several

    stored = {snapshot.originator_version: snapshot for snapshot in app.snapshots.get(ledger.id)}
    assert sorted(stored) == [10, 20, 30]
    assert read_back == [20]  # 10 and 30 from memory
    for version, snapshot in stored.items():
        aggregate = None  # the events alone, no snapshot
        for domain_event in app.events.get(ledger.id, lte=version):
            aggregate = domain_event.mutate(aggregate)
        assert aggregate.version == version
        assert snapshot.state["entries"] == aggregate.entries == list(range(version - 1)), version
        assert snapshot.state["_modified_on"] == aggregate.modified_on
