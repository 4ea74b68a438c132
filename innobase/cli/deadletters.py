"""`innobase deadletters list|replay SERVICE`: messages a service parked after failing."""
from __future__ import annotations

import json


def _deadletters(args) -> int:
    from shared.deadletters import list_dead_letters, replay_dead_letters

    if args.action == "list":
        letters = list_dead_letters(args.service)
        if args.json:
            print(json.dumps(letters, ensure_ascii=False, indent=2))
        else:
            print(f"{len(letters)} dead letter(s) in {args.service}.dead")
            for letter in letters:
                origin = " (an RPC request, never replayed)" if letter["origin"] == "rpc" else ""
                print(f"- {letter['event_id']} {letter['routing_key']} position={letter['position']}"
                      f" attempts={letter['attempts']} failed_at={letter['failed_at']}{origin}")
                print(f"    {letter['error_type']}: {letter['error']}")
        return 0
    replayed = replay_dead_letters(args.service, set(args.event_id) if args.event_id else None)
    print(f"replayed {len(replayed)} message(s) to {args.service}.events")
    for letter in replayed:
        print(f"- {letter['event_id']} {letter['routing_key']} position={letter['position']}")
    return 0


def add_parser(commands) -> None:
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
