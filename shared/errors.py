"""Typed errors that cross the RPC boundary intact.

Every error registers itself with nameko, so a caller's `ClusterRpcProxy`
raises the same class (not a bare `RemoteError`) with its `code`, message and
details: the field or rule that failed.
"""
from __future__ import annotations

import json

from nameko.exceptions import get_module_path, registry


class InnobaseError(Exception):
    """Base of every error the services raise on purpose."""

    code = "error"

    def __init__(self, message: str, details: dict | str | None = None):
        if isinstance(details, str):  # as it crossed the wire, see below
            details = json.loads(details)
        details = details or {}
        # nameko turns every non-string argument into a string on the way to the
        # caller; details travel as JSON so numbers and lists arrive as themselves.
        super().__init__(message, json.dumps(details, ensure_ascii=False, default=str))
        self.message = message
        self.details = json.loads(json.dumps(details, default=str))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry[get_module_path(cls)] = cls

    def __str__(self) -> str:
        if self.details:
            return f"{self.message} {self.details}"
        return self.message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


registry[get_module_path(InnobaseError)] = InnobaseError


class InvalidInput(InnobaseError):
    """Input that fails its schema; `details['fields']` names each bad field."""

    code = "invalid_input"

    @classmethod
    def for_fields(cls, fields: dict) -> "InvalidInput":
        names = ", ".join(sorted(_flatten(fields)))
        return cls(f"invalid input: {names}", {"fields": fields})

    @property
    def fields(self) -> dict:
        return self.details.get("fields", {})


class AuthenticationFailed(InnobaseError):
    """No token, a forged token or an expired one."""

    code = "authentication_failed"


class NotAuthorized(InnobaseError):
    """The caller is known but may not do or see this."""

    code = "not_authorized"


class NotFound(InnobaseError):
    code = "not_found"


class ConcurrencyConflict(InnobaseError):
    """Someone else changed the same thing first; reload and try again."""

    code = "concurrency_conflict"


class IdempotencyKeyReused(InnobaseError):
    """A command id (or the HTTP edge's Idempotency-Key) sent again with other arguments, another
    method or by another caller: the first call's outcome stands and this one is refused."""

    code = "idempotency_key_reused"


class RuleViolation(InnobaseError):
    """A rule of the guide or of the process refuses the command; `details['rule']` names it."""

    code = "rule_violation"

    @classmethod
    def of(cls, rule: str, message: str, **details) -> "RuleViolation":
        return cls(message, {"rule": rule, **details})

    @property
    def rule(self) -> str:
        return self.details.get("rule", "")


def _flatten(fields: dict, prefix: str = "") -> list[str]:
    names = []
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            names.extend(_flatten(value, name + "."))
        else:
            names.append(name)
    return names


# The errors below are raised by more than one service; each service's own errors
# live in its `errors.py` (e.g. services/intake/errors.py).

class ApplicationNotFound(NotFound):
    code = "application_not_found"


class NotYourApplication(NotAuthorized):
    """The caller's party or organization is not the one the application names."""

    code = "not_your_application"


def also_known_as(old_module: str, namespace: dict) -> None:
    """Register the errors defined in `namespace` also under `old_module`, where they were
    defined before they moved to their service, so that a caller still decodes them as
    their classes when a service not yet upgraded sends them under the old path."""
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, InnobaseError) and value.__module__ == namespace["__name__"]:
            registry[f"{old_module}.{value.__name__}"] = value
