"""What accounts answers: the account itself, its tokens, and for SAC administrators the
invitations, the accounts (filtered, in pages) and an account's history."""
from __future__ import annotations

import base64
import binascii
import uuid

from shared import clock
from shared.auth import Caller
from shared.eventstore import jsonable
from services.accounts.errors import InvalidInput

ACCOUNT_COLUMNS = "account_id, email, name, role, organization, party_id, admin, status, created_at"
# What an account's history never shows, though the log keeps it: the hash, the link nonces.
HIDDEN = ("password_hash", "nonce")


class Queries:
    """Mixed into `Accounts`: reads of the read model and the log; none changes anything."""

    def list_invitations(self, caller: Caller) -> dict:
        self._admin_of(caller)
        rows = self.query(
            "SELECT invitation_id, email, name, role, organization, party_id, admin, invited_by, invited_at,"
            " expires_at, accepted_at, account_id, CASE WHEN accepted_at IS NOT NULL THEN 'accepted'"
            " WHEN expires_at > :now THEN 'pending' ELSE 'expired' END AS state"
            " FROM invitations ORDER BY invited_at DESC, email", now=clock.now())
        return {"items": [{**jsonable({k: v for k, v in row.items() if k != "invited_by"}),
                           "invited_by": row["invited_by"]} for row in rows]}

    def list_tokens(self, caller: Caller) -> dict:
        account = self._account_of(caller)
        rows = self.query("SELECT token_id, name, scope, created_at, expires_at, revoked_at FROM access_tokens"
                          " WHERE account_id = :a ORDER BY created_at, token_id", a=account.id)
        return {"items": [jsonable(row) for row in rows]}

    def me(self, caller: Caller) -> dict:
        return self._account_of(caller).view()

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


def _email_after(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput.for_fields({"cursor": ["Not a cursor this service gave."]}) from None
