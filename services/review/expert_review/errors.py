"""The typed errors expert review and approval raise (defined in services.review.errors, shared by formal and expert review)."""
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
from services.review.errors import (  # noqa: F401
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
