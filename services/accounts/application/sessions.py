"""Signing in and the identities the gateway resolves: a session for the right password
(with lockout after too many wrong ones), a live session or personal access token
resolved to its account, and signing out."""
from __future__ import annotations

from shared import clock
from shared.auth import Caller
from services.accounts.application.access import ATTEMPTS, credentials_refused
from services.accounts.domain import TOKEN_PREFIX, Account, account_id_of, digest, new_session_id, session_refused
from services.accounts.errors import AuthenticationFailed, ConcurrencyConflict
from services.accounts.passwords import hash_password, needs_rehash, verify_nothing, verify_password


class Sessions:
    """Mixed into `Accounts`: the gateway's calls for browser sessions and scripts' tokens."""

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

    # --- personal access tokens (resolve_token for the gateway) --------------------------

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
