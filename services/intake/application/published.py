"""The facts intake publishes: each domain event that other services hear of, as the
integration event (type, schema version, payload) of its contract in `shared.contracts`."""
from __future__ import annotations

from services.intake import plan as plans


class Published:
    """Mixed into `Intake`: the outbox asks `integration_event` of every domain event; None
    keeps an event inside intake."""

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        if name == "ApplicantRegistered":
            e = domain_event
            return "ApplicantRegistered", 1, {
                "unit_id": e.credit_code, "name": e.name, "credit_code": e.credit_code,
                "credit_code_override": e.credit_code_override, "category": e.category, "region": e.region,
                "region_known": e.region_known, "head": e.head, "contact": e.contact, "postcode": e.postcode,
                "address": e.address, "registered_by": e.actor["party_id"],
            }
        if name == "UnitRegistered":
            e = domain_event
            return "UnitRegistered", 1, {
                "unit_id": e.unit_id, "name": e.name, "role": e.role, "kind": e.kind, "credit_code": e.credit_code,
                "region": e.region, "domain": e.domain, "contact": e.contact, "address": e.address,
                "postcode": e.postcode,
            }
        if name == "Drafted":
            e = domain_event
            return "ApplicationDrafted", 1, {
                "application_id": e.originator_id, "applicant_id": e.applicant_id,
                "applicant_organization": e.applicant_organization, "base_type": e.base_type, "name": e.name,
                "organizing_unit_id": e.organizing_unit_id, "recommending_unit_id": e.recommending_unit_id,
            }
        if name == "Submitted":
            return "ApplicationSubmitted", 1, _submitted_payload(domain_event)
        if name == "SectionsReopened":
            e = domain_event
            return "SectionsReopened", 1, {
                "application_id": e.originator_id, "sections": e.sections, "reason": e.reason,
                "requested_by": e.requested_by, "request_id": e.request_id, "deadline": e.deadline,
            }
        if name == "Withdrawn":
            return "ApplicationWithdrawn", 1, {
                "application_id": domain_event.originator_id, "reason": domain_event.reason,
                "withdrawn_at": domain_event.timestamp,
            }
        return None


def _submitted_payload(e) -> dict:
    frozen = e.plan
    basic = frozen["sections"]["basic"]
    files = frozen["files"]
    contract = lambda sha: {key: files[sha][key] for key in ("sha256", "name", "size", "media_type")}  # noqa: E731
    return {
        "application_id": e.originator_id,
        "applicant_id": e.actor["party_id"],
        "applicant_organization": e.actor["organization"],
        "applicant_name": (basic.get("applicant") or {}).get("name") or e.actor["organization"],
        "base_type": frozen["base_type"],
        "name": basic["name"],
        "region": basic.get("region"),
        "domain": basic.get("domain"),
        "organizing_unit_id": basic["organizing_unit_id"],
        "recommending_unit_id": basic["recommending_unit_id"],
        "plan_version": e.plan_version,
        "digest": e.digest,
        "receipt_number": e.receipt_number,
        "submitted_at": e.submitted_at,
        "submission_kind": e.submission_kind,
        "answers_request": e.answers_request,
        "changed_sections": e.changed_sections,
        "qualification_items": [
            {"item": item["item"], "requirement": plans.QUALIFICATION_CHECKLISTS[frozen["base_type"]][item["item"] - 1],
             "declared": item["declared"], "statement": item.get("statement"),
             "evidence": [contract(sha) for sha in item.get("evidence") or [] if sha in files]}
            for item in (frozen["sections"].get("qualifications") or {}).get("items") or []
        ],
        "attachments": [contract(sha) for sha in files],
        "late_exception": e.late_exception,
    }
