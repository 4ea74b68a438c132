"""`make run`: start every service as its own process, say when all are ready, stop all on Ctrl-C.

Instances per service come from `INNOBASE_INSTANCES_<SERVICE>` (default 1),
e.g. `INNOBASE_INSTANCES_FORMAL_REVIEW=2`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    config: str
    target: str
    application: str  # the event-sourced application class (for audit and rebuild tools)

    def application_class(self):
        import importlib

        module, name = self.application.split(":")
        return getattr(importlib.import_module(module), name)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "nameko", "run", "--config", self.config, self.target]

    def instances(self, environ=os.environ) -> int:
        return int(environ.get(f"INNOBASE_INSTANCES_{self.name.upper()}", "1"))


SERVICES = (
    ServiceSpec("intake", "services/intake/config.yaml", "services.intake.service:IntakeService",
                "services.intake.application:Intake"),
    ServiceSpec("endorsement", "services/endorsement/config.yaml", "services.endorsement.service:EndorsementService",
                "services.endorsement.application:Endorsement"),
    ServiceSpec("formal_review", "services/review/formal_review/config.yaml",
                "services.review.formal_review.service:FormalReviewService",
                "services.review.formal_review.application:FormalReview"),
    ServiceSpec("expert_review", "services/review/expert_review/config.yaml",
                "services.review.expert_review.service:ExpertReviewService",
                "services.review.expert_review.application:ExpertReview"),
    ServiceSpec("notification", "services/notification/config.yaml",
                "services.notification.service:NotificationService",
                "services.notification.application:Notification"),
    ServiceSpec("accounts", "services/accounts/config.yaml", "services.accounts.service:AccountsService",
                "services.accounts.application:Accounts"),
)
# The HTTP edge keeps no log of its own: it is started and scaled like the others, but the
# audit and rebuild tools (which walk SERVICES) leave it out.
EDGE = (
    ServiceSpec("gateway", "services/gateway/config.yaml", "services.gateway.service:GatewayService", ""),
)
RUNNING = SERVICES + EDGE
BY_NAME = {spec.name: spec for spec in RUNNING}


def start(spec: ServiceSpec, environ=None) -> subprocess.Popen:
    return subprocess.Popen(spec.command(), cwd=ROOT, env=environ or os.environ.copy(), start_new_session=True)


def start_dev_mailbox(environ=os.environ) -> subprocess.Popen | None:
    """With INNOBASE_DEV=1 (`make run`'s default), the SMTP capture the portal shows at /dev/mail."""
    if environ.get("INNOBASE_DEV", "") not in ("1", "true", "yes"):
        return None
    command = [sys.executable, "-m", "services.gateway.portal.devmail"]
    return subprocess.Popen(command, cwd=ROOT, env=dict(environ), start_new_session=True)


def wait_healthy(names, amqp_uri: str, timeout: float = 60.0, processes=()) -> None:
    """Until every named service answers `health()`; fail fast when a process dies."""
    from nameko.exceptions import RpcTimeout
    from nameko.standalone.rpc import ClusterRpcProxy

    deadline = time.monotonic() + timeout
    pending = list(names)
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=2) as cluster:
        while pending:
            for proc in processes:
                if proc.poll() is not None:
                    raise RuntimeError(f"a service process exited with code {proc.returncode}")
            name = pending[0]
            try:
                getattr(cluster, name).health()
                pending.pop(0)
            except (RpcTimeout, Exception):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer health() within {timeout:.0f} s") from None
                time.sleep(0.3)


def stop(processes, grace: float = 10.0) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in processes:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def portal_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('INNOBASE_HTTP_PORT', '8080')}"


def main() -> int:
    from shared import settings

    # A development run looks for due deadlines often, so a demo's missed deadline shows in seconds.
    os.environ.setdefault("INNOBASE_DEADLINE_SCAN_SECONDS", "5")

    processes = []
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        mailbox = start_dev_mailbox()
        if mailbox is not None:
            processes.append(mailbox)
        for spec in RUNNING:
            for _ in range(spec.instances()):
                processes.append(start(spec))
        wait_healthy([s.name for s in RUNNING], settings.get().amqp_uri, processes=processes)
        counts = ", ".join(f"{s.name}×{s.instances()}" for s in RUNNING)
        print(f"innobase: all services ready ({counts}); Ctrl-C stops them", flush=True)
        print(f"innobase: portal and API at {portal_url()} (API documentation at {portal_url()}/api/docs)", flush=True)
        while not stopping:
            if any(p.poll() is not None for p in processes):
                print("innobase: a service process exited; stopping the others", flush=True)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        print(f"innobase: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("innobase: stopping services", flush=True)
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
