"""One application's history across every service, merged, each event linked
to the upstream event that caused it; and its state in every service at a moment.

Read through each service's auditor RPCs (a token with role `auditor`, minted
with the deployment's secret), never from the services' tables.
"""
from __future__ import annotations

import heapq

from nameko.standalone.rpc import ClusterRpcProxy

from innobase import remote_errors  # noqa: F401  (typed errors come back as their classes)
from shared import auth, settings


def _auditor_proxy():
    token = auth.mint("audit-cli", "auditor", "audit", ttl_seconds=600)
    return ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, context_data={"auth_token": token}, timeout=30)


def merged(application_id: str) -> list[dict]:
    from innobase.supervisor import SERVICES

    histories = []
    with _auditor_proxy() as services:
        for spec in SERVICES:
            histories.append(getattr(services, spec.name).audit_history(application_id=application_id))
    return link(histories)


def link(histories: list[list[dict]]) -> list[dict]:
    """Merge the services' histories by time, each kept in its own log order (the order
    in which its events happened, even within one transaction), and attach each event's cause."""
    events = list(heapq.merge(*histories, key=lambda e: e["occurred_at"]))
    # an upstream position is the position of the *source* event in its service's log
    by_position = {(e["service"], e["position"]): e for e in events}
    for event in events:
        cause = event.get("caused_by")
        upstream = by_position.get((cause["source"], cause["position"])) if cause else None
        event["cause"] = (
            {"service": upstream["service"], "position": upstream["position"], "type": upstream["type"]}
            if upstream else (cause and {"service": cause["source"], "position": cause["position"], "type": None})
        )
    return events


def render(events: list[dict]) -> str:
    lines = []
    for event in events:
        actor = event.get("actor") or {}
        who = f"{actor.get('role')}:{actor.get('party_id')}" if actor else "system"
        cause = event.get("cause")
        because = f"  ← {cause['service']}#{cause['position']} {cause['type'] or ''}".rstrip() if cause else ""
        lines.append(f"{event['occurred_at'][:19]}  {event['service']:<13} #{event['position']:<6} "
                     f"{event['type']:<28} {who}{because}")
    return "\n".join(lines)


def state_at(application_id: str, at: str) -> dict:
    from innobase.supervisor import SERVICES

    with _auditor_proxy() as services:
        return {spec.name: getattr(services, spec.name).audit_state_at(application_id=application_id, at=at)
                for spec in SERVICES}
