"""What later stages' integration events change in intake: sections reopened (returned,
supplement, revision), the stage an application has reached, a deadline extended, and
the experts assigned to read it."""
from __future__ import annotations

from datetime import datetime

from shared.contracts import IntegrationEvent
from services.intake.application.access import _plain
from services.intake.domain import (
    APPROVED,
    DECLINED,
    EXPERT_REVIEW,
    FORMAL_REVIEW,
    FORWARDED,
    INADMISSIBLE,
    NOT_RECOMMENDED,
    PANEL_CONCLUDED,
    RECOMMENDED,
)

# The later stages intake follows for "my applications": (source, type) -> the stage it means.
PROGRESS = {
    ("endorsement", "ApplicationForwarded"): FORWARDED,
    ("endorsement", "ApplicationRecommended"): RECOMMENDED,
    ("endorsement", "RecommendationDeclined"): NOT_RECOMMENDED,
    ("formal_review", "ApplicationAccepted"): FORMAL_REVIEW,
    ("formal_review", "FormalReviewPassed"): EXPERT_REVIEW,
    ("formal_review", "ApplicationFoundInadmissible"): INADMISSIBLE,
    ("expert_review", "PanelConcluded"): PANEL_CONCLUDED,
    ("expert_review", "ApplicationApproved"): APPROVED,
    ("expert_review", "ApplicationDeclined"): DECLINED,
}
REOPENING = {
    ("endorsement", "ApplicationReturned"): "returned",
    ("formal_review", "SupplementRequested"): "supplement",
    ("expert_review", "RevisionRequested"): "revision",
}


class Reactions:
    """Mixed into `Intake`: `reactions` maps (source, type) to a method returning the
    applications it changed (none when the application is not intake's)."""

    reactions = {
        **{key: "on_sections_requested" for key in REOPENING},
        **{key: "on_progress" for key in PROGRESS},
        ("formal_review", "DeadlineExtended"): "on_deadline_extended",
        ("expert_review", "DeadlineExtended"): "on_deadline_extended",
        ("expert_review", "ExpertAssigned"): "on_expert_assigned",
        ("expert_review", "ExpertDeclined"): "on_expert_declined",
    }

    def on_sections_requested(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:  # not one of ours (or not yet): nothing to change
            return []
        p = event.payload
        reopened = application.reopen(
            kind=REOPENING[(event.source, event.type)], sections=p["sections"], reason=p["reason"],
            request_id=p["request_id"], requested_by=event.source, deadline=_instant(p.get("deadline")),
            caused_by=_cause(event),
        )
        return [application] if reopened else []

    def on_progress(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:  # not one of ours (or not yet): nothing to change
            return []
        p = event.payload
        approved = event.type == "ApplicationApproved"
        recorded = application.record_progress(
            reported=event.type, stage=PROGRESS[(event.source, event.type)], caused_by=_cause(event),
            number=p.get("number"), deadline=_instant(p["construction_plan_due"]) if approved else None,
            deadline_kind="construction_plan" if approved else None,
            opinion=_plain(p["opinion"]) if event.type == "ApplicationForwarded" else None,
            conclusion=p.get("conclusion"),
        )
        return [application] if recorded else []

    def on_deadline_extended(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:  # not one of ours (or not yet): nothing to change
            return []
        extended = application.extend_deadline(request_id=event.payload["request_id"],
                                               deadline=_instant(event.payload["new_deadline"]),
                                               caused_by=_cause(event))
        return [application] if extended else []

    def on_expert_assigned(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:
            return []
        granted = application.grant_expert_access(event.payload["expert_id"], caused_by=_cause(event))
        return [application] if granted else []

    def on_expert_declined(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:
            return []
        revoked = application.revoke_expert_access(event.payload["expert_id"], caused_by=_cause(event))
        return [application] if revoked else []


def _cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
