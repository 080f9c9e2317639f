"""The article store: markdown files with YAML front matter, read into Article objects.

Articles live in ``content/articles/<lang>/<slug>.md``. Provider facts from
``content/provider.yaml`` are filled in through ``{{ placeholders }}``, links written as
``a:<id>`` become URLs in the article's own language, and the rendered HTML is sanitized
with an allowlist. Rendering happens once per article, not per request.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import re
import sys
import threading
from pathlib import Path

import markdown
import nh3

from . import rendering
from .content_parse import (
    APPLIES_TO, CLIENT_IDS, ID_PATTERN, LANGUAGES, MAX_ARTICLE_BYTES, REQUIRED_FIELDS, Article, ContentError, load_yaml,
    parse_article, parse_article_text, provider_values,
)
from .content_related import RelatedArticles, features
from .content_updates import IncrementalUpdates, _title_key, _version_part
from .render_cache import RenderCache, code_version
from .rendering import (
    ALLOWED_TAGS, FENCE, LIST_MARKER, PAGE_PLACEHOLDERS, PLACEHOLDER, _render_item, collapsed_lists, derive_rendering,
    drop_blocks_with, label_table_cells, render_markdown,
)

# What other modules and the tests import from here, the names now in content_parse.py and
# rendering.py included.
__all__ = [
    "ALLOWED_TAGS", "APPLIES_TO", "ARTICLE_LINK", "ASK_LINK", "ASK_PATHS", "CLIENT_IDS", "DATA_FILES", "FENCE",
    "ID_PATTERN", "IMAGE", "LANGUAGES", "LIST_MARKER", "MAX_ARTICLE_BYTES", "PAGE_PLACEHOLDERS", "PARALLEL_RENDER_MIN",
    "PLACEHOLDER", "RAW_HTML", "RENDER_CODE_VERSION", "REQUIRED_FIELDS", "Article", "ArticleStore", "ContentError",
    "collapsed_lists", "label_table_cells", "load_yaml", "parse_article", "parse_article_text", "provider_values",
    "render_markdown",
]

log = logging.getLogger(__name__)

ARTICLE_LINK = re.compile(r"\]\(a:([a-z0-9-]+)(#[A-Za-z0-9_-]+)?\)")
# [ask us](ask:) is the question form with this article as its context (the article's next step).
ASK_LINK = re.compile(r"\]\(ask:\)")
ASK_PATHS = {"nl": "/nl/vraag-stellen", "en": "/en/ask"}  # views/tickets.py ask()
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
RAW_HTML = re.compile(r"<(?!https?://)[a-zA-Z/!][^>]*>")

PARALLEL_RENDER_MIN = 400  # fewer articles render faster in-process than a pool starts
DATA_FILES = ("provider.yaml", "categories.yaml", "search.yaml")
# Rendered bodies cached on disk are keyed by this too: a change to the rendering code (this
# module or helpsite/rendering.py) or to the markdown and sanitizing libraries renders every article anew.
RENDER_CODE_VERSION = code_version(sys.modules[__name__], rendering, markdown, nh3)


class ArticleStore(IncrementalUpdates, RelatedArticles):
    """All articles of the content folder, kept current file by file.

    Bound to an app with init_app, like an extension; reached as app.extensions["articles"].
    reload() reads everything (at start-up and when a data file changed); apply_changes()
    re-reads only the files that changed, which is what the content watcher calls
    (helpsite/content_sync.py), outside any request.
    """

    def __init__(self, app=None):
        self.content_dir: Path | None = None
        self.reload_interval = 5.0
        self._lock = threading.RLock()
        self.by_lang: dict[str, dict[str, Article]] = {}
        self._by_path: dict[str, Article] = {}  # by Article.path_text
        self._by_title: dict[str, list[Article]] = {}
        self._in_category: dict[str, dict[str, list[Article]]] = {}
        self._related: dict[tuple, list[Article]] = {}
        self._features: dict[str, dict[str, tuple]] = {}  # {lang: {id: content_related.features()}}
        self._render_epoch = ""
        self._data_digest = ""
        self.provider, self.categories = {}, []
        self.errors: list[ContentError] = []
        self.version = ""
        self.renders = RenderCache(None)
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        """Read the content folder named by CONTENT_DIR."""
        self.content_dir = Path(app.config["CONTENT_DIR"])
        self.reload_interval = app.config.get("CONTENT_RELOAD_INTERVAL", 5.0)
        cache_path = app.config.get("RENDER_CACHE_PATH")
        if cache_path is None and app.config.get("SEARCH_INDEX_DIR"):
            cache_path = Path(app.config["SEARCH_INDEX_DIR"]) / "render-cache.sqlite"
        self.renders = RenderCache(cache_path or None, int(app.config.get("RENDER_MEMORY_ENTRIES", 256)))
        app.extensions["articles"] = self
        self.reload()

    # -- loading -------------------------------------------------------------

    @property
    def articles_dir(self) -> Path:
        return self.content_dir / "articles"

    def files(self) -> list[tuple[str, Path]]:
        """Return (lang, path) for every article file, in a stable order."""
        found = []
        for lang in LANGUAGES:
            folder = self.articles_dir / lang
            if folder.is_dir():
                found.extend((lang, p) for p in sorted(folder.glob("*.md")))
        return found

    def data_paths(self) -> list[Path]:
        """Return the editors' data files (provider facts, categories, search vocabulary)."""
        return [self.content_dir / name for name in DATA_FILES]

    def content_hash(self) -> str:
        """Return a hash of the content, for deciding whether the search index is current.

        Made from the digests taken when each file was read, so it costs no file reads.
        """
        return self.version

    def _read_data(self) -> None:
        digest = hashlib.sha256()
        for path in self.data_paths():
            try:
                raw = path.read_bytes()
            except OSError:
                raw = b""
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(raw).digest())
        self._data_digest = digest.hexdigest()
        self.provider = load_yaml(self.content_dir / "provider.yaml", {}) or {}
        self.categories = load_yaml(self.content_dir / "categories.yaml", []) or []
        self._values = {lang: provider_values(self.provider, lang) for lang in LANGUAGES}

    def reload(self) -> None:
        """Read every article again; a broken file is logged and skipped, never fatal."""
        with self._lock:
            self._read_data()
            by_path: dict[str, Article] = {}
            errors: list[ContentError] = []
            for lang, path in self.files():
                article = self._parse(path, lang, errors)
                if article is not None:
                    by_path[article.path_text] = article
            self._by_path = by_path
            self.errors = errors
            self._related = {}
            self._finish()

    def _parse(self, path: Path, lang: str, errors: list) -> Article | None:
        try:
            article = parse_article(path, lang)
        except ContentError as exc:
            log.error("skipping article: %s", exc)
            errors.append(exc)
            return None
        except OSError as exc:
            log.error("skipping article %s: %s", path, exc)
            errors.append(ContentError(path, 1, str(exc)))
            return None
        article.store = self
        if not self.renders.disabled:
            del article.body  # read again from the file on demand (Article.__getattr__)
        return article

    def _finish(self) -> None:
        """Derive the lookups from the parsed files: ids, slugs, aliases, listings, the version.

        In memory only (no file is read): a single changed file costs milliseconds here even
        with thousands of articles.
        """
        by_lang: dict[str, dict[str, Article]] = {lang: {} for lang in LANGUAGES}
        errors = [e for e in self.errors if not getattr(e, "duplicate", False)]
        for path_text in sorted(self._by_path):
            article = self._by_path[path_text]
            other = by_lang[article.lang].get(article.id)
            if other is not None:
                exc = ContentError(article.path, 2, f"duplicate id {article.id!r} (also in {other.path.name})")
                exc.duplicate = True
                log.error("skipping article: %s", exc)
                errors.append(exc)
                continue
            by_lang[article.lang][article.id] = article
        self.by_lang = by_lang
        self.errors = errors
        self._slugs = {lang: {a.slug: a for a in arts.values()} for lang, arts in by_lang.items()}
        self._aliases = {
            lang: {alias: a for a in arts.values() for alias in a.aliases} for lang, arts in by_lang.items()
        }
        # Sorted once per content version, not per page view: listings read them on every request.
        self._by_title = {
            lang: sorted(arts.values(), key=_title_key) for lang, arts in by_lang.items()
        }
        self._in_category = {}
        for lang, ordered in self._by_title.items():
            per_category: dict[str, list[Article]] = {}
            for article in ordered:
                if not article.draft:
                    per_category.setdefault(article.category, []).append(article)
            self._in_category[lang] = per_category
        self._features = {lang: {a.id: features(a) for a in arts.values()} for lang, arts in by_lang.items()}
        # An order-free sum of one hash per article: a changed file updates it in O(1).
        self._version_sum = 0
        for arts in by_lang.values():
            for article in arts.values():
                self._version_sum ^= _version_part(article)
        self._set_version()
        # Rendered HTML depends on the provider facts and on the slugs links resolve to.
        epoch = hashlib.sha256(self._data_digest.encode())
        for lang in LANGUAGES:
            for article_id, article in sorted(by_lang[lang].items()):
                epoch.update(f"{lang}/{article_id}={article.slug}\n".encode())
        if epoch.hexdigest() != self._render_epoch:
            self._render_epoch = epoch.hexdigest()
            self.renders.clear_memory()

    def is_data_file(self, path: Path) -> bool:
        return Path(path).name in DATA_FILES and Path(path).parent == self.content_dir

    def article_path_lang(self, path: Path) -> str | None:
        """Return the language of an article file path, or None when the path is not an article file."""
        path = Path(path)
        if path.suffix != ".md" or path.parent.parent != self.articles_dir or path.parent.name not in LANGUAGES:
            return None
        return path.parent.name
    def _set_version(self) -> None:
        self.version = hashlib.sha256(f"{self._data_digest}\0{self._version_sum:032x}".encode()).hexdigest()

    def refresh_if_changed(self) -> bool:
        """Reload everything when the files changed; return True on reload.

        Kept for scripts and tests: the running site learns of changes from the content
        watcher (content_sync), which re-reads only the changed files.
        """
        before = self.version
        self.reload()
        return self.version != before

    # -- lookups -------------------------------------------------------------

    def get(self, lang: str, article_id: str, include_drafts: bool = False) -> Article | None:
        """Return the article with this id in this language, or None."""
        article = self.by_lang.get(lang, {}).get(article_id)
        if article and article.draft and not include_drafts:
            return None
        return article

    def by_slug(self, lang: str, slug: str) -> Article | None:
        """Return the article with this slug in this language (drafts included), or None."""
        return self._slugs.get(lang, {}).get(slug)

    def by_alias(self, lang: str, slug: str) -> Article | None:
        """Return the article that used to live at this slug, or None."""
        return self._aliases.get(lang, {}).get(slug)

    def translation(self, article: Article, lang: str, include_drafts: bool = False) -> Article | None:
        """Return the same article in another language, or None when it is not translated."""
        return self.get(lang, article.id, include_drafts)

    def in_language(self, lang: str, include_drafts: bool = False) -> list[Article]:
        """Return the articles of one language sorted by title."""
        ordered = self._by_title.get(lang, [])
        return list(ordered) if include_drafts else [a for a in ordered if not a.draft]

    def all_ids(self) -> set[str]:
        """Return every article id in any language."""
        return {article_id for arts in self.by_lang.values() for article_id in arts}

    def best(self, article_id: str, lang: str, include_drafts: bool = False) -> Article | None:
        """Return the article in lang, or else in the other language (shown with a notice)."""
        article = self.get(lang, article_id, include_drafts)
        if article:
            return article
        for other in LANGUAGES:
            article = self.get(other, article_id, include_drafts)
            if article:
                return article
        return None

    def category(self, category_id: str) -> dict | None:
        """Return the category definition with this id, or None."""
        return next((c for c in self.categories if c.get("id") == category_id), None)

    def in_category(self, lang: str, category_id: str) -> list[Article]:
        """Return the published articles of a category in one language, by title (computed once per version)."""
        return self._in_category.get(lang, {}).get(category_id, [])

    def category_counts(self, lang: str) -> dict[str, int]:
        """Return {category id: number of published articles} in one language."""
        return {c.get("id"): len(self.in_category(lang, c.get("id"))) for c in self.categories}

    def placeholder_values(self, lang: str) -> dict[str, str]:
        """Return the provider facts for one language."""
        return self._values.get(lang, {})

    # -- rendering -----------------------------------------------------------

    def article_url(self, article: Article) -> str:
        """Return the site path of an article (without the host)."""
        word = {"nl": "artikel", "en": "article"}[article.lang]
        return f"/{article.lang}/{word}/{article.slug}"

    def fill_placeholders(self, text: str, lang: str) -> str:
        """Replace {{ name }} with the provider fact; unknown names are left visible.

        A paragraph, list item or table row that uses a fact whose value is empty (one the
        company has not filled in, such as a sending limit the SLA does not give) is left out.
        """
        values = self.placeholder_values(lang)
        empty = {name for name, value in values.items() if not value.strip()}
        if empty:
            text = drop_blocks_with(text, empty)
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def resolve_links(self, text: str, lang: str, article_id: str | None = None) -> str:
        """Turn (a:id#section) links into the URL of that article in this language, and (ask:) into the question form.

        The question form gets this article as its context (?article=<id>), so that support
        sees what the customer read.
        """
        ask = ASK_PATHS.get(lang, ASK_PATHS["en"]) + (f"?article={article_id}" if article_id else "")
        text = ASK_LINK.sub(f"]({ask})", text)

        def replace(match: re.Match) -> str:
            target = self.best(match.group(1), lang)
            anchor = match.group(2) or ""
            if target is None:
                return f"](/a/{match.group(1)}{anchor})"
            return f"]({self.article_url(target)}{anchor})"

        return ARTICLE_LINK.sub(replace, text)

    def render(self, article: Article) -> str:
        """Render an article's body: placeholders, links, markdown, sanitizing."""
        return self.rendered(article)[0]

    def rendered(self, article: Article) -> tuple[str, str, list[dict]]:
        """Return (html, plain text, table of contents) of an article.

        Looked up in a bounded in-memory LRU, then in the render cache on disk (keyed by the
        exact markdown rendered), and only then rendered.
        """
        slot = (article.lang, article.id, article.path_text)
        check = (article.digest_bytes, self._render_epoch)
        found = self.renders.memory_get(slot)
        if found is not None and found[0] == check:
            return found[1]
        text = self.resolve_links(self.fill_placeholders(article.body, article.lang), article.lang, article.id)
        key = hashlib.sha256(f"{RENDER_CODE_VERSION}\0{text}".encode()).hexdigest()
        stored = self.renders.load(key)
        if stored is not None:
            html, plain = stored
            value = (html, plain, derive_rendering(html)[2])
        else:
            value = derive_rendering(render_markdown(text))
            self.renders.store(key, value[0], value[1])
        self.renders.memory_put(slot, check, value)
        return value

    def prerender(self, articles, processes: int = 1) -> int:
        """Put the articles the render cache lacks into it, in parallel processes when there are many.

        Returns how many were rendered. Without a render cache file there is nowhere to keep
        them, and pages render on demand instead.
        """
        if self.renders.disabled:
            return 0
        todo = []
        for article in articles:
            text = self.resolve_links(self.fill_placeholders(article.body, article.lang), article.lang, article.id)
            key = hashlib.sha256(f"{RENDER_CODE_VERSION}\0{text}".encode()).hexdigest()
            if not self.renders.has(key):
                todo.append((key, text))
        if processes > 1 and len(todo) >= PARALLEL_RENDER_MIN:
            # spawn, not fork: the parent runs threads (the content watcher), and a forked
            # child could inherit a held lock.
            with multiprocessing.get_context("spawn").Pool(processes) as pool:
                self.renders.store_many(pool.imap_unordered(_render_item, todo, chunksize=16))
        else:
            self.renders.store_many(_render_item(item) for item in todo)
        return len(todo)

    def render_text(self, text: str, lang: str, article_id: str | None = None) -> str:
        """Render markdown that is not (yet) a stored article, the same way articles are rendered."""
        return render_markdown(self.resolve_links(self.fill_placeholders(text, lang), lang, article_id))
