"""The typed errors expert review and approval raise (defined in shared.errors, the contract portals import)."""
from shared.errors import (  # noqa: F401
    ApplicationNotFound,
    ConcurrencyConflict,
    InnobaseError,
    InvalidInput,
    NotAuthorized,
    NotFound,
    NotYourApplication,
    RuleViolation,
)
from shared.errors.review import (  # noqa: F401
    ConflictOfInterest,
    DeadlineClosed,
    DeadlineInPast,
    DomainBaseExists,
    DomainBaseLimitReached,
    ExpertAlreadyRegistered,
    ExpertNotFound,
    NotAssigned,
    NotTheChair,
    OpinionAlreadySubmitted,
    OpinionsOutstanding,
    PanelNotFound,
    PanelSize,
    RegionalBaseExists,
    RequestNotFound,
    WrongStage,
)
