"""The typed errors notification raises (defined in shared.errors, the contract portals import)."""
from shared.errors import ApplicationNotFound, ConcurrencyConflict, InvalidInput, NotAuthorized  # noqa: F401
from shared.errors.notification import NotificationNotFound, NotYourNotification  # noqa: F401
