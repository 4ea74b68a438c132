"""The event-sourced application of expert review (专家论证) and approval (批准筹建).

Its log, outbox and health exist from the backbone on; its commands and
reactions arrive with its own issue.
"""
from shared.eventstore import ServiceApplication


class ExpertReview(ServiceApplication):
    name = "ExpertReview"
    service = "expert_review"
