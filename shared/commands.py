"""Exactly-once commands: a command's outcome is recorded under its command id in the same
transaction as its events, so a repeat (a client's retry, a redelivered request) is answered
from the record instead of running again.

The command id comes with the call (context data `command_id`, see docs/rpc.md) or, when the
caller sent none, is the request's AMQP correlation id, which a redelivered request keeps. The
`commands` table of each service database holds one row per command, written once: the id, the
service and method, a digest of the arguments and the caller, the outcome (the answer or the
typed error) and the log positions of the events it appended. The answer is encrypted with a key
derived from the services' token secret: answers carry secrets (a sign-in's session id, a
personal access token) that the database must not hold in the clear.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import kombu.utils.json
import psycopg2.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nameko.exceptions import get_module_path, registry
from sqlalchemy import text

from shared import clock, freshness, settings
from shared.database import INSTANCE, schema_lock
from shared.errors import ConcurrencyConflict, IdempotencyKeyReused, InnobaseError

log = logging.getLogger(__name__)

COMMAND_ID = "command_id"  # the key in the RPC context data (the message header nameko.command_id)
MAX_COMMAND_ID = 200
# A command whose transaction met a conflict runs again, reading everything, at most so often in
# all: a command's own retry loop (the review services' `retrying`, accounts' `_change`) cannot
# go on in the aborted transaction, so the run is theirs, with their pause ("full jitter").
RUNS = 12
MAX_PAUSE = 0.5  # seconds
# Events of one command are the last rows of the log while its transaction holds the table lock:
# the positions are found among the last few, by the transaction that wrote them.
POSITIONS_WINDOW = 1000

DDL = """
CREATE TABLE IF NOT EXISTS commands (
    command_id text PRIMARY KEY,
    service text NOT NULL,
    method text NOT NULL,
    digest text NOT NULL,
    failed boolean NOT NULL,        -- the outcome is a typed error, not an answer
    outcome bytea NOT NULL,         -- nonce + AES-GCM of the outcome's JSON
    positions bigint[] NOT NULL,    -- the events the command appended, in log order
    recorded_at timestamptz NOT NULL,
    recorded_by text NOT NULL
)
"""


def digest(service: str, method: str, arguments: dict, caller) -> str:
    """What makes two calls the same call: service, method, every argument, the calling party.

    The caller's token is not part of it (a retry may carry a fresh token), its party, role and
    organization are."""
    canonical = json.dumps(
        {"service": service, "method": method, "arguments": arguments,
         "caller": [caller.party_id, caller.role, caller.organization]},
        sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What a command answered: a result, or the typed error it raised."""

    result: Any = None
    error: InnobaseError | None = None

    def give(self):
        if self.error is not None:
            raise self.error
        return self.result

    def to_json(self) -> bytes:
        if self.error is not None:
            body = {"error": get_module_path(type(self.error)), "message": self.error.message,
                    "details": self.error.details}
        else:
            body = {"result": self.result}
        # kombu's JSON, as the reply is encoded: a datetime comes back as a datetime
        return kombu.utils.json.dumps(body).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Outcome":
        body = kombu.utils.json.loads(data.decode())
        if "error" in body:
            error_class = registry.get(body["error"], InnobaseError)
            return cls(error=error_class(body["message"], body["details"]))
        return cls(result=body["result"])


class _Sealer:
    """AES-GCM under a key derived from the token secret; the command id is bound to each outcome."""

    def __init__(self, secret: str):
        self.aead = AESGCM(hashlib.sha256(b"innobase commands\x00" + secret.encode()).digest())

    def seal(self, command_id: str, plain: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.aead.encrypt(nonce, plain, command_id.encode())

    def open(self, command_id: str, sealed: bytes) -> bytes:
        return self.aead.decrypt(sealed[:12], sealed[12:], command_id.encode())


class Repeat(Exception):
    """The command id was recorded meanwhile (by a repeat that committed first)."""


class Ledger:
    """The `commands` table of one service application."""

    def __init__(self, app):
        self.app = app
        self.service = app.service
        self.events_table = app.recorder.events_table_name
        with schema_lock(app.database_url):
            with app.transaction() as session:
                session.execute(text(DDL))
        self._sealer = _Sealer(settings.get().token_secret)
        self._insert = text(
            "INSERT INTO commands (command_id, service, method, digest, failed, outcome, positions, recorded_at,"
            " recorded_by) VALUES (:command_id, :service, :method, :digest, :failed, :outcome,"
            f" ARRAY(SELECT id FROM {self.events_table}"
            f"  WHERE id > (SELECT coalesce(max(id), 0) - {POSITIONS_WINDOW} FROM {self.events_table})"
            "   AND xmin = (txid_current_if_assigned() % 4294967296)::text::xid ORDER BY id),"
            " :recorded_at, :recorded_by)"
            " ON CONFLICT (command_id) DO NOTHING")

    def run(self, command_id: str, method: str, call_digest: str, attempt: Callable[[], Any]):
        """Run `attempt` once for this command id: record its outcome with its events, or answer
        the outcome recorded before."""
        for run in range(RUNS):
            again = False
            try:
                with self.app.transaction() as session:
                    with freshness.command_attempt():
                        try:
                            outcome = self._attempt(attempt)
                        except ConcurrencyConflict:
                            # met having used a cached aggregate without reading it: what reading
                            # it first would have done, the next run does (shared.freshness)
                            again = freshness.may_run_again()
                            raise
                    recorded = session.execute(self._insert, {
                        "command_id": command_id, "service": self.service, "method": method,
                        "digest": call_digest, "failed": outcome.error is not None,
                        "outcome": self._sealer.seal(command_id, outcome.to_json()),
                        "recorded_at": clock.now(), "recorded_by": INSTANCE})
                    if recorded.rowcount == 0:
                        raise Repeat()  # rolls back what this run did
                return outcome.give()
            except Repeat:
                return self.answer(command_id, call_digest)
            except Exception as exc:
                first = self.recorded(command_id)
                if first is not None:  # a repeat that met the first run's changes
                    return self._answer(command_id, call_digest, first)
                aborted = _aborted(exc)
                if run == RUNS - 1 or not (again or aborted):
                    raise
                if aborted:  # lost a race on a shared aggregate: contenders spread out
                    time.sleep(random.uniform(0, min(MAX_PAUSE, 0.01 * 2 ** (run + 1))))
            attempt = _reading_everything(attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _attempt(attempt) -> Outcome:
        try:
            return Outcome(result=attempt())
        except ConcurrencyConflict:
            raise  # not an outcome: the transaction is rolled back, the caller may reload and try again
        except InnobaseError as exc:
            # A typed refusal is an outcome: a repeat gets it again, and whatever the command
            # recorded before refusing (a failed sign-in) commits.
            return Outcome(error=exc)

    def recorded(self, command_id: str) -> dict | None:
        rows = self.app.query("SELECT method, digest, outcome FROM commands WHERE command_id = :c", c=command_id)
        return rows[0] if rows else None

    def answer(self, command_id: str, call_digest: str):
        first = self.recorded(command_id)
        if first is None:  # cannot be: it was there when the insert found it
            raise AssertionError(f"command {command_id} vanished from the commands table")
        return self._answer(command_id, call_digest, first)

    def _answer(self, command_id: str, call_digest: str, first: dict):
        if first["digest"] != call_digest:
            raise IdempotencyKeyReused(
                "this command id was used for another call (other arguments, method or caller)",
                {"rule": "command_id_reused", "field": COMMAND_ID, "command_id": command_id})
        try:
            plain = self._sealer.open(command_id, bytes(first["outcome"]))
        except InvalidTag:
            raise RuntimeError(f"the recorded outcome of command {command_id} does not open with the present "
                               "token secret (rotated since?)") from None
        log.info("%s.%s: command %s answered from its record, not run again", self.service, first["method"],
                 command_id)
        return Outcome.from_json(plain).give()


def _aborted(exc: BaseException) -> bool:
    """Whether a statement was refused because the transaction had met an error before: the
    method caught a conflict and tried again inside the aborted transaction (its own retry
    loop). The whole command then runs again, in a new transaction."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg2.errors.InFailedSqlTransaction):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


def _reading_everything(attempt):
    def again():
        with freshness.reading_everything():
            return attempt()
    return again


_ledgers: dict[int, Ledger] = {}
_ledgers_lock = threading.Lock()


def ledger(app) -> Ledger:
    """The ledger of a service application (its table created on first use)."""
    found = _ledgers.get(id(app))
    if found is None or found.app is not app:
        with _ledgers_lock:
            found = _ledgers.get(id(app))
            if found is None or found.app is not app:
                found = _ledgers[id(app)] = Ledger(app)
    return found
