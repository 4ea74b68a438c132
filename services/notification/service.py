"""Nameko entrypoints of notification (e-mail and inbox)."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.notification.application import Notification
from shared.rpc import service_base


class NotificationService(service_base(Notification)):
    name = "notification"
