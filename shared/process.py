"""What every service process does first, before any connection is made.

- psycopg2 yields to eventlet's hub while it waits on PostgreSQL: without it,
  one slow query stops every other greenthread of the process;
- the clock is the one the settings name (`INNOBASE_CLOCK_START`, `INNOBASE_CLOCK_FILE`);
- the one test-only seam: a fault test that names faults in `INNOBASE_TEST_FAULTS` has them
  installed here by its own module, `tests/support/faults.py` (test doubles replacing production
  methods); production code holds no fault branch.
"""
import importlib
import os

import eventlet.patcher

from shared import clock, settings

if eventlet.patcher.is_monkey_patched("socket"):
    from eventlet.support.psycopg2_patcher import make_psycopg_green

    make_psycopg_green()

clock.install_from_settings(settings.get().clock_start, settings.get().clock_file)

if os.environ.get("INNOBASE_TEST_FAULTS"):
    importlib.import_module("tests.support.faults").install(os.environ["INNOBASE_TEST_FAULTS"])
