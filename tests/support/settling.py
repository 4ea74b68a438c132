"""Waiting for running services to go quiet: every event published and nothing more happening."""
from __future__ import annotations

import time

from tests.support.cluster import rpc


def settled(services, quiet_checks: int = 3, interval: float = 0.5, timeout: float = 60) -> dict:
    """{service: log position}, once each service has published its whole log and no log has
    moved for `quiet_checks` checks in a row (consumers done, reactions written and published)."""

    def positions() -> dict:
        with rpc(timeout=10) as cluster:
            answers = {name: getattr(cluster, name).health() for name in services}
        if any(a["published_position"] != a["log_position"] for a in answers.values()):
            return {}
        return {name: a["log_position"] for name, a in answers.items()}

    deadline = time.monotonic() + timeout
    last, quiet = None, 0
    while True:
        now = positions()
        quiet = quiet + 1 if now and now == last else 0
        if quiet >= quiet_checks:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the services did not settle within {timeout} s; last positions {now!r}")
        last = now
        time.sleep(interval)
