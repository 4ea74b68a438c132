"""Sending the e-mails notification prepared: those due, over one SMTP session, each
delivered, refused for good, or retried with backoff; and when the next one is due."""
from __future__ import annotations

from shared import clock
from shared.errors import ConcurrencyConflict
from services.notification import domain
from services.notification.mailer import MailRefused

MAIL_BATCH = 50


class Delivery:
    """Mixed into `Notification`: what the mail sender (`services.notification.mailer`) calls."""

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
