"""`Idempotency-Key` on POST: the same key and body answer the first response again.

The gateway's own small database (`<prefix>_gateway`) records, per account and
key, each attempt with a digest of the request and, once it is done, its answer:
rows written once, never changed. A key sent with
another body is refused (422); a key whose first request is still running answers
409; a request that failed inside (5xx) may be tried again with the same key.
The key, with the account, also becomes the RPC's command id (and its `request_id`
where the RPC has one): the service itself recognises a repeated command, even when
this store lost the answer (a gateway that died between the command and its answer,
a retry after a 5xx) — see docs/reliability.md.
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
CREATE TABLE IF NOT EXISTS idempotency_attempts (
    account_id text NOT NULL,
    key text NOT NULL,
    attempt integer NOT NULL,
    request_digest text NOT NULL,
    started_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, key, attempt)
);
CREATE TABLE IF NOT EXISTS idempotency_answers (
    account_id text NOT NULL,
    key text NOT NULL,
    attempt integer NOT NULL,
    status integer,            -- NULL: the attempt failed inside (5xx) and may be made again
    headers jsonb,
    body bytea,
    PRIMARY KEY (account_id, key, attempt)
)
"""
LATEST = """
SELECT a.attempt, a.request_digest, a.started_at, r.attempt IS NOT NULL AS answered, r.status, r.headers, r.body
  FROM idempotency_attempts a
  LEFT JOIN idempotency_answers r USING (account_id, key, attempt)
 WHERE a.account_id = :a AND a.key = :k
 ORDER BY a.attempt DESC LIMIT 1
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


def command_id_for(account_id: str, key: str) -> str:
    """The command id (and request id) of an account's Idempotency-Key: the same for every retry."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{account_id}:{key}"))


class IdempotencyStore:
    """Attempts and their answers, each a row written once (nothing is updated in place): a key's
    latest attempt says whether a request goes ahead, waits (409) or gets the first answer."""

    def __init__(self, database_url: str | None = None, stale_after_seconds: float = 60.0,
                 remembered_hours: int | None = None):
        from services.gateway import settings as gateway_settings

        self.url = database_url or settings.get().database_url("gateway")
        self.stale_after = timedelta(seconds=stale_after_seconds)
        self.remembered = timedelta(hours=remembered_hours or gateway_settings.get().idempotency_hours)
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

    def begin(self, account_id: str, key: str, digest: str) -> tuple[int, Remembered | None]:
        """(the attempt this request makes, None), or (its attempt, the remembered answer)."""
        now = clock.now()
        with self.engine.begin() as conn:
            latest = conn.execute(text(LATEST), {"a": account_id, "k": key}).one_or_none()
            if latest is not None and now - latest.started_at < self.remembered:
                if latest.request_digest != digest:
                    raise Conflict("other_body")
                if latest.answered and latest.status is not None:
                    return latest.attempt, Remembered(latest.status, latest.headers or {}, bytes(latest.body or b""))
                if not latest.answered and now - latest.started_at < self.stale_after:
                    raise Conflict("in_flight")
            # a first attempt, one after a failure inside or one that died without an answer,
            # or a key older than it is remembered for
            attempt = latest.attempt + 1 if latest is not None else 1
            inserted = conn.execute(text(
                "INSERT INTO idempotency_attempts (account_id, key, attempt, request_digest, started_at)"
                " VALUES (:a, :k, :n, :d, :t) ON CONFLICT DO NOTHING"),
                {"a": account_id, "k": key, "n": attempt, "d": digest, "t": now})
            if inserted.rowcount == 0:  # another request with this key got there first
                raise Conflict("in_flight")
            return attempt, None

    def finish(self, account_id: str, key: str, attempt: int, status: int, headers: dict, body: bytes) -> None:
        self._answer(account_id, key, attempt, status, json.dumps(headers), body)

    def abandon(self, account_id: str, key: str, attempt: int) -> None:
        """A failure inside (5xx): the key may be used again at once."""
        self._answer(account_id, key, attempt, None, None, None)

    def _answer(self, account_id, key, attempt, status, headers, body) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO idempotency_answers (account_id, key, attempt, status, headers, body)"
                " VALUES (:a, :k, :n, :s, CAST(:h AS jsonb), :b) ON CONFLICT DO NOTHING"),
                {"a": account_id, "k": key, "n": attempt, "s": status, "h": headers, "b": body})
