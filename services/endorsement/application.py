"""Endorsement's event-sourced application: the organizing and recommending units'
decisions, the recommending units' quotas, their queues and history, and the
reactions to intake's, formal review's and expert review's events."""
from __future__ import annotations

import base64
import json
import uuid

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from services.endorsement.domain import (
    APPLICANT,
    ENDORSING,
    FORWARDED,
    RECOMMENDED,
    QuotaSlot,
    RegisteredUnit,
    ReviewItem,
    check_unit_pair,
    quota_scope,
    quota_slot_id,
    review_item_id,
    unit_id_of,
)
from services.endorsement.errors import PlanVersionSuperseded, ScanNotFound
from shared import blobs, clock
from shared.auth import Caller
from shared.clock import BEIJING
from shared.contracts import IntegrationEvent
from shared.errors import ApplicationNotFound, NotYourApplication, RuleViolation
from shared.eventstore import ServiceApplication, jsonable
from shared.listing import order_by

READERS_OF_ALL = ("officer", "auditor")
# The scans an item may hold: the organizing unit's stamped plan, the recommending unit's two.
SCAN_KINDS = ("organizing_scan", "stamped_plan_scan", "recommendation_letter")
UNIT_ROLES = {"organizing_unit": "organizing_unit_id", "recommending_unit": "recommending_unit_id"}
# The events that end an application, wherever it is: its items close, its slot frees.
ENDINGS = {
    ("intake", "ApplicationWithdrawn"): "the applicant withdrew the application",
    ("formal_review", "ApplicationFoundInadmissible"): "formal review found the application inadmissible",
    ("expert_review", "ApplicationDeclined"): "SAC declined to approve the application",
}
# Supplements (formal review) and revisions (expert review) answer SAC, not the units.
QUEUED_SUBMISSIONS = ("initial", "returned")
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


def cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _answer(row: dict) -> dict:
    """A read-model row as JSON: jsonb columns stay structured."""
    answer = jsonable({k: v for k, v in row.items() if k not in JSON_COLUMNS})
    answer.update({k: row[k] for k in JSON_COLUMNS if k in row})
    return answer


def _contract_file(attachment: dict | None) -> dict | None:
    """An attachment as the contracts carry it: without the uploader."""
    if attachment is None:
        return None
    return {k: attachment[k] for k in ("sha256", "name", "size", "media_type")}


class Endorsement(ServiceApplication):
    name = "Endorsement"
    service = "endorsement"
    read_model_tables = ("review_items", "endorsement_history", "quota_slots", "units")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS review_items (
        item_id uuid PRIMARY KEY,
        application_id uuid NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        applicant_id text NOT NULL,
        applicant_organization text NOT NULL,
        applicant_name text NOT NULL,
        name text NOT NULL,
        base_type text NOT NULL,
        region text,
        domain text,
        plan_version int NOT NULL,
        digest text NOT NULL,
        receipt_number text NOT NULL,
        submission_kind text NOT NULL,
        submitted_at timestamptz NOT NULL,
        queued_at timestamptz NOT NULL,
        state text NOT NULL,
        opinion jsonb,
        forwarded_at timestamptz,
        recommended_at timestamptz,
        decided_at timestamptz,
        quota_slot text,
        year int,
        reason text,
        updated_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS review_items_by_organizing_unit ON review_items (organizing_unit_id, queued_at);
    CREATE INDEX IF NOT EXISTS review_items_by_recommending_unit ON review_items (recommending_unit_id, forwarded_at);
    CREATE INDEX IF NOT EXISTS review_items_by_application ON review_items (application_id, plan_version);
    -- The first hop's name for the same rows, kept for the tools that read it. A database
    -- from before keeps its old table until `innobase rebuild endorsement` after dropping it.
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()
                       AND tablename = 'organizing_queue') THEN
            CREATE OR REPLACE VIEW organizing_queue AS SELECT * FROM review_items;
        END IF;
    END $$;
    CREATE TABLE IF NOT EXISTS endorsement_history (
        position bigint PRIMARY KEY,
        item_id uuid NOT NULL,
        application_id uuid NOT NULL,
        plan_version int NOT NULL,
        type text NOT NULL,
        at timestamptz NOT NULL,
        actor jsonb,
        caused_by jsonb,
        details jsonb NOT NULL
    );
    CREATE INDEX IF NOT EXISTS endorsement_history_by_application ON endorsement_history (application_id, position);
    CREATE TABLE IF NOT EXISTS quota_slots (
        slot_id uuid PRIMARY KEY,
        slot_key text NOT NULL,
        recommending_unit_id text NOT NULL,
        year int NOT NULL,
        base_type text NOT NULL,
        scope text NOT NULL,
        state text NOT NULL,
        application_id uuid,
        application_name text,
        item_id uuid,
        claimed_at timestamptz,
        released_at timestamptz,
        release_reason text,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS quota_slots_by_unit ON quota_slots (recommending_unit_id, year);
    CREATE TABLE IF NOT EXISTS units (
        id uuid PRIMARY KEY,
        register text NOT NULL,
        unit_id text NOT NULL,
        name text NOT NULL,
        role text,
        kind text,
        region text,
        domain text,
        credit_code text,
        contact jsonb,
        details jsonb NOT NULL,
        position bigint NOT NULL,
        UNIQUE (register, unit_id)
    );
    """ + blobs.BLOBS_DDL
    reactions = {
        ("intake", "UnitRegistered"): "on_unit_registered",
        ("intake", "ApplicantRegistered"): "on_applicant_registered",
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        **{ending: "on_application_ended" for ending in ENDINGS},
    }
    projections = {
        "Queued": "_project_queued",
        **{name: "_project_decision" for name in PUBLISHED if name != "Queued"},
        "SlotOpened": "_project_slot_opened",
        "SlotClaimed": "_project_slot_claimed",
        "SlotReleased": "_project_slot_released",
        "UnitRegistered": "_project_unit",
        "UnitRevised": "_project_unit",
    }

    # --- reactions ------------------------------------------------------------

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

    # --- queries --------------------------------------------------------------

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

    # --- helpers --------------------------------------------------------------

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
    def _require_named(caller: Caller, item: ReviewItem) -> None:
        unit = getattr(item, UNIT_ROLES[caller.role])
        if caller.organization != unit:
            raise NotYourApplication(
                f"the application names another {caller.role.replace('_', ' ')}",
                {"application_id": item.application_id, "rule": "named_unit"},
            )

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

    # --- published facts ------------------------------------------------------

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

    # --- read models ------------------------------------------------------------

    def _project_queued(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO review_items (item_id, application_id, organizing_unit_id, recommending_unit_id,"
                " applicant_id, applicant_organization, applicant_name, name, base_type, region, domain,"
                " plan_version, digest, receipt_number, submission_kind, submitted_at, queued_at, state,"
                " updated_at, position) VALUES (:item, :app, :ou, :ru, :applicant, :applicant_org,"
                " :applicant_name, :name, :base_type, :region, :domain, :plan_version, :digest, :receipt,"
                " :kind, :submitted_at, :at, 'queued', :at, :position)"
            ),
            {"item": event.originator_id, "app": event.application_id, "ou": event.organizing_unit_id,
             "ru": event.recommending_unit_id, "applicant": event.applicant_id,
             "applicant_org": getattr(event, "applicant_organization", ""),
             "applicant_name": getattr(event, "applicant_name", "") or getattr(event, "applicant_organization", ""),
             "name": event.name, "base_type": event.base_type, "region": getattr(event, "region", None),
             "domain": getattr(event, "domain", None), "plan_version": event.plan_version,
             "digest": event.digest, "receipt": event.receipt_number,
             "kind": getattr(event, "submission_kind", "initial"), "submitted_at": event.submitted_at,
             "at": event.timestamp, "position": position},
        )
        self._history(session, event, position, {
            "submission_kind": getattr(event, "submission_kind", "initial"), "digest": event.digest,
            "receipt_number": event.receipt_number, "answers_request": getattr(event, "answers_request", None),
        })

    def _project_decision(self, session, event, position: int) -> None:
        name = type(event).__name__
        changes, details = self._decision_row(name, event)
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        session.execute(
            text(f"UPDATE review_items SET {assignments}, updated_at = :at, position = :position"
                 " WHERE item_id = :item"),
            {**changes, "at": event.timestamp, "position": position, "item": event.originator_id},
        )
        self._history(session, event, position, details)

    @staticmethod
    def _decision_row(name: str, e) -> tuple[dict, dict]:
        """(columns of the item's row, details of its history entry) for one decision."""
        at = e.timestamp
        if name == "Forwarded":
            return ({"state": "forwarded", "forwarded_at": at, "opinion": _json(e.opinion), "reason": None},
                    {"opinion": e.opinion, "stamped_plan_scan": e.stamped_plan_scan})
        if name == "ReturnedToApplicant":
            return ({"state": "returned", "decided_at": at, "reason": e.reason},
                    {"sections": e.sections, "reason": e.reason, "request_id": e.request_id})
        if name == "Recommended":
            return ({"state": "recommended", "recommended_at": at, "decided_at": at,
                     "quota_slot": e.quota_slot, "year": e.year, "reason": None},
                    {"quota_slot": e.quota_slot, "year": e.year, "stamped_plan_scan": e.stamped_plan_scan,
                     "recommendation_letter": e.recommendation_letter})
        if name == "RecommendationDeclined":
            return {"state": "declined", "decided_at": at, "reason": e.reason}, {"reason": e.reason}
        if name == "ReturnedToOrganizingUnit":
            return {"state": "queued", "opinion": None, "reason": e.reason}, {"reason": e.reason}
        if name == "RecommendationWithdrawn":  # back to the recommending unit's decision
            return ({"state": "forwarded", "recommended_at": None, "quota_slot": None, "year": None,
                     "decided_at": at, "reason": e.reason},
                    {"reason": e.reason, "quota_slot": e.quota_slot})
        return ({"state": "closed", "reason": e.reason},  # Closed
                {"reason": e.reason, "previous_state": getattr(e, "previous_state", None),
                 "released_quota_slot": getattr(e, "released_quota_slot", None)})

    def _history(self, session, event, position: int, details: dict) -> None:
        session.execute(
            text(
                "INSERT INTO endorsement_history (position, item_id, application_id, plan_version, type, at,"
                " actor, caused_by, details) SELECT :position, item_id, application_id, plan_version, :type,"
                " :at, CAST(:actor AS jsonb), CAST(:caused_by AS jsonb), CAST(:details AS jsonb)"
                " FROM review_items WHERE item_id = :item"
            ),
            {"position": position, "type": PUBLISHED[type(event).__name__], "at": event.timestamp,
             "actor": _json(getattr(event, "actor", None)), "caused_by": _json(getattr(event, "caused_by", None)),
             "details": _json(details), "item": event.originator_id},
        )

    def _project_slot_opened(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO quota_slots (slot_id, slot_key, recommending_unit_id, year, base_type, scope,"
                 " state, position) VALUES (:slot, :key, :unit, :year, :base_type, :scope, 'free', :position)"),
            {"slot": event.originator_id, "key": event.key, "unit": event.recommending_unit_id,
             "year": event.year, "base_type": event.base_type, "scope": event.scope, "position": position},
        )

    def _project_slot_claimed(self, session, event, position: int) -> None:
        session.execute(
            text("UPDATE quota_slots SET state = 'held', application_id = :app, application_name = :name,"
                 " item_id = :item, claimed_at = :at, released_at = NULL, release_reason = NULL,"
                 " position = :position WHERE slot_id = :slot"),
            {"app": event.application_id, "name": event.application_name, "item": event.item_id,
             "at": event.timestamp, "position": position, "slot": event.originator_id},
        )

    def _project_slot_released(self, session, event, position: int) -> None:
        session.execute(
            text("UPDATE quota_slots SET state = 'free', released_at = :at, release_reason = :reason,"
                 " position = :position WHERE slot_id = :slot"),
            {"at": event.timestamp, "reason": event.reason, "position": position, "slot": event.originator_id},
        )

    def _project_unit(self, session, event, position: int) -> None:
        d = event.details
        values = {"name": d.get("name") or "", "role": d.get("role"), "kind": d.get("kind"),
                  "region": d.get("region"), "domain": d.get("domain"), "credit_code": d.get("credit_code"),
                  "contact": _json(d.get("contact")), "details": _json(d), "position": position}
        if type(event).__name__ == "UnitRegistered":
            session.execute(
                text("INSERT INTO units (id, register, unit_id, name, role, kind, region, domain, credit_code,"
                     " contact, details, position) VALUES (:id, :register, :unit_id, :name, :role, :kind,"
                     " :region, :domain, :credit_code, CAST(:contact AS jsonb), CAST(:details AS jsonb),"
                     " :position)"),
                {**values, "id": event.originator_id, "register": event.register, "unit_id": event.unit_id},
            )
        else:
            session.execute(
                text("UPDATE units SET name = :name, role = :role, kind = :kind, region = :region,"
                     " domain = :domain, credit_code = :credit_code, contact = CAST(:contact AS jsonb),"
                     " details = CAST(:details AS jsonb), position = :position WHERE id = :id"),
                {**values, "id": event.originator_id},
            )
