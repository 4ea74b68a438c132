"""An auditor's timeline: `innobase.timeline.merged(application_id)`, one application's history
merged across the five services over their auditor RPCs, as `innobase audit timeline` reads it,
beside the bare nameko RPC round trip measured in the same run. Target: under 200 ms.

Starts the five services as `make run` does (on the vhost and databases the environment names,
with a real SMTP server on loopback so notification delivers its mail), plays `innobase demo`
against them (four applications through the six stages: A with a revision round and approval,
B returned and supplemented, C found inadmissible after a missed deadline, D refused by the
quota), waits until every service has published its whole log and gone quiet, then times the
timeline of each application, each with its number of events and services.

Run: `python -m benchmarks.timeline [--runs 20]`.
"""
from __future__ import annotations

import argparse
import io
import os
import time

from benchmarks import common  # first: isolated settings, the clock inside the submission window
from innobase import supervisor
from shared import settings

TARGET_MS = 200.0
SERVICES = [spec.name for spec in supervisor.SERVICES]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20, help="timelines timed per application")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from tests.support.mail import free_port

    common.reset(SERVICES)
    baseline = common.rpc_baseline()
    mail = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    mail.start()
    environ = {**os.environ, "INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": str(mail.port),
               "INNOBASE_SAC_OFFICER_EMAILS": "officer@sac.test", "INNOBASE_DEADLINE_SCAN_SECONDS": "0.5"}
    processes = [supervisor.start(spec, environ) for spec in supervisor.SERVICES]
    try:
        supervisor.wait_healthy(SERVICES, settings.get().amqp_uri, processes=processes)
        results = run(args)
    finally:
        supervisor.stop(processes)
        mail.stop()
    report(args, baseline, results)


def run(args) -> dict:
    from innobase.demo import Demo
    from innobase import timeline
    from tests.support.settling import settled

    started = time.perf_counter()
    outcome = Demo(out=io.StringIO(), timeout=120).play()
    played = time.perf_counter() - started
    settled(SERVICES, timeout=120)
    results = {"played_seconds": played, "applications": {}}
    for label, case in outcome.items():
        application_id = case["application_id"]
        events = timeline.merged(application_id)  # the first, not timed: connections warm
        samples = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            again = timeline.merged(application_id)
            samples.append((time.perf_counter() - t0) * 1000)
        if len(again) != len(events):
            raise AssertionError(f"{label}'s timeline changed while timed: {len(events)} then {len(again)} events")
        results["applications"][label] = {
            "events": len(events), "services": len({e["service"] for e in events}),
            "by_service": {name: sum(1 for e in events if e["service"] == name) for name in SERVICES},
            "result": case.get("result", "recommended"), "timing": common.summary(samples),
        }
    # Where the time of the one nearest 100 events goes: the same five calls on a proxy kept open
    # (merged() opens one per timeline, as the command line does).
    label = min(results["applications"], key=lambda name: abs(results["applications"][name]["events"] - 100))
    results["headline"] = label
    results["open_proxy"] = open_proxy(outcome[label]["application_id"], args.runs)
    return results


def open_proxy(application_id: str, runs: int) -> dict:
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared import auth

    token = auth.mint("audit-bench", "auditor", "audit", ttl_seconds=600)
    samples = []
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, context_data={"auth_token": token},
                         timeout=30) as services:
        for run in range(runs + 1):
            t0 = time.perf_counter()
            for name in SERVICES:
                getattr(services, name).audit_history(application_id=application_id)
            if run:  # the first warms the reply queue
                samples.append((time.perf_counter() - t0) * 1000)
    return common.summary(samples)


def report(args, baseline: dict, results: dict) -> None:
    print()
    print(f"timeline benchmark: 1 instance of each of the {len(SERVICES)} services, {os.cpu_count()} CPUs, "
          f"vhost {settings.get().amqp_uri.rsplit('/', 1)[-1]}, databases {settings.get().db_prefix}_*; "
          f"demo played in {results['played_seconds']:.0f} s")
    print(common.line("bare nameko RPC round trip (baseline)", baseline))
    for label, r in results["applications"].items():
        print(common.line(f"merged() {label}: {r['events']} events, {r['services']} svc", r["timing"]))
    headline = results["headline"]
    print(common.line(f"5 audit_history of {headline}, open proxy", results["open_proxy"]))
    print()
    for label, r in results["applications"].items():
        counts = ", ".join(f"{name} {n}" for name, n in r["by_service"].items())
        verdict = "met" if r["timing"]["p99"] < TARGET_MS else "NOT met"
        print(f"{label} ({r['result'][:60]}): {counts}")
        print(f"   p50 {r['timing']['p50']:.0f} ms = {r['timing']['p50'] / baseline['p50']:.1f} bare round trips;"
              f" p99 {r['timing']['p99']:.0f} ms; target < {TARGET_MS:.0f} ms: {verdict}")
    r = results["applications"][headline]
    print(f"headline ({headline}, {r['events']} events): p50 {r['timing']['p50']:.0f} ms, p99 {r['timing']['p99']:.0f} ms"
          f" against < {TARGET_MS:.0f} ms; bare RPC p50 {baseline['p50']:.1f} ms, p99 {baseline['p99']:.1f} ms")


if __name__ == "__main__":
    main()
