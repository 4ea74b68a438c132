"""Propagation latency from a commit in intake to the committed effect in endorsement.

Starts intake and endorsement as `make run` does (on their own vhost and
databases), submits applications at a steady rate, and times each from the
moment intake's commit returns to the moment endorsement's commit is
announced (PostgreSQL NOTIFY on endorsement's events table). Next to it, in
the same run, the bare nameko RPC round trip. Run: `make bench` or
`python -m benchmarks.propagation [--rate 20] [--seconds 15]`.

Applications are complete plans (tests/support/applications.py) drafted before
the timed run.
"""
from __future__ import annotations

import argparse
import select
import threading
import time
import uuid

from benchmarks import common
from innobase import supervisor
from shared import settings
from shared.database import connect


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    common.reset(["intake", "endorsement"])
    baseline = common.rpc_baseline()
    processes = [supervisor.start(supervisor.BY_NAME["intake"]), supervisor.start(supervisor.BY_NAME["endorsement"])]
    try:
        supervisor.wait_healthy(["intake", "endorsement"], settings.get().amqp_uri, processes=processes)
        from services.intake.application import Intake
        from tests.support.applications import Direct, complete_draft, prepare

        worker = Intake()  # this process commits in intake's log, as an intake worker does
        via = Direct(worker)
        setup = prepare(via, "domain", organizing_unit_id=f"OU-bench-{uuid.uuid4().hex[:6]}")
        applicant = setup.applicant
        total = int(args.rate * args.seconds)
        drafts = [uuid.UUID(complete_draft(via, setup, one_file=True)["application_id"])
                  for _ in range(total + 20)]
        time.sleep(1)

        committed: dict[str, float] = {}
        effected: dict[str, float] = {}
        done = threading.Event()
        listener = threading.Thread(target=watch_endorsement, args=(effected, done), daemon=True)
        listener.start()
        time.sleep(0.5)

        for application_id in drafts[:20]:  # warm-up, not measured
            worker.submit(applicant, application_id)
        time.sleep(1)
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        for application_id in drafts[20:]:
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            worker.submit(applicant, application_id)
            committed[str(application_id)] = time.perf_counter()
        deadline = time.monotonic() + 30
        while len([a for a in committed if a in effected]) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        latencies = [(effected[a] - t) * 1000 for a, t in committed.items() if a in effected]
        missing = len(committed) - len(latencies)
        result = common.summary(latencies)
        print()
        print(f"steady load: {args.rate:g} submissions/s for {args.seconds:g} s, 1 intake + 1 endorsement instance")
        print(common.line("bare nameko RPC round trip (baseline)", baseline))
        print(common.line("commit in intake -> effect committed", result))
        print(f"ratio p50 propagation / p50 RPC: {result['p50'] / baseline['p50']:.2f}   "
              f"targets: p50 < 20 ms, p99 < 100 ms   missing effects: {missing}")
    finally:
        supervisor.stop(processes)


def watch_endorsement(effected: dict[str, float], done: threading.Event) -> None:
    conn = connect(settings.get().database_url("endorsement"))
    conn.autocommit = True
    cursor = conn.cursor()
    cursor.execute("LISTEN endorsement_events")
    last = 0
    while not done.is_set():
        if select.select([conn], [], [], 0.2) == ([], [], []):
            continue
        arrived = time.perf_counter()
        conn.poll()
        conn.notifies.clear()
        cursor.execute("SELECT position, application_id::text FROM organizing_queue WHERE position > %s", (last,))
        for position, application_id in cursor.fetchall():
            effected.setdefault(application_id, arrived)
            last = max(last, position)
    conn.close()


if __name__ == "__main__":
    main()
