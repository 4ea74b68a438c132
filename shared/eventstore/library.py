"""The fence: every place where we lean on a private part of `eventsourcing` or
`eventsourcing_sqlalchemy` is in this module, and only here.

The libraries' public API records an aggregate's events in a transaction of their own. The
event store needs more inside that transaction (the hash chain, the audit index, the read models,
the processed-message row, a commit notice), and the libraries offer no public hook for it. Each
private used is wrapped once below under a name of ours, so the rest of the store calls ours:

| ours | the library's private | why |
|---|---|---|
| `Recorder.write` | `SQLAlchemyApplicationRecorder._insert_stored_events` | everything a commit writes, in the library's transaction |
| `Store.record` / `Store.record_as_library_does` | `Application._record` | the store adds what the commit needs before the library inserts |
| `Store.announce` | `Application._notify` | the library's hook after a save, called as `save` calls it |
| `in_transaction` | `eventsourcing_sqlalchemy.datastore.transactions` | whether this green thread is inside a transaction |
| `decode_typed` | `JSONTranscoder._decode_obj` | a typed value (`{"_type_", "_data_"}`) decoded by the library's transcodings |

`CHECKED` names the versions these were read against. `tests/unit/test_library_fence.py`
fails when an installed version differs (so that an upgrade is a deliberate act: read the
library's changes to the privates above, then move `CHECKED`) and when a module outside this
one names one of the privates.
"""
from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing_sqlalchemy.datastore import transactions as _datastore_transactions
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder

CHECKED = {"eventsourcing": "9.5.6", "eventsourcing-sqlalchemy": "1.0.1"}

# The private names above, as `tests/unit/test_library_fence.py` looks for them elsewhere.
PRIVATES = ("_insert_stored_events", "_record", "_notify", "datastore.transactions", "_decode_obj")


class Recorder(SQLAlchemyApplicationRecorder):
    """The library's recorder, whose insert inside a session is `write`."""

    def _insert_stored_events(self, session, stored_events: Sequence[StoredEvent], **kwargs: Any):
        return self.write(session, stored_events, **kwargs)

    def write(self, session, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """Insert the events in `session`'s transaction; their log positions, in order."""
        raise NotImplementedError


class Store(Application):
    """The library's application, whose recording of a save is `record`."""

    def _record(self, processing_event):
        return self.record(processing_event)

    def record(self, processing_event):
        return self.record_as_library_does(processing_event)

    def record_as_library_does(self, processing_event):
        """Transcode the collected events and insert them (`processing_event.saved_kwargs` are
        passed to the recorder's insert)."""
        return Application._record(self, processing_event)

    def announce(self, recordings) -> None:
        self._notify(recordings)


def in_transaction() -> bool:
    """Whether this green thread is inside a recorder's transaction (`Recorder.transaction`)."""
    return _datastore_transactions.get(None) is not None


def decode_typed(transcoder: JSONTranscoder, value: dict):
    """A typed value as the library's transcoder decodes it (its registered transcodings)."""
    return transcoder._decode_obj(value)
