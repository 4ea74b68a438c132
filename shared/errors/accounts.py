"""Typed errors of accounts (registered with nameko through shared.errors)."""
from shared.errors import AuthenticationFailed, NotAuthorized, NotFound, RuleViolation


class WeakPassword(RuleViolation):
    """The password breaks the policy: at least 10 characters, not all digits, not the e-mail
    address; `details['rule']` names the rule broken."""

    code = "weak_password"


class EmailTaken(RuleViolation):
    """An account (or an invitation) with this e-mail address exists already."""

    code = "email_taken"


class PartyTaken(RuleViolation):
    """Another account acts as this party (an expert id is given to one account only)."""

    code = "party_taken"


class AccountLocked(AuthenticationFailed):
    """Too many failed sign-ins in a short time: the account is locked until `details['until']`."""

    code = "account_locked"


class EmailNotConfirmed(AuthenticationFailed):
    """The account's e-mail address is not confirmed yet: follow the link in the confirmation e-mail."""

    code = "email_not_confirmed"


class AccountDeactivated(AuthenticationFailed):
    """An SAC administrator deactivated the account; its sessions and tokens no longer work."""

    code = "account_deactivated"


class LinkTokenInvalid(AuthenticationFailed):
    """The link of an e-mail is forged, meant for something else, expired or used already;
    `details['rule']` says which."""

    code = "link_token_invalid"


class NotAdministrator(NotAuthorized):
    """Only an SAC administrator (an officer account with the admin flag) may do this."""

    code = "not_administrator"


class AccountNotFound(NotFound):
    """No account has this id (or the caller's token names no account)."""

    code = "account_not_found"


class TokenNotFound(NotFound):
    """The account has no personal access token with this id."""

    code = "token_not_found"
