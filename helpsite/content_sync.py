"""Keep the article store and the search index in step with the content folder while the site runs.

A background thread in each worker learns of changed files from the operating system
(watchdog: inotify on Linux; it falls back to polling file times, in the same thread, where
inotify is unavailable), lets a burst of saves settle for a moment, re-reads just the changed
files and re-indexes just those articles. No request ever looks at the content folder:
before, one request per worker every few seconds listed and stat-ed every file, and a change
made that request re-read every article.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from pathlib import Path

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

RETRY_SECONDS = 60  # after a failed index update; the articles themselves are already current
SETTLE_SECONDS = 0.05  # an editor's save is often several events (write, close, rename)
RESCAN = Path("\0rescan")  # a folder appeared, vanished or moved: read everything again


class _Events(FileSystemEventHandler):
    """Hand the paths of relevant file events to the watcher."""

    def __init__(self, watcher: "ContentWatcher"):
        self.watcher = weakref.proxy(watcher)

    def on_any_event(self, event):
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type in ("created", "deleted", "moved"):
                self.watcher.notice(RESCAN)
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.watcher.notice(Path(os.fsdecode(path)))


class ContentWatcher:
    """Applies content changes in a background thread of this process."""

    def __init__(self, app, poll_interval: float = 5.0):
        self.app = app
        self.store = app.extensions["articles"]
        self.poll_interval = max(0.5, float(poll_interval or 0))
        self._pending: set[Path] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._observer = None
        self._thread: threading.Thread | None = None
        self._retry: tuple[list, list] | None = None
        self._retry_at = 0.0
        self.listeners: list = []  # called after each applied change, e.g. to empty the page cache
        self.applied = 0  # changes applied so far (tests and the benchmark wait on it)
        self.last: dict = {}  # what the last change did, and how long it took
        self.pid = None

    # -- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching the content folder; safe to call again after a fork."""
        self.pid = os.getpid()
        self._stopped.clear()
        handler = _Events(self)
        try:
            observer = Observer()
            observer.schedule(handler, str(self.store.content_dir), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: poll file times instead
            log.warning("content watcher: inotify unavailable (%s); polling every %.1f s", exc, self.poll_interval)
            observer = PollingObserver(timeout=self.poll_interval)
            observer.schedule(handler, str(self.store.content_dir), recursive=True)
            observer.start()
        self._observer = observer
        self._thread = threading.Thread(target=self._run, name="content-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the threads (at shutdown, and in tests)."""
        self._stopped.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            if self._observer.is_alive():
                self._observer.join(timeout=5)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _after_fork(self) -> None:
        # A worker forked from a process that created the app (gunicorn --preload) has no threads.
        if self.pid is not None and self.pid != os.getpid() and not self._stopped.is_set():
            self._pending, self._lock, self._wake = set(), threading.Lock(), threading.Event()
            self.start()

    def notice(self, path: Path) -> None:
        """Remember a changed path; the thread applies it after the burst settles."""
        if path is not RESCAN and not (self.store.is_data_file(path) or self.store.article_path_lang(path)):
            return
        with self._lock:
            self._pending.add(path)
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            woke = self._wake.wait(timeout=RETRY_SECONDS if self._retry is None else 1.0)
            if self._stopped.is_set():
                break
            if woke:
                time.sleep(SETTLE_SECONDS)
                with self._lock:
                    paths, self._pending = self._pending, set()
                    self._wake.clear()
                if paths:
                    self.apply(paths)
            if self._retry is not None and time.monotonic() >= self._retry_at:
                self._write_index(*self._retry)

    # -- applying --------------------------------------------------------------------------

    def apply(self, paths: set[Path]) -> dict:
        """Re-read these files and re-index their articles; never raises."""
        started = time.perf_counter()
        try:
            with self.app.app_context():
                if RESCAN in paths:
                    self.store.reload()
                    changes = {"reloaded": True, "removed": [],
                               "changed": [a for arts in self.store.by_lang.values() for a in arts.values()]}
                    index_result = self._sync_all()
                else:
                    changes = self.store.apply_changes(paths)
                    if not (changes["changed"] or changes["removed"] or changes["reloaded"]):
                        return {}
                    index_result = self._write_index(changes["changed"], changes["removed"])
        except Exception:  # noqa: BLE001 - a watcher that dies would leave the site stale for good
            log.exception("content watcher: could not apply %s", sorted(map(str, paths))[:5])
            return {}
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001
                log.exception("content watcher: a listener failed")
        self.applied += 1
        self.last = {"files": len(paths), "changed": len(changes["changed"]), "removed": len(changes["removed"]),
                     "index": index_result, "seconds": round(time.perf_counter() - started, 4)}
        log.info("content changed: %s", self.last)
        return self.last

    def _sync_all(self):
        try:
            return self.app.extensions["search"].sync()
        except Exception:  # noqa: BLE001
            log.exception("could not bring the search index in step with the articles")
            return None

    def _write_index(self, changed: list, removed: list):
        try:
            with self.app.app_context():
                result = self.app.extensions["search"].apply_changes(changed, removed)
        except Exception:  # noqa: BLE001 - a stale index is better than an error page; retried later
            log.exception("could not bring the search index in step with the articles")
            previous = self._retry or ([], [])
            self._retry = (previous[0] + list(changed), previous[1] + list(removed))
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return None
        self._retry = None
        return result


def init_app(app) -> None:
    """Watch the content folder unless CONTENT_RELOAD_INTERVAL is None (tests, the benchmark's workers)."""
    interval = app.config.get("CONTENT_RELOAD_INTERVAL", 5.0)
    if interval is None:
        app.extensions["content_sync"] = None
        return
    watcher = ContentWatcher(app, poll_interval=interval)
    app.extensions["content_sync"] = watcher
    watcher.start()
    reference = weakref.ref(watcher)
    os.register_at_fork(after_in_child=lambda: reference() and reference()._after_fork())
