"""Nameko entrypoints of notification (e-mail and inbox)."""
import shared.green  # noqa: F401  (before any database connection)
from services.notification.application import Notification
from shared.rpc import service_base


class NotificationService(service_base(Notification)):
    name = "notification"
