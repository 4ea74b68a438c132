"""The typed errors accounts raises.

Each registers itself with nameko (see shared.errors): a caller that imports this module
gets them back as their classes, with their code and details."""
from shared.errors import (  # noqa: F401  (the shared errors, re-exported for the service)
    AuthenticationFailed,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotFound,
    RuleViolation,
)


class WeakPassword(RuleViolation):
    """The password breaks the policy: at least 10 characters, not all digits, not the e-mail
    address; `details['rule']` names the rule broken."""

    code = "weak_password"


class InvalidCreditCode(RuleViolation):
    """The unified social credit code (统一社会信用代码) fails GB 32100; `details['problems']` lists
    each failed check."""

    code = "invalid_credit_code"


class EmailTaken(RuleViolation):
    """An account (or an invitation) with this e-mail address exists already."""

    code = "email_taken"


class PartyTaken(RuleViolation):
    """Another account acts as this party (an expert id is given to one account only)."""

    code = "party_taken"


class AccountLocked(AuthenticationFailed):
    """Too many failed sign-ins in a short time: the account is locked until `details['until']`."""

    code = "account_locked"


class AccountNotConfirmed(AuthenticationFailed):
    """The account's e-mail address is not confirmed yet: follow the link of the confirmation e-mail."""

    code = "account_not_confirmed"


class AccountDeactivated(AuthenticationFailed):
    """An SAC administrator deactivated the account; its sessions and tokens no longer work."""

    code = "account_deactivated"


class LinkInvalid(AuthenticationFailed):
    """The link of an e-mail is forged, meant for something else, expired or used already;
    `details['rule']` says which (`link_token_invalid`, `link_token_purpose`, `link_token_expired`,
    `link_token_used`)."""

    code = "link_invalid"


class AccountNotFound(NotFound):
    """No account has this id."""

    code = "account_not_found"


class TokenNotFound(NotFound):
    """The account has no personal access token with this id."""

    code = "token_not_found"
