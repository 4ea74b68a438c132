"""The facts expert review publishes: each domain event that other services hear of, as
the integration event (type, schema version, payload) of its contract in
`shared.contracts`; the deadlines' facts come from `DeadlineKeeper`."""
from __future__ import annotations


class Published:
    """Mixed into `ExpertReview`: the outbox asks `integration_event` of every domain event;
    None keeps an event inside expert review."""

    def integration_event(self, domain_event):
        deadline_fact = self.deadline_integration_event(domain_event)
        if deadline_fact is not None:
            return deadline_fact
        e, name = domain_event, type(domain_event).__name__
        if name == "Registered":
            return "ExpertRegistered", 1, {
                "expert_id": e.expert_id, "name": e.name, "organization": e.organization,
                "organization_name": e.organization_name, "region": e.region, "fields": e.fields,
                "email": e.email, "phone": e.phone}
        if name == "Formed":
            return "PanelFormed", 1, {
                "panel_id": e.originator_id, "meeting_date": e.meeting_date, "place": e.place,
                "application_ids": e.application_ids,
                "members": [{"expert_id": m, "is_chair": m == e.chair} for m in e.members]}
        if name == "ExpertAssigned":
            return "ExpertAssigned", 1, _fields(e, "application_id", "panel_id", "expert_id", "is_chair",
                                                "meeting_date", "place")
        if name == "ExpertDeclined":
            return "ExpertDeclined", 1, _fields(e, "application_id", "panel_id", "expert_id", "reason_kind",
                                                "reason")
        if name == "Submitted":
            return "OpinionSubmitted", 1, _fields(e, "application_id", "panel_id", "expert_id")
        if name == "SiteVisitScheduled":
            return "SiteVisitScheduled", 1, _fields(e, "application_id", "visit_date", "place")
        if name == "SiteVisitRecorded":
            return "SiteVisitRecorded", 1, _fields(e, "application_id", "findings")
        if name == "Concluded":
            return "PanelConcluded", 1, _fields(e, "application_id", "panel_id", "conclusion", "text")
        if name == "RevisionRequested":
            return "RevisionRequested", 1, _fields(e, "application_id", "request_id", "sections", "reason",
                                                   "deadline")
        if name == "RevisionConfirmed":
            return "RevisionConfirmed", 1, _fields(e, "application_id", "request_id", "plan_version")
        if name == "Approved":
            return "ApplicationApproved", 1, _fields(e, "application_id", "number", "base_type", "region", "domain",
                                                     "organizing_unit_id", "construction_plan_due", "reasons")
        if name == "ApprovalDeclined":
            return "ApplicationDeclined", 1, _fields(e, "application_id", "number", "reasons")
        if name == "ConstructionPlanSubmitted":
            return "ConstructionPlanSubmitted", 1, _fields(e, "application_id", "organizing_unit_id", "plan",
                                                           "on_time")
        return None


def _fields(domain_event, *names) -> dict:
    return {name: getattr(domain_event, name) for name in names}
