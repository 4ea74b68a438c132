"""Notification's event-sourced application: it hears every integration event, keeps
its own read model of parties and applications, tells each party concerned in
its inbox and by e-mail, reminds of the submission window, and sends the e-mails.

One class, `Notification`, composed of its parts, each a module to read on its own:
`reactions` (what each event changes in the parties and dossiers, and whom it
concerns), `telling` (the notifications an occasion prepares, the directory of
names and addresses, the submission window's reminders), `delivery` (sending the
e-mails), `inbox` (the RPCs of a party's inbox), `read_model` (the tables and
their projections) and `access` (finding aggregates). Notification publishes no
integration event of its own."""
from __future__ import annotations

from shared.eventstore import ServiceApplication
from services.notification import settings
from services.notification.application.access import Access
from services.notification.application.delivery import Delivery
from services.notification.application.inbox import Inbox
from services.notification.application.reactions import DossierNotYetKnown, Reactions
from services.notification.application.read_model import ReadModel
from services.notification.application.telling import Telling

__all__ = ["DossierNotYetKnown", "Notification"]


class Notification(Reactions, Telling, Delivery, Inbox, ReadModel, Access, ServiceApplication):
    """Notification (通知): the parties, the dossiers and every notification told, in one log."""

    name = "Notification"
    service = "notification"

    def __init__(self, database_url: str | None = None, mail_settings: settings.MailSettings | None = None):
        self.mail_settings = mail_settings or settings.get()
        super().__init__(database_url)
