"""Intake's own costs: saving a section and submitting a plan, latency and throughput, beside
the bare nameko RPC round trip measured in the same run; and the time to print a plan.

Starts one intake instance as `make run` does (on the vhost and databases the environment
names), registers an applicant unit and its units, then over RPC:
- save_section, one client, one call at a time (latency), in rounds taking turns with the bare
  round trip to a service that only answers, and N clients at once (throughput);
- submit of complete plans, the same two ways;
- plan_pdf of submitted plans: the first rendering, and a repeat (kept by the service).
Target: a save costs no more than twice a bare round trip (p50).

Run: `python -m benchmarks.intake [--saves 400] [--clients 4] [--seconds 8] [--submits 60]`.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

from benchmarks import common  # first: isolated settings, the clock inside the submission window
from innobase import supervisor
from shared import settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=400, help="sequential save_section calls measured")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients for throughput")
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each throughput run")
    parser.add_argument("--submits", type=int, default=60, help="sequential submissions measured")
    parser.add_argument("--pdfs", type=int, default=5, help="plans printed")
    args = parser.parse_args()

    common.reset(["intake"])
    ping = common.start_ping_service()
    process = supervisor.start(supervisor.BY_NAME["intake"])
    try:
        supervisor.wait_healthy(["intake"], settings.get().amqp_uri, processes=[process])
        results = run(args)
    finally:
        supervisor.stop([process, ping])
    report(args, results)


def run(args) -> dict:
    from nameko.standalone.rpc import ClusterRpcProxy

    from services.intake.application import Intake
    from tests.support.applications import (
        Direct,
        OverRpc,
        complete_draft,
        create_draft,
        prepare,
        sections,
        token_for,
    )

    via = OverRpc(timeout=60)
    setup = prepare(via, "regional")
    config = {"AMQP_URI": settings.get().amqp_uri}
    token = token_for(setup.applicant)
    content = sections(setup, {}, [])
    significance, goals = content["significance"], content["goals"]
    results: dict = {}

    def proxy():
        return ClusterRpcProxy(config, context_data={"auth_token": token}, timeout=60)

    with proxy() as services:
        intake = services.intake
        drafts = [create_draft(intake, setup)["application_id"] for _ in range(20)]
        saves = iter(range(10 ** 9))

        def save(section, value):
            return lambda: intake.save_section(application_id=drafts[next(saves) % len(drafts)], section=section,
                                               content=value)

        common.wait_for_ping(services)
        results.update(interleaved({
            BASELINE: lambda: services.bench_ping.ping(),
            "health() of intake": lambda: intake.health(),
            SAVE_TEXT: save("significance", significance),
            SAVE_GOALS: save("goals", goals),
        }, args.saves))

    # throughput: every client writes its own drafts, as separate applicants' portals do
    def saving_client(stop, samples):
        with proxy() as services:
            own = [create_draft(services.intake, setup)["application_id"] for _ in range(5)]
            i = 0
            while not stop.is_set():
                started = time.perf_counter()
                services.intake.save_section(application_id=own[i % len(own)], section="significance",
                                             content=significance)
                samples.append((time.perf_counter() - started) * 1000)
                i += 1

    results["save_section throughput"] = concurrently(saving_client, args.clients, args.seconds)

    # complete plans to submit, drafted straight in the log (as an intake worker would)
    worker = Direct(Intake())
    needed = args.submits + 20 + args.clients * 60
    ready = [complete_draft(worker, setup, one_file=True)["application_id"] for _ in range(needed)]
    with proxy() as services:
        for application_id in ready[:20]:
            services.intake.submit(application_id=application_id)
        queue = iter(ready[20:20 + args.submits])
        results["submit"] = timed(lambda: services.intake.submit(application_id=next(queue)), args.submits,
                                   warmup=0)
    remaining = ready[20 + args.submits:]
    lock = threading.Lock()

    def submitting_client(stop, samples):
        with proxy() as services:
            while not stop.is_set():
                with lock:
                    if not remaining:
                        return
                    application_id = remaining.pop()
                started = time.perf_counter()
                services.intake.submit(application_id=application_id)
                samples.append((time.perf_counter() - started) * 1000)

    results["submit throughput"] = concurrently(submitting_client, args.clients, args.seconds)

    with proxy() as services:
        printed = ready[:args.pdfs]
        results["plan_pdf first rendering"] = timed_each(
            [lambda a=a: services.intake.plan_pdf(application_id=a) for a in printed])
        results["plan_pdf again (kept)"] = timed_each(
            [lambda a=a: services.intake.plan_pdf(application_id=a) for a in printed])
        pages = services.intake.plan_pdf(application_id=printed[0])
    results["pdf bytes"] = len(pages["content"]) * 3 // 4
    return results


BASELINE = "bare nameko RPC round trip (baseline)"
SAVE_TEXT = "save_section significance (text, 0.2 KB)"
SAVE_GOALS = "save_section goals (tasks, 1 KB)"


def interleaved(calls: dict, count: int, rounds: int = 10, warmup: int = 20, raw: bool = False) -> dict:
    """Each call timed `count` times in `rounds` rounds that take turns, so that what the machine
    does meanwhile (a checkpoint, another process) falls on the baseline and the others alike.
    Summaries by label, or (`raw`) the samples in milliseconds."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    samples: dict[str, list[float]] = {label: [] for label in calls}
    per_round = max(1, count // rounds)
    for _ in range(rounds):
        for label, call in calls.items():
            for _ in range(per_round):
                started = time.perf_counter()
                call()
                samples[label].append((time.perf_counter() - started) * 1000)
    return samples if raw else {label: common.summary(values) for label, values in samples.items()}


def timed(call, count: int, warmup: int = 10) -> dict:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return common.summary(samples)


def timed_each(calls) -> dict:
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return common.summary(samples)


def concurrently(client, clients: int, seconds: float) -> dict:
    """Latency and calls per second of `clients` running at once; a client may stop early (it ran
    out of work), so the rate is over the time from the start to the last call measured."""
    stop = threading.Event()
    samples: list[list[float]] = [[] for _ in range(clients)]
    finished: list[float] = []
    threads = [threading.Thread(target=client, args=(stop, samples[i])) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every client connected and warmed up
    counts = [len(s) for s in samples]
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline and any(thread.is_alive() for thread in threads):
        before = sum(len(s) for s in samples)
        time.sleep(0.01)
        if sum(len(s) for s in samples) != before:
            finished.append(time.perf_counter())
    done = [len(s) for s in samples]
    stop.set()
    for thread in threads:
        thread.join(60)
    measured = [x for s, a, b in zip(samples, counts, done) for x in s[a:b]]
    result = common.summary(measured) if measured else {"n": 0, "p50": 0, "p90": 0, "p99": 0, "max": 0, "mean": 0}
    result["per_second"] = len(measured) / ((finished[-1] if finished else deadline) - started)
    result["clients"] = clients
    return result


def report(args, results: dict) -> None:
    baseline = results[BASELINE]
    print()
    print(f"intake benchmark: 1 intake instance, {os.cpu_count()} CPUs, "
          f"vhost {settings.get().amqp_uri.rsplit('/', 1)[-1]}, databases {settings.get().db_prefix}_*")
    print(common.line(BASELINE, baseline) + "  (timed in turns with the next three)")
    for label in ("health() of intake", SAVE_TEXT, SAVE_GOALS, "submit"):
        print(common.line(label, results[label]))
    for label in ("save_section throughput", "submit throughput"):
        r = results[label]
        print(common.line(f"{label} ({r['clients']} clients)", r) + f"  {r['per_second']:.0f}/s")
    for label in ("plan_pdf first rendering", "plan_pdf again (kept)"):
        print(common.line(label, results[label]))
    save = results[SAVE_TEXT]["p50"]
    print(f"PDF: {results['plan_pdf first rendering']['p50'] / 1000:.2f} s per plan (p50, first rendering), "
          f"{results['pdf bytes'] / 1024:.0f} KB")
    ratio = save / baseline["p50"]
    verdict = "met" if ratio <= 2 else "NOT met"
    goals_ratio = results[SAVE_GOALS]["p50"] / baseline["p50"]
    print(f"ratio p50 save_section (text) / p50 bare RPC: {ratio:.2f} (target <= 2: {verdict});"
          f" goals: {goals_ratio:.2f} ({'met' if goals_ratio <= 2 else 'NOT met'}); "
          f"submit / bare RPC: {results['submit']['p50'] / baseline['p50']:.2f}")


if __name__ == "__main__":
    main()
