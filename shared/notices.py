"""Commit notices, heard once per process.

Every commit to a service's log notifies the log's channel with "<last position>
<writing instance>" (see `TrackedRecorder._prepare_append`). A process has two
uses for them: the cache's freshness (a commit by another process makes cached
aggregates read again, `shared.freshness`) and the publishers that wait for new
events (the outbox, the mail sender). One `CommitListener` per process
(`shared.commit_listener`) hears them on one connection and hands them to both:
every listening connection is woken, and every listening backend signalled, by
every commit.

A waiter subscribes a callable to the application's `CommitNotices`; it is told
each batch of notices heard, and `None` when the listener (re)connected, for
commits may have gone unheard before. A waiter does not depend on being told:
it also looks at the log at intervals of its own.
"""
from __future__ import annotations

import logging
from typing import Callable

from eventlet import queue as green_queue

log = logging.getLogger(__name__)

Waiter = Callable[[list[str] | None], None]


class CommitNotices:
    """The notices a process hears, told to whoever waits on them."""

    def __init__(self):
        self._waiters: list[Waiter] = []

    def subscribe(self, waiter: Waiter) -> None:
        self._waiters.append(waiter)

    def unsubscribe(self, waiter: Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def tell(self, notified: list[str] | None) -> None:
        for waiter in list(self._waiters):
            try:
                waiter(notified)
            except Exception:  # one waiter's failure is not the listener's, nor another waiter's
                log.exception("a commit notice waiter failed")


def wake_on_notices(notices: CommitNotices, worth_waking: Callable[[list[str]], bool] | None = None):
    """A queue that gets an item when notices are heard that `worth_waking` says matter (all do
    without it) or the listener reconnected; and the waiter to unsubscribe when done."""
    news = green_queue.LightQueue()

    def waiter(notified):
        if notified is None or worth_waking is None or worth_waking(notified):
            news.put(True)

    notices.subscribe(waiter)
    return news, waiter


def wait_for_news(news, timeout: float) -> bool:
    """Until an item arrives (True) or `timeout` seconds pass (False); takes every item there is,
    since one look at the log covers all that was announced before it."""
    try:
        news.get(timeout=timeout)
    except green_queue.Empty:
        return False
    while news.qsize():
        news.get_nowait()
    return True
