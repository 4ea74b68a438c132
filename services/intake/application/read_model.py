"""Intake's read model: the tables the registers and the lists of applications are read
from, and the projection of each domain event into them (in the transaction of the
event itself; `innobase rebuild` replays them from the log)."""
from __future__ import annotations

from sqlalchemy import text

from shared import blobs
from shared.contracts import SECTIONS


class ReadModel:
    """Mixed into `Intake`: `read_model_ddl`, and `projections` naming the method each domain
    event goes through."""

    read_model_tables = ("applicants", "units", "applications", "plan_versions")
    read_model_ddl = blobs.BLOBS_DDL + """
    CREATE TABLE IF NOT EXISTS applicants (
        credit_code text PRIMARY KEY,
        name text NOT NULL,
        category text NOT NULL,
        region text NOT NULL,
        region_known boolean NOT NULL,
        credit_code_override text,
        registered_by text NOT NULL,
        registered_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS units (
        role text NOT NULL,
        unit_id text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL,
        region text,
        domain text,
        registered_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (role, unit_id)
    );
    CREATE TABLE IF NOT EXISTS applications (
        application_id uuid PRIMARY KEY,
        applicant_id text NOT NULL,
        applicant_organization text NOT NULL,
        base_type text NOT NULL,
        name text NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        region text,
        domain text,
        stage text NOT NULL,
        plan_version int NOT NULL,
        number text,
        open_sections text[] NOT NULL,
        next_deadline timestamptz,
        deadline_kind text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,  -- the last event changing a column here (not every section saved)
        position bigint NOT NULL          -- and its position
    );
    CREATE INDEX IF NOT EXISTS applications_by_applicant ON applications (applicant_organization, created_at);
    CREATE INDEX IF NOT EXISTS applications_by_organizing_unit ON applications (organizing_unit_id, created_at);
    CREATE INDEX IF NOT EXISTS applications_by_recommending_unit ON applications (recommending_unit_id, created_at);
    CREATE TABLE IF NOT EXISTS plan_versions (
        application_id uuid NOT NULL,
        plan_version int NOT NULL,
        digest text NOT NULL,
        receipt_number text NOT NULL UNIQUE,
        submission_kind text NOT NULL,
        answers_request text,
        changed_sections text[] NOT NULL,
        submitted_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, plan_version)
    );
    CREATE SEQUENCE IF NOT EXISTS receipt_numbers;
    """
    projections = {
        "ApplicantRegistered": "_project_applicant",
        "UnitRegistered": "_project_unit",
        "Drafted": "_project_drafted",
        "SectionSaved": "_project_section_saved",
        "Submitted": "_project_submitted",
        "SectionsReopened": "_project_reopened",
        "ProgressRecorded": "_project_progress",
        "DeadlineExtended": "_project_deadline_extended",
        "Withdrawn": "_project_withdrawn",
    }

    def _project_applicant(self, session, e, position: int) -> None:
        session.execute(text(
            "INSERT INTO applicants (credit_code, name, category, region, region_known, credit_code_override,"
            " registered_by, registered_at, position) VALUES (:code, :name, :category, :region, :known,"
            " :override, :by, :at, :position)"),
            {"code": e.credit_code, "name": e.name, "category": e.category, "region": e.region,
             "known": e.region_known, "override": e.credit_code_override, "by": e.actor["party_id"],
             "at": e.timestamp, "position": position})

    def _project_unit(self, session, e, position: int) -> None:
        session.execute(text(
            "INSERT INTO units (role, unit_id, name, kind, region, domain, registered_at, position)"
            " VALUES (:role, :unit_id, :name, :kind, :region, :domain, :at, :position)"),
            {"role": e.role, "unit_id": e.unit_id, "name": e.name, "kind": e.kind, "region": e.region,
             "domain": e.domain, "at": e.timestamp, "position": position})

    def _project_drafted(self, session, e, position: int) -> None:
        session.execute(text(
            "INSERT INTO applications (application_id, applicant_id, applicant_organization, base_type, name,"
            " organizing_unit_id, recommending_unit_id, region, domain, stage, plan_version, open_sections,"
            " created_at, updated_at, position) VALUES (:id, :applicant, :org, :base_type, :name, :ou, :ru,"
            " :region, :domain, 'draft', 0, :open, :at, :at, :position)"),
            {"id": e.originator_id, "applicant": e.applicant_id, "org": e.applicant_organization,
             "base_type": e.base_type, "name": e.name, "ou": e.organizing_unit_id, "ru": e.recommending_unit_id,
             "region": e.basic.get("region"), "domain": e.basic.get("domain"), "open": list(SECTIONS),
             "at": e.timestamp, "position": position})

    def needs_projection(self, domain_event) -> bool:
        if type(domain_event).__name__ == "SectionSaved":
            return domain_event.section == "basic"  # the only section with columns in `applications`
        return super().needs_projection(domain_event)

    def _project_section_saved(self, session, e, position: int) -> None:
        if e.section == "basic":
            c = e.content
            session.execute(text(
                "UPDATE applications SET name = :name, organizing_unit_id = :ou, recommending_unit_id = :ru,"
                " region = :region, domain = :domain, updated_at = :at, position = :position"
                " WHERE application_id = :id"),
                {"name": c["name"], "ou": c["organizing_unit_id"], "ru": c["recommending_unit_id"],
                 "region": c.get("region"), "domain": c.get("domain"), "at": e.timestamp, "position": position,
                 "id": e.originator_id})
        # Other sections, files and late-submission grants change no column of the read model: the
        # application's last activity is its latest event in `audit_index` (see `my_applications`).

    def _project_submitted(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = :stage, plan_version = :version, open_sections = '{}',"
            " next_deadline = NULL, deadline_kind = NULL, updated_at = :at, position = :position"
            " WHERE application_id = :id"),
            {"stage": e.stage, "version": e.plan_version, "at": e.timestamp, "position": position,
             "id": e.originator_id})
        session.execute(text(
            "INSERT INTO plan_versions (application_id, plan_version, digest, receipt_number, submission_kind,"
            " answers_request, changed_sections, submitted_at, position) VALUES (:id, :version, :digest,"
            " :receipt, :kind, :answers, :changed, :at, :position)"),
            {"id": e.originator_id, "version": e.plan_version, "digest": e.digest, "receipt": e.receipt_number,
             "kind": e.submission_kind, "answers": e.answers_request, "changed": list(e.changed_sections),
             "at": e.submitted_at, "position": position})

    def _project_reopened(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = :stage, open_sections = :open, next_deadline = :deadline,"
            " deadline_kind = :kind, updated_at = :at, position = :position WHERE application_id = :id"),
            {"stage": e.stage, "open": list(e.open_sections), "deadline": e.deadline,
             "kind": e.kind if e.deadline else None, "at": e.timestamp, "position": position,
             "id": e.originator_id})

    def _project_progress(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = :stage, number = :number, open_sections = :open,"
            " next_deadline = :deadline, deadline_kind = :kind, updated_at = :at, position = :position"
            " WHERE application_id = :id"),
            {"stage": e.stage, "number": e.number, "open": list(e.open_sections), "deadline": e.deadline,
             "kind": e.deadline_kind, "at": e.timestamp, "position": position, "id": e.originator_id})

    def _project_deadline_extended(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET next_deadline = :deadline, updated_at = :at, position = :position"
            " WHERE application_id = :id"),
            {"deadline": e.deadline, "at": e.timestamp, "position": position, "id": e.originator_id})

    def _project_withdrawn(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = 'withdrawn', open_sections = '{}', next_deadline = NULL,"
            " deadline_kind = NULL, updated_at = :at, position = :position WHERE application_id = :id"),
            {"at": e.timestamp, "position": position, "id": e.originator_id})
