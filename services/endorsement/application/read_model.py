"""Endorsement's read model: the review items (the units' queues), each application's
endorsement history, the quota slots and the units recorded from intake, and the
projection of each domain event into them."""
from __future__ import annotations

import json

from sqlalchemy import text

from shared import blobs
from services.endorsement.application.published import PUBLISHED


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


class ReadModel:
    """Mixed into `Endorsement`: `read_model_ddl`, and `projections` naming the method each
    domain event goes through."""

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
    projections = {
        "Queued": "_project_queued",
        **{name: "_project_decision" for name in PUBLISHED if name != "Queued"},
        "SlotOpened": "_project_slot_opened",
        "SlotClaimed": "_project_slot_claimed",
        "SlotReleased": "_project_slot_released",
        "UnitRegistered": "_project_unit",
        "UnitRevised": "_project_unit",
    }

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
