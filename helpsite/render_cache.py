"""Rendered article bodies on disk, keyed by what they were rendered from.

Rendering markdown is most of the cost of loading and indexing thousands of articles, and
holding every article's HTML in every worker is most of a worker's memory. So rendered
bodies live in a small SQLite file next to the search index, keyed by a hash of the exact
markdown that was rendered (placeholders filled, links resolved) and of the rendering code;
a worker keeps only a bounded LRU of them in memory. It is a cache: deleting the file costs
one re-render per article, never a wrong page.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)


def code_version(*modules) -> str:
    """Return a hash of the rendering code and libraries: a change to either makes old entries unused."""
    digest = hashlib.sha256()
    for module in modules:
        source = getattr(module, "__file__", None)
        if source and Path(source).exists():
            digest.update(Path(source).read_bytes())
        digest.update(str(getattr(module, "__version__", "")).encode())
    return digest.hexdigest()[:16]


class RenderCache:
    """A bounded in-memory LRU in front of an SQLite table {key: (html, plain text)}."""

    def __init__(self, path: Path | None, memory_entries: int = 256):
        self.path = Path(path) if path else None
        self.memory_entries = memory_entries
        self._memory: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.disabled = self.path is None

    def _db(self) -> sqlite3.Connection | None:
        if self.disabled:
            return None
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(str(self.path), timeout=5, isolation_level=None,
                                             check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=OFF")  # a cache: a lost write is re-rendered
                connection.execute("CREATE TABLE IF NOT EXISTS rendered "
                                   "(key TEXT PRIMARY KEY, html TEXT NOT NULL, plain TEXT NOT NULL)")
            except sqlite3.Error as exc:
                log.warning("render cache %s unusable, rendering without it: %s", self.path, exc)
                self.disabled = True
                return None
            self._local.connection = connection
        return connection

    def memory_get(self, slot):
        """Return (key, value) kept in memory for slot (an article), or None."""
        with self._lock:
            found = self._memory.get(slot)
            if found is not None:
                self._memory.move_to_end(slot)
            return found

    def memory_put(self, slot, key: str, value) -> None:
        with self._lock:
            self._memory[slot] = (key, value)
            self._memory.move_to_end(slot)
            while len(self._memory) > self.memory_entries:
                self._memory.popitem(last=False)

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()

    def load(self, key: str) -> tuple[str, str] | None:
        """Return (html, plain text) stored on disk for key, or None."""
        connection = self._db()
        if connection is None:
            return None
        try:
            row = connection.execute("SELECT html, plain FROM rendered WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            log.warning("render cache read failed: %s", exc)
            return None
        return (row[0], row[1]) if row else None

    def store(self, key: str, html: str, plain: str) -> None:
        connection = self._db()
        if connection is None:
            return
        try:
            connection.execute("INSERT OR REPLACE INTO rendered (key, html, plain) VALUES (?, ?, ?)", (key, html, plain))
        except sqlite3.Error as exc:  # another process holding the lock too long: rendering still works
            log.warning("render cache write failed: %s", exc)

    def has(self, key: str) -> bool:
        """Return whether key is stored on disk (without reading what is stored)."""
        connection = self._db()
        if connection is None:
            return False
        try:
            return connection.execute("SELECT 1 FROM rendered WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error as exc:
            log.warning("render cache read failed: %s", exc)
            return False

    def store_many(self, entries, batch: int = 500) -> None:
        """Store (key, html, plain) entries, batch of them per transaction (a build stores thousands)."""
        connection = self._db()
        if connection is None:
            for _entry in entries:  # still consume them: they may come from a pool
                pass
            return
        pending = []
        for entry in entries:
            pending.append(entry)
            if len(pending) >= batch:
                self._write(connection, pending)
                pending = []
        if pending:
            self._write(connection, pending)

    def _write(self, connection: sqlite3.Connection, entries: list) -> None:
        try:
            with connection:  # autocommit connection: one explicit transaction
                connection.execute("BEGIN")
                connection.executemany("INSERT OR REPLACE INTO rendered (key, html, plain) VALUES (?, ?, ?)", entries)
        except sqlite3.Error as exc:  # another process holding the lock too long: rendering still works
            log.warning("render cache write failed: %s", exc)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
