"""Real service processes for integration and fault tests, and what tests look at.

`Cluster` starts services exactly as `make run` does (innobase.supervisor), with
the test settings plus any faults a test injects, and stops or kills them.
"""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager

import psycopg2
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from innobase import supervisor
from shared import auth, settings
from shared.consumer import queue_names


class Cluster:
    def __init__(self):
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, faults: str = "", wait: bool = True, **env) -> subprocess.Popen:
        environ = os.environ.copy()
        environ["INNOBASE_TEST_FAULTS"] = faults
        environ.update({k: str(v) for k, v in env.items()})
        proc = supervisor.start(supervisor.BY_NAME[name], environ)
        self.processes.append((name, proc))
        if wait:
            self.wait_healthy(name, proc)
            # health() may be answered by an instance already running: wait for this one too
            instances = sum(1 for n, p in self.processes if n == name and p.poll() is None)
            eventually(lambda: consumers(f"rpc-{name}") >= instances, timeout=60)
        return proc

    def wait_healthy(self, name: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
        supervisor.wait_healthy([name], settings.get().amqp_uri, timeout=timeout,
                                processes=[proc] if proc else [])

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        supervisor.stop([p for _, p in self.processes])
        self.processes.clear()


def rpc(token: str | None = None, timeout: float = 10):
    context = {"auth_token": token} if token else {}
    return ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, context_data=context, timeout=timeout)


def token(role: str, party: str | None = None, org: str | None = None, ttl: int = 3600) -> str:
    party = party or f"{role}-{uuid.uuid4().hex[:8]}"
    return auth.mint(party, role, org or f"org-{party}", ttl_seconds=ttl)


def db(service: str):
    dsn = settings.get().database_url(service).replace("postgresql+psycopg2://", "postgresql://")
    return psycopg2.connect(dsn)


def sql(service: str, query: str, *params) -> list[tuple]:
    conn = db(service)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """The value of `check()` once it is truthy; fails with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s; last value {value!r}")
        time.sleep(interval)


def queue_depth(queue: str) -> int:
    with Connection(settings.get().amqp_uri) as conn:
        try:
            _, count, _ = conn.default_channel.queue_declare(queue, passive=True)
        except Exception:
            return 0
        return count


def consumers(queue: str) -> int:
    with Connection(settings.get().amqp_uri) as conn:
        try:
            _, _, count = conn.default_channel.queue_declare(queue, passive=True)
        except Exception:
            return 0
        return count


def purge(service: str) -> None:
    names = queue_names(service)
    with Connection(settings.get().amqp_uri) as conn:
        for queue in [names["events"], names["dead"], *names["retry"]]:
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:
                pass


def reset_everything() -> None:
    """Drop the test databases and the test vhost's queues: every run starts empty."""
    s = settings.get()
    admin = psycopg2.connect(host="127.0.0.1", dbname="postgres", user="root")
    admin.autocommit = True
    with admin.cursor() as cursor:
        # every database of this prefix: the services', the audit anchors', the probes'
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (s.db_prefix + "\\_%",))
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
    # the anchors of the logs just dropped: they would name events that are no longer there
    for anchors_file in glob.glob(os.path.join(glob.escape(s.anchor_dir), f"{glob.escape(s.db_prefix)}_*.jsonl")):
        os.remove(anchors_file)
    with Connection(s.amqp_uri) as conn:
        channel = conn.default_channel
        for spec in supervisor.SERVICES:
            names = queue_names(spec.name)
            for queue in [names["events"], names["dead"], *names["retry"]]:
                channel.queue_delete(queue)


@contextmanager
def running(*names: str, **env):
    cluster = Cluster()
    try:
        for name in names:
            cluster.start(name, **env)
        yield cluster
    finally:
        cluster.stop_all()
