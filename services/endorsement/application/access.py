"""How endorsement finds its aggregates (review items, quota slots, the units it
recorded) and whether the calling unit is the one an item names: what the other
parts share."""
from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError

from shared.auth import Caller
from shared.errors import ApplicationNotFound, NotYourApplication
from services.endorsement.domain import RegisteredUnit, ReviewItem, unit_id_of

READERS_OF_ALL = ("officer", "auditor")
UNIT_ROLES = {"organizing_unit": "organizing_unit_id", "recommending_unit": "recommending_unit_id"}


class Access:
    """Mixed into `Endorsement`: its aggregates by id, and the item a decision is about."""

    def _get(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _unit(self, register: str, unit_id: str) -> RegisteredUnit | None:
        return self._get(unit_id_of(register, unit_id))

    def _current_item(self, application_id) -> ReviewItem:
        """The latest submitted version's item: the one any decision is about."""
        rows = self.query("SELECT item_id FROM review_items WHERE application_id = :a"
                          " ORDER BY plan_version DESC LIMIT 1", a=str(application_id))
        if not rows:
            raise ApplicationNotFound("no such application in endorsement", {"application_id": str(application_id)})
        return self.repository.get(rows[0]["item_id"])

    @staticmethod
    def _require_named(caller: Caller, item: ReviewItem) -> None:
        unit = getattr(item, UNIT_ROLES[caller.role])
        if caller.organization != unit:
            raise NotYourApplication(
                f"the application names another {caller.role.replace('_', ' ')}",
                {"application_id": item.application_id, "rule": "named_unit"},
            )
