"""How expert review finds its aggregates (appraisals, experts, panels, approved
bases) and whether a caller may see an appraisal: what the other parts share."""
from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError

from shared import preconditions
from shared.auth import Caller
from shared.errors import ApplicationNotFound, NotYourApplication
from services.review.errors import ExpertNotFound, PanelNotFound
from services.review.expert_review.domain import (
    Appraisal,
    BaseSlot,
    Expert,
    Panel,
    appraisal_id,
    expert_aggregate_id,
    slot_id,
)

REVISION, CONSTRUCTION_PLAN = "revision", "construction_plan"
READERS_OF_ALL = ("officer", "auditor")
OWN_ORGANIZATION = {"applicant": "applicant_organization", "organizing_unit": "organizing_unit_id",
                    "recommending_unit": "recommending_unit_id"}


class Access:
    """Mixed into `ExpertReview`: its aggregates by id, each missing one a typed error."""

    def _appraisal_or_none(self, application_id) -> Appraisal | None:
        try:
            return self.repository.get(appraisal_id(application_id))
        except AggregateNotFoundError:
            return None

    def _appraisal(self, application_id) -> Appraisal:
        appraisal = self._appraisal_or_none(application_id)
        if appraisal is None:
            raise ApplicationNotFound("no application in expert review with this id",
                                      {"application_id": str(application_id)})
        preconditions.check(appraisal)  # a command sent with the version the caller read (If-Match)
        return appraisal

    def _appraisal_for_expert(self, caller: Caller, application_id) -> Appraisal:
        appraisal = self._appraisal(application_id)
        appraisal.require_assigned(caller.party_id)
        return appraisal

    def _require_own(self, caller: Caller, appraisal: Appraisal) -> None:
        column = OWN_ORGANIZATION.get(caller.role)
        if column is None or getattr(appraisal, column) != caller.organization:
            raise NotYourApplication("this application is not yours",
                                     {"application_id": appraisal.application_id})

    def _expert_or_none(self, expert_id: str) -> Expert | None:
        try:
            return self.repository.get(expert_aggregate_id(expert_id))
        except AggregateNotFoundError:
            return None

    def _expert(self, expert_id: str) -> Expert:
        expert = self._expert_or_none(expert_id)
        if expert is None:
            raise ExpertNotFound("no such expert in the register", {"expert_id": expert_id})
        return expert

    def _panel(self, panel_id) -> Panel:
        try:
            return self.repository.get(panel_id)
        except AggregateNotFoundError:
            raise PanelNotFound("no such panel", {"panel_id": str(panel_id)}) from None

    def _slot_or_none(self, base_type: str, scope: str, ordinal: int) -> BaseSlot | None:
        try:
            return self.repository.get(slot_id(base_type, scope, ordinal))
        except AggregateNotFoundError:
            return None

    def _unit_codes(self, unit_ids: set[str]) -> dict[str, str | None]:
        if not unit_ids:
            return {}
        rows = self.query("SELECT unit_id, credit_code FROM units WHERE unit_id = ANY(:ids)", ids=list(unit_ids))
        return {r["unit_id"]: r["credit_code"] for r in rows}
