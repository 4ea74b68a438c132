"""The typed errors accounts raises (defined in shared.errors, the contract portals import)."""
from shared.errors import (  # noqa: F401
    AuthenticationFailed,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    RuleViolation,
)
from shared.errors.accounts import (  # noqa: F401
    AccountDeactivated,
    AccountLocked,
    AccountNotFound,
    EmailNotConfirmed,
    EmailTaken,
    LinkTokenInvalid,
    NotAdministrator,
    PartyTaken,
    TokenNotFound,
    WeakPassword,
)
from shared.errors.intake import InvalidCreditCode  # noqa: F401
