"""Commands without the read that only confirms what the process already knows.

Every command loads its aggregate. The library keeps recent aggregates in a
cache and, because another instance of the service may have written since,
reads the aggregate's newer events from the log first ("fast-forward"): a round
trip that, on a service run as one instance, finds nothing almost every time.

A process knows when that read is needless. Every commit notifies the service's
channel, naming its last position and the instance that wrote it (see
`TrackedRecorder._prepare_append`). The `CommitListener` of each service
process hears them (`shared.notices`): a commit by another process, or a lost
connection (a notice may have been missed), moves `Freshness.foreign` on. An
aggregate whose cached state was current when `foreign` had its present value
is served from the cache without the read; any other goes through the
library's fast-forward.
The process's own one-round-trip commits bring their aggregates' cached state
up to date with the events just written.

What this costs: between another instance's commit and this process hearing
of it (well under a millisecond on one machine, more under load) a command may
see the state before it. The version check on insert still refuses a write
based on it (`ConcurrencyConflict`), and such a command is run again at once
with the read (`shared.rpc.command`), so a caller sees the conflict only when
two commands really raced. A process without a listener (the command line,
tests driving an application directly) always reads, and so does every process
when `INNOBASE_TRUST_CACHE=0`.
"""
from __future__ import annotations

import contextvars
import os
import pickle
from contextlib import contextmanager

from eventsourcing.application import Repository


MARKS_LIMIT = 50_000  # aggregates remembered; beyond, all are forgotten (and read again)

# Set while a command runs again after a conflict: every aggregate is read.
_read_everything = contextvars.ContextVar("innobase_read_everything", default=False)
# Set when an aggregate was served from the cache without the read, for this command.
_served_unread = contextvars.ContextVar("innobase_served_unread", default=False)
# Set when this attempt of a command saved something (then it is never run again).
_saved = contextvars.ContextVar("innobase_saved", default=False)


class Freshness:
    """Which cached aggregates are known current, by the count of foreign commits heard."""

    def __init__(self):
        self.listening = False  # a listener is connected and hears every commit
        self.foreign = 0  # commits by other processes heard, and connections lost
        self._marks: dict = {}  # aggregate id -> `foreign` when its cached state was current

    def mark(self) -> int:
        return self.foreign

    def fresh(self, aggregate_id) -> bool:
        return self.listening and self._marks.get(aggregate_id) == self.foreign

    def confirm(self, aggregate_id, mark: int) -> None:
        if len(self._marks) >= MARKS_LIMIT:
            self._marks.clear()
        self._marks[aggregate_id] = mark

    def forget(self, aggregate_id) -> None:
        self._marks.pop(aggregate_id, None)

    def heard(self, payload: str, instance: str) -> None:
        """A commit notice: "<last position> <writing instance>"."""
        if payload.partition(" ")[2] != instance:
            self.foreign += 1

    def lost(self) -> None:
        self.listening = False
        self.foreign += 1


def copy_of(aggregate):
    """A copy for a command, whose changes never touch the cached aggregate (as the library's
    cache hands out a deep copy).

    An aggregate class that declares `copied_one_level` promises that its events replace what its
    dicts and lists hold, or add to them, and never change a held value in place: a copy of its
    attributes and of each dict and list suffices (a section's content is shared, not copied),
    far cheaper than `copy.deepcopy` (docs/performance.md). Tests check the
    promise (`INNOBASE_CHECK_CACHE`). Any other aggregate is copied whole, through pickle (half
    `copy.deepcopy`'s time, the same copy for the plain values aggregates hold)."""
    if getattr(type(aggregate), "copied_one_level", False):
        clone = object.__new__(type(aggregate))
        clone.__dict__.update({name: value.copy() if type(value) in (dict, list) else value
                               for name, value in vars(aggregate).items()})
        return clone
    return pickle.loads(pickle.dumps(aggregate, pickle.HIGHEST_PROTOCOL))


class TrustingRepository(Repository):
    """The library's repository, serving a fresh cached aggregate without reading the log."""

    freshness: Freshness

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # With INNOBASE_CHECK_CACHE=1 (the tests), each cached aggregate's pickled bytes as its
        # events last left it: a command that changed what its copy shares with the cache fails.
        self._checked: dict | None = {} if os.environ.get("INNOBASE_CHECK_CACHE") == "1" else None

    def get(self, aggregate_id, *, version=None, **kwargs):
        if version is not None or kwargs or self.cache is None:
            return super().get(aggregate_id, version=version, **kwargs)
        cached = self._cached(aggregate_id)
        if cached is not None and not _read_everything.get() and self.freshness.fresh(aggregate_id):
            _served_unread.set(True)
            return copy_of(cached)
        mark = self.freshness.mark()
        aggregate = super().get(aggregate_id, deepcopy_from_cache=False)  # the cached one, fast-forwarded
        self.freshness.confirm(aggregate_id, mark)
        self._as_its_events_left_it(aggregate_id, aggregate)
        return copy_of(aggregate)

    def committed(self, domain_events, mark: int, saved: dict | None = None) -> None:
        """The process committed these events (in one round trip): bring the cached aggregates
        that stood just before them up to date, as the next read would have; forget the others.
        An aggregate copied one level is replaced by a copy of the one saved (`saved`, by id),
        which its events already changed; any other has the events applied."""
        if self.cache is None:
            return
        replaced = set()
        for domain_event in domain_events:
            aggregate_id = domain_event.originator_id
            if aggregate_id in replaced:
                continue
            cached = self._cached(aggregate_id)
            if cached is None or cached.version != domain_event.originator_version - 1:
                self.freshness.forget(aggregate_id)
                continue
            aggregate = (saved or {}).get(aggregate_id)
            if getattr(type(aggregate), "copied_one_level", False) and aggregate.version == max(
                    e.originator_version for e in domain_events if e.originator_id == aggregate_id):
                cached = copy_of(aggregate)  # the command may go on changing its own
                self.cache.put(aggregate_id, cached)
                replaced.add(aggregate_id)
            else:
                domain_event.mutate(cached)
            self.freshness.confirm(aggregate_id, mark)
            self._as_its_events_left_it(aggregate_id, cached)

    def _cached(self, aggregate_id):
        try:
            cached = self.cache.get(aggregate_id)
        except KeyError:
            return None
        if self._checked is not None and aggregate_id in self._checked:
            if pickle.dumps(cached, pickle.HIGHEST_PROTOCOL) != self._checked[aggregate_id]:
                raise AssertionError(f"the cached {type(cached).__name__} {aggregate_id} changed without an "
                                     "event: a command changed a value its copy shares with the cache")
        return cached

    def _as_its_events_left_it(self, aggregate_id, cached) -> None:
        if self._checked is not None:
            if len(self._checked) >= MARKS_LIMIT:
                self._checked.clear()
            self._checked[aggregate_id] = pickle.dumps(cached, pickle.HIGHEST_PROTOCOL)

    def forget(self, aggregate_ids) -> None:
        for aggregate_id in aggregate_ids:
            self.freshness.forget(aggregate_id)


@contextmanager
def command_attempt():
    """Around one attempt of a command: `may_run_again()` then says whether a conflict it met
    may come from a cached aggregate used without reading it, before it saved anything."""
    served, saved = _served_unread.set(False), _saved.set(False)
    try:
        yield
    finally:
        _served_unread.reset(served)
        _saved.reset(saved)


def may_run_again() -> bool:
    return _served_unread.get() and not _saved.get()


def saved_in_attempt() -> None:
    _saved.set(True)


@contextmanager
def reading_everything():
    """Run a command again with every aggregate read from the log."""
    token = _read_everything.set(True)
    try:
        yield
    finally:
        _read_everything.reset(token)
