"""The typed errors of formal review, expert review and approval, and of their deadlines.

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


# --- every stage -----------------------------------------------------------------

class WrongStage(RuleViolation):
    """The case is not at a stage where this may be done; `details` name the stage and the allowed ones."""

    code = "wrong_stage"


class DeadlineInPast(RuleViolation):
    """A deadline must lie after the present moment."""

    code = "deadline_in_past"


class DeadlineClosed(RuleViolation):
    """The deadline was already met or cancelled; it can no longer be extended."""

    code = "deadline_closed"


class RequestNotFound(NotFound):
    """No supplement or revision request with this id on this application."""

    code = "request_not_found"


# --- formal review (形式审查) ------------------------------------------------------

class AlreadyAccepted(RuleViolation):
    """The case was accepted before; `details['number']` is the number it has."""

    code = "already_accepted"


class ChecklistIncomplete(RuleViolation):
    """The completeness checklist has missing or deficient items; `details['items']` lists them."""

    code = "checklist_incomplete"


class UnknownChecklistItem(RuleViolation):
    """The item is not on the checklist of the application's base type."""

    code = "unknown_checklist_item"


class AlreadyInformed(RuleViolation):
    """The applicant's being informed of this decision is already recorded."""

    code = "already_informed"


# --- expert review (专家论证) --------------------------------------------------------

class ExpertNotFound(NotFound):
    code = "expert_not_found"


class ExpertAlreadyRegistered(RuleViolation):
    code = "expert_already_registered"


class PanelNotFound(NotFound):
    code = "panel_not_found"


class PanelSize(RuleViolation):
    """A panel judges each application with at least 5 experts, an odd number;
    `details` give the count left after exclusions and who was excluded, and why."""

    code = "panel_size"


class ConflictOfInterest(RuleViolation):
    """The expert may not judge this application; `details['reasons']` say why."""

    code = "conflict_of_interest"


class NotAssigned(NotAuthorized):
    """Experts see and act only on the applications they are assigned to."""

    code = "not_assigned"


class NotTheChair(NotAuthorized):
    """Only the panel's chair for this application may do this."""

    code = "not_the_chair"


class OpinionAlreadySubmitted(RuleViolation):
    """A submitted opinion is never changed."""

    code = "opinion_already_submitted"


class OpinionsOutstanding(RuleViolation):
    """The panel concludes only when every assigned expert has submitted an opinion."""

    code = "opinions_outstanding"


# --- approval (批准筹建) ------------------------------------------------------------

class BaseLimitExceeded(RuleViolation):
    """Guide §一: a limit on the number of bases; `details['existing']` names the base(s) already approved."""

    code = "base_limit"


class RegionalBaseExists(BaseLimitExceeded):
    """At most one regional base per region."""

    code = "regional_base_exists"


class DomainBaseExists(BaseLimitExceeded):
    """One domain base per domain; a second only with a recorded reason (several industrial clusters)."""

    code = "domain_base_exists"


class DomainBaseLimitReached(BaseLimitExceeded):
    """Never more than two domain bases per domain."""

    code = "domain_base_limit_reached"


# Defined in shared.errors.review before they moved here.
also_known_as("shared.errors.review", globals())
