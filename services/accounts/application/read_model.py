"""Accounts' read model: the accounts, the live sessions, the access tokens and the
invitations the lookups need, and the projection of each domain event into them."""
from __future__ import annotations

import json

from sqlalchemy import text


class ReadModel:
    """Mixed into `Accounts`: `read_model_ddl`, and `projections` naming the method each domain
    event goes through."""

    read_model_tables = ("accounts", "sessions", "access_tokens", "invitations")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS accounts (
        account_id uuid PRIMARY KEY,
        email text NOT NULL UNIQUE,
        name text NOT NULL,
        role text NOT NULL,
        organization text NOT NULL,
        party_id text NOT NULL,
        admin boolean NOT NULL,
        confirmed boolean NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS accounts_by_party ON accounts (party_id, role, organization);
    CREATE TABLE IF NOT EXISTS sessions (
        session_digest text PRIMARY KEY,
        account_id uuid NOT NULL,
        started_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account_id);
    CREATE TABLE IF NOT EXISTS access_tokens (
        token_id uuid PRIMARY KEY,
        token_digest text NOT NULL UNIQUE,
        account_id uuid NOT NULL,
        name text NOT NULL,
        scope text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS access_tokens_by_account ON access_tokens (account_id, created_at);
    CREATE TABLE IF NOT EXISTS invitations (
        invitation_id uuid PRIMARY KEY,
        email text NOT NULL,
        name text NOT NULL,
        role text NOT NULL,
        organization text NOT NULL,
        party_id text,
        admin boolean NOT NULL,
        invited_by jsonb NOT NULL,
        invited_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        account_id uuid,
        position bigint NOT NULL
    );
    """
    projections = {
        "Opened": "_project_opened", "EmailConfirmed": "_project_confirmed", "RoleChanged": "_project_role_changed",
        "Deactivated": "_project_deactivated", "Reactivated": "_project_reactivated",
        "SignedIn": "_project_signed_in", "SessionEnded": "_project_session_ended",
        "TokenCreated": "_project_token_created", "TokenRevoked": "_project_token_revoked",
        "Issued": "_project_issued", "Reissued": "_project_reissued", "Accepted": "_project_accepted",
    }

    def _project_opened(self, session, event, position: int) -> None:
        session.execute(text(
            "INSERT INTO accounts (account_id, email, name, role, organization, party_id, admin, confirmed,"
            " status, created_at, position) VALUES (:id, :email, :name, :role, :org, :party, :admin, :confirmed,"
            " :status, :at, :p)"
        ), {"id": event.originator_id, "email": event.email, "name": event.name, "role": event.role,
            "org": event.organization, "party": event.party_id, "admin": event.admin, "confirmed": event.confirmed,
            "status": "active" if event.confirmed else "unconfirmed", "at": event.timestamp, "p": position})

    def _project_confirmed(self, session, event, position: int) -> None:
        self._update_account(session, event, position, "confirmed = true,"
                             " status = CASE WHEN status = 'deactivated' THEN status ELSE 'active' END")

    def _project_role_changed(self, session, event, position: int) -> None:
        self._update_account(session, event, position, "role = :role, organization = :org, party_id = :party,"
                             " admin = :admin", role=event.role, org=event.organization, party=event.party_id,
                             admin=event.admin)

    def _project_deactivated(self, session, event, position: int) -> None:
        self._update_account(session, event, position, "status = 'deactivated'")

    def _project_reactivated(self, session, event, position: int) -> None:
        self._update_account(session, event, position,
                             "status = CASE WHEN confirmed THEN 'active' ELSE 'unconfirmed' END")

    @staticmethod
    def _update_account(session, event, position: int, assignments: str, **values) -> None:
        session.execute(text(f"UPDATE accounts SET {assignments}, position = :p WHERE account_id = :id"),
                        {**values, "p": position, "id": event.originator_id})

    def _project_signed_in(self, session, event, position: int) -> None:
        session.execute(text(
            "INSERT INTO sessions (session_digest, account_id, started_at, expires_at, position)"
            " VALUES (:d, :a, :at, :expires, :p)"
        ), {"d": event.session_digest, "a": event.originator_id, "at": event.at, "expires": event.expires_at,
            "p": position})

    def _project_session_ended(self, session, event, position: int) -> None:
        session.execute(text("DELETE FROM sessions WHERE session_digest = :d"), {"d": event.session_digest})

    def _project_token_created(self, session, event, position: int) -> None:
        session.execute(text(
            "INSERT INTO access_tokens (token_id, token_digest, account_id, name, scope, created_at, expires_at,"
            " position) VALUES (:t, :d, :a, :name, :scope, :at, :expires, :p)"
        ), {"t": event.token_id, "d": event.token_digest, "a": event.originator_id, "name": event.name,
            "scope": event.scope, "at": event.timestamp, "expires": event.expires_at, "p": position})

    def _project_token_revoked(self, session, event, position: int) -> None:
        session.execute(text("UPDATE access_tokens SET revoked_at = :at, position = :p WHERE token_id = :t"),
                        {"at": event.timestamp, "p": position, "t": event.token_id})

    def _project_issued(self, session, event, position: int) -> None:
        session.execute(text(
            "INSERT INTO invitations (invitation_id, email, name, role, organization, party_id, admin, invited_by,"
            " invited_at, expires_at, position) VALUES (:id, :email, :name, :role, :org, :party, :admin,"
            " CAST(:by AS jsonb), :at, :expires, :p)"
        ), {**self._invitation_terms(event), "email": event.email, "p": position})

    def _project_reissued(self, session, event, position: int) -> None:
        session.execute(text(
            "UPDATE invitations SET name = :name, role = :role, organization = :org, party_id = :party,"
            " admin = :admin, invited_by = CAST(:by AS jsonb), invited_at = :at, expires_at = :expires,"
            " position = :p WHERE invitation_id = :id"
        ), {**self._invitation_terms(event), "p": position})

    @staticmethod
    def _invitation_terms(event) -> dict:
        return {"id": event.originator_id, "name": event.name, "role": event.role, "org": event.organization,
                "party": event.party_id, "admin": event.admin, "by": json.dumps(event.actor, ensure_ascii=False),
                "at": event.timestamp, "expires": event.expires_at}

    def _project_accepted(self, session, event, position: int) -> None:
        session.execute(text("UPDATE invitations SET accepted_at = :at, account_id = :a, position = :p"
                             " WHERE invitation_id = :id"),
                        {"at": event.timestamp, "a": event.account_id, "p": position, "id": event.originator_id})
