"""A write based on what the caller read: `expected_version` (HTTP's If-Match).

Every command RPC accepts an optional `expected_version` beside its own arguments
(`shared.rpc.command` takes it out before the schema loads them and holds it for
the call). The service checks it where it loads the resource the caller names —
the one aggregate the call is about — with `check(aggregate)`: a different
version refuses the whole command with `ConcurrencyConflict` (rule
`expected_version`) before anything is saved.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from shared.errors import ConcurrencyConflict, InvalidInput

_expected: ContextVar[int | None] = ContextVar("expected_version", default=None)


def take(arguments: dict) -> int | None:
    """Remove and validate the call's `expected_version` (None when it sent none)."""
    value = arguments.pop("expected_version", None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput.for_fields({"expected_version": ["Must be a version number (an integer ≥ 1)."]})
    return value


@contextmanager
def expecting(version: int | None):
    token = _expected.set(version)
    try:
        yield
    finally:
        _expected.reset(token)


def check(aggregate) -> None:
    expected = _expected.get()
    if expected is not None and aggregate.version != expected:
        raise ConcurrencyConflict(
            f"it is at version {aggregate.version}, not {expected}: reload it",
            {"rule": "expected_version", "expected_version": expected, "version": aggregate.version})
