"""Move the clock of the test process and of every service process it started."""
import os
import time
from datetime import datetime

from shared import clock


def set_time(instant: datetime | str) -> None:
    value = instant if isinstance(instant, str) else instant.isoformat()
    path = os.environ["INNOBASE_CLOCK_FILE"]
    with open(path, "w") as f:
        f.write(value)
    # a second write within the file system's timestamp granularity must still be seen
    os.utime(path, ns=(time.time_ns(), time.time_ns()))


def now() -> datetime:
    return clock.now()
