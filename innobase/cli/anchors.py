"""`innobase anchors keygen`: the key that signs every service's anchors, kept in a file."""
from __future__ import annotations

import sys


def _keygen(args) -> int:
    from shared import anchors, settings

    config = settings.get()
    try:
        key, public = anchors.generate_key(force=args.force)
    except FileExistsError:
        if args.if_missing:
            return 0
        print(f"an anchor key is already at {config.anchor_key_file}; anchors it signed verify only with it"
              " (--force replaces it)", file=sys.stderr)
        return 1
    print(f"anchor signing key: {key} (keep it off the database servers)\npublic key for verifiers: {public}\n"
          f"anchors are written to: {config.anchor_dir}")
    return 0


def add_parser(commands) -> None:
    group = commands.add_parser("anchors", help="the key that signs the audit anchors")
    actions = group.add_subparsers(dest="action", required=True)
    keygen = actions.add_parser("keygen", help="create the Ed25519 anchor key (INNOBASE_ANCHOR_KEY) and its public key")
    keygen.add_argument("--force", action="store_true", help="replace an existing key")
    keygen.add_argument("--if-missing", action="store_true", help="do nothing (exit 0) when a key exists")
    keygen.set_defaults(run=_keygen)
