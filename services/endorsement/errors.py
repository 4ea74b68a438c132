"""The typed errors endorsement raises (defined in shared.errors, the contract portals import)."""
from shared.errors import InvalidInput, NotAuthorized  # noqa: F401
