"""Notification's read model: every notification told (inbox and e-mail, with its
delivery), the parties' directory and the dossiers of applications, and the
projection of each domain event into them."""
from __future__ import annotations

import json

from sqlalchemy import text

from services.notification import domain
from services.notification.domain import EMAIL


class ReadModel:
    """Mixed into `Notification`: `read_model_ddl`, and `projections` naming the method each
    domain event goes through."""

    read_model_tables = ("notifications", "parties", "dossiers")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS notifications (
        notification_id uuid PRIMARY KEY,
        occasion text NOT NULL,
        source text,
        event_type text NOT NULL,
        application_id uuid,
        audience text NOT NULL,
        owner text NOT NULL,
        channel text NOT NULL,
        recipients jsonb NOT NULL,
        subject text NOT NULL,
        body_text text NOT NULL,
        body_html text NOT NULL,
        message_id text,
        state text NOT NULL,
        attempts int NOT NULL,
        next_attempt_at timestamptz,
        last_error text,
        prepared_at timestamptz NOT NULL,
        delivered_at timestamptz,
        read_at timestamptz,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS notifications_inbox ON notifications (audience, owner, prepared_at)
        WHERE channel = 'inbox';
    CREATE INDEX IF NOT EXISTS notifications_mail_due ON notifications (next_attempt_at)
        WHERE channel = 'email' AND state = 'pending';
    CREATE INDEX IF NOT EXISTS notifications_by_application ON notifications (application_id);
    CREATE TABLE IF NOT EXISTS parties (
        party_id uuid PRIMARY KEY,
        audience text NOT NULL,
        owner text NOT NULL,
        name text NOT NULL,
        emails jsonb NOT NULL,
        position bigint NOT NULL,
        UNIQUE (audience, owner)
    );
    CREATE TABLE IF NOT EXISTS dossiers (
        dossier_id uuid PRIMARY KEY,
        application_id uuid NOT NULL UNIQUE,
        applicant_organization text NOT NULL,
        name text NOT NULL,
        number text,
        status text NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS dossiers_by_status ON dossiers (status);
    """
    projections = {
        "Registered": "_project_party", "Updated": "_project_party",
        "Opened": "_project_dossier_opened", "Described": "_project_dossier_described",
        "Moved": "_project_dossier_moved", "Numbered": "_project_dossier_numbered",
        "Prepared": "_project_prepared", "Delivered": "_project_delivered",
        "DeliveryFailed": "_project_delivery_failed", "Read": "_project_read",
    }

    def _project_party(self, session, event, position: int) -> None:
        party = {"id": event.originator_id, "name": event.name, "emails": _json(event.emails), "p": position}
        if type(event).__name__ == "Registered":
            session.execute(text(
                "INSERT INTO parties (party_id, audience, owner, name, emails, position)"
                " VALUES (:id, :audience, :owner, :name, CAST(:emails AS jsonb), :p)"
            ), {**party, "audience": event.audience, "owner": event.owner})
        else:
            session.execute(text(
                "UPDATE parties SET name = :name, emails = CAST(:emails AS jsonb), position = :p WHERE party_id = :id"
            ), party)

    def _project_dossier_opened(self, session, event, position: int) -> None:
        session.execute(text(
            "INSERT INTO dossiers (dossier_id, application_id, applicant_organization, name, status, position)"
            " VALUES (:id, :app, :org, :name, :status, :p)"
        ), {"id": event.originator_id, "app": event.application_id, "org": event.applicant_organization,
            "name": event.name, "status": event.status, "p": position})

    def _project_dossier_described(self, session, event, position: int) -> None:
        columns = {key: value for key, value in event.facts.items() if key in ("name", "applicant_organization")}
        assignments = "".join(f"{key} = :{key}, " for key in columns)
        session.execute(text(f"UPDATE dossiers SET {assignments}position = :p WHERE dossier_id = :id"),
                        {**columns, "p": position, "id": event.originator_id})

    def _project_dossier_moved(self, session, event, position: int) -> None:
        session.execute(text("UPDATE dossiers SET status = :status, position = :p WHERE dossier_id = :id"),
                        {"status": event.status, "p": position, "id": event.originator_id})

    def _project_dossier_numbered(self, session, event, position: int) -> None:
        session.execute(text("UPDATE dossiers SET number = :number, position = :p WHERE dossier_id = :id"),
                        {"number": event.number, "p": position, "id": event.originator_id})

    def _project_prepared(self, session, event, position: int) -> None:
        is_mail = event.channel == EMAIL
        session.execute(text(
            "INSERT INTO notifications (notification_id, occasion, source, event_type, application_id, audience,"
            " owner, channel, recipients, subject, body_text, body_html, message_id, state, attempts,"
            " next_attempt_at, prepared_at, position) VALUES (:id, :occasion, :source, :event_type, :app,"
            " :audience, :owner, :channel, CAST(:to AS jsonb), :subject, :text, :html, :message_id, :state, 0,"
            " :next_attempt_at, :at, :p)"
        ), {"id": event.originator_id, "occasion": event.occasion, "source": event.source,
            "event_type": event.event_type, "app": event.application_id, "audience": event.audience,
            "owner": event.owner, "channel": event.channel, "to": _json(event.to), "subject": event.subject,
            "text": event.text, "html": event.html, "message_id": event.message_id,
            "state": domain.PENDING if is_mail else domain.UNREAD,
            "next_attempt_at": event.timestamp if is_mail else None, "at": event.timestamp, "p": position})

    def _project_delivered(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE notifications SET state = :state, attempts = :attempt, delivered_at = :at,"
            " next_attempt_at = NULL, position = :p WHERE notification_id = :id"
        ), {"state": domain.DELIVERED, "attempt": event.attempt, "at": event.timestamp, "p": position,
            "id": event.originator_id})

    def _project_delivery_failed(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE notifications SET state = CASE WHEN :permanent THEN :undeliverable ELSE state END,"
            " attempts = :attempt, last_error = :error, next_attempt_at = :retry_at, position = :p"
            " WHERE notification_id = :id"
        ), {"permanent": event.permanent, "undeliverable": domain.UNDELIVERABLE, "attempt": event.attempt,
            "error": event.error, "retry_at": event.retry_at, "p": position, "id": event.originator_id})

    def _project_read(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE notifications SET state = :state, read_at = :at, position = :p WHERE notification_id = :id"
        ), {"state": domain.READ, "at": event.timestamp, "p": position, "id": event.originator_id})


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)
