"""Shared by the benchmark scripts: isolated settings, processes, percentiles, the RPC baseline."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("INNOBASE_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/innobase_bench")
os.environ.setdefault("INNOBASE_DB_PREFIX", "innobase_bench")
os.environ.setdefault("PYTHONWARNINGS", "ignore")
# A secret of their own: a service refuses to start with the development one outside INNOBASE_DEV=1.
os.environ.setdefault("INNOBASE_TOKEN_SECRET", "innobase-benchmark-secret")
# Benchmarks submit applications: run inside the submission window (5 May – 30 July). The clock
# starts there and runs like the real one, at its cost (the file clock of the tests, which
# looks at its file on every reading, costs a system call per timestamp).
os.environ.pop("INNOBASE_CLOCK_FILE", None)
os.environ.setdefault("INNOBASE_CLOCK_START", "2026-06-01T10:00:00+08:00")

from innobase import supervisor  # noqa: E402
from shared import clock, settings  # noqa: E402

clock.install_from_settings(settings.get().clock_start)

ROOT = supervisor.ROOT


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ms: list[float]) -> dict:
    return {
        "n": len(samples_ms),
        "p50": percentile(samples_ms, 50),
        "p90": percentile(samples_ms, 90),
        "p99": percentile(samples_ms, 99),
        "max": max(samples_ms),
        "mean": statistics.fmean(samples_ms),
    }


def line(label: str, s: dict) -> str:
    return (f"{label:<38} n={s['n']:<5} p50={s['p50']:7.2f} ms  p90={s['p90']:7.2f} ms"
            f"  p99={s['p99']:7.2f} ms  max={s['max']:7.2f} ms")


def start_ping_service() -> subprocess.Popen:
    config = ROOT / "services" / "intake" / "config.yaml"
    return subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(config),
                             "benchmarks.ping_service:PingService"], cwd=ROOT, start_new_session=True)


def wait_for_ping(cluster, timeout: float = 60) -> None:
    """Until the ping service answers through `cluster` (a ClusterRpcProxy's services)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.bench_ping.ping()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def rpc_baseline(count: int = 500) -> dict:
    """The bare nameko RPC round trip on this machine, now."""
    from nameko.standalone.rpc import ClusterRpcProxy

    proc = start_ping_service()
    try:
        supervisor.wait_healthy([], settings.get().amqp_uri)
        with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=10) as cluster:
            wait_for_ping(cluster)
            for _ in range(50):
                cluster.bench_ping.ping()
            samples = []
            for _ in range(count):
                started = time.perf_counter()
                cluster.bench_ping.ping()
                samples.append((time.perf_counter() - started) * 1000)
        return summary(samples)
    finally:
        supervisor.stop([proc])


def reset(services: list[str]) -> None:
    import psycopg2
    from kombu import Connection

    from shared.consumer import queue_names

    admin = psycopg2.connect(host="127.0.0.1", dbname="postgres", user="root")
    admin.autocommit = True
    with admin.cursor() as cursor:
        for name in services:
            cursor.execute(f'DROP DATABASE IF EXISTS "{settings.get().database_name(name)}" WITH (FORCE)')
    admin.close()
    with Connection(settings.get().amqp_uri) as conn:
        for name in services:
            names = queue_names(name)
            for queue in [names["events"], names["dead"], *names["retry"]]:
                conn.default_channel.queue_delete(queue)
