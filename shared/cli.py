"""`innobase`: the command line for developers, ops and auditors.

  innobase token mint --party P --role R --org O [--ttl SECONDS]
  innobase deadletters list SERVICE [--json]
  innobase deadletters replay SERVICE [--event-id ID ...]
  innobase health
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

    from deploy.supervisor import SERVICES
    from shared import settings

    failed = 0
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=5) as cluster:
        for spec in SERVICES:
            try:
                print(json.dumps(getattr(cluster, spec.name).health()))
            except Exception as exc:
                failed += 1
                print(f"{spec.name}: no answer ({type(exc).__name__})")
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    from shared.auth import ROLES

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
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
