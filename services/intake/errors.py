"""Intake's errors: the shared typed errors, named here for what goes wrong in intake."""
from shared.errors import NotAuthorized, NotFound, RuleViolation  # noqa: F401


class ApplicationNotFound(NotFound):
    code = "application_not_found"


class NotYourApplication(NotAuthorized):
    code = "not_your_application"
