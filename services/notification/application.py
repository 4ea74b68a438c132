"""Notification's event-sourced application: it hears every integration event, keeps
its own read model of parties and applications, tells each party concerned in
its inbox and by e-mail, reminds of the submission window, and sends the e-mails.
"""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from shared import clock
from shared.auth import Caller
from shared.contracts import CONTRACTS, IntegrationEvent
from shared.errors import ApplicationNotFound, ConcurrencyConflict
from shared.eventstore import OutOfOrder, ServiceApplication, jsonable
from services.notification import accounts_mail, domain, settings, templates
from services.notification.domain import (
    APPROVED, DRAFT, EMAIL, ENDED, EXPERT_REVIEW, FORWARDED, INBOX, RECOMMENDED, RETURNED,
    SUBMITTED, WITHDRAWN, Dossier, Party, Recipient,
)
from services.notification.errors import NotificationNotFound
from services.notification.mailer import MailRefused, mail_domain
from services.notification.recipients import recipients, registrant

SOURCES = ("intake", "endorsement", "formal_review", "expert_review")
DEFAULT_NAMES = {"applicant": "申报单位", "organizing_unit": "申报组织单位", "recommending_unit": "推荐单位",
                 "officer": "国家标准委", "expert": "专家"}
AUDITORS = ("auditor", "officer")
MAIL_BATCH = 50


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


class Notification(ServiceApplication):
    """Notification (通知): the parties, the dossiers and every notification told, in one log."""

    name = "Notification"
    service = "notification"
    read_model_tables = ("notifications", "parties", "dossiers")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS notifications (
        notification_id uuid PRIMARY KEY,
        occasion text NOT NULL,
        source text,
        event_type text NOT NULL,
        application_id uuid,
        audience text NOT NULL,
        owner text NOT NULL,
        channel text NOT NULL,
        recipients jsonb NOT NULL,
        subject text NOT NULL,
        body_text text NOT NULL,
        body_html text NOT NULL,
        message_id text,
        state text NOT NULL,
        attempts int NOT NULL,
        next_attempt_at timestamptz,
        last_error text,
        prepared_at timestamptz NOT NULL,
        delivered_at timestamptz,
        read_at timestamptz,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS notifications_inbox ON notifications (audience, owner, prepared_at)
        WHERE channel = 'inbox';
    CREATE INDEX IF NOT EXISTS notifications_mail_due ON notifications (next_attempt_at)
        WHERE channel = 'email' AND state = 'pending';
    CREATE INDEX IF NOT EXISTS notifications_by_application ON notifications (application_id);
    CREATE TABLE IF NOT EXISTS parties (
        party_id uuid PRIMARY KEY,
        audience text NOT NULL,
        owner text NOT NULL,
        name text NOT NULL,
        emails jsonb NOT NULL,
        position bigint NOT NULL,
        UNIQUE (audience, owner)
    );
    CREATE TABLE IF NOT EXISTS dossiers (
        dossier_id uuid PRIMARY KEY,
        application_id uuid NOT NULL UNIQUE,
        applicant_organization text NOT NULL,
        name text NOT NULL,
        number text,
        status text NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS dossiers_by_status ON dossiers (status);
    """
    # Every event of every source followed: each may concern someone or change what is known.
    reactions = {(source, event_type): "react" for (source, event_type, _v) in CONTRACTS if source in SOURCES}
    reactions.update(accounts_mail.REACTIONS)
    projections = {
        "Registered": "_project_party", "Updated": "_project_party",
        "Opened": "_project_dossier_opened", "Described": "_project_dossier_described",
        "Moved": "_project_dossier_moved", "Numbered": "_project_dossier_numbered",
        "Prepared": "_project_prepared", "Delivered": "_project_delivered",
        "DeliveryFailed": "_project_delivery_failed", "Read": "_project_read",
    }

    def __init__(self, database_url: str | None = None, mail_settings: settings.MailSettings | None = None):
        self.mail_settings = mail_settings or settings.get()
        super().__init__(database_url)

    # --- reactions ------------------------------------------------------------

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

    def _tell(self, template: templates.Template, event_type: str, payload: dict, dossier: Dossier | None, *,
              occasion: str, source: str | None, caused_by: dict | None, known: Party | None = None,
              schema=None, **extra) -> list:
        """One inbox notification per recipient, and one e-mail unless the recipient is known to
        have no address (a party not registered yet gets its address looked up when sending)."""
        facts = dict(extra)
        if dossier is not None:
            applicant = Recipient("applicant", dossier.applicant_organization)
            facts.update(application_name=dossier.name, number=dossier.number,
                         applicant_name=dossier.applicant_name or self._directory(applicant).name
                         or dossier.applicant_organization)
        if "expert_id" in payload:
            expert = Recipient("expert", payload["expert_id"])
            facts["expert_name"] = self._directory(expert, known).name or payload["expert_id"]
        values = templates.context(payload, schema, **facts)
        application_id = str(dossier.application_id) if dossier is not None else None
        told = []
        for audience, recipient in recipients(template, event_type, payload, dossier):
            entry = self._directory(recipient, known)
            name = entry.name
            if name is None and recipient.audience == "applicant" and dossier is not None:
                name = dossier.applicant_name  # its registration may not have arrived yet
            message = templates.render(template, audience, values, salutation(recipient, name))
            common = dict(occasion=occasion, recipient=recipient, message=message, event_type=event_type,
                          source=source, application_id=application_id, caused_by=caused_by)
            told.append(domain.Notification.prepare(channel=INBOX, **common))
            if entry.emails or not entry.registered:
                told.append(domain.Notification.prepare(
                    channel=EMAIL, to=entry.emails, mail_domain=mail_domain(self.mail_settings.mail_from),
                    **common))
        return told

    def _directory(self, recipient: Recipient, known: Party | None = None) -> "Entry":
        """A party's name and e-mail addresses, as registered."""
        if recipient.audience == "officer":
            return Entry(DEFAULT_NAMES["officer"], list(self.mail_settings.sac_officer_emails), True)
        if known is not None and known.recipient == recipient:
            return Entry(known.name, list(known.emails), True)
        rows = self.query("SELECT name, emails FROM parties WHERE audience = :a AND owner = :o",
                          a=recipient.audience, o=recipient.owner)
        return Entry(rows[0]["name"], list(rows[0]["emails"]), True) if rows else Entry(None, [], False)

    # --- the submission window (申报受理期) -------------------------------------

    def remind_of_submission_window(self) -> int:
        """Remind every applicant with a draft not yet submitted, 7 and 1 days (configurable)
        before the window closes on 30 July; once per (application, year, days)."""
        now = clock.now()
        due = domain.due_window_reminder(now, self.mail_settings.reminder_days)
        if due is None:
            return 0
        year, days = due
        closes = domain.submission_window_closes(year)
        rows = self.query("SELECT application_id, applicant_organization FROM dossiers"
                          " WHERE status IN (:draft, :returned)", draft=DRAFT, returned=RETURNED)
        template = templates.TEMPLATES[("SubmissionWindowClosing", None)]
        reminded = 0
        for row in rows:
            occasion = domain.window_reminder_occasion(row["application_id"], year, days)
            applicant = Recipient("applicant", row["applicant_organization"])
            if self.query("SELECT 1 FROM notifications WHERE notification_id = :id",
                          id=domain.notification_id(occasion, applicant, INBOX)):
                continue
            try:
                with self.transaction():
                    dossier = self._get(domain.dossier_id(row["application_id"]))
                    if dossier is None or not dossier.awaits_submission:
                        continue
                    told = self._tell(
                        template, "SubmissionWindowClosing", {}, dossier, occasion=occasion, source=None,
                        caused_by=None, window_close=templates.beijing(closes),
                        days_left=str(max(1, math.ceil((closes - now) / timedelta(days=1)))),
                    )
                    self.save(*told)
                reminded += 1
            except ConcurrencyConflict:
                continue  # another instance reminded them first
        return reminded

    # --- e-mail delivery --------------------------------------------------------

    # An e-mail is due at its next attempt; one prepared before its recipient registered is due
    # once the registration arrived, or when the wait for it is over (then recorded undeliverable).
    MAIL_DUE_AT = (
        "CASE WHEN jsonb_array_length(n.recipients) > 0 OR p.party_id IS NOT NULL THEN n.next_attempt_at"
        " ELSE greatest(n.next_attempt_at, n.prepared_at + make_interval(secs => :wait)) END"
    )
    PENDING_MAIL = (
        " FROM notifications n LEFT JOIN parties p ON p.audience = n.audience AND p.owner = n.owner"
        " WHERE n.channel = 'email' AND n.state = 'pending'"
    )

    def deliver_due(self, transport, on_sent=None) -> int:
        """Send the e-mails that are due over one SMTP session; how many were attempted."""
        rows = self.query(
            f"SELECT n.notification_id{self.PENDING_MAIL} AND {self.MAIL_DUE_AT} <= :now"
            " ORDER BY n.next_attempt_at, n.prepared_at LIMIT :limit",
            now=clock.now(), limit=MAIL_BATCH, wait=self.mail_settings.address_wait_seconds,
        )
        if not rows:
            return 0
        with transport:
            for row in rows:
                self.deliver(row["notification_id"], transport, on_sent)
        return len(rows)

    def deliver(self, notification_id, transport, on_sent=None) -> None:
        notification = self._get(notification_id)
        if notification is None or not notification.awaits_delivery:
            return
        entry = None if notification.to else self._directory(notification.recipient)
        to = notification.to or entry.emails
        if not to:
            notification.fail_delivery(
                "the recipient registered no e-mail address" if entry.registered
                else "the recipient did not register in time", permanent=True, retry_at=None)
        else:
            try:
                refused = transport.send(notification, to)
            except MailRefused as refusal:
                retry_at = clock.now() + domain.retry_delay(notification.attempts + 1,
                                                            self.mail_settings.retry_delays_ms)
                notification.fail_delivery(refusal.error, refusal.permanent, retry_at)
            else:
                if on_sent is not None:
                    on_sent(notification)
                notification.deliver([address for address in to if address not in refused], refused)
        try:
            self.save(notification)
        except ConcurrencyConflict:
            pass  # recorded by another sender meanwhile (only when the lock changed hands mid-send)

    def seconds_until_mail_due(self, at_most: float) -> float:
        rows = self.query(f"SELECT min({self.MAIL_DUE_AT}) AS due{self.PENDING_MAIL}",
                          wait=self.mail_settings.address_wait_seconds)
        due = rows[0]["due"] if rows else None
        if due is None:
            return at_most
        return max(0.01, min(at_most, (due - clock.now()).total_seconds()))

    # --- the inbox (RPC) ----------------------------------------------------------

    def my_notifications(self, caller: Caller, unread_only: bool, limit: int, offset: int) -> dict:
        """The caller's inbox, newest first, with its total and unread counts."""
        inbox = domain.inbox_of(caller)
        only_unread = " AND state = 'unread'" if unread_only else ""
        items = self.query(
            "SELECT notification_id, application_id, event_type, subject, body_text AS text,"
            " body_html AS html, state, prepared_at AS received_at, read_at FROM notifications"
            f" WHERE channel = 'inbox' AND audience = :a AND owner = :o{only_unread}"
            " ORDER BY prepared_at DESC, notification_id LIMIT :limit OFFSET :offset",
            a=inbox.audience, o=inbox.owner, limit=limit, offset=offset,
        )
        counts = self._counts(inbox)
        return {"items": [jsonable(item) for item in items], **counts}

    def unread_count(self, caller: Caller) -> dict:
        return {"unread": self._counts(domain.inbox_of(caller))["unread"]}

    def mark_read(self, caller: Caller, notification_ids: list) -> dict:
        """Mark the caller's own notifications read, all or none; reading one twice changes nothing."""
        inbox = domain.inbox_of(caller)
        ids = list(dict.fromkeys(notification_ids))
        for attempt in range(3):
            try:
                with self.transaction():
                    notifications = [self._inbox_notification(notification_id) for notification_id in ids]
                    changed = [n for n in notifications if n.read(inbox, caller.as_actor())]
                    self.save(*changed)
                break
            except ConcurrencyConflict:  # the same party marked it from another window: look again
                if attempt == 2:
                    raise
        return {"marked": [str(n.id) for n in changed], "unread": self._counts(inbox)["unread"]}

    def notifications_of(self, caller: Caller, application_id: uuid.UUID) -> list[dict]:
        """Who was told what about an application, on which channel, and when (auditor, officer)."""
        caller.require_role(*AUDITORS)
        rows = self.query(
            "SELECT notification_id, event_type, source, audience, owner, channel, recipients, subject,"
            " body_text AS text, message_id, state, attempts, last_error, prepared_at, delivered_at, read_at"
            " FROM notifications WHERE application_id = :app ORDER BY prepared_at, notification_id",
            app=application_id,
        )
        if not rows and not self._get(domain.dossier_id(application_id)):
            raise ApplicationNotFound("no such application", {"application_id": str(application_id)})
        return [{**jsonable(row), "recipients": list(row["recipients"])} for row in rows]

    def _counts(self, inbox: Recipient) -> dict:
        row = self.query(
            "SELECT count(*) AS total, count(*) FILTER (WHERE state = 'unread') AS unread FROM notifications"
            " WHERE channel = 'inbox' AND audience = :a AND owner = :o", a=inbox.audience, o=inbox.owner,
        )[0]
        return {"total": row["total"], "unread": row["unread"]}

    def _inbox_notification(self, notification_id) -> domain.Notification:
        notification = self._get(notification_id)
        if not isinstance(notification, domain.Notification) or notification.channel != INBOX:
            raise NotificationNotFound("no such notification", {"notification_id": str(notification_id)})
        return notification

    def _get(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    # --- read models ------------------------------------------------------------

    def _project_party(self, session, event, position: int) -> None:
        party = {"id": event.originator_id, "name": event.name, "emails": _json(event.emails), "p": position}
        if type(event).__name__ == "Registered":
            session.execute(text(
                "INSERT INTO parties (party_id, audience, owner, name, emails, position)"
                " VALUES (:id, :audience, :owner, :name, CAST(:emails AS jsonb), :p)"
            ), {**party, "audience": event.audience, "owner": event.owner})
        else:
            session.execute(text(
                "UPDATE parties SET name = :name, emails = CAST(:emails AS jsonb), position = :p WHERE party_id = :id"
            ), party)

    def _project_dossier_opened(self, session, event, position: int) -> None:
        session.execute(text(
            "INSERT INTO dossiers (dossier_id, application_id, applicant_organization, name, status, position)"
            " VALUES (:id, :app, :org, :name, :status, :p)"
        ), {"id": event.originator_id, "app": event.application_id, "org": event.applicant_organization,
            "name": event.name, "status": event.status, "p": position})

    def _project_dossier_described(self, session, event, position: int) -> None:
        columns = {key: value for key, value in event.facts.items() if key in ("name", "applicant_organization")}
        assignments = "".join(f"{key} = :{key}, " for key in columns)
        session.execute(text(f"UPDATE dossiers SET {assignments}position = :p WHERE dossier_id = :id"),
                        {**columns, "p": position, "id": event.originator_id})

    def _project_dossier_moved(self, session, event, position: int) -> None:
        session.execute(text("UPDATE dossiers SET status = :status, position = :p WHERE dossier_id = :id"),
                        {"status": event.status, "p": position, "id": event.originator_id})

    def _project_dossier_numbered(self, session, event, position: int) -> None:
        session.execute(text("UPDATE dossiers SET number = :number, position = :p WHERE dossier_id = :id"),
                        {"number": event.number, "p": position, "id": event.originator_id})

    def _project_prepared(self, session, event, position: int) -> None:
        is_mail = event.channel == EMAIL
        session.execute(text(
            "INSERT INTO notifications (notification_id, occasion, source, event_type, application_id, audience,"
            " owner, channel, recipients, subject, body_text, body_html, message_id, state, attempts,"
            " next_attempt_at, prepared_at, position) VALUES (:id, :occasion, :source, :event_type, :app,"
            " :audience, :owner, :channel, CAST(:to AS jsonb), :subject, :text, :html, :message_id, :state, 0,"
            " :next_attempt_at, :at, :p)"
        ), {"id": event.originator_id, "occasion": event.occasion, "source": event.source,
            "event_type": event.event_type, "app": event.application_id, "audience": event.audience,
            "owner": event.owner, "channel": event.channel, "to": _json(event.to), "subject": event.subject,
            "text": event.text, "html": event.html, "message_id": event.message_id,
            "state": domain.PENDING if is_mail else domain.UNREAD,
            "next_attempt_at": event.timestamp if is_mail else None, "at": event.timestamp, "p": position})

    def _project_delivered(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE notifications SET state = :state, attempts = :attempt, delivered_at = :at,"
            " next_attempt_at = NULL, position = :p WHERE notification_id = :id"
        ), {"state": domain.DELIVERED, "attempt": event.attempt, "at": event.timestamp, "p": position,
            "id": event.originator_id})

    def _project_delivery_failed(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE notifications SET state = CASE WHEN :permanent THEN :undeliverable ELSE state END,"
            " attempts = :attempt, last_error = :error, next_attempt_at = :retry_at, position = :p"
            " WHERE notification_id = :id"
        ), {"permanent": event.permanent, "undeliverable": domain.UNDELIVERABLE, "attempt": event.attempt,
            "error": event.error, "retry_at": event.retry_at, "p": position, "id": event.originator_id})

    def _project_read(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE notifications SET state = :state, read_at = :at, position = :p WHERE notification_id = :id"
        ), {"state": domain.READ, "at": event.timestamp, "p": position, "id": event.originator_id})


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


# --- helpers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """A party as the directory knows it."""

    name: str | None
    emails: list
    registered: bool


def salutation(recipient: Recipient, name: str | None) -> str:
    if recipient.audience == "expert":
        return f"{name} 专家" if name else DEFAULT_NAMES["expert"]
    if recipient.audience == "officer":
        return DEFAULT_NAMES["officer"]
    return name or DEFAULT_NAMES[recipient.audience]


def next_window_close(at: datetime) -> datetime:
    """The close of the submission window still ahead of `at` (this year's, or next year's once it passed)."""
    year = at.astimezone(clock.BEIJING).year
    closes = domain.submission_window_closes(year)
    return closes if at < closes else domain.submission_window_closes(year + 1)


def _schema(event: IntegrationEvent):
    return CONTRACTS.get((event.source, event.type, event.version))


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)
