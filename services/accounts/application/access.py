"""How accounts finds an account or invitation, the account behind a caller's token, and
saves a change (again after a lost race): what the other parts share."""
from __future__ import annotations

import uuid

from eventsourcing.application import AggregateNotFoundError

from shared import auth
from shared.auth import Caller
from services.accounts.domain import Account
from services.accounts.errors import (
    AccountNotFound,
    AuthenticationFailed,
    ConcurrencyConflict,
    EmailTaken,
    LinkInvalid,
    NotAuthorized,
    PartyTaken,
    RuleViolation,
)

ATTEMPTS = 3  # a command on one account raced by another runs again, this often at most


def credentials_refused() -> AuthenticationFailed:
    """The one answer to a wrong password and to an unknown address alike."""
    return AuthenticationFailed("the e-mail address or the password is wrong", {"rule": "credentials"})


class Access:
    """Mixed into `Accounts`: aggregates by id, the caller's own account or administrator, and
    the two ways of saving (a change, retried; a new aggregate, whose twin is a taken address)."""

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
