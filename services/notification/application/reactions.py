"""What every integration event changes in notification: the party it registers, the
application's dossier it opens or moves, and the notifications it prepares for
whom it concerns; and the e-mails with a link that accounts asks for."""
from __future__ import annotations

from datetime import datetime

from shared.contracts import CONTRACTS, IntegrationEvent
from shared.eventstore import OutOfOrder
from services.notification import accounts_mail, domain, templates
from services.notification.application.telling import next_window_close
from services.notification.domain import (
    APPROVED, DRAFT, ENDED, EXPERT_REVIEW, FORWARDED, RECOMMENDED, RETURNED, SUBMITTED, WITHDRAWN, Dossier, Party,
)
from services.notification.mailer import mail_domain
from services.notification.recipients import registrant

SOURCES = ("intake", "endorsement", "formal_review", "expert_review")


class DossierNotYetKnown(OutOfOrder):
    """An event about an application this service has not heard of yet.

    Events of different sources are not ordered among themselves, so the
    application's first intake event may still be in flight on another
    instance: like any event waiting for its predecessor, it is retried at
    once for a moment, then with the consumer's backoff, then parked.
    """

    def __init__(self, event: IntegrationEvent, application_id):
        Exception.__init__(self, f"{event.source} {event.type} at position {event.position} waits for"
                                 f" intake's first event of application {application_id}")


class Reactions:
    """Mixed into `Notification`: `reactions` maps (source, type) to a method returning the
    aggregates it changed."""

    # Every event of every source followed: each may concern someone or change what is known.
    reactions = {(source, event_type): "react" for (source, event_type, _v) in CONTRACTS if source in SOURCES}
    reactions.update(accounts_mail.REACTIONS)

    def react(self, event: IntegrationEvent) -> list:
        """Update what is known of the parties and the application, then tell whom it concerns."""
        caused_by = {"source": event.source, "position": event.position}
        payload = event.payload
        party = self._register(event, caused_by)
        template = templates.template_for(event.type, payload)
        dossier = self._follow(event, caused_by, needed=template is not None)
        told = []
        if template is not None:
            window_close = templates.beijing(next_window_close(datetime.fromisoformat(event.occurred_at)))
            told = self._tell(template, event.type, payload, dossier, occasion=event.event_id,
                              source=event.source, caused_by=caused_by, known=party, schema=_schema(event),
                              window_close=window_close)
        return [aggregate for aggregate in (party, dossier) if aggregate is not None] + told

    def on_account_mail(self, event: IntegrationEvent) -> list:
        """Accounts asks for an e-mail with a link (confirm the address, accept an invitation, reset the password)."""
        return accounts_mail.prepare(event, self.mail_settings.portal_url, mail_domain(self.mail_settings.mail_from))

    def _register(self, event: IntegrationEvent, caused_by: dict) -> Party | None:
        recipient = registrant(event.type, event.payload)
        if recipient is None:
            return None
        name, emails = event.payload["name"], domain.mail_addresses(event.type, event.payload)
        party = self._get(domain.party_id(recipient))
        if party is None:
            return Party.register(recipient, name, emails, caused_by)
        party.register_again(name, emails, caused_by)
        return party

    def _follow(self, event: IntegrationEvent, caused_by: dict, needed: bool) -> Dossier | None:
        """The application's dossier, opened or changed by this event; None for events about no application."""
        p = event.payload
        application_id = p.get("application_id") or event.application_id
        if not application_id:
            return None
        dossier = self._get(domain.dossier_id(application_id))
        if dossier is None:
            if event.type in ("ApplicationDrafted", "ApplicationSubmitted"):
                return Dossier.open(
                    application_id=application_id, applicant_organization=p["applicant_organization"],
                    applicant_name=p.get("applicant_name"), name=p["name"], base_type=p["base_type"],
                    organizing_unit_id=p["organizing_unit_id"], recommending_unit_id=p["recommending_unit_id"],
                    status=DRAFT if event.type == "ApplicationDrafted" else SUBMITTED, caused_by=caused_by,
                )
            if needed or event.type in DOSSIER_CHANGES:
                raise DossierNotYetKnown(event, application_id)
            return None
        change = DOSSIER_CHANGES.get(event.type)
        if change is not None:
            change(dossier, p, caused_by)
        return dossier


# --- what each event changes in the dossier -----------------------------------------

def _submitted(dossier: Dossier, p: dict, caused_by: dict) -> None:
    dossier.describe(caused_by, name=p["name"], applicant_name=p["applicant_name"],
                     organizing_unit_id=p["organizing_unit_id"], recommending_unit_id=p["recommending_unit_id"])
    if p["submission_kind"] in ("initial", "returned"):  # supplements and revisions answer later stages
        dossier.move(SUBMITTED, caused_by)


def _recommended(dossier: Dossier, p: dict, caused_by: dict) -> None:
    dossier.describe(caused_by, name=p["name"], applicant_name=p["applicant_name"],
                     organizing_unit_id=p["organizing_unit_id"], recommending_unit_id=p["recommending_unit_id"])
    dossier.move(RECOMMENDED, caused_by)


def _moves_to(status: str):
    return lambda dossier, p, caused_by: dossier.move(status, caused_by)


def _numbered_and(status: str | None):
    def change(dossier: Dossier, p: dict, caused_by: dict) -> None:
        dossier.assign_number(p.get("number"), caused_by)
        if status:
            dossier.move(status, caused_by)
    return change


DOSSIER_CHANGES = {
    "ApplicationDrafted": lambda d, p, c: d.describe(c, name=p["name"], organizing_unit_id=p["organizing_unit_id"],
                                                     recommending_unit_id=p["recommending_unit_id"]),
    "ApplicationSubmitted": _submitted,
    "ApplicationWithdrawn": _moves_to(WITHDRAWN),
    "ApplicationReturned": _moves_to(RETURNED),
    "ApplicationForwarded": _moves_to(FORWARDED),
    "ApplicationRecommended": _recommended,
    "RecommendationDeclined": _moves_to(ENDED),
    "ApplicationReturnedToOrganizingUnit": _moves_to(SUBMITTED),
    "RecommendationWithdrawn": _moves_to(FORWARDED),
    "ApplicationAccepted": _numbered_and(None),
    "FormalReviewPassed": _numbered_and(EXPERT_REVIEW),
    "ApplicationFoundInadmissible": _numbered_and(ENDED),
    "ExpertAssigned": lambda d, p, c: d.assign_expert(p["expert_id"], p["is_chair"], c),
    "ExpertDeclined": lambda d, p, c: d.release_expert(p["expert_id"], c),
    "ApplicationApproved": _numbered_and(APPROVED),
    "ApplicationDeclined": _numbered_and(ENDED),
}


def _schema(event: IntegrationEvent):
    return CONTRACTS.get((event.source, event.type, event.version))
