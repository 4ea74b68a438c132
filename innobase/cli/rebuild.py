"""`innobase rebuild SERVICE`: drop and rebuild a service's read models from its log."""
from __future__ import annotations

import sys

from innobase.cli._common import progress_bar, service_application, service_names


def _rebuild(args) -> int:
    app = service_application(args.service)
    count = app.rebuild_read_models(progress_bar(args.service))
    sys.stderr.write("\n")
    print(f"rebuilt {', '.join(app.read_model_tables) or 'the audit index'} of {args.service} from {count} events")
    return 0


def add_parser(commands) -> None:
    rebuild = commands.add_parser("rebuild", help="drop and rebuild a service's read models from its log")
    rebuild.add_argument("service", choices=service_names())
    rebuild.set_defaults(run=_rebuild)
