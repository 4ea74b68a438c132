"""The event-sourced application of formal review (形式审查).

Its log, outbox and health exist from the backbone on; its commands and
reactions arrive with its own issue.
"""
from shared.eventstore import ServiceApplication


class FormalReview(ServiceApplication):
    name = "FormalReview"
    service = "formal_review"
