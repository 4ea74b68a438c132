"""Typed errors of notification (registered with nameko through shared.errors)."""
from shared.errors import NotAuthorized, NotFound


class NotificationNotFound(NotFound):
    """No notification has this id."""

    code = "notification_not_found"


class NotYourNotification(NotAuthorized):
    """The notification is in another party's inbox: a party reads and marks only its own."""

    code = "not_your_notification"
