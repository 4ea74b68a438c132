"""What formal review and expert review share: running a command again when it lost a race, and
moving a request's deadline."""
from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Callable, TypeVar

from shared.errors import ConcurrencyConflict

T = TypeVar("T")
ATTEMPTS = 12
MAX_PAUSE = 0.5  # seconds


def retrying(command: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run `command` (which loads, decides and saves) again after a `ConcurrencyConflict`.

    Conflicts here are mostly on aggregates several cases share — the yearly
    number sequence, a base slot, a panel — or a deadline scan touching the
    same case. The command reloads and checks its rules again, so the loser of
    a real race on one case gets that rule's own error (`already_accepted`,
    `wrong_stage`), and an unrelated race simply succeeds on the next try.
    The pause grows and is random ("full jitter"), so contenders that collided
    once spread out instead of colliding again.
    """
    for attempt in range(1, attempts + 1):
        try:
            return command()
        except ConcurrencyConflict:
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, min(MAX_PAUSE, 0.01 * 2 ** attempt)))
    raise AssertionError("unreachable")


def extend_request(request: dict, new_deadline: datetime, reason: str) -> None:
    """A supplement or revision request's deadline moved: the extension kept beside the request
    (from, to, why), the request open again until the new deadline."""
    request["extensions"].append({"from": request["deadline"], "to": new_deadline, "reason": reason})
    request.update(deadline=new_deadline, state="open")
