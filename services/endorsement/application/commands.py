"""The units' decisions: the organizing unit checks and stamps (审核盖章) and forwards,
or returns the plan to the applicant; the recommending unit recommends (推荐) within
its quota, declines, returns the plan to the organizing unit, or withdraws its
recommendation."""
from __future__ import annotations

import uuid

from shared import blobs, clock
from shared.auth import Caller
from shared.clock import BEIJING
from shared.errors import RuleViolation
from services.endorsement.domain import (
    ENDORSING,
    FORWARDED,
    QuotaSlot,
    ReviewItem,
    check_unit_pair,
    quota_scope,
    quota_slot_id,
)
from services.endorsement.errors import PlanVersionSuperseded


class Commands:
    """Mixed into `Endorsement`: each decision is about the latest version's item, by the
    unit it names, and saves its events with the scans they mention."""

    # --- the organizing unit: check and stamp (审核盖章) ---------------------------

    def forward(self, caller: Caller, data: dict) -> dict:
        item = self._decision(caller, data, "organizing_unit")
        scan = self._checked_file(caller, data["stamped_plan"], "stamped_plan") if data["stamped_plan"] else None
        opinion = {**data["opinion"], "date": data["opinion"]["date"].isoformat()}
        item.forward(caller.as_actor(), opinion, scan[0].as_dict() if scan else None,
                     today=clock.now().astimezone(BEIJING).date())
        self._save(item, files=[scan] if scan else [])
        return self.item_summary(item)

    def return_to_applicant(self, caller: Caller, data: dict) -> dict:
        item = self._decision(caller, data, "organizing_unit")
        item.return_to_applicant(caller.as_actor(), data["sections"], data["reason"])
        self._save(item)
        return self.item_summary(item)

    # --- the recommending unit: recommend (推荐) or not ----------------------------

    def recommend(self, caller: Caller, data: dict) -> dict:
        item = self._decision(caller, data, "recommending_unit")
        stamped_plan = self._checked_file(caller, data["stamped_plan"], "stamped_plan")
        letter = self._checked_file(caller, data["recommendation_letter"], "recommendation_letter")
        item.require_stage(FORWARDED)
        check_unit_pair(item.base_type,
                        item.organizing_unit_id, self._unit(ENDORSING, item.organizing_unit_id),
                        item.recommending_unit_id, self._unit(ENDORSING, item.recommending_unit_id))
        year = clock.now().astimezone(BEIJING).year
        scope = quota_scope(item.base_type, item.region, item.domain)
        slot = None
        if scope is not None:
            slot = self._get(quota_slot_id(item.recommending_unit_id, year, item.base_type, scope)) \
                or QuotaSlot.open(item.recommending_unit_id, year, item.base_type, scope)
            slot.claim(item.application_id, item.id, item.name, caller.as_actor())
        item.recommend(caller.as_actor(), slot, year, stamped_plan[0].as_dict(), letter[0].as_dict())
        self._save(item, *([slot] if slot else []), files=[stamped_plan, letter])
        return self.item_summary(item)

    def decline(self, caller: Caller, data: dict) -> dict:
        item = self._decision(caller, data, "recommending_unit")
        item.decline(caller.as_actor(), data["reason"])
        self._save(item)
        return self.item_summary(item)

    def return_to_organizing_unit(self, caller: Caller, data: dict) -> dict:
        item = self._decision(caller, data, "recommending_unit")
        item.return_to_organizing_unit(caller.as_actor(), data["reason"])
        self._save(item)
        return self.item_summary(item)

    def withdraw_recommendation(self, caller: Caller, data: dict) -> dict:
        item = self._decision(caller, data, "recommending_unit")
        slot_id = item.withdraw_recommendation(caller.as_actor(), data["reason"])
        changed = [item]
        if slot_id is not None:
            slot = self.repository.get(uuid.UUID(slot_id))
            if slot.release(item.application_id, data["reason"], actor=caller.as_actor()):
                changed.append(slot)
        self._save(*changed)
        return self.item_summary(item)

    # --- helpers --------------------------------------------------------------

    def _decision(self, caller: Caller, data: dict, role: str) -> ReviewItem:
        """The item a unit's decision is about: that unit's, and the version it looked at."""
        caller.require_role(role)
        item = self._current_item(data["application_id"])
        self._require_named(caller, item)
        if data.get("plan_version") is not None and data["plan_version"] != item.plan_version:
            raise PlanVersionSuperseded.of(
                "plan_version", f"version {data['plan_version']} is superseded by version {item.plan_version}",
                field="plan_version", plan_version=data["plan_version"], current_plan_version=item.plan_version,
            )
        return item

    @staticmethod
    def _checked_file(caller: Caller, file: dict, field: str) -> tuple[blobs.Attachment, bytes]:
        try:
            return blobs.check(file["name"], file["content"], caller.party_id), file["content"]
        except RuleViolation as error:
            # Two files travel in one call: say which one broke the rule.
            inner = error.details.get("field", "content")
            raise type(error)(error.message, {**error.details, "field": f"{field}.{inner}"}) from None

    def _save(self, *aggregates, files=()) -> None:
        """The events and the files they mention, in one transaction."""
        with self.transaction() as session:
            for attachment, content in files:
                blobs.store(session, attachment, content)
            self.save(*aggregates)
