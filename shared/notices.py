"""Commit notices, heard once per process.

Every commit to a service's log notifies the log's channel with "<last position>
<writing instance>" (see `TrackedRecorder._prepare_append`). A process has two
uses for them: the cache's freshness (a commit by another process makes cached
aggregates read again, `shared.freshness`) and the publishers that wait for new
events (the outbox, the mail sender). One `CommitListener` per process hears
them on one connection and hands them to both: every listening connection is
woken, and every listening backend signalled, by every commit.

A waiter subscribes a callable to the application's `CommitNotices`; it is told
each batch of notices heard, and `None` when the listener (re)connected, for
commits may have gone unheard before. A waiter does not depend on being told:
it also looks at the log at intervals of its own.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

from eventlet import queue as green_queue
from eventlet.hubs import trampoline
from eventlet.timeout import Timeout

from shared.background import BackgroundLoop

log = logging.getLogger(__name__)

LISTEN_TIMEOUT = 5.0  # seconds between looks at a quiet connection

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


class CommitListener(BackgroundLoop):
    """Hears every commit on the service's channel, for the cache's freshness and the waiters."""

    identifier = "commit-notices"

    def setup(self):
        from shared import settings
        from shared.eventstore import application

        self.app = application(self.app_cls)
        # Ops' switch: every command reads (the library's fast-forward); the waiters are still told.
        self.trusting = os.environ.get("INNOBASE_TRUST_CACHE", "1") != "0"
        # Fault tests: the cache hears nothing, as if every notice came late (the conflicts then met are run again).
        self.deaf = "deaf_freshness" in settings.get().faults

    def stop(self):
        self.app.freshness.lost()
        super().stop()

    kill = stop

    def run_once(self):
        from shared.eventstore import INSTANCE, connect

        freshness = self.app.freshness
        pg = connect(self.app.database_url)
        try:
            pg.autocommit = True
            with pg.cursor() as cursor:
                cursor.execute(f"LISTEN {self.app.recorder.channel_name}")
            freshness.foreign += 1  # what was cached before may have changed unheard
            freshness.listening = self.trusting
            self.app.commit_notices.tell(None)  # and the waiters may have missed commits
            while not self.stopping:
                try:
                    trampoline(pg, read=True, timeout=LISTEN_TIMEOUT)
                except Timeout:
                    pass
                pg.poll()  # raises once the database closed the connection
                notified = [notice.payload for notice in pg.notifies]
                pg.notifies.clear()
                if not notified:
                    continue
                if not self.deaf:
                    for payload in notified:
                        freshness.heard(payload, INSTANCE)
                self.app.commit_notices.tell(notified)
        finally:  # the database away (BackgroundLoop starts over): read everything until heard again
            freshness.lost()
            pg.close()
