"""Accounts' event-sourced application: registration and e-mail confirmation, invitations,
sign-in with lockout, browser sessions, personal access tokens, password change and reset,
and what SAC administrators grant and withdraw; with the read models the lookups need and
the integration events the gateway and notification follow.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import timedelta

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from services.accounts import settings
from services.accounts.domain import (
    ACCEPT_INVITATION,
    BOOTSTRAP,
    CONFIRM_EMAIL,
    INVITATION,
    PASSWORD_RESET,
    REGISTRATION,
    SAC,
    TOKEN_PREFIX,
    Account,
    Invitation,
    Limits,
    access_token_of,
    account_id_of,
    check_password_policy,
    digest,
    invitation_id_of,
    new_nonce,
    new_session_id,
    party_id_for,
    session_refused,
    token_id_of,
)
from services.accounts.errors import (
    AccountNotFound,
    AuthenticationFailed,
    ConcurrencyConflict,
    EmailTaken,
    InvalidCreditCode,
    InvalidInput,
    LinkInvalid,
    NotAuthorized,
    PartyTaken,
    RuleViolation,
)
from services.accounts.passwords import hash_password, needs_rehash, verify_nothing, verify_password
from shared.reference import credit_code as credit_codes
from shared import clock
from shared import settings as shared_settings
from shared import auth
from shared.auth import Caller
from shared.eventstore import ServiceApplication, jsonable

ACCOUNT_COLUMNS = "account_id, email, name, role, organization, party_id, admin, status, created_at"
# What an account's history never shows, though the log keeps it: the hash, the link nonces.
HIDDEN = ("password_hash", "nonce")
ATTEMPTS = 3  # a command on one account raced by another runs again, this often at most


def credentials_refused() -> AuthenticationFailed:
    """The one answer to a wrong password and to an unknown address alike."""
    return AuthenticationFailed("the e-mail address or the password is wrong", {"rule": "credentials"})


class Accounts(ServiceApplication):
    """Accounts (账户): every account and invitation, in one log."""

    name = "Accounts"
    service = "accounts"
    # Every request of a signed-in browser reads its account: kept in memory, and snapshotted,
    # since sign-ins and session activity add events for as long as the account lives.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    snapshotting_intervals = {Account: 100}
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

    def __init__(self, database_url: str | None = None, limits: Limits | None = None):
        self.limits = limits or settings.get()
        super().__init__(database_url)

    # --- applicants register themselves (gateway) -----------------------------------------

    def register(self, caller: Caller, data: dict) -> dict:
        """注册账户: an applicant unit's contact person; unconfirmed until the e-mailed link is followed."""
        caller.require_role("gateway")
        code, email, password = data["credit_code"], data["email"], data["password"]
        problems = credit_codes.check_credit_code(code)
        if problems:
            raise InvalidCreditCode.of(
                "credit_code", "the unified social credit code fails GB 32100: "
                + "; ".join(p.message for p in problems), field="credit_code", credit_code=code,
                problems=[{"rule": p.rule, "message": p.message} for p in problems])
        check_password_policy(password, email)
        existing = self._get(account_id_of(email))
        if existing is not None:
            if (existing.origin == REGISTRATION and not existing.confirmed and existing.organization == code
                    and verify_password(existing.password_hash, password)):
                return existing.view()  # the same registration delivered again: the first answer
            raise self._email_taken(email)
        account = Account.open(
            email=email, name=data["contact_name"], role="applicant", organization=code, party_id=None,
            admin=False, confirmed=False, password_hash=hash_password(password), origin=REGISTRATION,
            details={"unit_name": data["unit_name"], "credit_code": code, "phone": data["phone"]},
        )
        account.request_confirmation(new_nonce(), clock.now(), self.limits)
        self._save_new(account, email=email)
        return account.view()

    def confirm_email(self, caller: Caller, token: str) -> dict:
        caller.require_role("gateway")
        account, nonce = self._linked(Account, _verified(token, CONFIRM_EMAIL))
        return self._change(account.id, lambda a: a.confirm_email(nonce, clock.now())).view()

    def resend_confirmation(self, caller: Caller, email: str) -> dict:
        """A new confirmation link (the older one no longer works) for an unconfirmed account; the
        answer never says whether there is one."""
        caller.require_role("gateway")
        account = self._get(account_id_of(email))
        if isinstance(account, Account) and not account.confirmed and not account.deactivated:
            self._change(account.id, lambda a: a.request_confirmation(new_nonce(), clock.now(), self.limits))
        return {"requested": True}

    # --- sessions (gateway) -------------------------------------------------------------

    def sign_in(self, caller: Caller, email: str, password: str) -> dict:
        """A new session for the right password (a new id every time: no session fixation)."""
        caller.require_role("gateway")
        account_id = account_id_of(email)
        for attempt in range(ATTEMPTS):
            account = self._get(account_id)
            if not isinstance(account, Account):
                verify_nothing(password)
                raise credentials_refused()
            now = clock.now()
            account.refuse_if_locked(now)
            right = verify_password(account.password_hash, password)
            if right:
                account.require_usable()
                session_id = new_session_id()
                expires_at = account.sign_in(digest(session_id), now, self.limits)
                if needs_rehash(account.password_hash):
                    account.rehash(hash_password(password))
            else:
                account.fail_sign_in(now, self.limits)  # the one too many locks: the next attempts are refused
            try:
                self.save(account)
            except ConcurrencyConflict:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            if not right:
                raise credentials_refused()
            return {"account": account.view(), "session_id": session_id, "expires_at": expires_at.isoformat()}

    def resolve_session(self, caller: Caller, session_id: str) -> dict:
        """The account behind a live session; records its activity at most once per 5 minutes."""
        caller.require_role("gateway")
        session_digest = digest(session_id)
        account = self._account_of_session(session_digest)
        now = clock.now()
        session = account.live_session(session_digest, now, self.limits)
        if account.touch(session_digest, now, self.limits):
            try:
                self.save(account)
            except ConcurrencyConflict:
                pass  # another request of the account wrote first; this one is answered all the same
        return {"account": account.view(), "expires_at": session["expires_at"].isoformat()}

    def sign_out(self, caller: Caller, session_id: str) -> dict:
        caller.require_role("gateway")
        session_digest = digest(session_id)
        try:
            account = self._account_of_session(session_digest)
        except AuthenticationFailed:
            return {"signed_out": True}  # signed out already, or never signed in: the same for the caller
        self._change(account.id, lambda a: a.end_session(session_digest, "signed_out"))
        return {"signed_out": True}

    def _account_of_session(self, session_digest: str) -> Account:
        rows = self.query("SELECT account_id FROM sessions WHERE session_digest = :d", d=session_digest)
        if not rows:
            raise session_refused("unknown")
        return self.repository.get(rows[0]["account_id"])

    # --- passwords (gateway, and the account itself) -----------------------------------

    def request_password_reset(self, caller: Caller, email: str) -> dict:
        """E-mail a reset link to an account's address; the answer never says whether there is one."""
        caller.require_role("gateway")
        account = self._get(account_id_of(email))
        if isinstance(account, Account) and not account.deactivated:
            self._change(account.id, lambda a: a.request_password_reset(new_nonce(), clock.now(), self.limits))
        return {"requested": True}

    def reset_password(self, caller: Caller, token: str, password: str) -> dict:
        caller.require_role("gateway")
        account, nonce = self._linked(Account, _verified(token, PASSWORD_RESET))
        check_password_policy(password, account.email)
        password_hash = hash_password(password)
        return self._change(account.id, lambda a: a.reset_password(nonce, password_hash, clock.now())).view()

    def change_password(self, caller: Caller, current_password: str, new_password: str) -> dict:
        account = self._account_of(caller)
        if not verify_password(account.password_hash, current_password):
            account.fail_sign_in(clock.now(), self.limits)  # guessing it counts as a failed sign-in
            self.save(account)
            raise AuthenticationFailed("the current password is wrong",
                                       {"rule": "credentials", "field": "current_password"})
        check_password_policy(new_password, account.email)
        password_hash = hash_password(new_password)
        return self._change(account.id, lambda a: a.change_password(password_hash, caller.as_actor())).view()

    # --- invitations (SAC administrators, then the invitee through the gateway) ----------

    def invite(self, caller: Caller, data: dict) -> dict:
        """Invite someone to an account; inviting the same address with the same terms while the
        invitation is pending answers that invitation (no second e-mail); other terms, or an
        expired invitation, send a new link."""
        admin = self._admin_of(caller)
        email, now = data["email"], clock.now()
        if self._get(account_id_of(email)) is not None:
            raise self._email_taken(email)
        terms = {"name": data["name"], "role": data["role"], "organization": data["organization"],
                 "party_id": data["party_id"], "admin": data["admin"]}
        party_id_for(terms["role"], terms["party_id"], account_id_of(email))  # an expert names the expert id
        self._require_party_free(terms["role"], terms["party_id"], None)
        invitation = self._get(invitation_id_of(email))
        if invitation is None:
            invitation = Invitation.issue(email=email, **terms, nonce=new_nonce(), now=now, limits=self.limits,
                                          actor=admin.actor)
        elif invitation.accepted_by is not None:
            raise self._email_taken(email)
        elif invitation.pending(now) and invitation.terms() == terms:
            return invitation.view(now)  # the same invitation delivered again
        else:
            invitation.reissue(**terms, nonce=new_nonce(), now=now, limits=self.limits, actor=admin.actor)
        self._save_new(invitation, email=email)
        return invitation.view(now)

    def accept_invitation(self, caller: Caller, token: str, password: str, name: str | None) -> dict:
        """The invitee sets the password: the account opens, active (the link proved the address)."""
        caller.require_role("gateway")
        invitation, nonce = self._linked(Invitation, _verified(token, ACCEPT_INVITATION))
        account_id = account_id_of(invitation.email)
        invitation.accept(nonce, clock.now(), account_id)
        if self._get(account_id) is not None:
            raise self._email_taken(invitation.email)
        check_password_policy(password, invitation.email)
        self._require_party_free(invitation.role, invitation.party_id, None)
        account = Account.open(
            email=invitation.email, name=name or invitation.name, role=invitation.role,
            organization=invitation.organization,
            party_id=party_id_for(invitation.role, invitation.party_id, account_id), admin=invitation.admin,
            confirmed=True, password_hash=hash_password(password), origin=INVITATION,
            details={"invitation_id": str(invitation.id), "invited_by": invitation.invited_by},
        )
        self._save_new(invitation, account, email=invitation.email)
        return account.view()

    def list_invitations(self, caller: Caller) -> dict:
        self._admin_of(caller)
        rows = self.query(
            "SELECT invitation_id, email, name, role, organization, party_id, admin, invited_by, invited_at,"
            " expires_at, accepted_at, account_id, CASE WHEN accepted_at IS NOT NULL THEN 'accepted'"
            " WHEN expires_at > :now THEN 'pending' ELSE 'expired' END AS state"
            " FROM invitations ORDER BY invited_at DESC, email", now=clock.now())
        return {"items": [{**jsonable({k: v for k, v in row.items() if k != "invited_by"}),
                           "invited_by": row["invited_by"]} for row in rows]}

    # --- personal access tokens (the account itself; resolve_token for the gateway) -------

    def create_token(self, caller: Caller, data: dict) -> dict:
        """A personal access token for scripts: its plaintext (`inb_…`) is in this answer only."""
        account = self._account_of(caller)
        token_id = token_id_of(account.id, data["request_id"])
        plaintext = access_token_of(token_id, shared_settings.get().token_secret)
        token = account.tokens.get(str(token_id))
        if token is None:
            expires_at = clock.now() + timedelta(days=data["expires_days"]) if data["expires_days"] else None
            account.create_token(token_id, digest(plaintext), data["name"], data["scope"], expires_at,
                                 caller.as_actor())
            self.save(account)
            token = account.tokens[str(token_id)]
        return {"token_id": str(token_id), "token": plaintext, "name": token["name"], "scope": token["scope"],
                "expires_at": token["expires_at"].isoformat() if token["expires_at"] else None}

    def list_tokens(self, caller: Caller) -> dict:
        account = self._account_of(caller)
        rows = self.query("SELECT token_id, name, scope, created_at, expires_at, revoked_at FROM access_tokens"
                          " WHERE account_id = :a ORDER BY created_at, token_id", a=account.id)
        return {"items": [jsonable(row) for row in rows]}

    def revoke_token(self, caller: Caller, token_id) -> dict:
        account = self._account_of(caller)
        self._change(account.id, lambda a: a.revoke_token(token_id, caller.as_actor()))
        return {"token_id": str(token_id), "revoked": True}

    def resolve_token(self, caller: Caller, token: str) -> dict:
        caller.require_role("gateway")
        refused = AuthenticationFailed("no such token, or it was revoked or expired", {"rule": "token"})
        if not token.startswith(TOKEN_PREFIX):
            raise refused
        rows = self.query("SELECT token_id, account_id FROM access_tokens WHERE token_digest = :d", d=digest(token))
        if not rows:
            raise refused
        account = self.repository.get(rows[0]["account_id"])
        live = account.live_token(rows[0]["token_id"], clock.now())
        return {"account": account.view(), "token_id": str(rows[0]["token_id"]), "scope": live["scope"]}

    # --- the account itself -----------------------------------------------------------

    def me(self, caller: Caller) -> dict:
        return self._account_of(caller).view()

    # --- SAC administrators -----------------------------------------------------------

    def list_accounts(self, caller: Caller, data: dict) -> dict:
        """Accounts in e-mail order, filtered; `next_cursor` continues after the last one."""
        self._admin_of(caller)
        conditions, params = [], {"limit": data["limit"] + 1}
        for column in ("role", "organization", "status"):
            if data[column] is not None:
                conditions.append(f"{column} = :{column}")
                params[column] = data[column]
        if data["cursor"]:
            conditions.append("email > :after")
            params["after"] = _email_after(data["cursor"])
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.query(f"SELECT {ACCOUNT_COLUMNS} FROM accounts{where} ORDER BY email LIMIT :limit", **params)
        more = len(rows) > data["limit"]
        rows = rows[:data["limit"]]
        next_cursor = base64.urlsafe_b64encode(rows[-1]["email"].encode()).decode() if more else None
        return {"items": [jsonable(row) for row in rows], "next_cursor": next_cursor}

    def deactivate(self, caller: Caller, account_id, reason: str) -> dict:
        """停用: takes effect on the account's next request; its sessions end."""
        admin = self._admin_of(caller)
        self._not_yourself(admin, account_id, "an administrator does not deactivate their own account")
        return self._change(self._account(account_id).id, lambda a: a.deactivate(reason, caller.as_actor())).view()

    def reactivate(self, caller: Caller, account_id) -> dict:
        self._admin_of(caller)
        return self._change(self._account(account_id).id, lambda a: a.reactivate(caller.as_actor())).view()

    def set_role(self, caller: Caller, data: dict) -> dict:
        """Grant a role and the organization the account acts for (and the admin flag)."""
        admin = self._admin_of(caller)
        account = self._account(data["account_id"])
        role = data["role"]
        flag = data["admin"] if data["admin"] is not None else (account.admin and role == "officer")
        if account.id == admin.id and not (role == "officer" and flag):
            self._not_yourself(admin, account.id, "an administrator does not withdraw their own rights")
        kept_expert_id = account.party_id if role == account.role == "expert" else None
        party_id = party_id_for(role, data["party_id"] or kept_expert_id, account.id)
        self._require_party_free(role, party_id, account.id)
        return self._change(account.id, lambda a: a.change_role(role, data["organization"], party_id, flag,
                                                                caller.as_actor())).view()

    def account_history(self, caller: Caller, account_id) -> dict:
        """Every event of the account (and of the invitation it came from): who did what, when;
        for SAC administrators and auditors."""
        if caller.role != "auditor":
            self._admin_of(caller)
        account = self._account(account_id)
        ids = [account.id] + ([uuid.UUID(account.details["invitation_id"])]
                              if account.details.get("invitation_id") else [])
        events = [{**event, "payload": {k: v for k, v in event["payload"].items() if k not in HIDDEN}}
                  for event in self.aggregate_history(*ids)]
        return {"account_id": str(account.id), "events": events}

    # --- ops --------------------------------------------------------------------------

    def create_admin(self, caller: Caller, email: str, name: str, password: str) -> dict:
        """The first SAC administrator (`innobase accounts create-admin`); never over an existing address."""
        caller.require_role("ops")
        if self._get(account_id_of(email)) is not None:
            raise self._email_taken(email)
        check_password_policy(password, email)
        account = Account.open(email=email, name=name, role="officer", organization=SAC, party_id=None,
                               admin=True, confirmed=True, password_hash=hash_password(password),
                               origin=BOOTSTRAP, actor=caller.as_actor())
        self._save_new(account, email=email)
        return account.view()

    # --- helpers ----------------------------------------------------------------------

    def _get(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _account(self, account_id) -> Account:
        account = self._get(account_id)
        if not isinstance(account, Account):
            raise AccountNotFound("no such account", {"field": "account_id", "account_id": str(account_id)})
        return account

    def _account_of(self, caller: Caller) -> Account:
        """The account a caller's token was minted for (by the gateway, for a session or a token)."""
        rows = self.query("SELECT account_id FROM accounts WHERE party_id = :p AND role = :r AND organization = :o",
                          p=caller.party_id, r=caller.role, o=caller.organization)
        if len(rows) != 1:
            raise NotAuthorized("the caller's token names no account", {"rule": "own_account"})
        account = self.repository.get(rows[0]["account_id"])
        account.require_usable()
        return account

    def _admin_of(self, caller: Caller) -> "_Admin":
        caller.require_role("officer")
        account = self._account_of(caller)
        if not account.admin:
            raise NotAuthorized("only an SAC administrator may do this", {"rule": "admin"})
        return _Admin(account.id, caller.as_actor())

    @staticmethod
    def _not_yourself(admin: "_Admin", account_id, message: str) -> None:
        if str(admin.id) == str(account_id):
            raise RuleViolation.of("not_yourself", message, field="account_id")

    def _require_party_free(self, role: str, party_id: str | None, account_id) -> None:
        """One account per party: an expert id names one person."""
        if not party_id:
            return
        rows = self.query("SELECT account_id FROM accounts WHERE role = :r AND party_id = :p", r=role, p=party_id)
        if any(str(row["account_id"]) != str(account_id) for row in rows):
            raise PartyTaken.of("party_taken", f"another {role} account acts as {party_id}", field="party_id")

    def _linked(self, kind: type, verified: tuple[str, str]) -> tuple:
        """(the aggregate a verified link token names, the token's nonce)."""
        subject, nonce = verified
        try:
            aggregate = self._get(uuid.UUID(subject))
        except ValueError:
            aggregate = None
        if not isinstance(aggregate, kind):
            raise LinkInvalid("the link is not valid", {"rule": "link_token_invalid", "field": "token"})
        return aggregate, nonce

    def _change(self, aggregate_id, change):
        """Apply `change` to the aggregate and save it, reading it again if another command won a race."""
        for attempt in range(ATTEMPTS):
            aggregate = self.repository.get(aggregate_id)
            change(aggregate)
            try:
                self.save(aggregate)
                return aggregate
            except ConcurrencyConflict:
                if attempt == ATTEMPTS - 1:
                    raise

    def _save_new(self, *aggregates, email: str) -> None:
        try:
            self.save(*aggregates)
        except ConcurrencyConflict:
            raise self._email_taken(email) from None

    @staticmethod
    def _email_taken(email: str) -> EmailTaken:
        return EmailTaken.of("email_taken", "an account or invitation with this e-mail address exists",
                             field="email")

    # --- published facts ----------------------------------------------------------------

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        e = domain_event
        account_id = {"account_id": e.originator_id}
        if name == "Opened":
            identity = {k: getattr(e, k) for k in ("role", "organization", "party_id", "admin")}
            common = {**account_id, **identity, "email": e.email, "name": e.name}
            if e.origin == REGISTRATION:
                return "AccountRegistered", 1, {**common, **{k: e.details[k] for k in ("unit_name", "credit_code",
                                                                                        "phone")}}
            if e.origin == INVITATION:
                return "InvitationAccepted", 1, {**common, "invitation_id": e.details["invitation_id"]}
            return "AdminCreated", 1, common
        if name in ("EmailConfirmationRequested", "PasswordResetRequested"):
            account = self.repository.get(e.originator_id, version=e.originator_version)
            return name, 1, {**account_id, "email": account.email, "name": account.name, "nonce": e.nonce,
                             "expires_at": e.expires_at}
        if name in ("Issued", "Reissued"):
            invitation = self.repository.get(e.originator_id, version=e.originator_version)
            return "Invited", 1, {
                "invitation_id": e.originator_id, "email": invitation.email, **invitation.terms(),
                "party_id": party_id_for(invitation.role, invitation.party_id, account_id_of(invitation.email)),
                "nonce": e.nonce, "expires_at": e.expires_at}
        if name == "EmailConfirmed":
            account = self.repository.get(e.originator_id, version=e.originator_version)
            return "AccountConfirmed", 1, {**account_id, "email": account.email}
        if name == "PasswordChanged":
            return "PasswordChanged", 1, {**account_id, "reason": e.reason}
        if name == "RoleChanged":
            return "RoleChanged", 1, {**account_id, "role": e.role, "organization": e.organization,
                                      "party_id": e.party_id, "admin": e.admin, "previous": e.previous}
        if name == "Locked":
            return "AccountLocked", 1, {**account_id, "until": e.until, "failures": e.failures}
        if name == "Deactivated":
            return "AccountDeactivated", 1, {**account_id, "reason": e.reason}
        if name == "Reactivated":
            return "AccountReactivated", 1, account_id
        if name == "SessionEnded":
            return "SessionEnded", 1, {**account_id, "session_digest": e.session_digest, "reason": e.reason}
        if name == "TokenRevoked":
            return "TokenRevoked", 1, {**account_id, "token_id": e.token_id, "token_digest": e.token_digest}
        return None

    # --- read models ------------------------------------------------------------------

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


class _Admin:
    """The SAC administrator calling: their account id and their identity as an actor."""

    def __init__(self, account_id, actor: dict):
        self.id = account_id
        self.actor = actor


def _verified(token: str, purpose: str) -> tuple[str, str]:
    """(subject, nonce) of a link token, or `LinkInvalid` naming the rule it broke."""
    try:
        return auth.verify_link_token(token, purpose)
    except AuthenticationFailed as refused:
        raise LinkInvalid(refused.message, refused.details) from None


def _email_after(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput.for_fields({"cursor": ["Not a cursor this service gave."]}) from None
