"""Notification's nameko entrypoints: every integration event in, the inbox RPCs out,
the submission-window reminder timer, and the e-mail sender in the background."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from nameko.timer import timer

from services.notification import schemas, settings
from services.notification.application import Notification
from services.notification.mailer import MailSender
from shared.consumer import integration_events
from shared.rpc import command, query, service_base


class NotificationService(service_base(Notification)):
    name = "notification"
    mail = MailSender(Notification)

    @integration_events("intake", "endorsement", "formal_review", "expert_review", "accounts")
    def on_event(self, event):
        return self.app.process(event)

    @timer(interval=settings.get().scan_seconds)
    def remind_of_submission_window(self):
        return self.app.remind_of_submission_window()

    @query(schemas.InboxQuery)
    def my_notifications(self, caller, data):
        """Any party with an inbox (applicant, organizing_unit, recommending_unit, officer, expert):
        its own notifications (通知), newest first. An applicant or unit reads its organization's
        inbox, an officer SAC's, an expert its own. Returns `{"items": [{notification_id,
        application_id, event_type, subject, text, html, state, received_at, read_at}], "total",
        "unread"}`."""
        return self.app.my_notifications(caller, data["unread_only"], data["limit"], data["offset"])

    @query()
    def unread_count(self, caller, data):
        """Any party with an inbox: how many of its notifications are unread. Returns `{"unread": n}`."""
        return self.app.unread_count(caller)

    @command(schemas.MarkRead)
    def mark_read(self, caller, data):
        """Any party with an inbox: marks its own notifications read, all or none (an id in another
        inbox: `NotYourNotification`; an unknown id: `NotificationNotFound`); marking one twice
        changes nothing. Returns `{"marked": [ids now read], "unread": n}`."""
        return self.app.mark_read(caller, data["notification_ids"])

    @query(schemas.ApplicationRef)
    def notifications_of(self, caller, data):
        """Auditor or officer: who was told what about an application, on which channel and when
        (prepared, delivered, read; the e-mail's recipients and Message-ID, its attempts)."""
        return self.app.notifications_of(caller, data["application_id"])
