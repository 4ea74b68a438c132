"""Accounts' own settings, read once from the environment, with the defaults documented in
docs/accounts.md."""
from __future__ import annotations

import os
from datetime import timedelta

from services.accounts.domain import Limits


def load(environ: dict | None = None) -> Limits:
    env = os.environ if environ is None else environ
    return Limits(
        session_lifetime=timedelta(hours=float(env.get("INNOBASE_SESSION_HOURS", "8"))),
        session_idle=timedelta(minutes=float(env.get("INNOBASE_SESSION_IDLE_MINUTES", "30"))),
        max_failures=int(env.get("INNOBASE_LOGIN_MAX_FAILURES", "5")),
        failure_window=timedelta(minutes=float(env.get("INNOBASE_LOGIN_WINDOW_MINUTES", "15"))),
        lockout=timedelta(minutes=float(env.get("INNOBASE_LOCKOUT_MINUTES", "15"))),
    )


_limits: Limits | None = None


def get() -> Limits:
    """The process's limits, read on first use."""
    global _limits
    if _limits is None:
        _limits = load()
    return _limits
