"""`innobase token mint`: signed, expiring tokens for development and ops."""
from __future__ import annotations

import sys


def _mint(args) -> int:
    from shared import auth, clock, settings

    config = settings.get()
    # The token's times come from the clock the services read (a demo or test clock runs ahead).
    clock.install_from_settings(config.clock_start, config.clock_file)
    if args.ttl > config.token_max_hours * 3600:
        print(f"--ttl {args.ttl} is longer than a token may live (INNOBASE_TOKEN_MAX_HOURS="
              f"{config.token_max_hours:g}): the services would refuse it", file=sys.stderr)
        return 2
    print(auth.mint(args.party, args.role, args.org, ttl_seconds=args.ttl))
    return 0


def add_parser(commands) -> None:
    from shared.auth import ROLES

    token = commands.add_parser("token", help="signed tokens for development and ops")
    token_actions = token.add_subparsers(dest="action", required=True)
    mint = token_actions.add_parser("mint", help="print a signed, expiring token")
    mint.add_argument("--party", required=True, help="party id (the caller)")
    mint.add_argument("--role", required=True, choices=ROLES)
    mint.add_argument("--org", required=True, help="the caller's organization id")
    mint.add_argument("--ttl", type=int, default=3600,
                      help="seconds until it expires (default 3600; at most INNOBASE_TOKEN_MAX_HOURS)")
    mint.set_defaults(run=_mint)
