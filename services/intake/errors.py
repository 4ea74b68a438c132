"""The typed errors intake raises (defined in shared.errors, the contract portals import)."""
from shared.errors import (  # noqa: F401
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotYourApplication,
    RuleViolation,
)
