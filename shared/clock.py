"""The one clock every time-dependent rule reads, so deadlines are testable.

`INNOBASE_CLOCK_START` (ISO 8601) starts the process's clock at that instant;
it then runs forward at real speed. `INNOBASE_CLOCK_FILE` names a file whose
ISO instant sets the clock of every process reading it (multi-process tests).
Tests in one process use `FakeClock`.
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


class FileClock:
    """Real time shifted by an offset read from a file, so a test can move the
    clock of running service processes: write an ISO instant to the file and
    every process's clock reads that instant from then on, moving forward."""

    def __init__(self, path: str):
        self._path = path
        self._mtime = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        import os

        try:
            mtime = os.stat(self._path).st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._mtime = mtime
            self._offset = timedelta(0)
            if mtime is not None:
                with open(self._path) as f:
                    value = f.read().strip()
                if value:
                    instant = datetime.fromisoformat(value).astimezone(timezone.utc)
                    self._offset = instant - datetime.fromtimestamp(mtime / 1e9, timezone.utc)
        return datetime.now(timezone.utc) + self._offset


_clock = SystemClock()


def now() -> datetime:
    return _clock.now()


def monotonic() -> float:
    return time.monotonic()


def install(clock) -> None:
    """Make `clock` the process's clock, for our code and the event timestamps."""
    global _clock
    _clock = clock


def install_from_settings(clock_start: str | None, clock_file: str | None = None) -> None:
    if clock_file:
        install(FileClock(clock_file))
    elif clock_start:
        install(OffsetClock(datetime.fromisoformat(clock_start).astimezone(timezone.utc)))


# The eventsourcing library stamps every domain event; it must read our clock too.
eventsourcing.domain.CanCreateTimestamp.create_timestamp = staticmethod(lambda: _clock.now())
