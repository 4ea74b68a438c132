"""A party's inbox (RPC): its notifications newest first, the unread count, marking its
own read; and for auditors and officers, who was told what about an application."""
from __future__ import annotations

import uuid

from shared.auth import Caller
from shared.errors import ApplicationNotFound, ConcurrencyConflict
from shared.eventstore import jsonable
from services.notification import domain
from services.notification.domain import INBOX, Recipient
from services.notification.errors import NotificationNotFound

AUDITORS = ("auditor", "officer")


class Inbox:
    """Mixed into `Notification`: the inbox's RPCs."""

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
