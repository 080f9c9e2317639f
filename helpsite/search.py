"""Full-text search over the articles: the only module that touches Whoosh.

One index per language, with that language's stemmer, a Dutch compound splitter, synonyms
from ``content/search.yaml``, typo tolerance and "did you mean". The index is derived data:
it is built aside in a fresh folder and swapped in by renaming a symlink, so a reader never
sees a half-built index and several worker processes can serve from the same one.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import html
import json
import logging
import os
import re
import shutil
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.scoring import BM25F

from .content import LANGUAGES, Article, ArticleStore, load_yaml
from .text import edit_distance, fold
from .triage.rules import RulesError, load_rules
from .understanding import understand

log = logging.getLogger(__name__)

SCHEMA_VERSION = "7"
# Customers paste whole questions with their error messages: up to 2,000 characters are read,
# but only the MAX_QUERY_TERMS terms that say most are searched, so the cost stays bounded.
MAX_QUERY_LENGTH = 2000
MAX_QUERY_WORDS = 400
MAX_QUERY_TERMS = 10
# Up to this many terms, an article must match them all before any of them will do.
ALL_TERMS_UP_TO = 4
# A word in more than this share of a language's articles says little on its own ("instellen").
COMMON_SHARE = 0.3
# Typos are corrected only when the first search found fewer than this (and only these many words).
FEW_HITS = 3
MAX_CORRECTIONS = 4
MAX_LIMIT = 50
WORD_MEMO_SIZE = 50_000
WORD = re.compile(r"[\w][\w.+#-]*\w|\w", re.UNICODE)
FIELD_WEIGHTS = {"title": 4.0, "tags": 3.0, "summary": 2.0, "body": 1.0}
# Synonyms are looked up in the short fields only: in the body every synonym of a common word
# matched nearly every article, which cost the most time and ranked the least.
SYNONYM_FIELDS = {"title": 4.0, "tags": 3.0, "summary": 2.0}
# A synonym counts for less than the word typed: otherwise "FTP instellen in WinSCP" finds the
# FileZilla guide first, because "filezilla" is a synonym of "ftp" and fills that guide's title.
SYNONYM_WEIGHT = 0.3
# The weight of a synonym group (expanded at index time, counted per field weight) in a query.
SYNONYM_GROUP_WEIGHT = 1.0


class UnionOr(Q.Or):
    """An Or that always uses Whoosh's union matchers.

    On small indexes Whoosh picks an array matcher that fills a 2,048-slot array in pure
    Python for every nested Or; our queries nest one Or per field and word, so that
    array filling cost more than the search.
    """

    matcher_type = Q.Or.DEFAULT_MATCHER


class SearchUnavailable(FileNotFoundError):
    """The index is missing or broken; it is being rebuilt. Views answer 503 or show a notice.

    A FileNotFoundError, so that every caller that handled a missing index handles this too.
    """


def _healing(search):
    """Turn any failure of a broken index into SearchUnavailable, drop this thread's searchers, rebuild.

    A corrupted segment, a dangling link or a reader closed under us raise all kinds of errors
    from inside Whoosh; none of them may become a 500, and none may stick until a restart.
    """

    @functools.wraps(search)
    def wrapper(self, *args, **kwargs):
        try:
            return search(self, *args, **kwargs)
        except QueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke in the index, heal it
            self.forget_searchers()
            self.heal(f"{type(exc).__name__}: {exc}")
            if isinstance(exc, SearchUnavailable):
                raise
            raise SearchUnavailable(f"the search index is broken and being rebuilt: {type(exc).__name__}") from exc

    return wrapper


class QueryError(ValueError):
    """A query that cannot be searched for; the message is shown to the user."""


class CompoundSplitFilter(Filter):
    """Split Dutch compounds into known parts, keeping the compound itself.

    "mailinstellingen" yields mailinstellingen, mail, instellingen; a linking "s" or "e"
    between parts ("aanmeldingsgegevens") is allowed. Parts shorter than three letters
    are never used, so that "in" or "de" do not chop ordinary words.
    """

    def __init__(self, parts):
        self.parts = frozenset(p for p in parts if len(p) >= 3)

    def __eq__(self, other):
        return isinstance(other, CompoundSplitFilter) and self.parts == other.parts

    def split(self, word: str, memo: dict) -> list[str] | None:
        if word in self.parts:
            return [word]
        if word in memo:
            return memo[word]
        result = None
        for i in range(len(word) - 3, 2, -1):  # longest known prefix first
            prefix, rest = word[:i], word[i:]
            if prefix not in self.parts:
                continue
            for link in ("", "s", "e"):
                if link and not rest.startswith(link):
                    continue
                tail = self.split(rest[len(link):], memo) if len(rest) - len(link) >= 3 else None
                if tail:
                    result = [prefix] + tail
                    break
            if result:
                break
        memo[word] = result
        return result

    def __call__(self, tokens):
        memo: dict = {}
        for token in tokens:
            parts = self.split(token.text, memo) if len(token.text) >= 6 else None
            if parts and len(parts) > 1:
                original = token.text
                yield token
                for part in parts:
                    token.text = part
                    yield token
                token.text = original
            else:
                yield token


class AccentFoldFilter(Filter):
    """Fold accents in tokens (ë -> e)."""

    def __eq__(self, other):
        return isinstance(other, AccentFoldFilter)

    def __call__(self, tokens):
        for token in tokens:
            token.text = fold(token.text)
            yield token


def make_analyzer(lang: str, compound_parts=()):
    """Return the analyzer for one language: words, lowercase, accents, compounds, stop words, stem."""
    chain = RegexTokenizer(r"\w+") | LowercaseFilter() | AccentFoldFilter()
    if compound_parts:
        chain = chain | CompoundSplitFilter(fold(p) for p in compound_parts)
    return chain | StopFilter(lang=lang, minsize=2) | StemFilter(lang=lang)


def make_schema(lang: str, compound_parts=()) -> Schema:
    """Return the index schema for one language."""
    analyzer = make_analyzer(lang, compound_parts)
    return Schema(
        id=ID(stored=True, unique=True),
        slug=STORED(),
        title=TEXT(analyzer=analyzer, stored=True),
        summary=TEXT(analyzer=analyzer, stored=True),
        tags=TEXT(analyzer=analyzer),
        body=TEXT(analyzer=analyzer, stored=True),
        category=ID(stored=True),
        applies_to=KEYWORD(stored=True, commas=True),
        draft=ID(),
        # Unstemmed words, for spelling suggestions ("did you mean").
        words=KEYWORD(lowercase=True),
        # What the document was made from: sync() compares it with the article file.
        digest=STORED(),
        # [[anchor, heading, text], ...], for linking to and quoting the section that matches best.
        sections=STORED(),
        # The synonym groups (g0, g1 ...) whose members occur in the article: see Vocabulary.synonym_tokens.
        synonyms=TEXT(analyzer=RegexTokenizer(r"\S+")),
    )


@dataclass
class Vocabulary:
    """Search vocabulary of one language: synonym groups and compound parts."""

    synonyms: list[list[str]] = field(default_factory=list)
    compound_parts: list[str] = field(default_factory=list)
    question_words: frozenset[str] = frozenset()

    @classmethod
    def load(cls, content_dir: Path, lang: str) -> "Vocabulary":
        data = load_yaml(Path(content_dir) / "search.yaml", {}) or {}
        groups = [[fold(str(w)) for w in group] for group in (data.get("synonyms") or {}).get(lang, [])]
        parts = [str(p) for p in (data.get("compound_parts") or {}).get(lang, [])]
        # Both languages' question words: customers mix them ("hoe set ik up").
        question = frozenset(fold(str(w)) for words in (data.get("question_words") or {}).values() for w in words)
        return cls(synonyms=groups, compound_parts=parts, question_words=question)

    def groups_for(self, phrase: str) -> list[str]:
        """Return the word or phrase itself first, then every synonym of it."""
        found = {phrase}
        for group in self.synonyms:
            if phrase in group:
                found.update(group)
        return [phrase] + sorted(found - {phrase})

    def group_ids(self, phrase: str) -> list[str]:
        """Return the ids of the synonym groups a word or phrase belongs to ("g3")."""
        return [f"g{n}" for n, group in enumerate(self.synonyms) if phrase in group]

    def synonym_tokens(self, text: str, analyzer, repeat: int = 1) -> str:
        """Return the synonym group ids of every group member in a text, once per occurrence.

        Synonyms are expanded when an article is indexed, into one field: a query then adds one
        term per synonym group instead of every member in every field, and "email", "e-mail" and
        "mail" find exactly the same articles.
        """
        tokens = [t.text for t in analyzer(text)]
        members = {}
        for n, group in enumerate(self.synonyms):
            for member in group:
                key = tuple(t.text for t in analyzer(member))
                if key:
                    members.setdefault(key, set()).add(f"g{n}")
        lengths = sorted({len(k) for k in members}, reverse=True)
        found = []
        for i in range(len(tokens)):
            for size in lengths:
                groups = members.get(tuple(tokens[i:i + size]))
                if groups:
                    found.extend(sorted(groups) * repeat)
        return " ".join(found)

    def phrases(self) -> set[str]:
        return {member for group in self.synonyms for member in group}


@dataclass
class Hit:
    """One search result."""

    id: str
    lang: str
    slug: str
    title: str
    summary: str
    category: str
    applies_to: list[str]
    snippet: str
    score: float
    section: str | None = None  # the heading anchor of the section that matched best, when not the start
    section_title: str | None = None


@dataclass
class Results:
    """The answer to one search: hits, the suggestion and the query as understood.

    common_only: when the only words that matched are common ones ("instellen") and the others
    matched nothing, the hits are left out and these words are given instead, with the words
    that matched nothing in unmatched.
    """

    query: str
    lang: str
    hits: list[Hit]
    suggestion: str | None = None
    total: int = 0
    terms: list[str] = field(default_factory=list)  # what was searched for
    common_only: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def _words(text: str) -> list[str]:
    return [w.strip(".-+#") for w in WORD.findall(fold(text)) if w.strip(".-+#")]


def document_digest(article: Article) -> str:
    """Return what identifies the indexed version of an article: its file name and file contents."""
    return f"{article.slug}:{article.digest}"


def documents(article: Article, vocabulary: "Vocabulary | None" = None, analyzer=None) -> dict:
    """Return the index document for an article (with its synonym groups, given the vocabulary)."""
    words = set(_words(" ".join([article.title, article.summary, " ".join(article.tags), article.plain_text])))
    return {
        "id": article.id,
        "slug": article.slug,
        "title": article.title,
        "summary": article.summary,
        "tags": " ".join(article.tags),
        "body": article.plain_text,
        "category": article.category,
        "applies_to": ",".join(article.applies_to),
        "draft": "yes" if article.draft else "no",
        "words": " ".join(sorted(words)),
        "digest": document_digest(article),
        "sections": json.dumps(article_sections(article), ensure_ascii=False),
        # A group found in the title counts as often as the title's weight, and so on: one field keeps
        # the fields' order (title > tags > summary > body) for synonyms too.
        "synonyms": " ".join(
            vocabulary.synonym_tokens(text, analyzer, int(FIELD_WEIGHTS[name]))
            for name, text in (("title", article.title), ("tags", " ; ".join(article.tags)),
                               ("summary", article.summary), ("body", article.plain_text))
        ) if vocabulary else "",
    }


H2 = re.compile(r'<h2 id="([^"]+)">(.*?)</h2>', re.S)


def _plain(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def article_sections(article: Article) -> list[list[str]]:
    """Return [[anchor, heading, text], ...]: the start of the article (no anchor), then each h2 section."""
    pieces = H2.split(article.html)
    sections = [["", "", _plain(pieces[0])]]
    for i in range(1, len(pieces) - 2, 3):
        sections.append([pieces[i], _plain(pieces[i + 1]), _plain(pieces[i + 2])])
    return sections


def clean_query(text: str) -> str:
    """Validate a user's query; raise QueryError with a message for the user when it is unusable."""
    if text is None:
        raise QueryError("empty")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QueryError("empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError("too_long")
    if not _words(text):
        raise QueryError("no_words")
    return text


class SearchIndex:
    """The Whoosh indexes of all languages, in one folder, kept in step with the articles.

    Bound to an app with init_app; reached as app.extensions["search"].
    """

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
        self.vocabulary = {lang: Vocabulary.load(self.store.content_dir, lang) for lang in LANGUAGES}
        app.extensions["search"] = self
        if app.config.get("SEARCH_BUILD_ON_START", True):
            # `flask search build` on an empty folder asks whether this already built it.
            self.built_at_start = self.ensure_current()

    # -- building ------------------------------------------------------------

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def fingerprint(self) -> str:
        """Return what the index must have been built from: the content and the schema version."""
        return f"{SCHEMA_VERSION}-{self.store.content_hash()}"

    def built_fingerprint(self) -> str | None:
        """Return the fingerprint of the index in use, or None when there is none."""
        try:
            return json.loads((self.current_link / "meta.json").read_text())["fingerprint"]
        except (OSError, ValueError, KeyError):
            return None

    def is_current(self) -> bool:
        return self.built_fingerprint() == self.fingerprint()

    def base_fingerprint(self) -> str:
        """Return what every document depends on: the schema, the vocabulary and the provider facts.

        When it changes, updating single articles is not enough (the analyzers or the filled-in
        placeholders of every article changed), and sync() builds the whole index.
        """
        digest = hashlib.sha256(SCHEMA_VERSION.encode())
        for name in ("search.yaml", "provider.yaml"):
            path = Path(self.store.content_dir) / name
            digest.update(b"\0" + (path.read_bytes() if path.exists() else b""))
        return digest.hexdigest()

    def _write_meta(self, folder: Path, **meta) -> None:
        """Write meta.json in a build folder atomically: readers never see half a file."""
        temporary = folder / f".meta-{os.getpid()}-{time.monotonic_ns()}.json"
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, folder / "meta.json")

    @contextmanager
    def _build_lock(self):
        """Let one process build at a time; the others wait and then find the index current."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def ensure_current(self, progress=None) -> bool:
        """Build the index when it is missing, broken or older than the content; return True if built."""
        if self.is_current() and self.probe() is None:
            return False
        with self._build_lock():
            if self.is_current() and self.probe() is None:  # another worker built it while we waited
                return False
            self.build(progress=progress, locked=True)
            return True

    def build(self, progress=None, locked: bool = False) -> Path:
        """Build all languages into a new folder and swap it in atomically.

        progress, when given, is called as progress(done, total) after each article.
        """
        if not locked:
            with self._build_lock():
                return self.build(progress=progress, locked=True)
        self.store.reload()
        self.vocabulary = {lang: Vocabulary.load(self.store.content_dir, lang) for lang in LANGUAGES}
        fingerprint = self.fingerprint()
        base = self.base_fingerprint()
        started = time.perf_counter()
        target = self.root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
        target.mkdir(parents=True)
        articles = {lang: self.store.in_language(lang, include_drafts=True) for lang in LANGUAGES}
        total, done = sum(len(a) for a in articles.values()), 0
        # Markdown rendering is half of a cold build: render what the render cache lacks in
        # parallel first (a rebuild with unchanged articles renders nothing).
        self.store.prerender([a for arts in articles.values() for a in arts], processes=self.build_processes)
        for lang in LANGUAGES:
            folder = target / lang
            folder.mkdir()
            ix = whoosh_index.create_in(str(folder), make_schema(lang, self.vocabulary[lang].compound_parts))
            writer = ix.writer(limitmb=256)
            analyzer = ix.schema["body"].analyzer
            for article in articles[lang]:
                writer.add_document(**documents(article, self.vocabulary[lang], analyzer))
                done += 1
                if progress:
                    progress(done, total)
            writer.commit(optimize=True)
        self._write_meta(target, fingerprint=fingerprint, base=base, articles=total,
                         seconds=round(time.perf_counter() - started, 3))
        self._swap(target)
        return target

    def _swap(self, target: Path) -> None:
        """Point 'current' at the new build with an atomic rename, then remove old builds."""
        previous = os.path.realpath(self.current_link) if self.current_link.is_symlink() else None
        temporary = self.root / f".current-{os.getpid()}-{time.monotonic_ns()}"
        os.symlink(target.name, temporary)
        os.replace(temporary, self.current_link)
        # Keep the build just replaced: a reader in another process may still be using it.
        for old in self.root.glob("build-*"):
            if old.resolve() not in {target.resolve(), Path(previous).resolve() if previous else None}:
                shutil.rmtree(old, ignore_errors=True)

    def update_article(self, article: Article) -> None:
        """Add or replace one article in the live index, without a full rebuild."""
        with self._build_lock():
            self._apply(article.lang, [article], [])

    def remove_article(self, lang: str, article_id: str) -> None:
        """Remove one article from the live index."""
        with self._build_lock():
            self._apply(lang, [], [article_id])

    def _apply(self, lang: str, changed: list[Article], removed: list[str]) -> None:
        """Write changed and removed articles of one language into the live index in one commit."""
        if not changed and not removed:
            return
        ix = whoosh_index.open_dir(str(self.current_link / lang))
        with ix.writer() as writer:
            for article in changed:
                writer.update_document(**documents(article, self.vocabulary[lang], ix.schema["body"].analyzer))
            for article_id in removed:
                writer.delete_by_term("id", article_id)

    def apply_changes(self, changed: list[Article], removed: list[tuple[str, str]]) -> dict:
        """Bring just these articles in step in the live index; return what was written.

        What the content watcher calls: the cost follows the number of changed files, not
        the number of articles. Each worker's watcher sees the same change; the first one
        writes it, the others find the indexed digest equal and write nothing.
        """
        with self._build_lock():
            try:
                meta = json.loads((self.current_link / "meta.json").read_text())
            except (OSError, ValueError):
                meta = {}
            if meta.get("base") != self.base_fingerprint():
                self.build(locked=True)
                return {"rebuilt": True, "updated": 0, "removed": 0}
            self.vocabulary = {lang: Vocabulary.load(self.store.content_dir, lang) for lang in LANGUAGES}
            updated = gone = 0
            for lang in LANGUAGES:
                mine = [a for a in changed if a.lang == lang]
                ids = [article_id for removed_lang, article_id in removed if removed_lang == lang]
                if not mine and not ids:
                    continue
                ix = whoosh_index.open_dir(str(self.current_link / lang))
                with ix.searcher() as searcher:
                    mine = [a for a in mine
                            if (searcher.document(id=a.id) or {}).get("digest") != document_digest(a)]
                    ids = [i for i in ids if searcher.document_number(id=i) is not None]
                self._apply(lang, mine, ids)
                updated, gone = updated + len(mine), gone + len(ids)
            fingerprint = self.fingerprint()
            if fingerprint != meta.get("fingerprint"):
                total = sum(len(self.store.in_language(lang, include_drafts=True)) for lang in LANGUAGES)
                self._write_meta(self.current_link.resolve(), **{**meta, "fingerprint": fingerprint, "articles": total})
            return {"rebuilt": False, "updated": updated, "removed": gone}

    def indexed_digests(self, lang: str) -> dict[str, str | None]:
        """Return {article id: digest} of what the live index holds for one language."""
        ix = whoosh_index.open_dir(str(self.current_link / lang))
        with ix.searcher() as searcher:
            return {fields["id"]: fields.get("digest") for fields in searcher.all_stored_fields()}

    def sync(self) -> dict:
        """Bring the live index in step with the store, article by article; return what changed.

        Only articles whose file changed are re-indexed and only vanished ones removed. A whole
        build happens only when there is no index yet or the schema, search.yaml or
        provider.yaml changed (then every document may differ).
        """
        with self._build_lock():
            try:
                meta = json.loads((self.current_link / "meta.json").read_text())
            except (OSError, ValueError):
                meta = {}
            if meta.get("base") != self.base_fingerprint():
                self.build(locked=True)
                return {"rebuilt": True, "updated": 0, "removed": 0}
            # Another process may have rebuilt for a new search.yaml: its synonyms apply here too.
            self.vocabulary = {lang: Vocabulary.load(self.store.content_dir, lang) for lang in LANGUAGES}
            updated = removed = 0
            for lang in LANGUAGES:
                indexed = self.indexed_digests(lang)
                wanted = {a.id: a for a in self.store.in_language(lang, include_drafts=True)}
                changed = [a for i, a in wanted.items() if indexed.get(i) != document_digest(a)]
                gone = [i for i in indexed if i not in wanted]
                self._apply(lang, changed, gone)
                updated, removed = updated + len(changed), removed + len(gone)
            fingerprint = self.fingerprint()
            if fingerprint != meta.get("fingerprint"):  # so that a restart does not rebuild what is current
                total = sum(len(self.store.in_language(lang, include_drafts=True)) for lang in LANGUAGES)
                self._write_meta(self.current_link.resolve(), **{**meta, "fingerprint": fingerprint, "articles": total})
            return {"rebuilt": False, "updated": updated, "removed": removed}

    # -- reading -------------------------------------------------------------

    def searcher(self, lang: str):
        """Return this thread's searcher for a language, reopened when the index changed."""
        target = os.readlink(self.current_link) if self.current_link.is_symlink() else None
        if target is None:
            self.heal("no index")
            raise SearchUnavailable("the search index has not been built (run: flask search build)")
        cache = self._local.__dict__.setdefault("searchers", {})
        cached = cache.get(lang)
        if cached and cached[0] == target and cached[1].up_to_date():
            return cached[1]
        # Reopen, also when a single article was updated in place: Whoosh's refresh() reuses the
        # old segment's reader, misses the new deletion and shows the updated article twice.
        # The old one leaves the cache first: if opening fails, no closed searcher stays behind.
        if cached:
            del cache[lang]
            cached[1].close()
        ix = whoosh_index.open_dir(str(self.root / target / lang))
        searcher = ix.searcher(weighting=BM25F(B=0.75, K1=1.2))
        cache[lang] = (target, searcher)
        return searcher

    @_healing
    def search(self, text: str, lang: str, limit: int = 10, category: str | None = None,
               include_drafts: bool = False, suggest: bool = True) -> Results:
        """Search one language; raise QueryError for unusable input.

        Answers are cached per index generation: customers ask the same few questions
        ("outlook", "wachtwoord") over and over, and an index change empties the cache.
        """
        text = clean_query(text)
        searcher = self.searcher(lang)
        key = (lang, text.lower(), limit, category, include_drafts, suggest,
               self._local.searchers[lang][0], searcher.reader().generation())
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        results = self._search(text, lang, searcher, limit, category, include_drafts, suggest)
        if self.cache_size:
            with self._cache_lock:
                self._cache[key] = results
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return results

    def _search(self, text, lang, searcher, limit, category, include_drafts, suggest) -> Results:
        """Run one search on the index (no cache).

        1. The question is read (helpsite.understanding): a program it names puts that program's
           guide first, a known problem it names (530, a certificate warning) its article next.
        2. Its words become terms: question words ("hoe", "stel", "mijn") are dropped, repeated
           words count once, and of a long question only the MAX_QUERY_TERMS that say most.
        3. A flat query: each term in every field, its synonyms in the short fields only; a short
           query needs all its terms first. Typos are corrected only when a word is unknown and
           the first search found little or only common words.
        """
        vocabulary = self.vocabulary[lang]
        reader = searcher.reader()
        analyzer = searcher.schema["body"].analyzer
        limit = max(1, min(int(limit), MAX_LIMIT))
        doc_count = max(1, reader.doc_count())
        understood = self._understand(text, lang)
        concepts = self._concepts(_words(text)[:MAX_QUERY_WORDS], reader, vocabulary, analyzer,
                                  memo=self._word_memo(lang, reader))
        priority = set()
        if understood is not None:
            for phrase in understood.evidence.words("client", "technology", "troubleshooting", "self_service"):
                priority.update(_words(phrase))
        chosen = choose_terms(concepts, priority)
        if not chosen:
            return Results(query=text, lang=lang, hits=[])
        results, highlight = self._run(searcher, chosen, analyzer, limit, category, include_drafts)

        suggestion = None
        unknown = [c for c in chosen if not c.known and len(c.phrase) >= 4]
        known = [c for c in chosen if c.known]
        common = bool(known) and all(c.frequency > COMMON_SHARE * doc_count for c in known)
        if unknown and (len(results) < FEW_HITS or common or not known):
            fixed = False
            for concept in unknown[:MAX_CORRECTIONS]:
                fix = self._correct(concept.phrase, reader)
                if fix:
                    concept.correct(fix, vocabulary, reader, analyzer)
                    fixed = True
            if fixed:
                results, highlight = self._run(searcher, chosen, analyzer, limit, category, include_drafts)
                if suggest and len(chosen) <= 8:
                    suggestion = " ".join(c.phrase for c in chosen)
                unknown = [c for c in chosen if not c.known and len(c.phrase) >= 4]
                known = [c for c in chosen if c.known]
                common = bool(known) and all(c.frequency > COMMON_SHARE * doc_count for c in known)

        leads = self._leads(understood, searcher, lang, category, include_drafts)
        terms = [c.phrase for c in chosen]
        if unknown and common and not leads:
            # "dkim instellen": only "instellen" matched, and it is in half the articles. Listing
            # them all answers nothing; saying so lets the reader rephrase.
            return Results(query=text, lang=lang, hits=[], terms=terms,
                           common_only=[c.written for c in known], unmatched=[c.written for c in unknown])
        pattern = highlight_pattern(highlight)
        # Which section answers is decided by the words asked, not by their synonyms.
        own = set()
        for concept in chosen:
            for phrase in {concept.phrase, concept.written}:
                own.update(phrase.split())
                own.update(t.text for t in analyzer(phrase))
        section_pattern = highlight_pattern(own)
        found = {hit["id"]: (hit.fields(), hit.score) for hit in results}
        top = max((score for _fields, score in found.values()), default=0.0)
        ordered = []
        for position, article_id in enumerate(leads):
            fields, score = found.get(article_id) or (searcher.stored_fields(leads[article_id]), 0.0)
            ordered.append((fields, max(score, top) + (len(leads) - position) * 0.001))
        ordered.extend((fields, score) for article_id, (fields, score) in found.items() if article_id not in leads)
        hits = [self._hit(fields, lang, score, highlight, pattern, section_pattern) for fields, score in ordered[:limit]]
        return Results(query=text, lang=lang, hits=hits, suggestion=suggestion,
                       total=max(len(hits), results.scored_length()), terms=terms)

    def _word_memo(self, lang: str, reader) -> dict:
        """Return this index generation's memo of what is known about each word (frequency, groups).

        A pasted question has a hundred words and most of them recur in other questions; looking
        each up in the index (analyzer, four fields) once per generation keeps long questions cheap.
        """
        key = (lang, self._local.searchers[lang][0], reader.generation())
        memos = self.__dict__.setdefault("_memos", {})
        memo = memos.get(key)
        if memo is None or len(memo) > WORD_MEMO_SIZE:
            memos.clear()  # an older generation's words are stale
            memo = memos[key] = {}
        return memo

    def _understand(self, text: str, lang: str):
        """Return what the question is about, or None when the triage rules cannot be read."""
        try:
            rules = load_rules(self.store.content_dir)
        except RulesError:
            return None
        return understand(text, rules, lang)

    def _leads(self, understood, searcher, lang, category, include_drafts) -> dict[str, int]:
        """Return {article id: document number} of what the question itself points to, in order."""
        if understood is None:
            return {}
        wanted = [self._guide_id(searcher, program) for program in understood.programs[:2]]
        wanted.extend(understood.article_ids())
        leads = {}
        for article_id in wanted:
            if not article_id or article_id in leads:
                continue
            number = searcher.document_number(id=article_id)
            if number is None:
                continue
            fields = searcher.stored_fields(number)
            if category and fields.get("category") != category:
                continue
            article = self.store.get(lang, article_id, include_drafts=True)
            if article is not None and article.draft and not include_drafts:
                continue
            leads[article_id] = number
        return leads

    @staticmethod
    def _guide_id(searcher, program: str) -> str | None:
        """Return the id of the guide for exactly this program (applies_to: [program]), if any."""
        for number in searcher.document_numbers(applies_to=program):
            fields = searcher.stored_fields(number)
            if fields.get("applies_to") == program:
                return fields["id"]
        return None

    def _run(self, searcher, chosen, analyzer, limit, category, include_drafts):
        """Search for the chosen terms; return Whoosh's results and the words to highlight."""
        highlight: set[str] = set()
        parts = [q for q in (c.query(analyzer, highlight) for c in chosen) if q is not None]

        def restricted(query):
            # Category and drafts narrow the query itself: Whoosh's filter= would first
            # collect every matching document number, on every search.
            if category:
                query = Q.And([query, Q.Term("category", category)])
            if not include_drafts:
                query = Q.AndNot(query, Q.Term("draft", "yes"))
            return query

        if not parts:
            return searcher.search(restricted(Q.NullQuery), limit=limit), highlight
        if len(parts) <= ALL_TERMS_UP_TO:
            results = searcher.search(restricted(Q.And(parts)), limit=limit)
            if not results.is_empty() or len(parts) == 1:
                return results, highlight
        return searcher.search(restricted(UnionOr(parts)), limit=limit), highlight

    def _hit(self, fields: dict, lang: str, score: float, highlight: set[str], pattern, section_pattern=None) -> Hit:
        """Make a result, linking to and quoting the section that matches best."""
        sections = json.loads(fields.get("sections") or "[]")
        section = best_section(sections, section_pattern or pattern, fields["title"])
        if section is not None:
            anchor, heading, text = sections[section]
            snippet = make_snippet(text, highlight, pattern)
        else:
            anchor = heading = None
            snippet = make_snippet(fields["body"], highlight, pattern)
        return Hit(
            id=fields["id"], lang=lang, slug=fields["slug"], title=fields["title"], summary=fields["summary"],
            category=fields["category"], applies_to=[a for a in fields["applies_to"].split(",") if a],
            snippet=snippet, score=round(score, 3), section=anchor, section_title=heading,
        )

    def _concepts(self, words: list[str], reader, vocabulary: Vocabulary, analyzer,
                  drop_question_words: bool = True, memo: dict | None = None) -> list["Concept"]:
        """Group the words into concepts (synonym phrases first), without question words or repeats.

        A query of nothing but question words ("vraag stellen") keeps them: then they are the subject.
        """
        phrases = vocabulary.phrases()
        concepts: dict[str, Concept] = {}
        i = 0
        while i < len(words):
            matched = None
            for size in (3, 2):  # longest synonym phrase first
                phrase = " ".join(words[i:i + size])
                if i + size <= len(words) and phrase in phrases:
                    matched = phrase
                    break
            if matched:
                i += len(matched.split())
            else:
                matched = words[i]
                i += 1
                if (drop_question_words and matched in vocabulary.question_words) or (
                        matched not in phrases and not any(True for _token in analyzer(matched))):
                    continue  # a question word or a stop word: it does not decide the ranking
            if matched not in concepts:
                concepts[matched] = Concept.make(matched, matched, vocabulary, reader, analyzer, len(concepts), memo)
        if not concepts and drop_question_words:
            return self._concepts(words, reader, vocabulary, analyzer, drop_question_words=False, memo=memo)
        return list(concepts.values())

    @staticmethod
    def _correct(word: str, reader) -> str | None:
        """Return the most frequent indexed word within one or two edits, or None."""
        maxdist = 1 if len(word) <= 5 else 2
        candidates = []
        for candidate in reader.terms_within("words", word, maxdist):
            if candidate == word:
                continue
            distance = 1 if maxdist == 1 else edit_distance(word, candidate)
            candidates.append((distance, -reader.doc_frequency("words", candidate), candidate))
        if not candidates:
            return None
        return min(candidates)[2]

    def stats(self) -> dict:
        """Return what the index holds, for the command line and the editors; "problem" when it is broken."""
        try:
            meta = json.loads((self.current_link / "meta.json").read_text())
        except (OSError, ValueError):
            return {"built": False}
        return {"built": True, **meta, "current": meta.get("fingerprint") == self.fingerprint(),
                "problem": self.probe()}

    # -- healing ---------------------------------------------------------------

    def probe(self) -> str | None:
        """Open every language's index and read it through a query; return the problem, or None.

        meta.json says nothing about the segment files: they may be cut, overwritten or gone.
        """
        if not self.current_link.is_symlink():
            return "no index"
        for lang in LANGUAGES:
            try:
                ix = whoosh_index.open_dir(str(self.current_link / lang))
                with ix.searcher() as searcher:
                    for docnum in searcher.search(Q.Every(), limit=None).docs():
                        searcher.stored_fields(docnum)
                    reader = searcher.reader()
                    for fieldname in ("title", "body"):
                        for _term in reader.lexicon(fieldname):
                            pass
                    searcher.search(Q.Term("body", "mail"), limit=3)
            except Exception as exc:  # noqa: BLE001 - any failure here is a broken index
                return f"{lang}: {type(exc).__name__}: {exc}"[:300]
        return None

    def forget_searchers(self) -> None:
        """Close and drop this thread's searchers (the next search opens the index afresh)."""
        for _target, searcher in self._local.__dict__.pop("searchers", {}).values():
            try:
                searcher.close()
            except Exception:  # noqa: BLE001 - a broken searcher may fail to close too
                pass

    def heal(self, reason: str) -> bool:
        """Rebuild a missing or broken index in a background thread; at most every heal_interval seconds."""
        if not self.self_healing:
            return False
        with self._heal_lock:
            now = time.monotonic()
            if (self._healing is not None and self._healing.is_alive()) or now - self._last_heal < self.heal_interval:
                return False
            self._last_heal = now
            log.error("search index unusable (%s): rebuilding it in the background", reason)
            failed = os.readlink(self.current_link) if self.current_link.is_symlink() else None
            self._healing = threading.Thread(target=self._rebuild, args=(failed,), name="search-heal", daemon=True)
            self._healing.start()
            return True

    def _rebuild(self, failed: str | None) -> None:
        try:
            with self._build_lock():
                now = os.readlink(self.current_link) if self.current_link.is_symlink() else None
                if now != failed and self.probe() is None:  # another process healed it meanwhile
                    return
                self.build(locked=True)
            log.info("search index rebuilt")
        except Exception:  # noqa: BLE001 - the next failing search tries again
            log.exception("rebuilding the search index failed")
        finally:
            self._last_heal = time.monotonic()  # the pause counts from the end of a (failed) rebuild


SNIPPET_CHARS = 220
SNIPPET_LEAD = 70


def make_snippet(text: str, terms: set[str], pattern=None) -> str:
    """Return an HTML-escaped excerpt around the first match, with matched words in <mark>.

    Whoosh's highlighter re-analyzes the whole stored body (stemming, compound splitting)
    for every hit, which cost more than the search itself; a prefix match on the words
    and stems of the query finds the same places for a fraction of the time.
    """
    if not text:
        return ""
    if pattern is None:
        pattern = highlight_pattern(terms)
    first = pattern.search(text) if pattern else None
    start = 0
    if first and first.start() > SNIPPET_LEAD:
        start = text.rfind(" ", 0, first.start() - SNIPPET_LEAD) + 1
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    window = text[start:end]
    pieces, position = [], 0
    for match in (pattern.finditer(window) if pattern else ()):
        pieces.append(html.escape(window[position:match.start()]))
        pieces.append(f'<mark class="match">{html.escape(match.group(0))}</mark>')
        position = match.end()
    pieces.append(html.escape(window[position:]))
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else "")


@dataclass
class Concept:
    """One thing the reader asked for: a word or synonym phrase, with its synonyms and frequency."""

    phrase: str  # folded; after a correction, the corrected word
    written: str  # as typed (folded), for "matched nothing"
    alternatives: list[str]  # the phrase first, then its synonyms (then the typed word, when corrected)
    frequency: int  # articles the phrase itself is in (the highest of its words)
    known: bool  # the phrase or one of its synonyms is in some article
    order: int  # place in the question
    groups: list[str] = field(default_factory=list)  # synonym groups of the phrase

    @classmethod
    def make(cls, phrase, written, vocabulary, reader, analyzer, order, memo=None) -> "Concept":
        concept = cls(phrase, written, [], 0, False, order)
        if memo is not None and phrase in memo:
            concept.alternatives, concept.groups, concept.frequency, concept.known = memo[phrase]
            concept.alternatives = list(concept.alternatives)
            return concept
        concept._fill(phrase, vocabulary, reader, analyzer)
        if memo is not None:
            memo[phrase] = (tuple(concept.alternatives), concept.groups, concept.frequency, concept.known)
        return concept

    def _fill(self, phrase, vocabulary, reader, analyzer, extra=()):
        self.phrase = phrase
        self.alternatives = [*vocabulary.groups_for(phrase), *extra]
        self.groups = vocabulary.group_ids(phrase)
        # How many articles it is in: the word's own, or its synonym group's (the group holds the word).
        self.frequency = max([_frequency(phrase, reader, analyzer),
                              *(reader.doc_frequency("synonyms", g) for g in self.groups)])
        # Known: written in some article as typed (a compound's parts do not count: "outlok" has
        # "out" in it), or in a synonym group that some article has.
        self.known = (reader.doc_frequency("words", phrase) > 0 if " " not in phrase else self.frequency > 0) \
            or any(reader.doc_frequency("synonyms", g) for g in self.groups)

    def correct(self, fix, vocabulary, reader, analyzer) -> None:
        self._fill(fix, vocabulary, reader, analyzer, extra=(self.written,))

    def query(self, analyzer, highlight: set[str]):
        """Return a flat query: the phrase (or correction and typed word) in every field, plus one
        term for each synonym group it belongs to (expanded at index time)."""
        for phrase in self.alternatives:  # synonyms are found through their group, but marked in snippets
            highlight.update(phrase.split())
            highlight.update(t.text for t in analyzer(phrase))
        clauses = []
        for phrase in dict.fromkeys([self.phrase, self.written]):  # the word typed, or its correction and it
            tokens = list(dict.fromkeys(t.text for t in analyzer(phrase)))
            if not tokens or (" " in phrase and self.groups):
                continue  # a synonym phrase ("uitgaande server") is found, as a phrase, through its group
            # A word with synonyms is found in the body through its group (which holds the word too);
            # the word itself still counts extra in the title, tags and summary.
            fields = SYNONYM_FIELDS if self.groups and phrase == self.phrase else FIELD_WEIGHTS
            if " " in phrase and len(tokens) > 1:  # a phrase: all of its words
                clauses.append(Q.And([UnionOr([Q.Term(name, token, boost=weight)
                                               for name, weight in fields.items()]) for token in tokens]))
            else:  # a word, or a compound and its parts: any of them
                clauses.extend(Q.Term(name, token, boost=weight) for token in tokens for name, weight in fields.items())
        clauses.extend(Q.Term("synonyms", group, boost=SYNONYM_GROUP_WEIGHT) for group in self.groups)
        return UnionOr(clauses) if clauses else None


def _frequency(phrase: str, reader, analyzer) -> int:
    """Return in how many articles the phrase's best-known word occurs (0: in none)."""
    best = 0
    for token in {t.text for t in analyzer(phrase)}:
        for name in FIELD_WEIGHTS:
            best = max(best, reader.doc_frequency(name, token))
    return best


def choose_terms(concepts: list[Concept], priority: set[str]) -> list[Concept]:
    """Return at most MAX_QUERY_TERMS concepts, in the question's order.

    What the question names (a program, an error, a technology) is kept first; then the words
    that are in some articles, the rarer the better; words in no article at all come last.
    """
    if len(concepts) <= MAX_QUERY_TERMS:
        return concepts

    def rank(concept: Concept):
        named = any(word in priority for word in concept.phrase.split())
        return (not named, not concept.known, concept.frequency if concept.known else 0, concept.order)

    kept = sorted(concepts, key=rank)[:MAX_QUERY_TERMS]
    return sorted(kept, key=lambda c: c.order)


def highlight_pattern(terms: set[str]):
    """Return the regular expression that finds the query's words and stems in a text, or None."""
    usable = sorted({t for t in terms if len(t) >= 3}, key=len, reverse=True)
    # group 1 is the query word or stem that matched, group 0 the whole word in the text
    return re.compile(r"(?<!\w)(%s)\w*" % "|".join(map(re.escape, usable)), re.I) if usable else None


def best_section(sections: list[list[str]], pattern, title: str = "") -> int | None:
    """Return the index of the section (not the start) whose heading and text match the most distinct
    query words, when it matches more than the start of the article; else None.

    Words of the article's title do not count: they say what the whole article is about ("filezilla"
    in the FileZilla guide), not which part answers.
    """
    if pattern is None or len(sections) < 2:
        return None
    in_title = {m.group(1).casefold() for m in pattern.finditer(title)}
    counts = [len({m.group(1).casefold() for m in pattern.finditer(f"{heading} {text}")} - in_title)
              for _anchor, heading, text in sections]
    best = max(range(len(counts)), key=lambda i: (counts[i], -i))
    return best if best > 0 and counts[best] > counts[0] else None
