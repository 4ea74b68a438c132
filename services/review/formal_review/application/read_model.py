"""Formal review's read model: the cases SAC lists, the plan versions the checklist is
evaluated on (with the deadlines' table), and the projection of each domain event
into them."""
from __future__ import annotations

import json

from sqlalchemy import text

from services.review.deadlines import DEADLINES_DDL, DeadlineKeeper

CASE_STATE_AFTER = {
    "Opened": "received", "Accepted": "under_review", "SupplementRequested": "awaiting_supplement",
    "SupplementReceived": "under_review", "SupplementOverdue": "supplement_overdue",
    "SupplementDeadlineExtended": "awaiting_supplement", "Passed": "passed",
    "FoundInadmissible": "found_inadmissible", "Closed": "closed",
}


class ReadModel:
    """Mixed into `FormalReview`: `read_model_ddl`, and `projections` naming the method each
    domain event goes through (the deadlines' own in `DeadlineKeeper`)."""

    read_model_tables = ("formal_cases", "plan_versions", "deadlines")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS formal_cases (
        case_id uuid PRIMARY KEY,
        application_id uuid NOT NULL UNIQUE,
        number text UNIQUE,
        year int NOT NULL,
        base_type text NOT NULL,
        name text NOT NULL,
        applicant_organization text NOT NULL,
        applicant_name text NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        region text,
        domain text,
        plan_version int NOT NULL,
        state text NOT NULL,
        open_request_id text,
        deadline timestamptz,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS formal_cases_by_state ON formal_cases (state, opened_at);
    CREATE TABLE IF NOT EXISTS plan_versions (
        application_id uuid NOT NULL,
        plan_version int NOT NULL,
        digest text NOT NULL,
        submission_kind text NOT NULL,
        answers_request text,
        changed_sections jsonb NOT NULL,
        qualification_items jsonb NOT NULL,
        attachments jsonb NOT NULL,
        submitted_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, plan_version)
    );
    """ + DEADLINES_DDL
    projections = {
        **DeadlineKeeper.DEADLINE_PROJECTIONS,
        "Received": "_project_plan_version",
        "Opened": "_project_opened",
        "Reopened": "_project_reopened",
        **{name: "_project_case" for name in CASE_STATE_AFTER if name != "Opened"},
        "FindingRecorded": "_project_case",
        "ApplicantInformed": "_project_case",
    }

    def _project_plan_version(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO plan_versions (application_id, plan_version, digest, submission_kind, answers_request,"
                " changed_sections, qualification_items, attachments, submitted_at, position) VALUES (:a, :v, :d,"
                " :kind, :answers, :sections, :items, :attachments, :at, :position)"
                " ON CONFLICT (application_id, plan_version) DO NOTHING"
            ),
            {"a": event.application_id, "v": event.plan_version, "d": event.digest, "kind": event.submission_kind,
             "answers": event.answers_request, "sections": json.dumps(event.changed_sections),
             "items": json.dumps(event.qualification_items, ensure_ascii=False),
             "attachments": json.dumps(event.attachments, ensure_ascii=False), "at": event.submitted_at,
             "position": position},
        )

    def _project_opened(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO formal_cases (case_id, application_id, year, base_type, name, applicant_organization,"
                " applicant_name, organizing_unit_id, recommending_unit_id, region, domain, plan_version, state,"
                " opened_at, updated_at, position) VALUES (:id, :a, :year, :base_type, :name, :org, :applicant,"
                " :ou, :ru, :region, :domain, :v, 'received', :at, :at, :position)"
            ),
            {"id": event.originator_id, "a": event.application_id, "year": event.year, "base_type": event.base_type,
             "name": event.name, "org": event.applicant_organization, "applicant": event.applicant_name,
             "ou": event.organizing_unit_id, "ru": event.recommending_unit_id, "region": event.region,
             "domain": event.domain, "v": event.plan_version, "at": event.timestamp, "position": position},
        )

    def _project_reopened(self, session, event, position: int) -> None:
        r = event.recommendation
        session.execute(
            text(
                "UPDATE formal_cases SET state = CASE WHEN number IS NULL THEN 'received' ELSE 'under_review' END,"
                " name = :name, plan_version = :v, applicant_name = :applicant, updated_at = :at,"
                " position = :position WHERE case_id = :id"
            ),
            {"name": r["name"], "v": r["plan_version"], "applicant": r["applicant_name"], "at": event.timestamp,
             "position": position, "id": event.originator_id},
        )

    def _project_case(self, session, event, position: int) -> None:
        name = type(event).__name__
        columns = {"updated_at": event.timestamp, "position": position}
        if name in CASE_STATE_AFTER:
            columns["state"] = CASE_STATE_AFTER[name]
        if name == "Accepted":
            columns["number"] = event.number
        elif name == "SupplementRequested":
            columns.update(open_request_id=event.request_id, deadline=event.deadline)
        elif name == "SupplementDeadlineExtended":
            columns["deadline"] = event.new_deadline
        elif name == "SupplementReceived":
            columns.update(open_request_id=None, deadline=None, plan_version=event.plan_version, name=event.name)
        elif name in ("FoundInadmissible", "Closed"):
            columns.update(open_request_id=None, deadline=None)
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        session.execute(text(f"UPDATE formal_cases SET {assignments} WHERE case_id = :case_id"),
                        {**columns, "case_id": event.originator_id})
