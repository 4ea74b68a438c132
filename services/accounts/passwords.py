"""Password hashing with argon2id (PyPI `argon2-cffi`, its recommended parameters).

A hash takes some 80 ms of CPU and 64 MiB: it runs on a real thread (eventlet's `tpool`)
so the service's other green threads (RPCs, the outbox, heartbeats) go on meanwhile, and
no more of them at once than the machine has cores, so a burst of sign-ins queues instead
of taking every core and a worker's worth of memory each.
"""
from __future__ import annotations

import os
from functools import lru_cache

import eventlet.patcher
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from eventlet.semaphore import Semaphore

_hasher = PasswordHasher()
_hashing = Semaphore(os.cpu_count() or 1)


def _off_the_hub(function, *args):
    if eventlet.patcher.is_monkey_patched("thread"):
        from eventlet import tpool

        with _hashing:
            return tpool.execute(function, *args)
    return function(*args)


def hash_password(password: str) -> str:
    return _off_the_hub(_hasher.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _off_the_hub(_hasher.verify, password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password")


def verify_nothing(password: str) -> None:
    """As long as a real check: a sign-in for an unknown address takes the time a wrong password takes."""
    verify_password(_dummy_hash(), password)
