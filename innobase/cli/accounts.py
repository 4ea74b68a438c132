"""`innobase accounts create-admin`: the first SAC administrator, with a password typed twice
at a prompt (never a default, never an argument that shell history would keep)."""
from __future__ import annotations

import getpass
import sys

OPS_PARTY = "ops-cli"


def add_parser(subparsers) -> None:
    accounts = subparsers.add_parser("accounts", help="accounts of the people who sign in")
    actions = accounts.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create-admin", help="create an SAC administrator (prompts for e-mail, name, password)")
    create.set_defaults(run=create_admin)


def create_admin(args, ask=input, ask_secret=getpass.getpass, call=None) -> int:
    email = ask("E-mail: ").strip()
    name = ask("Name: ").strip()
    if not email or not name:
        print("innobase: an e-mail address and a name are required", file=sys.stderr)
        return 1
    password = ask_secret("Password: ")
    if ask_secret("Password again: ") != password:
        print("innobase: the two passwords differ; nothing was created", file=sys.stderr)
        return 1
    from nameko.exceptions import RemoteError

    from shared.errors import InnobaseError

    try:
        view = (call or _create_admin)(email=email, name=name, password=password)
    except InnobaseError as error:
        print(f"innobase: {error.message} ({error.code}: {error.details.get('rule', '')})", file=sys.stderr)
        return 1
    except RemoteError as error:  # a typed error of accounts this process has not imported
        print(f"innobase: {error.exc_type}: {error.value}", file=sys.stderr)
        return 1
    print(f"created SAC administrator {view['email']} (account {view['account_id']})")
    return 0


def _create_admin(**arguments) -> dict:
    from innobase import calls
    from shared import auth

    token = auth.mint(OPS_PARTY, "ops", "ops", ttl_seconds=300)
    return calls.call(token, "accounts", "create_admin", timeout=30, **arguments)
