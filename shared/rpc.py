"""The RPC boundary: who calls, what they sent, and what every service answers.

`command(Schema)` wraps an RPC method so that it verifies the caller's token,
loads the keyword arguments through the schema (a typed `InvalidInput` naming
every bad field, before anything changes) and calls the method with
`(caller, data)`. `ServiceBase` gives each nameko service its application,
its outbox and the `health()` RPC.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from shared.auth import Authenticated
from shared.errors import InnobaseError, InvalidInput
from shared.eventstore import ServiceApplication, application
from shared.outbox import OutboxPublisher

remote = rpc(expected_exceptions=InnobaseError)


def command(schema: type[Schema] | None = None):
    """Authenticate, validate, then run: `def method(self, caller, data)`."""

    def decorate(method):
        def entry(self, **arguments):
            caller = self.caller()
            if schema is None:
                if arguments:
                    raise InvalidInput.for_fields({name: ["Unknown field."] for name in arguments})
                data = {}
            else:
                try:
                    data = schema().load(arguments)
                except ValidationError as exc:
                    raise InvalidInput.for_fields(exc.messages) from None
            return method(self, caller, data)

        entry.__name__ = method.__name__
        entry.__doc__ = method.__doc__
        entry.schema = schema
        return remote(entry)

    return decorate


class ApplicationProvider(DependencyProvider):
    """Injects the process's single service application."""

    def __init__(self, app_cls: type[ServiceApplication]):
        self.app_cls = app_cls

    def setup(self):
        self.app = application(self.app_cls)

    def get_dependency(self, worker_ctx):
        return self.app


def service_base(app_cls: type[ServiceApplication]):
    """A base class for a nameko service over `app_cls`, with `health()`."""

    class Base:
        app = ApplicationProvider(app_cls)
        outbox = OutboxPublisher(app_cls)
        caller = Authenticated()

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
