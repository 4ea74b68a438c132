"""Notification's domain: who may be told (parties), what it knows of each application
(dossiers), and each notification (通知) told to one recipient on one channel.

Every identity is derived with uuid5 from its business key, so a redelivered
event, a second instance or a restart can never create a twin: the event log's
unique (originator_id, version) refuses the second one.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.domain import Aggregate, event

from shared.clock import BEIJING
from shared.rules import submission_window_closes
from services.notification.errors import NotYourNotification

PARTY_NAMESPACE = uuid.UUID("3f6c1d2e-7b4a-4e59-a0c8-9d1e2f3a4b5c")
DOSSIER_NAMESPACE = uuid.UUID("8a2b4c6d-1e3f-4a5b-9c7d-0e1f2a3b4c5d")
NOTIFICATION_NAMESPACE = uuid.UUID("c41e7a90-5d2b-4f6e-8a13-2b9c0d4e6f71")
MESSAGE_ID_NAMESPACE = uuid.UUID("e07b3c5a-9f14-4d28-b6a1-7c3e5f9a0d24")

INBOX, EMAIL = "inbox", "email"
CHANNELS = (INBOX, EMAIL)
UNREAD, READ = "unread", "read"
PENDING, DELIVERED, UNDELIVERABLE = "pending", "delivered", "undeliverable"

# An inbox belongs to a party of one of these roles; SAC officers (国家标准委) share one.
AUDIENCES = ("applicant", "organizing_unit", "recommending_unit", "officer", "expert")
SAC = "SAC"

# What the service knows of where an application stands; enough to know who is involved.
DRAFT, SUBMITTED, RETURNED, FORWARDED, RECOMMENDED = "draft", "submitted", "returned", "forwarded", "recommended"
EXPERT_REVIEW, APPROVED, WITHDRAWN, ENDED = "expert_review", "approved", "withdrawn", "ended"
AWAITING_SUBMISSION = (DRAFT, RETURNED)



@dataclass(frozen=True, order=True)
class Recipient:
    """Whose inbox: a role and the organization (or, for an expert, the person) behind it."""

    audience: str
    owner: str

    @property
    def key(self) -> str:
        return f"{self.audience}:{self.owner}"


def inbox_of(caller) -> Recipient:
    """The one inbox a caller reads: its organization's, SAC's for officers, its own for an expert."""
    caller.require_role(*AUDIENCES)
    if caller.role == "expert":
        return Recipient("expert", caller.party_id)
    if caller.role == "officer":
        return Recipient("officer", SAC)
    return Recipient(caller.role, caller.organization)


def party_id(recipient: Recipient) -> uuid.UUID:
    return uuid.uuid5(PARTY_NAMESPACE, recipient.key)


def dossier_id(application_id) -> uuid.UUID:
    return uuid.uuid5(DOSSIER_NAMESPACE, str(application_id))


def notification_id(occasion: str, recipient: Recipient, channel: str) -> uuid.UUID:
    """One notification per (occasion, recipient, channel); the occasion is usually an event id."""
    return uuid.uuid5(NOTIFICATION_NAMESPACE, f"{occasion}|{recipient.key}|{channel}")


def message_id(notification: uuid.UUID, domain: str) -> str:
    """The e-mail's Message-ID: the same on every attempt, so a resent copy is recognisably the same."""
    return f"<{uuid.uuid5(MESSAGE_ID_NAMESPACE, str(notification))}@{domain}>"


def window_reminder_occasion(application_id, year: int, days: int) -> str:
    return f"submission-window:{application_id}:{year}:{days}"


def due_window_reminder(now: datetime, reminder_days: tuple[int, ...]) -> tuple[int, int] | None:
    """(year, days) of the reminder due now before the window closes, or None.

    Only the nearest reminder is due: a service that was down on the 7-day mark
    and starts the day before the close says "1 day", not "7 days".
    """
    year = now.astimezone(BEIJING).year
    closes = submission_window_closes(year)
    if now >= closes:
        return None
    remaining = closes - now
    due = [days for days in reminder_days if remaining <= timedelta(days=days)]
    return (year, min(due)) if due else None


def usable_address(address) -> bool:
    """An address an SMTP server can be given: one mailbox, ASCII, no spaces or line breaks."""
    return (isinstance(address, str) and address.isascii() and address.count("@") == 1
            and not any(c.isspace() or c in "<>,;\"()" for c in address)
            and all(address.split("@")))


def mail_addresses(event_type: str, payload: dict) -> list[str]:
    """Where a registering party's e-mail goes: an applicant's contact person (联系人), else its
    head (负责人); a unit's contact; the expert. None when it gave no usable address."""
    if event_type == "ExpertRegistered":
        candidates = [payload.get("email")]
    elif event_type == "ApplicantRegistered":
        candidates = [(payload.get("contact") or {}).get("email"), (payload.get("head") or {}).get("email")]
    else:
        candidates = [(payload.get("contact") or {}).get("email")]
    return next(([address] for address in candidates if usable_address(address)), [])


def retry_delay(attempt: int, delays_ms: tuple[int, ...]) -> timedelta:
    """Backoff after the `attempt`-th failed attempt; the last delay repeats (never give up on a transient failure)."""
    if not delays_ms:
        return timedelta(seconds=60)
    return timedelta(milliseconds=delays_ms[min(attempt, len(delays_ms)) - 1])


class Party(Aggregate):
    """A party (当事方) that can be told something: its name and where its e-mail goes."""

    class Registered(Aggregate.Created):
        audience: str
        owner: str
        name: str
        emails: list
        caused_by: dict

    def __init__(self, audience: str, owner: str, name: str, emails: list, caused_by: dict):
        self.audience = audience
        self.owner = owner
        self.name = name
        self.emails = list(emails)

    @classmethod
    def register(cls, recipient: Recipient, name: str, emails: list, caused_by: dict) -> "Party":
        return cls._create(cls.Registered, id=party_id(recipient), audience=recipient.audience,
                           owner=recipient.owner, name=name, emails=list(emails), caused_by=caused_by)

    @property
    def recipient(self) -> Recipient:
        return Recipient(self.audience, self.owner)

    def register_again(self, name: str, emails: list, caused_by: dict) -> None:
        """A later registration of the same party replaces its name and addresses, if they changed."""
        if name != self.name or list(emails) != self.emails:
            self._updated(name=name, emails=list(emails), caused_by=caused_by)

    @event("Updated")
    def _updated(self, name: str, emails: list, caused_by: dict) -> None:
        self.name = name
        self.emails = list(emails)


class Dossier(Aggregate):
    """What notification knows of one application (申报): its name, number, parties and experts."""

    class Opened(Aggregate.Created):
        application_id: str
        applicant_organization: str
        applicant_name: str | None
        name: str
        base_type: str
        organizing_unit_id: str
        recommending_unit_id: str
        status: str
        caused_by: dict

    def __init__(self, application_id: str, applicant_organization: str, applicant_name: str | None,
                 name: str, base_type: str, organizing_unit_id: str, recommending_unit_id: str,
                 status: str, caused_by: dict):
        self.application_id = application_id
        self.applicant_organization = applicant_organization
        self.applicant_name = applicant_name
        self.name = name
        self.base_type = base_type
        self.organizing_unit_id = organizing_unit_id
        self.recommending_unit_id = recommending_unit_id
        self.status = status
        self.milestones = [status]
        self.number: str | None = None
        self.experts: dict[str, bool] = {}  # expert id -> is chair

    @classmethod
    def open(cls, *, application_id, applicant_organization: str, name: str, base_type: str,
             organizing_unit_id: str, recommending_unit_id: str, status: str, caused_by: dict,
             applicant_name: str | None = None) -> "Dossier":
        return cls._create(
            cls.Opened, id=dossier_id(application_id), application_id=str(application_id),
            applicant_organization=applicant_organization, applicant_name=applicant_name, name=name,
            base_type=base_type, organizing_unit_id=organizing_unit_id,
            recommending_unit_id=recommending_unit_id, status=status, caused_by=caused_by,
        )

    def describe(self, caused_by: dict, **facts) -> None:
        """Record the application's latest name and units (a new plan version may change them)."""
        changed = {key: value for key, value in facts.items()
                   if value is not None and getattr(self, key) != value}
        if changed:
            self._described(facts=changed, caused_by=caused_by)

    @event("Described")
    def _described(self, facts: dict, caused_by: dict) -> None:
        for key, value in facts.items():
            setattr(self, key, value)

    def move(self, status: str, caused_by: dict) -> None:
        if status != self.status:
            self._moved(status=status, caused_by=caused_by)

    @event("Moved")
    def _moved(self, status: str, caused_by: dict) -> None:
        self.status = status
        if status not in self.milestones:
            self.milestones.append(status)

    def reached(self, status: str) -> bool:
        return status in self.milestones

    @property
    def awaits_submission(self) -> bool:
        return self.status in AWAITING_SUBMISSION

    def assign_number(self, number: str | None, caused_by: dict) -> None:
        if number and number != self.number:
            self._numbered(number=number, caused_by=caused_by)

    @event("Numbered")
    def _numbered(self, number: str, caused_by: dict) -> None:
        self.number = number

    def assign_expert(self, expert_id: str, is_chair: bool, caused_by: dict) -> None:
        if self.experts.get(expert_id) != is_chair:
            self._expert_assigned(expert_id=expert_id, is_chair=is_chair, caused_by=caused_by)

    @event("ExpertAssigned")
    def _expert_assigned(self, expert_id: str, is_chair: bool, caused_by: dict) -> None:
        self.experts[expert_id] = is_chair

    def release_expert(self, expert_id: str, caused_by: dict) -> None:
        if expert_id in self.experts:
            self._expert_released(expert_id=expert_id, caused_by=caused_by)

    @event("ExpertReleased")
    def _expert_released(self, expert_id: str, caused_by: dict) -> None:
        del self.experts[expert_id]


@dataclass(frozen=True)
class Message:
    """A rendered notification: the same words in the inbox and in the e-mail."""

    subject: str
    text: str
    html: str


class Notification(Aggregate):
    """One notification told to one recipient on one channel, once.

    In the inbox it is there from `Prepared` on, until `Read`. By e-mail it is
    `Prepared` (what is to be said, to which addresses, under which Message-ID),
    `HandedOver` once the SMTP server holds the whole message but for the dot
    that ends it, and then `Delivered` once the server accepted it, or
    `DeliveryFailed` (retried after a backoff unless the server refused it for
    good). A message handed over and not yet recorded as delivered or failed is
    one the server had when the sender stopped: it is recorded as delivered,
    never sent again (`services.notification.mailer`). An e-mail
    to a party not registered yet is prepared without addresses (`to` empty):
    they are looked up when it is sent, once the party's registration arrived.
    """

    class Prepared(Aggregate.Created):
        occasion: str
        source: str | None
        event_type: str
        application_id: str | None
        audience: str
        owner: str
        channel: str
        to: list
        subject: str
        text: str
        html: str
        message_id: str | None
        caused_by: dict | None

    def __init__(self, occasion: str, source: str | None, event_type: str, application_id: str | None,
                 audience: str, owner: str, channel: str, to: list, subject: str, text: str, html: str,
                 message_id: str | None, caused_by: dict | None):
        self.occasion = occasion
        self.source = source
        self.event_type = event_type
        self.application_id = application_id
        self.audience = audience
        self.owner = owner
        self.channel = channel
        self.to = list(to)
        self.subject = subject
        self.text = text
        self.html = html
        self.message_id = message_id
        self.state = UNREAD if channel == INBOX else PENDING
        self.attempts = 0
        self.read_by: dict | None = None
        self.handed_over: dict | None = None  # {accepted, refused} of the attempt the server holds

    @classmethod
    def prepare(cls, *, occasion: str, recipient: Recipient, channel: str, message: Message,
                event_type: str, source: str | None = None, application_id: str | None = None,
                to: list | None = None, mail_domain: str = "innobase.local",
                caused_by: dict | None = None) -> "Notification":
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        identity = notification_id(occasion, recipient, channel)
        return cls._create(
            cls.Prepared, id=identity, occasion=occasion, source=source, event_type=event_type,
            application_id=str(application_id) if application_id else None,
            audience=recipient.audience, owner=recipient.owner, channel=channel,
            to=list(to or []), subject=message.subject, text=message.text, html=message.html,
            message_id=message_id(identity, mail_domain) if channel == EMAIL else None,
            caused_by=caused_by,
        )

    @property
    def recipient(self) -> Recipient:
        return Recipient(self.audience, self.owner)

    def belongs_to(self, recipient: Recipient) -> bool:
        return self.channel == INBOX and self.recipient == recipient

    # --- e-mail -----------------------------------------------------------------

    @property
    def awaits_delivery(self) -> bool:
        return self.channel == EMAIL and self.state == PENDING

    def hand_over(self, accepted: list, refused: dict) -> None:
        """The SMTP server holds the message, all but the dot that commits it (for `accepted`)."""
        if self.awaits_delivery:
            self._handed_over(message_id=self.message_id, accepted=list(accepted), refused=dict(refused),
                              attempt=self.attempts + 1)

    @event("HandedOver")
    def _handed_over(self, message_id: str, accepted: list, refused: dict, attempt: int) -> None:
        self.handed_over = {"accepted": accepted, "refused": refused}

    def deliver(self, accepted: list, refused: dict) -> None:
        """The SMTP server accepted the message (for `accepted`; it refused `refused` for good)."""
        if self.awaits_delivery:
            self._delivered(message_id=self.message_id, accepted=list(accepted), refused=dict(refused),
                            attempt=self.attempts + 1)

    @event("Delivered")
    def _delivered(self, message_id: str, accepted: list, refused: dict, attempt: int) -> None:
        self.state = DELIVERED
        self.attempts = attempt
        self.handed_over = None

    def fail_delivery(self, error: str, permanent: bool, retry_at: datetime | None) -> None:
        if self.awaits_delivery:
            self._delivery_failed(error=error[:2000], permanent=permanent,
                                  retry_at=None if permanent else retry_at, attempt=self.attempts + 1)

    @event("DeliveryFailed")
    def _delivery_failed(self, error: str, permanent: bool, retry_at: datetime | None, attempt: int) -> None:
        self.attempts = attempt
        self.handed_over = None
        if permanent:
            self.state = UNDELIVERABLE

    # --- inbox ------------------------------------------------------------------

    def read(self, reader: Recipient, actor: dict) -> bool:
        """Mark it read by its recipient; reading it again changes nothing. True if it changed."""
        if not self.belongs_to(reader):
            raise NotYourNotification("this notification is not in your inbox",
                                      {"rule": "own_inbox", "notification_id": str(self.id)})
        if self.state == READ:
            return False
        self._read(actor=actor)
        return True

    @event("Read")
    def _read(self, actor: dict) -> None:
        self.state = READ
        self.read_by = actor
