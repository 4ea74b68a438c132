"""The typed errors intake raises (defined in shared.errors, the contract portals import)."""
from shared.errors import (  # noqa: F401
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotFound,
    NotYourApplication,
    RuleViolation,
)
from shared.errors.intake import (  # noqa: F401
    AlreadyRegistered,
    ApplicantNotRegistered,
    ApplicationClosed,
    AttachmentNotFound,
    InvalidCreditCode,
    PlanIncomplete,
    SectionClosed,
    SubmissionWindowClosed,
    UnitNotFound,
    UnitPairNotAllowed,
    VersionNotFound,
)
