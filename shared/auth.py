"""Who calls: signed, expiring tokens carried in the nameko call context.

A token is a JWT (HS256) naming the party, its role and its organization.
Services read it from the worker context's `auth_token`; a missing, forged or
expired token raises `AuthenticationFailed` before any RPC body runs, and so does
one that lives longer than INNOBASE_TOKEN_MAX_HOURS, says it was issued in the
future, or is not valid yet (`nbf`), beyond a minute of clock skew.

A link token (`link_token`) is the value in an e-mailed link (confirm an
address, accept an invitation, reset a password): signed with the same secret,
naming its purpose, its subject and a random nonce. The nonce alone is no
secret, so the event asking for the e-mail records it, and the service that
renders the e-mail mints the same token from it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import jwt
from nameko.extensions import DependencyProvider

from shared import clock, settings
from shared.contracts.core import ROLES  # the roles a token may name are part of the contract
from shared.errors import AuthenticationFailed, NotAuthorized

CONTEXT_KEY = "auth_token"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    party_id: str
    role: str
    organization: str

    def require_role(self, *roles: str) -> "Caller":
        if self.role not in roles:
            raise NotAuthorized(
                f"role {self.role!r} may not do this",
                {"rule": "role", "role": self.role, "allowed": list(roles)},
            )
        return self

    def as_actor(self) -> dict:
        return {"party_id": self.party_id, "role": self.role, "organization": self.organization}


def mint(party_id: str, role: str, organization: str, ttl_seconds: int = 3600, secret: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    issued = clock.now()
    claims = {
        "sub": party_id,
        "role": role,
        "org": organization,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret or settings.get().token_secret, algorithm="HS256")


def verify(token: str | None, secret: str | None = None) -> Caller:
    if not token:
        raise AuthenticationFailed("no token in the call context", {"rule": "token_missing"})
    if not isinstance(token, str):
        raise AuthenticationFailed("the token is not a string", {"rule": "token_invalid"})
    caller, issued, not_before, expires = _verified(token, secret or settings.get().token_secret)
    now = clock.now().timestamp()
    if expires <= now:
        raise AuthenticationFailed("token expired", {"rule": "token_expired"})
    if issued > now + CLOCK_SKEW_SECONDS:
        raise AuthenticationFailed("the token says it was issued in the future", {"rule": "token_issued_in_future"})
    if not_before is not None and not_before > now + CLOCK_SKEW_SECONDS:
        raise AuthenticationFailed("the token is not valid yet", {"rule": "token_not_yet_valid"})
    return caller


CLOCK_SKEW_SECONDS = 60  # how far ahead of ours the clock of the party that minted a token may run


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[Caller, float, float | None, float]:
    """The caller a token names, when it was issued, from when and until when it is valid, its
    signature and lifetime checked. A portal sends the same token with every call: checking it
    once per process saves a tenth of a millisecond on each. Only good tokens are kept (a refused
    one raises, and lru_cache keeps no exception); the checks against the clock run on every
    call, in `verify`."""
    try:
        # Times are checked against our clock, not the library's (whose clock would refuse
        # tokens minted while a test or demo clock runs ahead).
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "require": ["sub", "role", "org", "iat", "exp"]},
        )
    except jwt.InvalidTokenError as exc:
        raise AuthenticationFailed(f"token rejected: {exc}", {"rule": "token_invalid"}) from None
    if claims["role"] not in ROLES:
        raise AuthenticationFailed("token names an unknown role", {"rule": "token_invalid"})
    times = [claims["iat"], claims["exp"]] + ([claims["nbf"]] if "nbf" in claims else [])
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
        raise AuthenticationFailed("a time of the token is not a number", {"rule": "token_invalid"})
    max_seconds = settings.get().token_max_hours * 3600
    if claims["exp"] - claims["iat"] > max_seconds:
        raise AuthenticationFailed(f"the token lives longer than {settings.get().token_max_hours:g} hours",
                                   {"rule": "token_lifetime", "max_hours": settings.get().token_max_hours})
    caller = Caller(party_id=str(claims["sub"]), role=claims["role"], organization=str(claims["org"]))
    return caller, claims["iat"], claims.get("nbf"), claims["exp"]


def link_token(purpose: str, subject: str, nonce: str, expires_at: datetime, secret: str | None = None) -> str:
    """The token of an e-mailed link: the same for the same (purpose, subject, nonce, expiry)."""
    claims = {"purpose": purpose, "sub": subject, "nonce": nonce, "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, secret or settings.get().token_secret, algorithm="HS256")


def verify_link_token(token: str, purpose: str, secret: str | None = None) -> tuple[str, str]:
    """(subject, nonce) of a link token minted for `purpose` and not expired, else
    `AuthenticationFailed` naming the rule; whether its nonce is still the one pending (single
    use) is for the service that issued it to say."""
    try:
        claims = jwt.decode(
            token, secret or settings.get().token_secret, algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "require": ["purpose", "sub", "nonce", "exp"]},
        )
    except jwt.InvalidTokenError:
        raise AuthenticationFailed("the link is not valid", {"rule": "link_token_invalid", "field": "token"}) from None
    if claims["purpose"] != purpose:
        raise AuthenticationFailed("the link is meant for something else",
                               {"rule": "link_token_purpose", "field": "token"})
    if not isinstance(claims["exp"], (int, float)) or claims["exp"] <= clock.now().timestamp():
        raise AuthenticationFailed("the link has expired", {"rule": "link_token_expired", "field": "token"})
    return str(claims["sub"]), str(claims["nonce"])


def refuse_development_secret(service: str, config: settings.Settings | None = None) -> None:
    """At a service's start: the development secret, which anyone can read in our source, signs
    tokens that prove nothing. Refused unless INNOBASE_DEV=1 says this is a development machine,
    and then said loudly, once per process."""
    config = config or settings.get()
    if not config.uses_development_secret:
        return
    if not config.development:
        raise DevelopmentSecretRefused(
            f"{service} will not start with the development token secret: set INNOBASE_TOKEN_SECRET "
            "(or INNOBASE_DEV=1 on a development machine)")
    global _warned
    if not _warned:
        _warned = True
        log.warning("*" * 72 + "\n%s runs with the DEVELOPMENT token secret (INNOBASE_DEV=1): anyone can mint "
                    "tokens for it. Set INNOBASE_TOKEN_SECRET anywhere else.\n" + "*" * 72, service)


_warned = False


class DevelopmentSecretRefused(RuntimeError):
    """A service was started with the development token secret outside development."""


class Authenticated(DependencyProvider):
    """Injects a function returning the verified `Caller` of the current call."""

    def setup(self):
        refuse_development_secret(self.container.service_name)

    def get_dependency(self, worker_ctx):
        def caller() -> Caller:
            return verify(worker_ctx.context_data.get(CONTEXT_KEY))

        return caller
