"""The typed errors notification raises.

Each registers itself with nameko (see shared.errors): a caller that imports this module
gets them back as their classes, with their code and details."""
from shared.errors import (  # noqa: F401  (the shared errors, re-exported for the service)
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotFound,
    also_known_as,
)


class NotificationNotFound(NotFound):
    """No notification has this id."""

    code = "notification_not_found"


class NotYourNotification(NotAuthorized):
    """The notification is in another party's inbox: a party reads and marks only its own."""

    code = "not_your_notification"


# Defined in shared.errors.notification before they moved here.
also_known_as("shared.errors.notification", globals())
