"""`innobase`: the command line for developers, ops and auditors.

  innobase token mint --party P --role R --org O [--ttl SECONDS]
  innobase deadletters list SERVICE [--json]
  innobase deadletters replay SERVICE [--event-id ID ...]
  innobase health
  innobase audit timeline APP          merged history of one application across all services
  innobase audit state APP --at TIME   every service's part of it as of TIME
  innobase audit verify [SERVICE]      hash chains against stored hashes and anchors
  innobase audit export APP            the timeline as JSON Lines
  innobase audit replay SERVICE        replay a service's whole log into memory, with its rate
  innobase rebuild SERVICE             drop and rebuild a service's read models from its log
  innobase demo                        sample applications through all six stages of the running system
"""
from __future__ import annotations

import argparse
import json
import sys


def _token(args) -> int:
    from shared import auth

    print(auth.mint(args.party, args.role, args.org, ttl_seconds=args.ttl))
    return 0


def _deadletters(args) -> int:
    from shared.deadletters import list_dead_letters, replay_dead_letters

    if args.action == "list":
        letters = list_dead_letters(args.service)
        if args.json:
            print(json.dumps(letters, ensure_ascii=False, indent=2))
        else:
            print(f"{len(letters)} dead letter(s) in {args.service}.dead")
            for letter in letters:
                print(f"- {letter['event_id']} {letter['routing_key']} position={letter['position']}"
                      f" attempts={letter['attempts']} failed_at={letter['failed_at']}")
                print(f"    {letter['error_type']}: {letter['error']}")
        return 0
    replayed = replay_dead_letters(args.service, set(args.event_id) if args.event_id else None)
    print(f"replayed {len(replayed)} message(s) to {args.service}.events")
    for letter in replayed:
        print(f"- {letter['event_id']} {letter['routing_key']} position={letter['position']}")
    return 0


def _health(args) -> int:
    from nameko.standalone.rpc import ClusterRpcProxy

    from deploy.supervisor import RUNNING
    from shared import settings

    failed = 0
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=5) as cluster:
        for spec in RUNNING:
            try:
                print(json.dumps(getattr(cluster, spec.name).health()))
            except Exception as exc:
                failed += 1
                print(f"{spec.name}: no answer ({type(exc).__name__})")
    return 1 if failed else 0


def _audit(args) -> int:
    from shared import timeline

    if args.action == "verify":
        from deploy.supervisor import SERVICES

        from shared import audit

        failed = 0
        for spec in SERVICES:
            if args.service and spec.name != args.service:
                continue
            app_cls = spec.application_class()
            verdict = audit.verify(spec.name, events_table=f"{app_cls.name.lower()}_events")
            if verdict.ok:
                print(f"{spec.name}: ok — {verdict.events} events, head {verdict.head_position} {verdict.head_hash[:16]}…")
            else:
                failed += 1
                print(f"{spec.name}: TAMPERED at position {verdict.first_bad_position}: {verdict.problem}")
        return 1 if failed else 0
    if args.action == "state":
        print(json.dumps(timeline.state_at(args.application, args.at), ensure_ascii=False, indent=2))
        return 0
    events = timeline.merged(args.application)
    if args.action == "export":
        for event in events:
            print(json.dumps(event, ensure_ascii=False))
        return 0
    print(timeline.render(events))
    return 0


def _progress_bar(label: str, width: int = 40):
    def progress(done: int, total: int) -> None:
        filled = width if not total else int(width * done / total)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()

    return progress


def _service_application(name: str):
    from deploy.supervisor import BY_NAME

    return BY_NAME[name].application_class()()


def _rebuild(args) -> int:
    app = _service_application(args.service)
    count = app.rebuild_read_models(_progress_bar(args.service))
    sys.stderr.write("\n")
    print(f"rebuilt {', '.join(app.read_model_tables) or 'the audit index'} of {args.service} from {count} events")
    return 0


def _replay(args) -> int:
    import time

    app = _service_application(args.service)
    started = time.perf_counter()
    replayed = app.replay_to_state(_progress_bar(args.service))
    seconds = time.perf_counter() - started
    sys.stderr.write("\n")
    print(f"replayed {replayed['events']} events of {args.service} in {seconds:.2f} s"
          f" ({replayed['events'] / max(seconds, 1e-9):,.0f} events/s): "
          + (", ".join(f"{n} {kind}" for kind, n in replayed["by_type"].items()) or "no aggregates"))
    return 0


def parser() -> argparse.ArgumentParser:
    from deploy.supervisor import SERVICES
    from shared.auth import ROLES

    services = [spec.name for spec in SERVICES]

    top = argparse.ArgumentParser(prog="innobase", description="Innovation base services: ops and audit tools")
    commands = top.add_subparsers(dest="command", required=True)

    token = commands.add_parser("token", help="signed tokens for development and ops")
    token_actions = token.add_subparsers(dest="action", required=True)
    mint = token_actions.add_parser("mint", help="print a signed, expiring token")
    mint.add_argument("--party", required=True, help="party id (the caller)")
    mint.add_argument("--role", required=True, choices=ROLES)
    mint.add_argument("--org", required=True, help="the caller's organization id")
    mint.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    mint.set_defaults(run=_token)

    dead = commands.add_parser("deadletters", help="messages a service parked after failing")
    dead_actions = dead.add_subparsers(dest="action", required=True)
    listing = dead_actions.add_parser("list")
    listing.add_argument("service")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_deadletters)
    replay = dead_actions.add_parser("replay")
    replay.add_argument("service")
    replay.add_argument("--event-id", action="append", help="only this event (repeatable); default all")
    replay.set_defaults(run=_deadletters)

    health = commands.add_parser("health", help="ask every service for its health")
    health.set_defaults(run=_health)

    audit = commands.add_parser("audit", help="auditors' tools")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    for name, text in (("timeline", "merged history of one application"), ("export", "the timeline as JSON Lines")):
        command = audit_actions.add_parser(name, help=text)
        command.add_argument("application", help="application id")
        command.set_defaults(run=_audit)
    state = audit_actions.add_parser("state", help="state of every service's part of an application at a moment")
    state.add_argument("application")
    state.add_argument("--at", required=True, help="ISO 8601 instant with offset, e.g. 2026-06-01T10:00:00+08:00")
    state.set_defaults(run=_audit)
    verify = audit_actions.add_parser("verify", help="prove each service's log untampered")
    verify.add_argument("service", nargs="?")
    verify.set_defaults(run=_audit)
    replay = audit_actions.add_parser("replay", help="replay a service's whole log into memory: every event decodes and applies")
    replay.add_argument("service", choices=services)
    replay.set_defaults(run=_replay)

    demo = commands.add_parser("demo", help="drive sample applications through all six stages (make run first)")
    demo.set_defaults(run=lambda args: __import__("deploy.demo", fromlist=["main"]).main())

    rebuild = commands.add_parser("rebuild", help="drop and rebuild a service's read models from its log")
    rebuild.add_argument("service", choices=services)
    rebuild.set_defaults(run=_rebuild)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
