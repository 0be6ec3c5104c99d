"""Send review decisions to Kobo right after they are taken, in a background thread.

The request never waits for Kobo: the decision is already committed with its outbox item, so an
outage only delays delivery (every harvest run flushes the outbox again). One sender per app; a
decision taken while it runs makes it go round once more instead of starting a second thread.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)


class Sender:
    def __init__(self, app: Flask) -> None:
        self.database_url: str = app.config["DATABASE_URL"]
        self.settings = app.config["BABALE_SETTINGS"]
        self._running = threading.Lock()
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    def kick(self) -> None:
        self._wanted.set()
        if self._running.acquire(blocking=False):
            self._idle.clear()
            threading.Thread(target=self._loop, name="babale-writeback", daemon=True).start()

    def _loop(self) -> None:
        try:
            while self._wanted.is_set():
                self._wanted.clear()
                self._flush_once()
        finally:
            self._idle.set()
            self._running.release()
        if self._wanted.is_set():  # a kick arrived while we were letting go
            self.kick()

    def _flush_once(self) -> None:
        from formserver.kobo import KoboClient, KoboError
        from harvester.writeback import flush

        url, token = self.settings.require_kobo()
        try:
            with KoboClient(url, token, retries=2, backoff=0.5) as client:
                counts = flush(self.database_url, client, self.settings, wait_for_lease=30)
            # flush() records Kobo's refusals on the items; the log should say so too.
            if counts.get("failed") or counts.get("refused"):
                log.warning("write-back: Kobo did not take every decision yet: %s", counts)
            else:
                log.info("write-back: %s", counts)
        except KoboError as exc:
            log.warning("write-back postponed: %s", exc)
        except Exception:
            log.exception("write-back failed; the outbox keeps the decisions")

    def wait_idle(self, timeout: float) -> bool:
        """For tests and shutdown: wait until no send is running."""
        return self._idle.wait(timeout)


def sender(app: Flask) -> Sender:
    if "babale_writeback" not in app.extensions:
        app.extensions["babale_writeback"] = Sender(app)
    return app.extensions["babale_writeback"]  # type: ignore[no-any-return]


def send_decisions_soon(app: Flask) -> None:
    if app.config.get("WRITEBACK_ENABLED"):
        sender(app).kick()
