"""Typed errors of review (registered with nameko through shared.errors)."""
from shared.errors import InnobaseError, InvalidInput, NotAuthorized, NotFound, RuleViolation  # noqa: F401
