"""The typed errors endorsement raises (defined in shared.errors, the contract portals import)."""
from shared.errors import (  # noqa: F401
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotYourApplication,
    RuleViolation,
)
from shared.errors.endorsement import (  # noqa: F401
    PlanVersionSuperseded,
    QuotaExceeded,
    QuotaScopeUnknown,
    ScanNotFound,
    UnitNotRegistered,
    UnitPairMismatch,
    WrongStage,
)
