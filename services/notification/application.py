"""The event-sourced application of notification (e-mail and inbox).

Its log, outbox and health exist from the backbone on; its commands and
reactions arrive with its own issue.
"""
from shared.eventstore import ServiceApplication


class Notification(ServiceApplication):
    name = "Notification"
    service = "notification"
