"""Whom notification tells, and how: the notifications one occasion prepares (one in the
inbox and one e-mail per recipient), the directory of names and addresses they are
addressed with, and the reminders before the submission window (申报受理期) closes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import clock
from shared.errors import ConcurrencyConflict
from services.notification import domain, templates
from services.notification.domain import DRAFT, EMAIL, INBOX, RETURNED, Dossier, Party, Recipient
from services.notification.mailer import mail_domain
from services.notification.recipients import recipients

DEFAULT_NAMES = {"applicant": "申报单位", "organizing_unit": "申报组织单位", "recommending_unit": "推荐单位",
                 "officer": "国家标准委", "expert": "专家"}


class Telling:
    """Mixed into `Notification`: preparing notifications, used by the reactions and the
    window's reminders."""

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
