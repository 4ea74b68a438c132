"""A nameko extension that runs one job in the background of every instance,
starting over with backoff when the broker, the database or a mail server is away.

The outbox publisher, the mail sender and the commit-notice listener run this way; each supplies the
pass (`run_once`) and how long to wait at most between failed passes.
"""
from __future__ import annotations

import logging

import eventlet
from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)


class BackgroundLoop(DependencyProvider):
    identifier = "background"
    max_backoff = 10.0

    def __init__(self, app_cls):
        self.app_cls = app_cls
        self._stopping = False
        self._thread = None

    def start(self):
        self._thread = self.container.spawn_managed_thread(self._run, identifier=self.identifier)

    def stop(self):
        self._stopping = True
        if self._thread is not None:
            self._thread.kill()

    kill = stop

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run_once(self) -> None:
        """One pass; returns when it gives up leadership or fails."""
        raise NotImplementedError

    def _run(self):
        backoff = 0.5
        while not self._stopping:
            try:
                self.run_once()
                backoff = 0.5
            except Exception as exc:  # what it needs is away: wait, then start over
                log.warning("%s paused: %s: %s", self.identifier, type(exc).__name__, exc)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
