"""The facts endorsement publishes: each review item event as the integration event of
its contract in `shared.contracts` (the same names head its history entries)."""
from __future__ import annotations

from services.endorsement.domain import ReviewItem

# Each review item event, the integration event it is published as, and its history entry.
PUBLISHED = {
    "Queued": "ReviewItemQueued",
    "Forwarded": "ApplicationForwarded",
    "ReturnedToApplicant": "ApplicationReturned",
    "Recommended": "ApplicationRecommended",
    "RecommendationDeclined": "RecommendationDeclined",
    "ReturnedToOrganizingUnit": "ApplicationReturnedToOrganizingUnit",
    "RecommendationWithdrawn": "RecommendationWithdrawn",
    "Closed": "ReviewItemClosed",
}


class Published:
    """Mixed into `Endorsement`: the outbox asks `integration_event` of every domain event;
    None keeps an event inside endorsement."""

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        if name not in PUBLISHED:
            return None
        if name == "Queued":
            return "ReviewItemQueued", 1, {
                "application_id": domain_event.application_id, "item_id": domain_event.originator_id,
                "organizing_unit_id": domain_event.organizing_unit_id,
                "plan_version": domain_event.plan_version, "digest": domain_event.digest,
                "queued_at": domain_event.timestamp,
            }
        item = self.repository.get(domain_event.originator_id, version=domain_event.originator_version)
        return PUBLISHED[name], 1, self._payload(name, item, domain_event)

    @staticmethod
    def _payload(name: str, item: ReviewItem, e) -> dict:
        application = {"application_id": item.application_id}
        if name == "Forwarded":
            return {**application, "plan_version": item.plan_version, "digest": item.digest,
                    "organizing_unit_id": item.organizing_unit_id,
                    "recommending_unit_id": item.recommending_unit_id, "opinion": item.opinion,
                    "stamped_plan_scan": _contract_file(item.organizing_scan)}
        if name == "ReturnedToApplicant":
            return {**application, "plan_version": item.plan_version, "organizing_unit_id": item.organizing_unit_id,
                    "sections": e.sections, "reason": e.reason, "request_id": e.request_id}
        if name == "Recommended":
            return {**application, "plan_version": item.plan_version, "digest": item.digest, "name": item.name,
                    "base_type": item.base_type, "region": item.region, "domain": item.domain,
                    "applicant_organization": item.applicant_organization, "applicant_name": item.applicant_name,
                    "organizing_unit_id": item.organizing_unit_id,
                    "recommending_unit_id": item.recommending_unit_id, "year": item.year,
                    "quota_slot": item.quota_slot, "opinion": item.opinion,
                    "stamped_plan_scan": _contract_file(item.stamped_plan_scan),
                    "recommendation_letter": _contract_file(item.recommendation_letter),
                    "recommended_at": e.timestamp}
        if name == "RecommendationDeclined":
            return {**application, "recommending_unit_id": item.recommending_unit_id, "reason": e.reason}
        if name == "ReturnedToOrganizingUnit":
            return {**application, "plan_version": item.plan_version, "organizing_unit_id": item.organizing_unit_id,
                    "recommending_unit_id": item.recommending_unit_id, "reason": e.reason}
        if name == "RecommendationWithdrawn":
            return {**application, "recommending_unit_id": item.recommending_unit_id,
                    "quota_slot": e.quota_slot, "reason": e.reason}
        return {**application, "item_id": item.id, "reason": e.reason}  # Closed


def _contract_file(attachment: dict | None) -> dict | None:
    """An attachment as the contracts carry it: without the uploader."""
    if attachment is None:
        return None
    return {k: attachment[k] for k in ("sha256", "name", "size", "media_type")}
