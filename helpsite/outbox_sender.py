"""The outbox's sender in the background of each app process (helpsite/mail.py does the sending).

No SMTP inside a request: a commit that queued mail wakes this thread, which sends after the
commit, so it sees the rows; it also wakes every MAIL_SEND_INTERVAL seconds for retries.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from .mail import NOTIFY_CHANNEL, send_pending

log = logging.getLogger(__name__)


class OutboxSender:
    """A thread per app process that sends the outbox after each commit that queued mail.

    It also wakes every MAIL_SEND_INTERVAL seconds for retries. It is started lazily in the
    process that serves (after gunicorn forks), by the first request or commit.
    """

    def __init__(self, app=None):
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.app = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app) -> None:
        self.app = app
        app.extensions["outbox_sender"] = self
        if app.config.get("MAIL_BACKGROUND_SENDER"):
            app.before_request(self.ensure_running)

    def ensure_running(self) -> None:
        if not self.app.config.get("MAIL_BACKGROUND_SENDER"):
            return
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
                self._thread.start()

    def wake(self) -> None:
        self.ensure_running()
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        interval = float(self.app.config.get("MAIL_SEND_INTERVAL", 10))
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                with self.app.app_context():
                    send_pending()
            except Exception:  # noqa: BLE001 - the thread must outlive a database hiccup; the mail waits
                log.exception("the outbox sender failed; it tries again in %s s", interval)


class OutboxWakeups:
    """When the outbox service (`flask mail run`) starts its next round.

    On PostgreSQL it LISTENs: a commit that queued mail NOTIFYs (helpsite/mail.py), so a
    confirmation goes out a moment after the ticket is stored, from a process that serves no
    requests; otherwise, and as a fallback, every interval seconds.
    """

    def __init__(self, engine, interval: float, stopped: threading.Event):
        self.engine, self.interval, self.stopped = engine, interval, stopped
        self._connection = None

    def listen(self) -> None:
        """Start listening (before the first round, so nothing queued meanwhile is missed)."""
        if self.engine.dialect.name != "postgresql" or self._connection is not None:
            return
        import psycopg

        try:
            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._connection = psycopg.connect(url, autocommit=True, connect_timeout=5)
            self._connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except psycopg.Error as exc:  # the database is away: poll until it is back
            log.warning("cannot LISTEN for queued mail (%s); sending every %g s", exc, self.interval)
            self.close()

    @property
    def listening(self) -> bool:
        return self._connection is not None

    def wait(self) -> bool:
        """Wait for queued mail, the interval or a stop; return True when woken by queued mail."""
        self.listen()
        if self._connection is None:
            self.stopped.wait(self.interval)
            return False
        import psycopg

        waited = 0.0
        try:
            while waited < self.interval and not self.stopped.is_set():
                slice_ = min(1.0, self.interval - waited)  # a stop is heard within a second
                for _notify in self._connection.notifies(timeout=slice_, stop_after=1):
                    return True
                waited += slice_
        except psycopg.Error as exc:  # the connection broke: listen again next round
            log.warning("lost the LISTEN connection (%s); listening again", exc)
            self.close()
        return False

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._connection = None


@event.listens_for(Session, "after_commit")
def _wake_sender(session) -> None:
    """Wake the app's sender once mail is committed (not before: it must see the rows)."""
    if session.info.pop("outbox_queued", False) and has_app_context():
        sender = current_app.extensions.get("outbox_sender")
        if sender is not None and current_app.config.get("MAIL_BACKGROUND_SENDER"):
            sender.wake()


@event.listens_for(Session, "after_rollback")
def _forget_queued(session) -> None:
    session.info.pop("outbox_queued", None)
