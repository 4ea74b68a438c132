"""`Idempotency-Key` on POST: the same key and body answer the first response again.

The gateway's own small database (`<prefix>_gateway`) remembers, per account and
key, a digest of the request and, once it is done, the response. A key sent with
another body is refused (422); a key whose first request is still running answers
409; a request that failed inside (5xx) may be tried again with the same key.
Where the RPC has a `request_id` argument, the key also becomes that request id,
so the service itself recognises a repeated command.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy
from sqlalchemy import text

from shared import clock, settings
from shared.eventstore import ensure_database

KEY_NAMESPACE = uuid.UUID("5b0d3c1e-2f7a-4e55-9a8c-1d2e3f405060")
SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    account_id text NOT NULL,
    key text NOT NULL,
    request_digest text NOT NULL,
    started_at timestamptz NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    PRIMARY KEY (account_id, key)
)
"""


@dataclass(frozen=True)
class Remembered:
    status: int
    headers: dict
    body: bytes


class Conflict(Exception):
    """The key is in use: `reason` is "other_body" or "in_flight"."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def request_digest(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def request_id_for(account_id: str, key: str) -> str:
    return str(uuid.uuid5(KEY_NAMESPACE, f"{account_id}:{key}"))


class IdempotencyStore:
    def __init__(self, database_url: str | None = None, stale_after_seconds: float = 60.0):
        self.url = database_url or settings.get().database_url("gateway")
        self.stale_after = timedelta(seconds=stale_after_seconds)
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            ensure_database(self.url)
            engine = sqlalchemy.create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(7301)"))  # two instances starting at once
                conn.execute(text(SCHEMA))
            self._engine = engine
        return self._engine

    def begin(self, account_id: str, key: str, digest: str) -> Remembered | None:
        """The remembered response, or None when this request goes ahead (then `finish` it)."""
        now = clock.now()
        with self.engine.begin() as conn:
            inserted = conn.execute(text(
                "INSERT INTO idempotency_keys (account_id, key, request_digest, started_at)"
                " VALUES (:a, :k, :d, :t) ON CONFLICT DO NOTHING"), {"a": account_id, "k": key, "d": digest, "t": now})
            if inserted.rowcount == 1:
                return None
            row = conn.execute(text(
                "SELECT request_digest, started_at, status, headers, body FROM idempotency_keys"
                " WHERE account_id = :a AND key = :k FOR UPDATE"), {"a": account_id, "k": key}).one()
            if row.request_digest != digest:
                raise Conflict("other_body")
            if row.status is not None:
                return Remembered(row.status, row.headers or {}, bytes(row.body or b""))
            if now - row.started_at < self.stale_after:
                raise Conflict("in_flight")
            # the first attempt died without an answer: this one goes ahead
            conn.execute(text("UPDATE idempotency_keys SET started_at = :t WHERE account_id = :a AND key = :k"),
                         {"a": account_id, "k": key, "t": now})
            return None

    def finish(self, account_id: str, key: str, status: int, headers: dict, body: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(
                "UPDATE idempotency_keys SET status = :s, headers = CAST(:h AS jsonb), body = :b"
                " WHERE account_id = :a AND key = :k"),
                {"a": account_id, "k": key, "s": status, "h": json.dumps(headers), "b": body})

    def abandon(self, account_id: str, key: str) -> None:
        """A failure inside (5xx): the key may be used again at once."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM idempotency_keys WHERE account_id = :a AND key = :k AND status IS NULL"),
                         {"a": account_id, "k": key})

    def forget_older_than(self, hours: int) -> int:
        with self.engine.begin() as conn:
            return conn.execute(text("DELETE FROM idempotency_keys WHERE started_at < :t"),
                                {"t": clock.now() - timedelta(hours=hours)}).rowcount
