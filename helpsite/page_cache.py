"""Whole pages for anonymous readers, kept per content version.

Most visitors are anonymous and read the same few articles, and rendering a page costs
several times what Flask itself costs per request. A page that depends only on its URL
(language and query string included) and on the content is rendered once per content
version and worker; a reader with a login, flashed messages or an answered "Was this
helpful?" gets a freshly rendered page. The cache is bounded in bytes and emptied whenever
the content watcher applied a change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from flask import current_app, request, session

# Session keys that do not change what an anonymous reader sees.
NEUTRAL_SESSION_KEYS = frozenset({"lang", "csrf_token", "_permanent", "_fresh"})  # Flask-Login marks anonymous sessions "_fresh"


@dataclass
class Page:
    body: bytes
    status: int
    mimetype: str
    extra: dict = field(default_factory=dict)  # what a view needs to finish a cached page


class PageCache:
    """A per-process LRU of rendered pages, bounded by their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._pages: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key, page: Page) -> None:
        if len(page.body) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._pages[key] = page
            self._size += len(page.body)
            while self._size > self.max_bytes and self._pages:
                _, dropped = self._pages.popitem(last=False)
                self._size -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._size = 0


def reader_is_anonymous() -> bool:
    """Return whether this request shows what every anonymous reader sees."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return set(session.keys()) <= NEUTRAL_SESSION_KEYS


def cache_for_app():
    """Return the current app's page cache, or None when it is off."""
    return current_app.extensions.get("page_cache")


def init_app(app) -> None:
    """Create the cache (PAGE_CACHE_BYTES; 0 turns it off) and empty it on content changes."""
    size = int(app.config.get("PAGE_CACHE_BYTES", 32 * 1024 * 1024))
    cache = PageCache(size) if size > 0 else None
    app.extensions["page_cache"] = cache
    watcher = app.extensions.get("content_sync")
    if cache is not None and watcher is not None:
        watcher.listeners.append(cache.clear)
