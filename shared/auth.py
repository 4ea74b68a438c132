"""Who calls: signed, expiring tokens carried in the nameko call context.

A token is a JWT (HS256) naming the party, its role and its organization.
Services read it from the worker context's `auth_token`; a missing, forged or
expired token raises `AuthenticationFailed` before any RPC body runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import jwt
from nameko.extensions import DependencyProvider

from shared import clock, settings
from shared.errors import AuthenticationFailed, NotAuthorized

ROLES = (
    "applicant",          # 申报单位
    "organizing_unit",    # 申报组织单位
    "recommending_unit",  # 推荐单位
    "officer",            # 国家标准委
    "expert",             # 专家
    "auditor",            # 审计
    "ops",                # 运维
    "gateway",            # the HTTP edge itself, before anyone signed in
)
CONTEXT_KEY = "auth_token"


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
    caller, expires = _verified(token, secret or settings.get().token_secret)
    if expires <= clock.now().timestamp():
        raise AuthenticationFailed("token expired", {"rule": "token_expired"})
    return caller


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[Caller, int]:
    """The caller a token names and when it expires, its signature checked. A portal sends the
    same token with every call: checking it once per process saves a tenth of a millisecond on
    each. Only good tokens are kept (a refused one raises, and lru_cache keeps no exception);
    expiry is checked on every call by `verify`."""
    try:
        # Expiry is checked against our clock, not the library's (whose clock would refuse
        # tokens minted while a test or demo clock runs ahead).
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "require": ["sub", "role", "org", "exp"]},
        )
    except jwt.InvalidTokenError as exc:
        raise AuthenticationFailed(f"token rejected: {exc}", {"rule": "token_invalid"}) from None
    if claims["role"] not in ROLES:
        raise AuthenticationFailed("token names an unknown role", {"rule": "token_invalid"})
    if not isinstance(claims["exp"], (int, float)):
        raise AuthenticationFailed("token expiry is not a number", {"rule": "token_invalid"})
    return Caller(party_id=str(claims["sub"]), role=claims["role"], organization=str(claims["org"])), claims["exp"]


class Authenticated(DependencyProvider):
    """Injects a function returning the verified `Caller` of the current call."""

    def get_dependency(self, worker_ctx):
        def caller() -> Caller:
            return verify(worker_ctx.context_data.get(CONTEXT_KEY))

        return caller
