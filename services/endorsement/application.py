"""Endorsement's event-sourced application: reactions to intake and the units' queues."""
from __future__ import annotations

from sqlalchemy import text

from shared.auth import Caller
from shared.contracts import IntegrationEvent
from shared.eventstore import ServiceApplication, jsonable
from services.endorsement.domain import ReviewItem

CLOSED_BY_WITHDRAWAL = "the applicant withdrew the application"


class Endorsement(ServiceApplication):
    name = "Endorsement"
    service = "endorsement"
    read_model_tables = ("organizing_queue",)
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS organizing_queue (
        item_id uuid PRIMARY KEY,
        application_id uuid NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        applicant_id text NOT NULL,
        name text NOT NULL,
        base_type text NOT NULL,
        plan_version int NOT NULL,
        digest text NOT NULL,
        receipt_number text NOT NULL,
        submitted_at timestamptz NOT NULL,
        queued_at timestamptz NOT NULL,
        state text NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS organizing_queue_by_unit ON organizing_queue (organizing_unit_id, queued_at);
    CREATE INDEX IF NOT EXISTS organizing_queue_by_application ON organizing_queue (application_id);
    """
    reactions = {
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        ("intake", "ApplicationWithdrawn"): "on_application_withdrawn",
    }
    projections = {"Queued": "_project_queued", "Closed": "_project_closed"}

    # --- reactions ------------------------------------------------------------

    def on_application_submitted(self, event: IntegrationEvent) -> list:
        p = event.payload
        return [ReviewItem.queue(
            caused_by={"source": event.source, "position": event.position},
            application_id=p["application_id"], applicant_id=p["applicant_id"], name=p["name"],
            base_type=p["base_type"], organizing_unit_id=p["organizing_unit_id"],
            recommending_unit_id=p["recommending_unit_id"], plan_version=p["plan_version"],
            digest=p["digest"], receipt_number=p["receipt_number"], submitted_at=p["submitted_at"],
        )]

    def on_application_withdrawn(self, event: IntegrationEvent) -> list:
        open_items = self.query(
            "SELECT item_id FROM organizing_queue WHERE application_id = :a AND state = 'queued'",
            a=event.application_id,
        )
        items = [self.repository.get(row["item_id"]) for row in open_items]
        for item in items:
            item.close(CLOSED_BY_WITHDRAWAL, caused_by={"source": event.source, "position": event.position})
        return items

    # --- queries --------------------------------------------------------------

    def organizing_queue(self, caller: Caller, state: str | None, limit: int, offset: int) -> dict:
        """The organizing unit's queue, oldest first, with counts by state."""
        caller.require_role("organizing_unit")
        where = "organizing_unit_id = :unit" + (" AND state = :state" if state else "")
        items = self.query(
            "SELECT item_id, application_id, name, base_type, applicant_id, plan_version, digest,"
            " receipt_number, submitted_at, queued_at, state FROM organizing_queue"
            f" WHERE {where} ORDER BY queued_at, item_id LIMIT :limit OFFSET :offset",
            unit=caller.organization, state=state, limit=limit, offset=offset,
        )
        counts = self.query(
            "SELECT state, count(*) AS n FROM organizing_queue WHERE organizing_unit_id = :unit GROUP BY state",
            unit=caller.organization,
        )
        return {
            "items": [jsonable(item) for item in items],
            "counts": {row["state"]: row["n"] for row in counts},
        }

    # --- published facts ------------------------------------------------------

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        if name == "Queued":
            return "ReviewItemQueued", 1, {
                "application_id": domain_event.application_id, "item_id": domain_event.originator_id,
                "organizing_unit_id": domain_event.organizing_unit_id,
                "plan_version": domain_event.plan_version, "digest": domain_event.digest,
                "queued_at": domain_event.timestamp,
            }
        if name == "Closed":
            item = self.repository.get(domain_event.originator_id, version=domain_event.originator_version)
            return "ReviewItemClosed", 1, {
                "application_id": item.application_id, "item_id": item.id, "reason": domain_event.reason,
            }
        return None

    # --- read model -----------------------------------------------------------

    def _project_queued(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO organizing_queue (item_id, application_id, organizing_unit_id,"
                " recommending_unit_id, applicant_id, name, base_type, plan_version, digest,"
                " receipt_number, submitted_at, queued_at, state, position) VALUES (:item, :app, :ou,"
                " :ru, :applicant, :name, :base_type, :plan_version, :digest, :receipt, :submitted_at,"
                " :at, 'queued', :position)"
            ),
            {"item": event.originator_id, "app": event.application_id, "ou": event.organizing_unit_id,
             "ru": event.recommending_unit_id, "applicant": event.applicant_id, "name": event.name,
             "base_type": event.base_type, "plan_version": event.plan_version, "digest": event.digest,
             "receipt": event.receipt_number, "submitted_at": event.submitted_at, "at": event.timestamp,
             "position": position},
        )

    def _project_closed(self, session, event, position: int) -> None:
        session.execute(
            text("UPDATE organizing_queue SET state = 'closed', position = :p WHERE item_id = :item"),
            {"p": position, "item": event.originator_id},
        )

