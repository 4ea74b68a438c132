"""Who hears of an event: the audiences its template names, resolved to the parties
of the application concerned, each only once."""
from __future__ import annotations

from services.notification.domain import FORWARDED, RECOMMENDED, SAC, SUBMITTED, Dossier, Recipient
from services.notification.templates import Template

UNIT_AUDIENCES = {"organizing": "organizing_unit", "recommending": "recommending_unit"}

# How far an application must have gone before a party is involved in it (for
# templates that speak only to those involved, such as a withdrawal).
INVOLVED_FROM = {"organizing_unit": SUBMITTED, "recommending_unit": FORWARDED, "officer": RECOMMENDED}


def registrant(event_type: str, payload: dict) -> Recipient | None:
    """The party a registration event registers."""
    if event_type == "ApplicantRegistered":
        return Recipient("applicant", payload["unit_id"])
    if event_type == "UnitRegistered":
        return Recipient(UNIT_AUDIENCES[payload["role"]], payload["unit_id"])
    if event_type == "ExpertRegistered":
        return Recipient("expert", payload["expert_id"])
    return None


def resolve(audience: str, event_type: str, payload: dict, dossier: Dossier | None) -> list[Recipient]:
    if audience == "registrant":
        party = registrant(event_type, payload)
        return [party] if party else []
    if audience == "officer":
        return [Recipient("officer", SAC)]
    if audience == "expert":
        return [Recipient("expert", payload["expert_id"])]
    if dossier is None:
        return []
    if audience == "applicant":
        return [Recipient("applicant", dossier.applicant_organization)]
    if audience == "organizing_unit":
        return [Recipient("organizing_unit", payload.get("organizing_unit_id") or dossier.organizing_unit_id)]
    if audience == "recommending_unit":
        return [Recipient("recommending_unit", payload.get("recommending_unit_id") or dossier.recommending_unit_id)]
    if audience == "experts":
        return [Recipient("expert", expert_id) for expert_id in sorted(dossier.experts)]
    raise ValueError(f"unknown audience {audience!r}")


def involved(audience: str, dossier: Dossier | None) -> bool:
    needed = INVOLVED_FROM.get(audience)
    return needed is None or (dossier is not None and dossier.reached(needed))


def recipients(template: Template, event_type: str, payload: dict,
               dossier: Dossier | None) -> list[tuple[str, Recipient]]:
    """(audience, recipient) pairs, in the template's order, each recipient once."""
    seen: set[Recipient] = set()
    chosen = []
    for audience in template.audiences:
        if template.involved_only and not involved(audience, dossier):
            continue
        for recipient in resolve(audience, event_type, payload, dossier):
            if recipient not in seen:
                seen.add(recipient)
                chosen.append((audience, recipient))
    return chosen
