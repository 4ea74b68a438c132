"""Accounts' event-sourced application: registration and e-mail confirmation, invitations,
sign-in with lockout, browser sessions, personal access tokens, password change and reset,
and what SAC administrators grant and withdraw; with the read models the lookups need and
the integration events the gateway and notification follow.

One class, `Accounts`, composed of its parts, each a module to read on its own:
`commands` (what accounts, administrators and ops change), `sessions` (sign-in and the
identities the gateway resolves), `queries`, `read_model` (the tables and their
projections), `published` (domain event → integration event) and `access` (finding
accounts and saving changes)."""
from __future__ import annotations

from shared.eventstore import ServiceApplication
from services.accounts import settings
from services.accounts.application.access import Access
from services.accounts.application.commands import Commands
from services.accounts.application.published import Published
from services.accounts.application.queries import Queries
from services.accounts.application.read_model import ReadModel
from services.accounts.application.sessions import Sessions
from services.accounts.domain import Account, Limits


class Accounts(Commands, Sessions, Queries, ReadModel, Published, Access, ServiceApplication):
    """Accounts (账户): every account and invitation, in one log."""

    name = "Accounts"
    service = "accounts"
    # Every request of a signed-in browser reads its account: kept in memory, and snapshotted,
    # since sign-ins and session activity add events for as long as the account lives.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}
    snapshotting_intervals = {Account: 100}

    def __init__(self, database_url: str | None = None, limits: Limits | None = None):
        self.limits = limits or settings.get()
        super().__init__(database_url)
