"""The typed errors intake raises.

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


class InvalidCreditCode(RuleViolation):
    """A unified social credit code (统一社会信用代码) failing GB 32100; `details['problems']`
    lists each failed check (`rule`, `message`)."""

    code = "invalid_credit_code"


class AlreadyRegistered(RuleViolation):
    """The applicant unit, organizing or recommending unit, or override is registered already."""

    code = "already_registered"


class ApplicantNotRegistered(RuleViolation):
    """The caller's applicant unit has not registered (`register_applicant`) yet."""

    code = "applicant_not_registered"


class UnitNotFound(NotFound):
    """No organizing or recommending unit with that id and role in the register."""

    code = "unit_not_found"


class UnitPairNotAllowed(RuleViolation):
    """The guide (§二(一)) does not let this kind of unit organize or recommend this base type."""

    code = "unit_pair_not_allowed"


class SectionClosed(RuleViolation):
    """The section is not open: after submission only the sections a later stage reopened are."""

    code = "section_closed"


class SubmissionWindowClosed(RuleViolation):
    """Submissions are accepted from 5 May to 30 July, Beijing time, unless an officer granted an exception."""

    code = "submission_window_closed"


class PlanIncomplete(RuleViolation):
    """The plan misses or has invalid items; `details['problems']` lists them by section."""

    code = "plan_incomplete"


class VersionNotFound(NotFound):
    """No submitted plan version with that number."""

    code = "version_not_found"


class AttachmentNotFound(NotFound):
    """No file with that SHA-256 was uploaded to this application."""

    code = "attachment_not_found"


class ApplicationClosed(RuleViolation):
    """The application was withdrawn, approved or ended by a decision: nothing more can change."""

    code = "application_closed"


# Defined in shared.errors.intake before they moved here.
also_known_as("shared.errors.intake", globals())
