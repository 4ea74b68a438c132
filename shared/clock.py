"""The one clock every time-dependent rule reads, so deadlines are testable.

`INNOBASE_CLOCK_START` (ISO 8601) starts the process's clock at that instant;
it then runs forward at real speed. Tests in one process use `FakeClock`.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import eventsourcing.domain

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class OffsetClock:
    """Real time, shifted so that it read `start` when the process started."""

    def __init__(self, start: datetime):
        self._offset = start - datetime.now(timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime):
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(timezone.utc)


_clock = SystemClock()


def now() -> datetime:
    return _clock.now()


def monotonic() -> float:
    return time.monotonic()


def install(clock) -> None:
    """Make `clock` the process's clock, for our code and the event timestamps."""
    global _clock
    _clock = clock


def install_from_settings(clock_start: str | None) -> None:
    if clock_start:
        install(OffsetClock(datetime.fromisoformat(clock_start).astimezone(timezone.utc)))


# The eventsourcing library stamps every domain event; it must read our clock too.
eventsourcing.domain.CanCreateTimestamp.create_timestamp = staticmethod(lambda: _clock.now())
