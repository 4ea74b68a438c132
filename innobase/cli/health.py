"""`innobase health`: ask every service for its health."""
from __future__ import annotations

import json


def _health(args) -> int:
    from nameko.standalone.rpc import ClusterRpcProxy

    from innobase.supervisor import RUNNING
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


def add_parser(commands) -> None:
    health = commands.add_parser("health", help="ask every service for its health")
    health.set_defaults(run=_health)
