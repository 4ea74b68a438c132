"""The one listener per process that hears every commit on the service's channel and tells
both the cache's freshness and the application's `CommitNotices` (see `shared.notices`)."""
from __future__ import annotations

import os

from eventlet.hubs import trampoline
from eventlet.timeout import Timeout

from shared.background import BackgroundLoop
from shared.database import INSTANCE, connect
from shared.eventstore import application

LISTEN_TIMEOUT = 5.0  # seconds between looks at a quiet connection


class CommitListener(BackgroundLoop):
    """Hears every commit on the service's channel, for the cache's freshness and the waiters."""

    identifier = "commit-notices"

    def setup(self):
        self.app = application(self.app_cls)
        # Ops' switch: every command reads (the library's fast-forward); the waiters are still told.
        self.trusting = os.environ.get("INNOBASE_TRUST_CACHE", "1") != "0"

    def stop(self):
        self.app.freshness.lost()
        super().stop()

    kill = stop

    def run_once(self):
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
                for payload in notified:
                    freshness.heard(payload, INSTANCE)
                self.app.commit_notices.tell(notified)
        finally:  # the database away (BackgroundLoop starts over): read everything until heard again
            freshness.lost()
            pg.close()
