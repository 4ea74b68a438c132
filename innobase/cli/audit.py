"""`innobase audit timeline|export|state|verify|replay`: the auditors' tools."""
from __future__ import annotations

import json
import sys
import time

from innobase.cli._common import progress_bar, service_application, service_names


def _audit(args) -> int:
    from innobase import timeline

    if args.action == "verify":
        return _verify(args)
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


def _verify(args) -> int:
    from innobase.supervisor import SERVICES
    from shared import audit

    failed = 0
    for spec in SERVICES:
        if args.service and spec.name != args.service:
            continue
        app_cls = spec.application_class()
        verdict = audit.verify(spec.name, events_table=f"{app_cls.name.lower()}_events")
        anchored = (f"signed anchors up to {verdict.anchored_position}" if verdict.anchored_position
                    else "no signed anchor yet")
        if verdict.ok:
            print(f"{spec.name}: ok — {verdict.events} events, head {verdict.head_position}"
                  f" {verdict.head_hash[:16]}…, {anchored}")
            continue
        failed += 1
        where = f" at position {verdict.first_bad_position}" if verdict.first_bad_position is not None else ""
        event = (f" (aggregate {verdict.first_bad_aggregate}, {verdict.first_bad_type})"
                 if verdict.first_bad_aggregate else "")
        print(f"{spec.name}: TAMPERED{where}{event}: {verdict.problem}")
    return 1 if failed else 0


def _replay(args) -> int:
    app = service_application(args.service)
    started = time.perf_counter()
    replayed = app.replay_to_state(progress_bar(args.service))
    seconds = time.perf_counter() - started
    sys.stderr.write("\n")
    print(f"replayed {replayed['events']} events of {args.service} in {seconds:.2f} s"
          f" ({replayed['events'] / max(seconds, 1e-9):,.0f} events/s): "
          + (", ".join(f"{n} {kind}" for kind, n in replayed["by_type"].items()) or "no aggregates"))
    return 0


def add_parser(commands) -> None:
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
    replay.add_argument("service", choices=service_names())
    replay.set_defaults(run=_replay)
