"""Expert review's read model: the register of experts and units, the appraisals, the
assignments and opinions, the panels and the approved bases (with the deadlines'
table), and the projection of each domain event into them."""
from __future__ import annotations

import json

from sqlalchemy import text

from shared import blobs
from shared.contracts.review import DIMENSIONS
from services.review.deadlines import DEADLINES_DDL, DeadlineKeeper

APPRAISAL_STATE_AFTER = {
    "Opened": "awaiting_panel", "PanelAssigned": "under_review", "Concluded": "concluded",
    "RevisionRequested": "revision_requested", "RevisionReceived": "revision_received",
    "RevisionOverdue": "revision_overdue", "RevisionDeadlineExtended": "revision_requested",
    "RevisionConfirmed": "revision_confirmed", "Approved": "approved", "ApprovalDeclined": "declined",
    "Closed": "closed",
}


class ReadModel:
    """Mixed into `ExpertReview`: `read_model_ddl`, and `projections` naming the method each
    domain event goes through (the deadlines' own in `DeadlineKeeper`)."""

    read_model_tables = ("experts", "units", "appraisals", "assignments", "opinions", "panels",
                         "approved_bases", "deadlines")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS experts (
        expert_id text PRIMARY KEY,
        name text NOT NULL,
        organization text NOT NULL,
        organization_name text NOT NULL,
        region text NOT NULL,
        fields jsonb NOT NULL,
        email text NOT NULL,
        phone text,
        conflicts jsonb NOT NULL,
        registered_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS units (
        unit_id text PRIMARY KEY,
        name text NOT NULL,
        credit_code text,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS appraisals (
        application_id uuid PRIMARY KEY,
        number text NOT NULL,
        name text NOT NULL,
        base_type text NOT NULL,
        region text,
        domain text,
        applicant_organization text NOT NULL,
        applicant_name text NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        plan_version int NOT NULL,
        state text NOT NULL,
        panel_id uuid,
        meeting_date timestamptz,
        conclusion text,
        construction_plan_due timestamptz,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS appraisals_by_state ON appraisals (state, opened_at);
    CREATE TABLE IF NOT EXISTS assignments (
        application_id uuid NOT NULL,
        expert_id text NOT NULL,
        panel_id uuid NOT NULL,
        is_chair boolean NOT NULL,
        state text NOT NULL,
        meeting_date timestamptz NOT NULL,
        place text NOT NULL,
        opinion_submitted boolean NOT NULL DEFAULT false,
        assigned_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, expert_id)
    );
    CREATE INDEX IF NOT EXISTS assignments_by_expert ON assignments (expert_id, meeting_date);
    CREATE TABLE IF NOT EXISTS opinions (
        application_id uuid NOT NULL,
        expert_id text NOT NULL,
        panel_id uuid NOT NULL,
        scores jsonb NOT NULL,
        total numeric NOT NULL,
        recommendation text NOT NULL,
        summary text NOT NULL,
        submitted_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, expert_id)
    );
    CREATE TABLE IF NOT EXISTS panels (
        panel_id uuid PRIMARY KEY,
        meeting_date timestamptz NOT NULL,
        place text NOT NULL,
        application_ids jsonb NOT NULL,
        members jsonb NOT NULL,
        chair text NOT NULL,
        formed_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS approved_bases (
        slot_id uuid PRIMARY KEY,
        base_type text NOT NULL,
        scope text NOT NULL,
        ordinal int NOT NULL,
        application_id uuid NOT NULL,
        number text NOT NULL,
        name text NOT NULL,
        reason text,
        approved_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    """ + DEADLINES_DDL + blobs.BLOBS_DDL
    projections = {
        **DeadlineKeeper.DEADLINE_PROJECTIONS,
        "Registered": "_project_expert",
        "ConflictDeclared": "_project_conflict",
        "Recorded": "_project_unit",
        "UnitUpdated": "_project_unit",
        "Opened": "_project_opened",
        **{name: "_project_appraisal" for name in APPRAISAL_STATE_AFTER if name != "Opened"},
        "ConstructionPlanDeadlineExtended": "_project_appraisal",
        "ExpertAssigned": "_project_assigned",
        "ExpertDeclined": "_project_declined",
        "Submitted": "_project_opinion",
        "Formed": "_project_panel",
        "MemberAdded": "_project_member",
        "Taken": "_project_slot",
    }

    def _project_expert(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO experts (expert_id, name, organization, organization_name, region, fields, email,"
                 " phone, conflicts, registered_at, position) VALUES (:id, :name, :org, :org_name, :region,"
                 " :fields, :email, :phone, :conflicts, :at, :position) ON CONFLICT (expert_id) DO NOTHING"),
            {"id": event.expert_id, "name": event.name, "org": event.organization,
             "org_name": event.organization_name, "region": event.region, "fields": json.dumps(event.fields),
             "email": event.email, "phone": event.phone,
             "conflicts": json.dumps(event.conflicts, ensure_ascii=False), "at": event.timestamp,
             "position": position})

    def _project_conflict(self, session, event, position: int) -> None:
        session.execute(
            text("UPDATE experts SET conflicts = conflicts || CAST(:c AS jsonb), position = :position"
                 " WHERE expert_id = :expert"),
            {"c": json.dumps([{"organization": event.organization, "reason": event.reason}], ensure_ascii=False),
             "position": position, "expert": event.expert_id})

    def _project_unit(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO units (unit_id, name, credit_code, position) VALUES (:id, :name, :code, :position)"
                 " ON CONFLICT (unit_id) DO UPDATE SET name = :name, credit_code = :code, position = :position"),
            {"id": event.unit_id, "name": event.name, "code": event.credit_code, "position": position})

    def _project_opened(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO appraisals (application_id, number, name, base_type, region, domain,"
                 " applicant_organization, applicant_name, organizing_unit_id, recommending_unit_id, plan_version,"
                 " state, opened_at, updated_at, position) VALUES (:a, :number, :name, :base_type, :region, :domain,"
                 " :org, :applicant, :ou, :ru, :v, 'awaiting_panel', :at, :at, :position)"),
            {"a": event.application_id, "number": event.number, "name": event.name, "base_type": event.base_type,
             "region": event.region, "domain": event.domain, "org": event.applicant_organization,
             "applicant": event.applicant_name, "ou": event.organizing_unit_id, "ru": event.recommending_unit_id,
             "v": event.plan_version, "at": event.timestamp, "position": position})

    def _project_appraisal(self, session, event, position: int) -> None:
        name = type(event).__name__
        columns = {"updated_at": event.timestamp, "position": position}
        if name in APPRAISAL_STATE_AFTER:
            columns["state"] = APPRAISAL_STATE_AFTER[name]
        if name == "PanelAssigned":
            columns.update(panel_id=event.panel_id, meeting_date=event.meeting_date)
        elif name == "Concluded":
            columns["conclusion"] = event.conclusion
        elif name == "RevisionReceived":
            columns["plan_version"] = event.plan_version
        elif name == "Approved":
            columns["construction_plan_due"] = event.construction_plan_due
        elif name == "ConstructionPlanDeadlineExtended":
            columns["construction_plan_due"] = event.new_deadline
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        session.execute(text(f"UPDATE appraisals SET {assignments} WHERE application_id = :application_id"),
                        {**columns, "application_id": event.application_id})

    def _project_assigned(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO assignments (application_id, expert_id, panel_id, is_chair, state, meeting_date, place,"
                 " assigned_at, position) VALUES (:a, :e, :p, :chair, 'assigned', :date, :place, :at, :position)"),
            {"a": event.application_id, "e": event.expert_id, "p": event.panel_id, "chair": event.is_chair,
             "date": event.meeting_date, "place": event.place, "at": event.timestamp, "position": position})

    def _project_declined(self, session, event, position: int) -> None:
        session.execute(text("UPDATE assignments SET state = 'declined', position = :position"
                             " WHERE application_id = :a AND expert_id = :e"),
                        {"a": event.application_id, "e": event.expert_id, "position": position})

    def _project_opinion(self, session, event, position: int) -> None:
        total = round(sum(s["score"] for s in event.scores.values()) / len(DIMENSIONS), 1)
        session.execute(
            text("INSERT INTO opinions (application_id, expert_id, panel_id, scores, total, recommendation, summary,"
                 " submitted_at, position) VALUES (:a, :e, :p, :scores, :total, :rec, :summary, :at, :position)"),
            {"a": event.application_id, "e": event.expert_id, "p": event.panel_id,
             "scores": json.dumps(event.scores, ensure_ascii=False), "total": total,
             "rec": event.recommendation, "summary": event.summary, "at": event.timestamp, "position": position})
        session.execute(text("UPDATE assignments SET opinion_submitted = true WHERE application_id = :a"
                             " AND expert_id = :e"), {"a": event.application_id, "e": event.expert_id})

    def _project_panel(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO panels (panel_id, meeting_date, place, application_ids, members, chair, formed_at,"
                 " position) VALUES (:p, :date, :place, :apps, :members, :chair, :at, :position)"),
            {"p": event.originator_id, "date": event.meeting_date, "place": event.place,
             "apps": json.dumps(event.application_ids), "members": json.dumps(event.members),
             "chair": event.chair, "at": event.timestamp, "position": position})

    def _project_member(self, session, event, position: int) -> None:
        session.execute(text("UPDATE panels SET members = members || CAST(:m AS jsonb), position = :position"
                             " WHERE panel_id = :p"),
                        {"m": json.dumps([event.expert_id]), "position": position, "p": event.originator_id})

    def _project_slot(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO approved_bases (slot_id, base_type, scope, ordinal, application_id, number, name,"
                 " reason, approved_at, position) VALUES (:s, :t, :scope, :o, :a, :n, :name, :reason, :at,"
                 " :position)"),
            {"s": event.originator_id, "t": event.base_type, "scope": event.scope, "o": event.ordinal,
             "a": event.application_id, "n": event.number, "name": event.name, "reason": event.reason,
             "at": event.timestamp, "position": position})
