"""What endorsement answers the units and SAC: each unit's queue with counts by state,
an application's endorsement history, its scans, the draft recommendation letter
(推荐函) and a recommending unit's quota of the year."""
from __future__ import annotations

import base64
import uuid

from shared import blobs, clock
from shared.auth import Caller
from shared.clock import BEIJING
from shared.errors import ApplicationNotFound, NotYourApplication
from shared.eventstore import jsonable
from shared.listing import order_by
from services.endorsement.application.access import READERS_OF_ALL, UNIT_ROLES
from services.endorsement.domain import ReviewItem
from services.endorsement.errors import ScanNotFound

# The scans an item may hold: the organizing unit's stamped plan, the recommending unit's two.
SCAN_KINDS = ("organizing_scan", "stamped_plan_scan", "recommendation_letter")
ITEM_COLUMNS = (
    "item_id, application_id, name, base_type, region, domain, applicant_id, applicant_organization,"
    " applicant_name, organizing_unit_id, recommending_unit_id,"
    " (SELECT name FROM units u WHERE u.register = 'endorsing' AND u.unit_id = i.organizing_unit_id)"
    " AS organizing_unit_name,"
    " (SELECT name FROM units u WHERE u.register = 'endorsing' AND u.unit_id = i.recommending_unit_id)"
    " AS recommending_unit_name,"
    " plan_version, digest, receipt_number, submission_kind, submitted_at, queued_at, state, opinion,"
    " forwarded_at, recommended_at, decided_at, quota_slot, year, reason, updated_at"
)
JSON_COLUMNS = ("opinion", "actor", "caused_by", "details")


class Queries:
    """Mixed into `Endorsement`: reads of the read model and the items; none changes anything."""

    def organizing_queue(self, caller: Caller, state: str | None, limit: int, offset: int,
                         sort: str | None = None) -> dict:
        """The organizing unit's queue, oldest first, with counts by state."""
        caller.require_role("organizing_unit")
        return self._queue("organizing_unit_id", caller.organization, state, limit, offset, sort=sort)

    def recommending_queue(self, caller: Caller, state: str | None, limit: int, offset: int,
                           sort: str | None = None) -> dict:
        """What organizing units forwarded to the recommending unit, oldest first, with counts by state."""
        caller.require_role("recommending_unit")
        return self._queue("recommending_unit_id", caller.organization, state, limit, offset,
                           only_forwarded=True, sort=sort)

    def _queue(self, column: str, unit: str, state: str | None, limit: int, offset: int,
               only_forwarded: bool = False, sort: str | None = None) -> dict:
        where = f"{column} = :unit" + (" AND forwarded_at IS NOT NULL" if only_forwarded else "")
        order = "forwarded_at" if only_forwarded else "queued_at"
        items = self.query(
            f"SELECT {ITEM_COLUMNS} FROM review_items i WHERE {where}"
            + (" AND state = :state" if state else "")
            + f" ORDER BY {order_by(sort, order + ', item_id')} LIMIT :limit OFFSET :offset",
            unit=unit, state=state, limit=limit, offset=offset,
        )
        counts = self.query(f"SELECT state, count(*) AS n FROM review_items WHERE {where} GROUP BY state",
                            unit=unit)
        return {
            "items": [_answer(item) for item in items],
            "counts": {row["state"]: row["n"] for row in counts},
        }

    def endorsement_history(self, caller: Caller, application_id: uuid.UUID) -> dict:
        """Every endorsement event of one application, in log order; a unit sees the
        versions that name it, officers and auditors see all."""
        caller.require_role("organizing_unit", "recommending_unit", *READERS_OF_ALL)
        rows = self.query(
            "SELECT h.position, h.type, h.at, h.item_id, h.plan_version, h.actor, h.caused_by, h.details,"
            " i.organizing_unit_id, i.recommending_unit_id FROM endorsement_history h"
            " JOIN review_items i USING (item_id) WHERE h.application_id = :a ORDER BY h.position",
            a=str(application_id),
        )
        if not rows:
            raise ApplicationNotFound("no such application in endorsement", {"application_id": str(application_id)})
        if caller.role not in READERS_OF_ALL:
            rows = [row for row in rows if row[UNIT_ROLES[caller.role]] == caller.organization]
            if not rows:
                raise NotYourApplication("the application names another unit",
                                         {"application_id": str(application_id)})
        return {
            "application_id": str(application_id),
            "events": [_answer({k: v for k, v in row.items() if not k.endswith("_unit_id")}) for row in rows],
        }

    def scan(self, caller: Caller, application_id: uuid.UUID, sha256: str) -> dict:
        """A scan on one of the application's items, for the units that item names, officers and
        auditors. A unit no version of the application names learns nothing of its files."""
        caller.require_role("organizing_unit", "recommending_unit", *READERS_OF_ALL)
        rows = self.query("SELECT item_id FROM review_items WHERE application_id = :a ORDER BY plan_version DESC",
                          a=str(application_id))
        if not rows:
            raise ApplicationNotFound("no such application in endorsement", {"application_id": str(application_id)})
        items = [self.repository.get(row["item_id"]) for row in rows]
        if caller.role not in READERS_OF_ALL and not any(
                getattr(item, UNIT_ROLES[caller.role]) == caller.organization for item in items):
            raise NotYourApplication("the application names another unit", {"application_id": str(application_id)})
        for item in items:
            for kind in SCAN_KINDS:
                file = getattr(item, kind)
                if file and file["sha256"] == sha256:
                    if caller.role not in READERS_OF_ALL:
                        self._require_named(caller, item)
                    with self.transaction() as session:
                        content = blobs.fetch(session, sha256)
                    return {**file, "kind": kind, "plan_version": item.plan_version,
                            "content": base64.b64encode(content).decode("ascii")}
        raise ScanNotFound("no scan with that SHA-256 on this application's endorsement",
                           {"field": "sha256", "sha256": sha256})

    def recommending_quota(self, caller: Caller, year: int | None) -> dict:
        """The recommending unit's quota slots of a year (Beijing time): held or freed, and by whom."""
        caller.require_role("recommending_unit")
        year = year or clock.now().astimezone(BEIJING).year
        slots = self.query(
            "SELECT slot_key AS quota_slot, base_type, scope, state, application_id, application_name,"
            " claimed_at, released_at, release_reason FROM quota_slots"
            " WHERE recommending_unit_id = :unit AND year = :year ORDER BY base_type, scope",
            unit=caller.organization, year=year,
        )
        return {"recommending_unit_id": caller.organization, "year": year,
                "slots": [_answer(slot) for slot in slots]}

    @staticmethod
    def item_summary(item: ReviewItem) -> dict:
        return {
            "item_id": str(item.id), "application_id": item.application_id, "name": item.name,
            "base_type": item.base_type, "plan_version": item.plan_version, "digest": item.digest,
            "organizing_unit_id": item.organizing_unit_id, "recommending_unit_id": item.recommending_unit_id,
            "state": item.state, "opinion": item.opinion, "quota_slot": item.quota_slot, "year": item.year,
            "return_request_id": item.return_request_id, "version": item.version,
        }


def _answer(row: dict) -> dict:
    """A read-model row as JSON: jsonb columns stay structured."""
    answer = jsonable({k: v for k, v in row.items() if k not in JSON_COLUMNS})
    answer.update({k: row[k] for k in JSON_COLUMNS if k in row})
    return answer
