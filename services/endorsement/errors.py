"""Endorsement's errors."""
from shared.errors import NotAuthorized  # noqa: F401
