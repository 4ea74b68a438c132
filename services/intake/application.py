"""Intake's event-sourced application: commands on applications, queries, published facts."""
from __future__ import annotations

import uuid

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from shared import clock
from shared.auth import Caller
from shared.clock import BEIJING
from shared.eventstore import ServiceApplication, jsonable
from services.intake.domain import Application, draft_id
from services.intake.errors import ApplicationNotFound, NotYourApplication

READERS_OF_ALL = ("officer", "auditor")


class Intake(ServiceApplication):
    name = "Intake"
    service = "intake"
    snapshotting_intervals = {Application: 50}
    read_model_tables = ("applications",)
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS applications (
        application_id uuid PRIMARY KEY,
        applicant_id text NOT NULL,
        applicant_organization text NOT NULL,
        base_type text NOT NULL,
        name text NOT NULL,
        stage text NOT NULL,
        plan_version int NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS applications_by_applicant ON applications (applicant_id);
    """
    projections = {
        "Drafted": "_project_drafted",
        "Submitted": "_project_stage",
        "Withdrawn": "_project_stage",
    }

    # --- commands -------------------------------------------------------------

    def create_draft(self, caller: Caller, data: dict) -> dict:
        caller.require_role("applicant")
        application_id = draft_id(caller.party_id, data["request_id"] or str(uuid.uuid4()))
        existing = self._get_or_none(application_id)
        if existing is not None:  # the same request again: answer as the first time
            return self.summary(existing)
        application = Application.draft(
            application_id=application_id,
            applicant_id=caller.party_id,
            applicant_organization=caller.organization,
            base_type=data["base_type"],
            name=data["name"],
            organizing_unit_id=data["organizing_unit_id"],
            recommending_unit_id=data["recommending_unit_id"],
            actor=caller.as_actor(),
        )
        self.save(application)
        return self.summary(application)

    def submit(self, caller: Caller, application_id: uuid.UUID) -> dict:
        application = self._own(caller, application_id)
        application.submit(caller.as_actor(), clock.now().astimezone(BEIJING).strftime("%Y%m%d"))
        self.save(application)
        return self.summary(application)

    def withdraw(self, caller: Caller, application_id: uuid.UUID, reason: str) -> dict:
        application = self._own(caller, application_id)
        application.withdraw(caller.as_actor(), reason)
        self.save(application)
        return self.summary(application)

    # --- queries --------------------------------------------------------------

    def application(self, caller: Caller, application_id: uuid.UUID) -> dict:
        application = self._readable(caller, application_id)
        return {
            **self.summary(application),
            "applicant_id": application.applicant_id,
            "applicant_organization": application.applicant_organization,
            "organizing_unit_id": application.organizing_unit_id,
            "recommending_unit_id": application.recommending_unit_id,
            "versions": [
                {k: v for k, v in version.items() if k != "content"} for version in application.versions
            ],
            "withdrawal_reason": application.withdrawal_reason,
        }

    def my_applications(self, caller: Caller) -> list[dict]:
        caller.require_role("applicant")
        rows = self.query(
            "SELECT application_id, name, base_type, stage, plan_version, created_at, updated_at"
            " FROM applications WHERE applicant_id = :applicant ORDER BY created_at, application_id",
            applicant=caller.party_id,
        )
        return [jsonable(row) for row in rows]

    @staticmethod
    def summary(application: Application) -> dict:
        latest = application.latest_version or {}
        return {
            "application_id": str(application.id),
            "name": application.name,
            "base_type": application.base_type,
            "stage": application.stage,
            "plan_version": application.plan_version,
            "digest": latest.get("digest"),
            "receipt_number": latest.get("receipt_number"),
            "version": application.version,
        }

    # --- published facts ------------------------------------------------------

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        if name == "Submitted":
            content = domain_event.content
            return "ApplicationSubmitted", 1, {
                "application_id": domain_event.originator_id,
                "applicant_id": domain_event.actor["party_id"],
                "applicant_organization": domain_event.actor["organization"],
                "applicant_name": domain_event.actor["organization"],
                "region": None,
                "domain": None,
                "submission_kind": "initial" if domain_event.plan_version == 1 else "returned",
                "answers_request": None,
                "changed_sections": [],
                "qualification_items": [],
                "attachments": [],
                "late_exception": None,
                "base_type": content["base_type"],
                "name": content["name"],
                "organizing_unit_id": content["organizing_unit_id"],
                "recommending_unit_id": content["recommending_unit_id"],
                "plan_version": domain_event.plan_version,
                "digest": domain_event.digest,
                "receipt_number": domain_event.receipt_number,
                "submitted_at": domain_event.timestamp,
            }
        if name == "Withdrawn":
            return "ApplicationWithdrawn", 1, {
                "application_id": domain_event.originator_id,
                "reason": domain_event.reason,
                "withdrawn_at": domain_event.timestamp,
            }
        return None

    # --- read model -----------------------------------------------------------

    def _project_drafted(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO applications (application_id, applicant_id, applicant_organization,"
                " base_type, name, stage, plan_version, created_at, updated_at, position)"
                " VALUES (:id, :applicant, :org, :base_type, :name, 'draft', 0, :at, :at, :position)"
            ),
            {"id": event.originator_id, "applicant": event.applicant_id, "org": event.applicant_organization,
             "base_type": event.base_type, "name": event.name, "at": event.timestamp, "position": position},
        )

    def _project_stage(self, session, event, position: int) -> None:
        stage = {"Submitted": "submitted", "Withdrawn": "withdrawn"}[type(event).__name__]
        session.execute(
            text(
                "UPDATE applications SET stage = :stage,"
                " plan_version = COALESCE(:plan_version, plan_version), updated_at = :at, position = :position"
                " WHERE application_id = :id"
            ),
            {"stage": stage, "plan_version": getattr(event, "plan_version", None), "at": event.timestamp,
             "position": position, "id": event.originator_id},
        )

    # --- access ---------------------------------------------------------------

    def _get_or_none(self, application_id) -> Application | None:
        try:
            return self.repository.get(application_id)
        except AggregateNotFoundError:
            return None

    def _readable(self, caller: Caller, application_id) -> Application:
        application = self._get_or_none(application_id)
        if application is None:
            raise ApplicationNotFound("no such application", {"application_id": str(application_id)})
        if caller.role in READERS_OF_ALL:
            return application
        if caller.role == "applicant" and application.applicant_id == caller.party_id:
            return application
        raise NotYourApplication("this application is not yours", {"application_id": str(application_id)})

    def _own(self, caller: Caller, application_id) -> Application:
        caller.require_role("applicant")
        return self._readable(caller, application_id)

