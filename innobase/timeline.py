"""One application's history across every service, merged, each event linked
to the upstream event that caused it; and its state in every service at a moment.

Read through each service's auditor RPCs (a token with role `auditor`, minted
with the deployment's secret), never from the services' tables.
"""
from __future__ import annotations

from nameko.standalone.rpc import ClusterRpcProxy

from innobase import remote_errors  # noqa: F401  (typed errors come back as their classes)
from shared import audit, auth, settings


def _auditor_proxy():
    token = auth.mint("audit-cli", "auditor", "audit", ttl_seconds=600)
    return ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, context_data={"auth_token": token}, timeout=30)


def merged(application_id: str) -> list[dict]:
    from innobase.supervisor import SERVICES

    histories = []
    with _auditor_proxy() as services:
        for spec in SERVICES:
            histories.append(getattr(services, spec.name).audit_history(application_id=application_id))
    return audit.merge_histories(histories)


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
