"""What other services' integration events change in formal review: a recommendation
opens (or reopens) a case, a submitted version is recorded and may answer a supplement
request, a withdrawal closes the case; and what a missed supplement deadline changes."""
from __future__ import annotations

import logging
from datetime import datetime

from shared.contracts import IntegrationEvent
from services.review.deadlines import Deadline
from services.review.formal_review.application.access import SUPPLEMENT
from services.review.formal_review.domain import Case, PlanVersion

log = logging.getLogger(__name__)


WITHDRAWN_RECOMMENDATION = "the recommending unit withdrew its recommendation: {reason}"
WITHDRAWN_APPLICATION = "the applicant withdrew the application: {reason}"


class Reactions:
    """Mixed into `FormalReview`: `reactions` maps (source, type) to a method returning the
    aggregates it changed."""

    reactions = {
        ("endorsement", "ApplicationRecommended"): "on_application_recommended",
        ("endorsement", "RecommendationWithdrawn"): "on_recommendation_withdrawn",
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        ("intake", "ApplicationWithdrawn"): "on_application_withdrawn",
    }

    def on_application_recommended(self, event: IntegrationEvent) -> list:
        p = event.payload
        recommendation = dict(
            application_id=p["application_id"], plan_version=p["plan_version"], digest=p["digest"],
            name=p["name"], base_type=p["base_type"], region=p["region"], domain=p["domain"],
            applicant_organization=p["applicant_organization"], applicant_name=p["applicant_name"],
            organizing_unit_id=p["organizing_unit_id"], recommending_unit_id=p["recommending_unit_id"],
            year=p["year"], stamped_plan_scan=p["stamped_plan_scan"],
            recommendation_letter=p["recommendation_letter"], recommended_at=p["recommended_at"],
        )
        cause = _cause(event)
        case = self._case_or_none(p["application_id"])
        if case is None:
            return [Case.open(caused_by=cause, **recommendation)]
        if case.reopen(cause, **recommendation):
            return [case]
        log.warning("formal_review: %s recommended again while its case is %s; nothing changes",
                    p["application_id"], case.state)
        return []

    def on_recommendation_withdrawn(self, event: IntegrationEvent) -> list:
        reason = WITHDRAWN_RECOMMENDATION.format(reason=event.payload["reason"])
        return self._close(event, reason)

    def on_application_withdrawn(self, event: IntegrationEvent) -> list:
        reason = WITHDRAWN_APPLICATION.format(reason=event.payload["reason"])
        return self._close(event, reason)

    def _close(self, event: IntegrationEvent, reason: str) -> list:
        case = self._case_or_none(event.application_id)
        if case is None:
            return []
        request = case.open_request
        if not case.close(reason, _cause(event)):
            return []
        changed = [case]
        if request is not None:
            deadline = self.deadline(case.application_id, SUPPLEMENT, request["request_id"])
            if deadline is not None:
                deadline.cancel(reason, caused_by=_cause(event))
                changed.append(deadline)
        return changed

    def on_application_submitted(self, event: IntegrationEvent) -> list:
        p = event.payload
        version = PlanVersion.receive(
            caused_by=_cause(event), application_id=p["application_id"], plan_version=p["plan_version"],
            digest=p["digest"], name=p["name"], submission_kind=p["submission_kind"],
            answers_request=p["answers_request"], changed_sections=p["changed_sections"],
            qualification_items=p["qualification_items"], attachments=p["attachments"],
            submitted_at=p["submitted_at"],
        )
        changed: list = [version]
        if p["submission_kind"] != SUPPLEMENT or not p["answers_request"]:
            return changed
        case = self._case_or_none(p["application_id"])
        if case is None:
            return changed
        deadline = self.deadline(case.application_id, SUPPLEMENT, p["answers_request"])
        submitted_at = datetime.fromisoformat(p["submitted_at"])
        on_time = deadline.meet(submitted_at, caused_by=_cause(event)) if deadline is not None else None
        if case.receive_supplement(p["answers_request"], p["plan_version"], p["digest"], p["name"],
                                   bool(on_time), _cause(event)):
            changed.append(case)
            if deadline is not None:
                changed.append(deadline)
        return changed

    def on_deadline_missed(self, deadline: Deadline) -> list:
        if deadline.kind != SUPPLEMENT:
            return []
        case = self._case_or_none(deadline.application_id)
        if case is not None and case.supplement_overdue(deadline.request_id, deadline.due):
            return [case]
        return []


def _cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}
