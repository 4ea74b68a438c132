"""Every read model can be dropped and rebuilt from the log (DESIGN §3, audit): after real
traffic through the five services — `innobase demo`'s four applications through all six stages —
`innobase rebuild SERVICE` gives back every table of the service row for row."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from innobase.demo import Demo
from innobase.supervisor import BY_NAME, ROOT, SERVICES
from tests.support.cluster import db, running
from tests.support.mail import free_port
from tests.support.settling import settled

pytestmark = pytest.mark.integration
NAMES = [spec.name for spec in SERVICES]


@pytest.fixture(scope="module")
def traffic():
    """The demo played through the running services; they are stopped once every event is
    published and handled, so nothing writes while the tables are compared."""
    mail = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    mail.start()
    env = {"INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": mail.port,
           "INNOBASE_SAC_OFFICER_EMAILS": "officer@sac.test", "INNOBASE_DEADLINE_SCAN_SECONDS": "0.5"}
    try:
        with running(*NAMES, **env):
            outcome = Demo(out=io.StringIO(), timeout=60).play()
            settled(NAMES, timeout=60)
    finally:
        mail.stop()
    return outcome


def tables_of(service: str) -> tuple[str, ...]:
    return ("audit_index", *BY_NAME[service].application_class().read_model_tables)


def snapshot(service: str) -> dict[str, list[tuple]]:
    """Every row of every read model of the service, by primary key (all columns where there is none)."""
    conn = db(service)
    try:
        with conn.cursor() as cursor:
            rows = {}
            for table in tables_of(service):
                cursor.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                    " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary"
                    " ORDER BY array_position(i.indkey::int[], a.attnum::int)", (table,))
                key = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
                cursor.execute(f"SELECT * FROM {table} LIMIT 0")
                order = key or ", ".join(str(n + 1) for n in range(len(cursor.description)))
                cursor.execute(f"SELECT * FROM {table} ORDER BY {order}")
                columns = [d.name for d in cursor.description]
                rows[table] = [dict(zip(columns, row)) for row in cursor.fetchall()]
            return rows
    finally:
        conn.close()


def events_in_log(service: str) -> int:
    conn = db(service)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {BY_NAME[service].application_class().name.lower()}_events")
            return cursor.fetchone()[0]
    finally:
        conn.close()


def differences(before: list[dict], after: list[dict]) -> str:
    lost = [row for row in before if row not in after]
    new = [row for row in after if row not in before]
    return f"{len(before)} rows before, {len(after)} after; only before: {lost[:3]!r}; only after: {new[:3]!r}"


@pytest.mark.parametrize("service", NAMES)
def test_rebuilding_a_services_read_models_from_its_log_gives_back_every_row(traffic, service):
    before = snapshot(service)
    empty = [table for table, rows in before.items() if not rows]
    assert not empty, f"the demo left {service}'s {', '.join(empty)} empty: nothing to compare"

    rebuilt = subprocess.run([sys.executable, "-m", "innobase.cli", "rebuild", service], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"of {service} from {events_in_log(service)} events" in rebuilt.stdout
    after = snapshot(service)
    changed = {table: differences(before[table], after[table]) for table in before if before[table] != after[table]}
    assert not changed, f"{service}: " + "; ".join(f"{table}: {diff}" for table, diff in changed.items())


def log_facts(service: str) -> tuple[list[int], dict[str, int]]:
    """Every position of the service's log, and each aggregate's latest version."""
    conn = db(service)
    table = f"{BY_NAME[service].application_class().name.lower()}_events"
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} ORDER BY id")
            positions = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT originator_id::text, max(originator_version) FROM {table} GROUP BY 1")
            return positions, dict(cursor.fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("service", NAMES)
def test_replaying_a_services_whole_log_applies_every_event_to_its_aggregate(traffic, service):
    positions, versions = log_facts(service)

    replayed = subprocess.run([sys.executable, "-m", "innobase.cli", "audit", "replay", service], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed {len(positions)} events of {service} in " in replayed.stdout
    by_type = replayed.stdout.rsplit(": ", 1)[1]
    assert sum(int(part.split()[0]) for part in by_type.split(", ")) == len(versions)

    app = BY_NAME[service].application_class()()
    assert [position for position, _ in app.replay(page=7)] == positions  # pages read ahead, in order
    state = app.replay_to_state()
    assert {str(key): aggregate.version for key, aggregate in state["aggregates"].items()} == versions
