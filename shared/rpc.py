"""The RPC boundary: who calls, what they sent, and what every service answers.

`command(Schema)` and `query(Schema)` wrap an RPC method so that it verifies the
caller's token, loads the keyword arguments through the schema (a typed
`InvalidInput` naming every bad field, before anything changes) and calls the
method with `(caller, data)`. A command runs once per command id: its outcome is
recorded with its events and a repeat is answered from the record
(`shared.commands`); a query only reads. `ServiceBase` gives each nameko service
its application, its outbox and the `health()` RPC.
"""
from __future__ import annotations

import gc
import re
import logging
import os

import eventlet
from marshmallow import Schema, ValidationError, fields
from nameko.extensions import DependencyProvider

from shared import audit, commands, freshness, preconditions
from shared.auth import Authenticated
from shared.commit_listener import CommitListener
from shared.errors import ConcurrencyConflict, InnobaseError, InvalidInput
from shared.eventstore import ServiceApplication, application
from shared.outbox import OutboxPublisher
from shared.rpc_requests import DeadLetteringRpc


class CommandRpc(DeadLetteringRpc):
    """The RPC entrypoint (an undecodable request is dead-lettered, `shared.rpc_requests`), giving
    every request a command id: the caller's (context data `command_id`) or else the request's
    correlation id, which a redelivered request keeps."""

    def unpack_message_headers(self, message):
        context_data = super().unpack_message_headers(message)
        correlation_id = message.properties.get("correlation_id")
        if correlation_id:
            context_data.setdefault(commands.COMMAND_ID, f"amqp:{correlation_id}")
        return context_data


remote = CommandRpc.decorator(expected_exceptions=InnobaseError)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value, path: tuple = ()) -> dict:
    """Fields holding text that PostgreSQL and UTF-8 cannot store: a NUL character or a lone
    surrogate (half of a UTF-16 pair). Refused by name before any schema or database sees them."""
    problems: dict = {}
    if isinstance(value, str):
        # ASCII text (base64 files, codes, most names) needs only the quick NUL scan
        found = ("\x00" in value and _UNSTORABLE.search(value)) if value.isascii() else _UNSTORABLE.search(value)
        if found:
            problems[".".join(map(str, path)) or "value"] = [
                "Must not contain a NUL character." if found.group() == "\x00"
                else "Must be valid Unicode (a lone surrogate was sent)."]
    elif isinstance(value, dict):
        for key, item in value.items():
            problems.update(unstorable_text(key, path + (f"{key!r} (key)",)) if isinstance(key, str) else {})
            problems.update(unstorable_text(item, path + (key,)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problems.update(unstorable_text(item, path + (index,)))
    return problems


def command(schema: type[Schema] | None = None):
    """Authenticate, validate, then run once per command id: `def method(self, caller, data)`.

    The outcome (the answer, or a typed error other than a conflict) is recorded with the
    command's events in one transaction; the same command id again answers it again, with other
    arguments it is `IdempotencyKeyReused` (`shared.commands`)."""
    return _entrypoint(schema, records=True)


def query(schema: type[Schema] | None = None):
    """Authenticate, validate, then read: `def method(self, caller, data)`; nothing is recorded."""
    return _entrypoint(schema, records=False)


def _entrypoint(schema: type[Schema] | None, records: bool):
    # One instance per RPC: building a schema costs more than loading a small payload, and a
    # loaded schema keeps no state between calls.
    loader = schema() if schema is not None else None

    def decorate(method):
        def entry(self, **arguments):
            caller = self.caller()
            unstorable = unstorable_text(arguments)
            if unstorable:
                raise InvalidInput.for_fields(unstorable)
            as_sent = dict(arguments) if records else None
            expected = None
            if loader is None or "expected_version" not in loader.fields:
                expected = preconditions.take(arguments)
            if loader is None:
                if arguments:
                    raise InvalidInput.for_fields({name: ["Unknown field."] for name in arguments})
                data = {}
            else:
                try:
                    data = loader.load(arguments)
                except ValidationError as exc:
                    raise InvalidInput.for_fields(exc.messages) from None
            with preconditions.expecting(expected):
                if records:
                    command_id = _command_id(self.command_id)
                    return commands.ledger(self.app).run(
                        command_id, method.__name__,
                        commands.digest(self.name, method.__name__, as_sent, caller),
                        lambda: method(self, caller, data))
                return _read(method, self, caller, data)

        entry.__name__ = method.__name__
        entry.__doc__ = method.__doc__
        entry.schema = schema
        entry.records = records
        return remote(entry)

    return decorate


def _read(method, service, caller, data):
    with freshness.command_attempt():
        try:
            return method(service, caller, data)
        except ConcurrencyConflict:
            if not freshness.may_run_again():
                raise
    # It met a conflict having used a cached aggregate without reading it (an `expected_version`
    # checked against it): what reading it first would have done, it does now (shared.freshness).
    with freshness.reading_everything():
        return method(service, caller, data)


def _command_id(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= commands.MAX_COMMAND_ID or not value.isprintable():
        raise InvalidInput.for_fields({commands.COMMAND_ID: [
            f"Must be 1–{commands.MAX_COMMAND_ID} printable characters (sent in the call's context data)."]})
    return value


class CommandId(DependencyProvider):
    """The request's command id (see `CommandRpc`)."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.context_data.get(commands.COMMAND_ID)


class ApplicationProvider(DependencyProvider):
    """Injects the process's single service application."""

    def __init__(self, app_cls: type[ServiceApplication]):
        self.app_cls = app_cls

    def setup(self):
        self.app = application(self.app_cls)
        commands.ledger(self.app)  # its table, before the first command

    def start(self):
        # What the process built to start (modules, schemas, the application) lives as long as it
        # does: kept out of the garbage collector's sight, its full collections stop walking it
        # (they cost some 60 ms each, the slowest save of a benchmark run).
        gc.collect()
        gc.freeze()

    def get_dependency(self, worker_ctx):
        return self.app


class AnchorKeeper(DependencyProvider):
    """Signs the service's hash chain since its last anchor and records it outside its database, at intervals."""

    def __init__(self, app_cls: type[ServiceApplication]):
        self.app_cls = app_cls
        self._thread = None

    def setup(self):
        self.interval = float(os.environ.get("INNOBASE_ANCHOR_SECONDS", "60"))

    def start(self):
        self._thread = self.container.spawn_managed_thread(self._run, identifier="anchors")

    def stop(self):
        if self._thread is not None:
            self._thread.kill()

    kill = stop

    def _run(self):
        app = application(self.app_cls)
        while True:
            eventlet.sleep(self.interval)
            try:
                audit.anchor(app.service, app.database_url)
            except Exception as exc:  # no key yet, the audit database away: try again next time
                logging.getLogger(__name__).error("anchor of %s not recorded: %s", app.service, exc)


class ApplicationRef(Schema):
    application_id = fields.UUID(required=True)


class StateAt(Schema):
    application_id = fields.UUID(required=True)
    at = fields.AwareDateTime(required=True)


def service_base(app_cls: type[ServiceApplication]):
    """A base class for a nameko service over `app_cls`: `health()` and the auditor's RPCs."""

    class Base:
        app = ApplicationProvider(app_cls)
        outbox = OutboxPublisher(app_cls)
        anchors = AnchorKeeper(app_cls)
        commits = CommitListener(app_cls)
        caller = Authenticated()
        command_id = CommandId()

        @query(ApplicationRef)
        def audit_history(self, caller, data):
            """Auditor: every event of this service about the application, in log order, with
            position, time, actor, type, payload and the upstream event that caused it."""
            caller.require_role("auditor")
            return self.app.history(data["application_id"])

        @query(StateAt)
        def audit_state_at(self, caller, data):
            """Auditor: the state of this service's part of the application as of `at`, rebuilt from the log."""
            caller.require_role("auditor")
            return self.app.state_at(data["application_id"], data["at"])

        @query()
        def audit_verify(self, caller, data):
            """Auditor: recompute this service's hash chain; names the first bad position, if any."""
            caller.require_role("auditor")
            return audit.verify(self.app.service, self.app.database_url,
                                self.app.recorder.events_table_name).as_dict()

        @remote
        def health(self):
            """Liveness for ops probes: open to every caller, it reveals no application data."""
            return {
                "service": self.name,
                "status": "ok",
                "log_position": self.app.log_position(),
                "published_position": self.outbox.cursor(),
            }

    return Base
