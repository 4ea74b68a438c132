"""Accounts' domain: who may sign in (账户), as which party, role and organization, and the
rules of passwords, sign-in lockout, browser sessions, personal access tokens and
e-mailed links; and the invitations an SAC administrator sends.

An account's id is uuid5 of its normalised e-mail address, an invitation's too, so a
redelivered registration or invitation finds the first one instead of writing a twin,
and one address never holds two accounts. Sessions and tokens are known by their
SHA-256 digests only; an e-mailed link by the random nonce it is signed from.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.domain import Aggregate, event

from shared.contracts.accounts import ACCOUNT_ROLES  # noqa: F401  (the roles an account may hold)
from services.accounts.errors import (
    AccountDeactivated,
    AccountLocked,
    AccountNotConfirmed,
    AuthenticationFailed,
    LinkInvalid,
    RuleViolation,
    TokenNotFound,
    WeakPassword,
)

ACCOUNT_NAMESPACE = uuid.UUID("6d0f3c2a-91b4-4e7a-8c55-3a1e9b7d2f40")
INVITATION_NAMESPACE = uuid.UUID("b8e2a417-3c6d-4f09-a1b5-7d4c2e9f0a63")
TOKEN_NAMESPACE = uuid.UUID("2f7a9c1e-5b3d-4a86-9e02-c4d1b6a8f375")

UNCONFIRMED, ACTIVE, DEACTIVATED = "unconfirmed", "active", "deactivated"
STATUSES = (UNCONFIRMED, ACTIVE, DEACTIVATED)
REGISTRATION, INVITATION, BOOTSTRAP = "registration", "invitation", "bootstrap"  # how an account came to be
READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)
# What an e-mailed link is for (the link token's `purpose`).
CONFIRM_EMAIL, ACCEPT_INVITATION, PASSWORD_RESET = "confirm_email", "invitation", "password_reset"
SAC = "SAC"  # the organization of SAC's officers (国家标准委)
TOKEN_PREFIX = "inb_"
MIN_PASSWORD_LENGTH = 10
MAX_FAILURES_KEPT = 50


@dataclass(frozen=True)
class Limits:
    """The settings every time rule reads (services.accounts.settings fills them)."""

    session_lifetime: timedelta = timedelta(hours=8)
    session_idle: timedelta = timedelta(minutes=30)
    touch_interval: timedelta = timedelta(minutes=5)  # a session's activity is recorded at most this often
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    confirmation_valid: timedelta = timedelta(hours=72)
    invitation_valid: timedelta = timedelta(hours=72)
    reset_valid: timedelta = timedelta(hours=1)


def normalised_email(email: str) -> str:
    """E-mail addresses are compared without case or surrounding space."""
    return email.strip().lower()


def account_id_of(email: str) -> uuid.UUID:
    return uuid.uuid5(ACCOUNT_NAMESPACE, normalised_email(email))


def invitation_id_of(email: str) -> uuid.UUID:
    return uuid.uuid5(INVITATION_NAMESPACE, normalised_email(email))


def token_id_of(account_id, request_id: str | None) -> uuid.UUID:
    """One token per (account, request): a create_token delivered twice creates one token."""
    return uuid.uuid5(TOKEN_NAMESPACE, f"{account_id}:{request_id}") if request_id else uuid.uuid4()


def digest(secret: str) -> str:
    """What is stored of a session id or a token: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def access_token_of(token_id, secret: str) -> str:
    """The plaintext of a personal access token, derived from its id with the services' secret:
    a redelivered create_token answers the same token again, and nothing stored reveals it."""
    mac = hmac.new(secret.encode("utf-8"), f"personal-access-token:{token_id}".encode(), hashlib.sha256)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def check_password_policy(password: str, email: str) -> None:
    """At least 10 characters, not all digits, not the e-mail address (WeakPassword names the rule)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword.of("password_length", f"a password has at least {MIN_PASSWORD_LENGTH} characters",
                              field="password", min_length=MIN_PASSWORD_LENGTH)
    if password.isdigit():
        raise WeakPassword.of("password_all_digits", "a password is not digits only", field="password")
    if normalised_email(password) == normalised_email(email):
        raise WeakPassword.of("password_is_email", "a password is not the e-mail address", field="password")


def _link_refused(pending: dict | None, nonce: str, now: datetime) -> None:
    """A link is good once: its nonce is the one pending, and it has not expired."""
    if pending is None or not hmac.compare_digest(pending["nonce"], nonce):
        raise LinkInvalid("the link was used already or replaced by a newer one",
                               {"rule": "link_token_used", "field": "token"})
    if now >= pending["expires_at"]:
        raise LinkInvalid("the link has expired", {"rule": "link_token_expired", "field": "token"})


def party_id_for(role: str, party_id: str | None, account_id) -> str:
    """The party a token minted for the account names: an expert's id in expert review's register
    (given at invitation), else the account's own id."""
    if role == "expert" and not party_id:
        raise RuleViolation.of("expert_party_id", "an expert account names the expert's id in the expert register",
                               field="party_id")
    return party_id or str(account_id)


def session_refused(reason: str) -> AuthenticationFailed:
    # One rule whatever went wrong; the reason lets the gateway say why (expired, idle) to the browser.
    return AuthenticationFailed("no such session, or it has ended", {"rule": "session", "reason": reason})


class Account(Aggregate):
    """An account (账户): one person acting for one organization in one role."""

    class Opened(Aggregate.Created):
        email: str
        name: str
        role: str
        organization: str
        party_id: str
        admin: bool
        confirmed: bool
        password_hash: str
        origin: str
        details: dict  # registration: unit_name, credit_code, phone; invitation: invitation_id
        actor: dict | None

    def __init__(self, email: str, name: str, role: str, organization: str, party_id: str, admin: bool,
                 confirmed: bool, password_hash: str, origin: str, details: dict, actor: dict | None):
        self.email = email
        self.name = name
        self.role = role
        self.organization = organization
        self.party_id = party_id
        self.admin = admin
        self.confirmed = confirmed
        self.deactivated = False
        self.password_hash = password_hash
        self.origin = origin
        self.details = dict(details)
        self.links: dict[str, dict] = {}  # purpose -> {"nonce", "expires_at"}: the link pending
        self.failures: list[datetime] = []  # failed sign-ins since the last success or lockout
        self.locked_until: datetime | None = None
        self.sessions: dict[str, dict] = {}  # digest -> {"started_at", "expires_at", "seen_at"}
        self.tokens: dict[str, dict] = {}  # token id -> {"digest", "name", "scope", "expires_at", "revoked"}

    @classmethod
    def open(cls, *, email: str, name: str, role: str, organization: str, party_id: str | None, admin: bool,
             confirmed: bool, password_hash: str, origin: str, details: dict | None = None,
             actor: dict | None = None) -> "Account":
        account_id = account_id_of(email)
        return cls._create(
            cls.Opened, id=account_id, email=normalised_email(email), name=name, role=role,
            organization=organization, party_id=party_id or str(account_id), admin=admin, confirmed=confirmed,
            password_hash=password_hash, origin=origin, details=dict(details or {}), actor=actor,
        )

    @property
    def status(self) -> str:
        if self.deactivated:
            return DEACTIVATED
        return ACTIVE if self.confirmed else UNCONFIRMED

    def view(self) -> dict:
        return {"account_id": str(self.id), "email": self.email, "name": self.name, "role": self.role,
                "organization": self.organization, "party_id": self.party_id, "admin": self.admin,
                "status": self.status, "created_at": self.created_on.isoformat()}

    def require_usable(self) -> None:
        """An account signs in and acts only once confirmed, and while not deactivated."""
        if self.deactivated:
            raise AccountDeactivated("the account is deactivated", {"rule": "deactivated"})
        if not self.confirmed:
            raise AccountNotConfirmed("confirm the e-mail address first", {"rule": "email_not_confirmed"})

    # --- e-mailed links ------------------------------------------------------------

    def request_confirmation(self, nonce: str, now: datetime, limits: Limits) -> None:
        self._confirmation_requested(nonce=nonce, expires_at=now + limits.confirmation_valid)

    @event("EmailConfirmationRequested")
    def _confirmation_requested(self, nonce: str, expires_at: datetime) -> None:
        self.links[CONFIRM_EMAIL] = {"nonce": nonce, "expires_at": expires_at}

    def confirm_email(self, nonce: str, now: datetime) -> None:
        _link_refused(self.links.get(CONFIRM_EMAIL), nonce, now)
        self._email_confirmed(nonce=nonce)

    @event("EmailConfirmed")
    def _email_confirmed(self, nonce: str | None) -> None:
        self.confirmed = True
        self.links.pop(CONFIRM_EMAIL, None)

    def request_password_reset(self, nonce: str, now: datetime, limits: Limits) -> None:
        self._reset_requested(nonce=nonce, expires_at=now + limits.reset_valid)

    @event("PasswordResetRequested")
    def _reset_requested(self, nonce: str, expires_at: datetime) -> None:
        self.links[PASSWORD_RESET] = {"nonce": nonce, "expires_at": expires_at}

    def reset_password(self, nonce: str, password_hash: str, now: datetime) -> None:
        """The reset link proves the address too: an unconfirmed account is confirmed by it."""
        if self.deactivated:
            raise AccountDeactivated("the account is deactivated", {"rule": "deactivated"})
        _link_refused(self.links.get(PASSWORD_RESET), nonce, now)
        if not self.confirmed:
            self._email_confirmed(nonce=None)
        self._password_changed(password_hash=password_hash, reason="reset", actor=None)
        self.end_all_sessions("password_reset")

    # --- passwords and sign-in --------------------------------------------------------

    def change_password(self, password_hash: str, actor: dict) -> None:
        self._password_changed(password_hash=password_hash, reason="changed", actor=actor)
        self.end_all_sessions("password_changed")

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, reason: str, actor: dict | None) -> None:
        self.password_hash = password_hash
        self.links.pop(PASSWORD_RESET, None)

    @event("PasswordRehashed")
    def rehash(self, password_hash: str) -> None:
        """The hasher's parameters changed since the password was hashed: the new hash replaces it."""
        self.password_hash = password_hash

    def refuse_if_locked(self, now: datetime) -> None:
        if self.locked_until is not None and now < self.locked_until:
            raise AccountLocked("too many failed sign-ins; try again later",
                                {"rule": "locked", "until": self.locked_until.isoformat()})

    def recent_failures(self, now: datetime, limits: Limits) -> int:
        return sum(1 for at in self.failures if now - at < limits.failure_window)

    def fail_sign_in(self, now: datetime, limits: Limits) -> bool:
        """Record a failed sign-in; lock the account when it is one too many. True if it locked."""
        failures = self.recent_failures(now, limits) + 1
        self._sign_in_failed(at=now, failures=failures)
        if failures >= limits.max_failures:
            self._locked(until=now + limits.lockout, failures=failures)
            return True
        return False

    @event("SignInFailed")
    def _sign_in_failed(self, at: datetime, failures: int) -> None:
        self.failures = [*self.failures[-(MAX_FAILURES_KEPT - 1):], at]

    @event("Locked")
    def _locked(self, until: datetime, failures: int) -> None:
        self.locked_until = until
        self.failures = []

    def sign_in(self, session_digest: str, now: datetime, limits: Limits) -> datetime:
        """Start a session; returns when it expires at the latest."""
        expires_at = now + limits.session_lifetime
        self._signed_in(session_digest=session_digest, at=now, expires_at=expires_at)
        return expires_at

    @event("SignedIn")
    def _signed_in(self, session_digest: str, at: datetime, expires_at: datetime) -> None:
        # Sessions past their lifetime are forgotten here, so the aggregate does not grow.
        self.sessions = {d: s for d, s in self.sessions.items() if s["expires_at"] > at}
        self.sessions[session_digest] = {"started_at": at, "expires_at": expires_at, "seen_at": at}
        self.failures = []
        self.locked_until = None

    # --- sessions -----------------------------------------------------------------------

    def live_session(self, session_digest: str, now: datetime, limits: Limits) -> dict:
        """The session, if it is still good: not ended, within its lifetime and not idle too long."""
        session = self.sessions.get(session_digest)
        if session is None:
            raise session_refused("unknown")
        if now >= session["expires_at"]:
            raise session_refused("expired")
        if now - session["seen_at"] >= limits.session_idle:
            raise session_refused("idle")
        if self.deactivated:
            raise session_refused("deactivated")
        return session

    def touch(self, session_digest: str, now: datetime, limits: Limits) -> bool:
        """Record the session's activity, at most once per `touch_interval`. True if recorded."""
        if now - self.sessions[session_digest]["seen_at"] < limits.touch_interval:
            return False
        self._session_touched(session_digest=session_digest, at=now)
        return True

    @event("SessionTouched")
    def _session_touched(self, session_digest: str, at: datetime) -> None:
        self.sessions[session_digest] = {**self.sessions[session_digest], "seen_at": at}

    def end_session(self, session_digest: str, reason: str) -> bool:
        if session_digest not in self.sessions:
            return False
        self._session_ended(session_digest=session_digest, reason=reason)
        return True

    def end_all_sessions(self, reason: str) -> None:
        for session_digest in sorted(self.sessions):
            self._session_ended(session_digest=session_digest, reason=reason)

    @event("SessionEnded")
    def _session_ended(self, session_digest: str, reason: str) -> None:
        self.sessions = {d: s for d, s in self.sessions.items() if d != session_digest}

    # --- what the account acts as (SAC administrators) ---------------------------------

    def identity(self) -> dict:
        return {"role": self.role, "organization": self.organization, "party_id": self.party_id,
                "admin": self.admin}

    def change_role(self, role: str, organization: str, party_id: str, admin: bool, actor: dict) -> bool:
        check_admin_is_officer(role, admin)
        new = {"role": role, "organization": organization, "party_id": party_id, "admin": admin}
        if new == self.identity():
            return False
        self._role_changed(**new, previous=self.identity(), actor=actor)
        return True

    @event("RoleChanged")
    def _role_changed(self, role: str, organization: str, party_id: str, admin: bool, previous: dict,
                      actor: dict) -> None:
        self.role, self.organization, self.party_id, self.admin = role, organization, party_id, admin

    def deactivate(self, reason: str, actor: dict) -> bool:
        if self.deactivated:
            return False
        self._deactivated(reason=reason, actor=actor)
        self.end_all_sessions("deactivated")
        return True

    @event("Deactivated")
    def _deactivated(self, reason: str, actor: dict) -> None:
        self.deactivated = True

    def reactivate(self, actor: dict) -> bool:
        if not self.deactivated:
            return False
        self._reactivated(actor=actor)
        return True

    @event("Reactivated")
    def _reactivated(self, actor: dict) -> None:
        self.deactivated = False
        self.failures = []
        self.locked_until = None

    # --- personal access tokens (for scripts) -----------------------------------------

    def create_token(self, token_id, token_digest: str, name: str, scope: str, expires_at: datetime | None,
                     actor: dict) -> None:
        self._token_created(token_id=str(token_id), token_digest=token_digest, name=name, scope=scope,
                            expires_at=expires_at, actor=actor)

    @event("TokenCreated")
    def _token_created(self, token_id: str, token_digest: str, name: str, scope: str,
                       expires_at: datetime | None, actor: dict) -> None:
        self.tokens[token_id] = {"digest": token_digest, "name": name, "scope": scope, "expires_at": expires_at,
                                 "revoked": False}

    def revoke_token(self, token_id, actor: dict) -> bool:
        token = self.tokens.get(str(token_id))
        if token is None:
            raise TokenNotFound("no such token", {"field": "token_id", "token_id": str(token_id)})
        if token["revoked"]:
            return False
        self._token_revoked(token_id=str(token_id), token_digest=token["digest"], actor=actor)
        return True

    @event("TokenRevoked")
    def _token_revoked(self, token_id: str, token_digest: str, actor: dict) -> None:
        self.tokens = {**self.tokens, token_id: {**self.tokens[token_id], "revoked": True}}

    def live_token(self, token_id, now: datetime) -> dict:
        """The token, if it still works: not revoked, not expired, its account usable."""
        token = self.tokens.get(str(token_id))
        refused = AuthenticationFailed("no such token, or it was revoked or expired", {"rule": "token"})
        if token is None or token["revoked"] or self.deactivated or not self.confirmed:
            raise refused
        if token["expires_at"] is not None and now >= token["expires_at"]:
            raise refused
        return token


class Invitation(Aggregate):
    """An SAC administrator's invitation (邀请) to an account: the invitee sets the password
    through the e-mailed link, valid 72 hours; inviting again sends a new link."""

    class Issued(Aggregate.Created):
        email: str
        name: str
        role: str
        organization: str
        party_id: str | None
        admin: bool
        nonce: str
        expires_at: datetime
        actor: dict

    def __init__(self, email: str, name: str, role: str, organization: str, party_id: str | None, admin: bool,
                 nonce: str, expires_at: datetime, actor: dict):
        self._terms(email, name, role, organization, party_id, admin, nonce, expires_at)
        self.invited_by = actor
        self.accepted_by: str | None = None

    def _terms(self, email, name, role, organization, party_id, admin, nonce, expires_at) -> None:
        self.email, self.name, self.role, self.organization = email, name, role, organization
        self.party_id, self.admin, self.nonce, self.expires_at = party_id, admin, nonce, expires_at

    @classmethod
    def issue(cls, *, email: str, name: str, role: str, organization: str, party_id: str | None, admin: bool,
              nonce: str, now: datetime, limits: Limits, actor: dict) -> "Invitation":
        check_admin_is_officer(role, admin)
        return cls._create(cls.Issued, id=invitation_id_of(email), email=normalised_email(email), name=name,
                           role=role, organization=organization, party_id=party_id, admin=admin, nonce=nonce,
                           expires_at=now + limits.invitation_valid, actor=actor)

    def terms(self) -> dict:
        return {"name": self.name, "role": self.role, "organization": self.organization,
                "party_id": self.party_id, "admin": self.admin}

    def pending(self, now: datetime) -> bool:
        return self.accepted_by is None and now < self.expires_at

    def reissue(self, *, name: str, role: str, organization: str, party_id: str | None, admin: bool, nonce: str,
                now: datetime, limits: Limits, actor: dict) -> None:
        check_admin_is_officer(role, admin)
        self._reissued(name=name, role=role, organization=organization, party_id=party_id, admin=admin,
                       nonce=nonce, expires_at=now + limits.invitation_valid, actor=actor)

    @event("Reissued")
    def _reissued(self, name: str, role: str, organization: str, party_id: str | None, admin: bool, nonce: str,
                  expires_at: datetime, actor: dict) -> None:
        self._terms(self.email, name, role, organization, party_id, admin, nonce, expires_at)
        self.invited_by = actor

    def accept(self, nonce: str, now: datetime, account_id) -> None:
        pending = None if self.accepted_by else {"nonce": self.nonce, "expires_at": self.expires_at}
        _link_refused(pending, nonce, now)
        self._accepted(account_id=str(account_id))

    @event("Accepted")
    def _accepted(self, account_id: str) -> None:
        self.accepted_by = account_id

    def view(self, now: datetime) -> dict:
        state = "accepted" if self.accepted_by else "pending" if now < self.expires_at else "expired"
        return {"invitation_id": str(self.id), "email": self.email, **self.terms(),
                "expires_at": self.expires_at.isoformat(), "state": state}


def check_admin_is_officer(role: str, admin: bool) -> None:
    """Only an officer (国家标准委) may be an SAC administrator."""
    if admin and role != "officer":
        raise RuleViolation.of("admin_is_officer", "only an officer account may be an SAC administrator",
                               field="admin")
