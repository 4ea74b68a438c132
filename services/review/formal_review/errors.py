"""The typed errors formal review raises (defined in shared.errors, the contract portals import)."""
from shared.errors import (  # noqa: F401
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotYourApplication,
    RuleViolation,
)
from shared.errors.review import (  # noqa: F401
    AlreadyAccepted,
    AlreadyInformed,
    ChecklistIncomplete,
    DeadlineClosed,
    DeadlineInPast,
    RequestNotFound,
    UnknownChecklistItem,
    WrongStage,
)
