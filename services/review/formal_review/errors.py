"""The typed errors formal review raises (defined in services.review.errors, shared by formal and expert review)."""
from shared.errors import (  # noqa: F401
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotYourApplication,
    RuleViolation,
)
from services.review.errors import (  # noqa: F401
    AlreadyAccepted,
    AlreadyInformed,
    ChecklistIncomplete,
    DeadlineClosed,
    DeadlineInPast,
    RequestNotFound,
    UnknownChecklistItem,
    WrongStage,
)
