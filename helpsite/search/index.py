"""The search index of the site: one object that builds (IndexBuilder) and answers (IndexSearcher).

Bound to an app with init_app and reached as app.extensions["search"]. Views search through
search_with_fallback(), the one place that turns a missing or broken index into a notice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..content import LANGUAGES, ArticleStore
from .analysis import Vocabulary, load_vocabularies
from .build import IndexBuilder
from .errors import SearchUnavailable
from .query import IndexSearcher, Results

log = logging.getLogger(__name__)


class SearchIndex(IndexBuilder, IndexSearcher):
    """The Whoosh indexes of all languages, in one folder, kept in step with the articles."""

    def __init__(self, app=None):
        self.root: Path | None = None
        self._local = threading.local()
        self._cache: OrderedDict = OrderedDict()
        self._cache_lock = threading.Lock()
        self._heal_lock = threading.Lock()
        self._healing: threading.Thread | None = None
        self.self_healing = True
        self._last_heal = 0.0
        self.heal_interval = 30.0
        self.cache_size = 0
        self.vocabulary: dict[str, Vocabulary] = {}
        if app is not None:
            self.init_app(app)

    def init_app(self, app, store: ArticleStore | None = None):
        """Open (and when the content changed, rebuild) the index in SEARCH_INDEX_DIR."""
        self.root = Path(app.config["SEARCH_INDEX_DIR"])
        self.store = store or app.extensions["articles"]
        self.cache_size = int(app.config.get("SEARCH_CACHE_SIZE", 1024))
        self.heal_interval = float(app.config.get("SEARCH_HEAL_INTERVAL", 30))
        self.build_processes = int(app.config.get("SEARCH_BUILD_PROCESSES", 0) or min(os.cpu_count() or 1, 4))
        self.built_at_start = False
        # An app that does not build at start-up (a command, a test) does not build to heal either.
        self.self_healing = bool(app.config.get("SEARCH_BUILD_ON_START", True))
        self.vocabulary = load_vocabularies(self.store.content_dir)
        app.extensions["search"] = self
        if app.config.get("SEARCH_BUILD_ON_START", True):
            # `flask search build` on an empty folder asks whether this already built it.
            self.built_at_start = self.ensure_current()


@dataclass
class Answer:
    """What a reader's search came to.

    results: in the language asked; other: in the other language, searched only when the first
    found nothing (and not because only common words matched); unavailable: the index is missing
    or broken (it is being rebuilt), so there are no results at all.
    """

    results: Results | None = None
    other: Results | None = None
    unavailable: bool = False


def search_with_fallback(index: SearchIndex, text: str, lang: str, limit: int = 10, other_limit: int | None = None,
                         category: str | None = None, include_drafts: bool = False) -> Answer:
    """Search one language, and the other when it has no answer; raise QueryError for unusable input.

    Each result says its language, so a Dutch reader can be offered the English article. Drafts
    are only ever included in the language asked (the other language's results link out).
    """
    try:
        results = index.search(text, lang, limit=limit, category=category, include_drafts=include_drafts)
        other = None
        if not results.hits and not results.common_only:
            other_lang = next(language for language in LANGUAGES if language != lang)
            other = index.search(text, other_lang, limit=other_limit or limit, category=category, suggest=False)
    except SearchUnavailable as exc:
        log.error("search unavailable: %s", exc)
        return Answer(unavailable=True)
    return Answer(results=results, other=other)
