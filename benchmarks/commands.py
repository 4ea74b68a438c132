"""What recording each command (shared.commands) costs: intake's commands as this tree runs them
beside another checkout's (the code before a change), in the same run, taking turns.

Starts one intake instance from each tree in turn (on the vhost and databases the environment
names, the same database for both), `--rounds` times each, and times over RPC:
- save_section, the hot path: before the commands table, a one-round-trip append outside a
  transaction;
- create_draft, which writes a read model (a transaction before, too);
- the bare nameko RPC round trip to a service that only answers, as the baseline.

Run: `git worktree add /tmp/before <commit>` (or `git archive <commit> | tar -x -C /tmp/before`),
then `python -m benchmarks.commands --before /tmp/before [--saves 200] [--rounds 4]`.
"""
from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from benchmarks import common  # first: isolated settings, the clock inside the submission window
from benchmarks.intake import interleaved
from innobase import supervisor
from shared import settings

BASELINE = "bare nameko RPC round trip"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, type=Path, help="the other checkout's root")
    parser.add_argument("--saves", type=int, default=200, help="calls of each kind per round and tree")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, each tree once per round")
    args = parser.parse_args()

    common.reset(["intake"])
    ping = common.start_ping_service()
    trees = {"before": args.before.resolve(), "after": common.ROOT}
    samples: dict[str, dict[str, list]] = {tree: {} for tree in trees}
    try:
        setup = None
        for _ in range(args.rounds):
            for tree, root in trees.items():
                process = start_intake(root)
                try:
                    supervisor.wait_healthy(["intake"], settings.get().amqp_uri, processes=[process])
                    setup = setup or prepared()
                    for label, values in measure(setup, args.saves).items():
                        samples[tree].setdefault(label, []).extend(values)
                finally:
                    supervisor.stop([process])
    finally:
        supervisor.stop([ping])
    report(args, samples)


def start_intake(root: Path) -> subprocess.Popen:
    """Intake as `make run` starts it, from `root`'s modules."""
    spec = supervisor.BY_NAME["intake"]
    environ = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.Popen(spec.command(), cwd=root, env=environ, start_new_session=True)


def prepared():
    from tests.support.applications import OverRpc, prepare, sections, token_for

    setup = prepare(OverRpc(timeout=60), "regional")
    return setup, token_for(setup.applicant), sections(setup, {}, [])["significance"]


def measure(prepared_setup, count: int) -> dict[str, list[float]]:
    from nameko.standalone.rpc import ClusterRpcProxy

    from tests.support.applications import create_draft

    setup, token, significance = prepared_setup
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, context_data={"auth_token": token},
                         timeout=60) as services:
        common.wait_for_ping(services)
        intake = services.intake
        drafts = [create_draft(intake, setup)["application_id"] for _ in range(20)]
        saves = iter(range(10 ** 9))
        timed = interleaved({
            BASELINE: lambda: services.bench_ping.ping(),
            "save_section (0.2 KB)": lambda: intake.save_section(
                application_id=drafts[next(saves) % len(drafts)], section="significance", content=significance),
            "create_draft": lambda: create_draft(intake, setup),
        }, count, rounds=2, warmup=20, raw=True)
    return timed


def report(args, samples: dict) -> None:
    print(f"intake's commands, {args.rounds} rounds, each tree in turn; before = {args.before}")
    for label in samples["after"]:
        for tree in ("before", "after"):
            print(common.line(f"{label} [{tree}]", common.summary(samples[tree][label])))


if __name__ == "__main__":
    main()
