"""The typed errors endorsement raises.

Each registers itself with nameko (see shared.errors): a caller that imports this module
gets them back as their classes, with their code and details."""
from shared.errors import (  # noqa: F401  (the shared errors, re-exported for the service)
    ApplicationNotFound,
    ConcurrencyConflict,
    InnobaseError,
    InvalidInput,
    NotAuthorized,
    NotFound,
    NotYourApplication,
    RuleViolation,
    also_known_as,
)


class QuotaExceeded(RuleViolation):
    """The recommending unit already recommended an application for this slot (guide §四):
    one regional application per region, one domain application per same or similar
    domain, per year. `details['held_by']` names the application holding the slot."""

    code = "quota_exceeded"


class QuotaScopeUnknown(RuleViolation):
    """The quota cannot be checked: a regional application without a region, or a domain
    application whose domain is not in the catalogue."""

    code = "quota_scope_unknown"


class UnitNotRegistered(RuleViolation):
    """The application names an organizing or recommending unit SAC has not registered."""

    code = "unit_not_registered"


class UnitPairMismatch(RuleViolation):
    """The organizing and recommending units may not endorse this base type together
    (guide §二(一)); `details` names the kinds found and the kinds allowed."""

    code = "unit_pair_mismatch"


class WrongStage(RuleViolation):
    """The application is not at the stage this decision belongs to (e.g. recommending
    what the organizing unit has not forwarded, or deciding twice)."""

    code = "wrong_stage"


class PlanVersionSuperseded(RuleViolation):
    """The decision names a plan version that is no longer the one awaiting it."""

    code = "plan_version_superseded"


class ScanNotFound(NotFound):
    """No scan with that SHA-256 is on the application's endorsement (the stamped plan the
    organizing unit uploaded, the stamped plan and the recommendation letter of the
    recommending unit)."""

    code = "scan_not_found"


# Defined in shared.errors.endorsement before they moved here.
also_known_as("shared.errors.endorsement", globals())
