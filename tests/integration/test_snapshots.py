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
