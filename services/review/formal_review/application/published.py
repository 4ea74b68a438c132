"""The facts formal review publishes: each domain event that other services hear of, as
the integration event of its contract in `shared.contracts`; the deadlines' facts come
from `DeadlineKeeper`."""
from __future__ import annotations


class Published:
    """Mixed into `FormalReview`: the outbox asks `integration_event` of every domain event;
    None keeps an event inside formal review."""

    def integration_event(self, domain_event):
        deadline_fact = self.deadline_integration_event(domain_event)
        if deadline_fact is not None:
            return deadline_fact
        name = type(domain_event).__name__
        e = domain_event
        if name == "Opened":
            return "FormalReviewOpened", 1, {"application_id": e.application_id, "case_id": e.originator_id,
                                             "plan_version": e.plan_version, "name": e.name,
                                             "base_type": e.base_type}
        if name == "Reopened":
            r = e.recommendation
            return "FormalReviewOpened", 1, {"application_id": r["application_id"], "case_id": e.originator_id,
                                             "plan_version": r["plan_version"], "name": r["name"],
                                             "base_type": r["base_type"]}
        if name == "Accepted":
            return "ApplicationAccepted", 1, {"application_id": e.application_id, "number": e.number,
                                              "year": e.year, "base_type": e.base_type}
        if name == "SupplementRequested":
            return "SupplementRequested", 1, {
                "application_id": e.application_id, "request_id": e.request_id, "items": e.items,
                "sections": e.sections, "reason": e.reason, "deadline": e.deadline}
        if name == "SupplementReceived":
            return "SupplementReceived", 1, {"application_id": e.application_id, "request_id": e.request_id,
                                             "plan_version": e.plan_version}
        if name == "Passed":
            return "FormalReviewPassed", 1, {
                k: getattr(e, k) for k in (
                    "application_id", "number", "plan_version", "name", "base_type", "region", "domain",
                    "applicant_organization", "applicant_name", "organizing_unit_id", "recommending_unit_id")}
        if name == "FoundInadmissible":
            return "ApplicationFoundInadmissible", 1, {"application_id": e.application_id, "number": e.number,
                                                       "reasons": e.reasons}
        if name == "ApplicantInformed":
            return "ApplicantInformed", 1, {"application_id": e.application_id, "decision": e.decision,
                                            "informed_at": e.informed_at}
        return None
