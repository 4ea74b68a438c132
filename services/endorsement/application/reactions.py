"""What other services' integration events change in endorsement: the units and
applicants intake registers, a submitted version queued for its organizing unit, and
the end of an application (its items close, its quota slot frees)."""
from __future__ import annotations

import uuid

from shared.contracts import IntegrationEvent
from services.endorsement.domain import APPLICANT, ENDORSING, RegisteredUnit, ReviewItem, review_item_id, unit_id_of

# The events that end an application, wherever it is: its items close, its slot frees.
ENDINGS = {
    ("intake", "ApplicationWithdrawn"): "the applicant withdrew the application",
    ("formal_review", "ApplicationFoundInadmissible"): "formal review found the application inadmissible",
    ("expert_review", "ApplicationDeclined"): "SAC declined to approve the application",
}
# Supplements (formal review) and revisions (expert review) answer SAC, not the units.
QUEUED_SUBMISSIONS = ("initial", "returned")


def cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}


class Reactions:
    """Mixed into `Endorsement`: `reactions` maps (source, type) to a method returning the
    aggregates it changed."""

    reactions = {
        ("intake", "UnitRegistered"): "on_unit_registered",
        ("intake", "ApplicantRegistered"): "on_applicant_registered",
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        **{ending: "on_application_ended" for ending in ENDINGS},
    }

    def on_unit_registered(self, event: IntegrationEvent) -> list:
        p = event.payload
        details = {k: p[k] for k in ("name", "role", "kind", "credit_code", "region", "domain", "contact",
                                     "address", "postcode")}
        return self._record_unit(ENDORSING, p["unit_id"], details, cause(event))

    def on_applicant_registered(self, event: IntegrationEvent) -> list:
        p = event.payload
        details = {k: p[k] for k in ("name", "credit_code", "category", "region", "contact")}
        return self._record_unit(APPLICANT, p["unit_id"], details, cause(event))

    def _record_unit(self, register: str, unit_id: str, details: dict, caused_by: dict) -> list:
        unit = self._get(unit_id_of(register, unit_id))
        if unit is None:
            return [RegisteredUnit.record(register, unit_id, details, caused_by)]
        return [unit] if unit.revise(details, caused_by) else []

    def on_application_submitted(self, event: IntegrationEvent) -> list:
        p = event.payload
        if p["submission_kind"] not in QUEUED_SUBMISSIONS:
            return []
        if self._get(review_item_id(p["application_id"], p["plan_version"])) is not None:
            return []  # already queued: the same version published again changes nothing
        return [ReviewItem.queue(
            caused_by=cause(event),
            **{k: p[k] for k in (
                "application_id", "applicant_id", "applicant_organization", "applicant_name", "name",
                "base_type", "region", "domain", "organizing_unit_id", "recommending_unit_id",
                "plan_version", "digest", "receipt_number", "submitted_at", "submission_kind",
                "answers_request")},
        )]

    def on_application_ended(self, event: IntegrationEvent) -> list:
        """Close the application's items; a recommendation it held frees its quota slot."""
        reason = ENDINGS[(event.source, event.type)]
        changed = []
        for row in self.query("SELECT item_id FROM review_items WHERE application_id = :a ORDER BY plan_version",
                              a=event.application_id):
            item = self.repository.get(row["item_id"])
            held_a_slot = item.holds_quota_slot
            if not item.close(reason, caused_by=cause(event)):
                continue
            changed.append(item)
            if held_a_slot:
                slot = self.repository.get(uuid.UUID(item.quota_slot_id))
                if slot.release(item.application_id, reason, caused_by=cause(event)):
                    changed.append(slot)
        return changed
