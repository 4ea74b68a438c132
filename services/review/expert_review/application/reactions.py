"""What other services' integration events change in expert review: an application
that passed formal review opens an appraisal, a revised version answers a revision
request, a withdrawal closes the appraisal, a unit registered in intake is recorded for
the conflict checks; and what a missed deadline changes."""
from __future__ import annotations

from datetime import datetime

from eventsourcing.application import AggregateNotFoundError

from shared.contracts import IntegrationEvent
from services.review.deadlines import Deadline
from services.review.expert_review.application.access import CONSTRUCTION_PLAN, REVISION
from services.review.expert_review.domain import Appraisal, UnitRecord, unit_record_id


class Reactions:
    """Mixed into `ExpertReview`: `reactions` maps (source, type) to a method returning the
    aggregates it changed."""

    reactions = {
        ("formal_review", "FormalReviewPassed"): "on_formal_review_passed",
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        ("intake", "ApplicationWithdrawn"): "on_application_withdrawn",
        ("intake", "UnitRegistered"): "on_unit_registered",
        ("endorsement", "RecommendationWithdrawn"): "on_recommendation_withdrawn",
    }

    def on_formal_review_passed(self, event: IntegrationEvent) -> list:
        p = event.payload
        if self._appraisal_or_none(p["application_id"]) is not None:
            return []
        return [Appraisal.open(
            caused_by=_cause(event), application_id=p["application_id"], number=p["number"],
            plan_version=p["plan_version"], name=p["name"], base_type=p["base_type"], region=p["region"],
            domain=p["domain"], applicant_organization=p["applicant_organization"],
            applicant_name=p["applicant_name"], organizing_unit_id=p["organizing_unit_id"],
            recommending_unit_id=p["recommending_unit_id"],
        )]

    def on_unit_registered(self, event: IntegrationEvent) -> list:
        p = event.payload
        try:
            unit = self.repository.get(unit_record_id(p["unit_id"]))
        except AggregateNotFoundError:
            return [UnitRecord.record(unit_id=p["unit_id"], name=p["name"], credit_code=p["credit_code"],
                                      caused_by=_cause(event))]
        return [unit] if unit.update(p["name"], p["credit_code"], _cause(event)) else []

    def on_application_submitted(self, event: IntegrationEvent) -> list:
        p = event.payload
        if p["submission_kind"] != REVISION or not p["answers_request"]:
            return []
        appraisal = self._appraisal_or_none(p["application_id"])
        if appraisal is None:
            return []
        deadline = self.deadline(appraisal.application_id, REVISION, p["answers_request"])
        on_time = deadline.meet(datetime.fromisoformat(p["submitted_at"]), caused_by=_cause(event)) \
            if deadline is not None else None
        if not appraisal.receive_revision(p["answers_request"], p["plan_version"], bool(on_time), _cause(event)):
            return []
        return [appraisal] + ([deadline] if deadline is not None else [])

    def on_application_withdrawn(self, event: IntegrationEvent) -> list:
        return self._close(event, f"the applicant withdrew the application: {event.payload['reason']}")

    def on_recommendation_withdrawn(self, event: IntegrationEvent) -> list:
        """Without its recommendation an application no longer stands, in expert review too."""
        return self._close(event, f"the recommending unit withdrew its recommendation: {event.payload['reason']}")

    def _close(self, event: IntegrationEvent, reason: str) -> list:
        appraisal = self._appraisal_or_none(event.application_id)
        if appraisal is None:
            return []
        revision = appraisal.current_revision
        if not appraisal.close(reason, _cause(event)):
            return []
        changed = [appraisal]
        if revision is not None:
            deadline = self.deadline(appraisal.application_id, REVISION, revision["request_id"])
            if deadline is not None and deadline.state in ("open", "missed"):
                deadline.cancel(reason, caused_by=_cause(event))
                changed.append(deadline)
        return changed

    def on_deadline_missed(self, deadline: Deadline) -> list:
        appraisal = self._appraisal_or_none(deadline.application_id)
        if appraisal is None:
            return []
        if deadline.kind == REVISION and appraisal.revision_overdue(deadline.request_id):
            return [appraisal]
        if deadline.kind == CONSTRUCTION_PLAN and appraisal.construction_plan_missed():
            return [appraisal]
        return []


def _cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}
