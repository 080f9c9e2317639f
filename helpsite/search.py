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
import unicodedata
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

log = logging.getLogger(__name__)

SCHEMA_VERSION = "5"
MAX_QUERY_LENGTH = 200
MAX_QUERY_WORDS = 12
MAX_LIMIT = 50
WORD = re.compile(r"[\w][\w.+#-]*\w|\w", re.UNICODE)
FIELD_WEIGHTS = {"title": 4.0, "tags": 3.0, "summary": 2.0, "body": 1.0}
# A synonym counts for less than the word typed: otherwise "FTP instellen in WinSCP" finds the
# FileZilla guide first, because "filezilla" is a synonym of "ftp" and fills that guide's title.
SYNONYM_WEIGHT = 0.3


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


def fold(text: str) -> str:
    """Lowercase and strip accents, so that 'beëindigen' and 'beeindigen' are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


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
    )


@dataclass
class Vocabulary:
    """Search vocabulary of one language: synonym groups and compound parts."""

    synonyms: list[list[str]] = field(default_factory=list)
    compound_parts: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, content_dir: Path, lang: str) -> "Vocabulary":
        data = load_yaml(Path(content_dir) / "search.yaml", {}) or {}
        groups = [[fold(str(w)) for w in group] for group in (data.get("synonyms") or {}).get(lang, [])]
        parts = [str(p) for p in (data.get("compound_parts") or {}).get(lang, [])]
        return cls(synonyms=groups, compound_parts=parts)

    def groups_for(self, phrase: str) -> list[str]:
        """Return the word or phrase itself first, then every synonym of it."""
        found = {phrase}
        for group in self.synonyms:
            if phrase in group:
                found.update(group)
        return [phrase] + sorted(found - {phrase})

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


@dataclass
class Results:
    """The answer to one search: hits, the suggestion and the query as understood."""

    query: str
    lang: str
    hits: list[Hit]
    suggestion: str | None = None
    total: int = 0


def _words(text: str) -> list[str]:
    return [w.strip(".-+#") for w in WORD.findall(fold(text)) if w.strip(".-+#")]


def document_digest(article: Article) -> str:
    """Return what identifies the indexed version of an article: its file name and file contents."""
    return f"{article.slug}:{article.digest}"


def documents(article: Article) -> dict:
    """Return the index document for an article."""
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
    }


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
        # An app that does not build at start-up (a command, a test) does not build to heal either.
        self.self_healing = bool(app.config.get("SEARCH_BUILD_ON_START", True))
        self.vocabulary = {lang: Vocabulary.load(self.store.content_dir, lang) for lang in LANGUAGES}
        app.extensions["search"] = self
        if app.config.get("SEARCH_BUILD_ON_START", True):
            self.ensure_current()

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
        for lang in LANGUAGES:
            folder = target / lang
            folder.mkdir()
            ix = whoosh_index.create_in(str(folder), make_schema(lang, self.vocabulary[lang].compound_parts))
            writer = ix.writer(limitmb=256)
            for article in articles[lang]:
                writer.add_document(**documents(article))
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
                writer.update_document(**documents(article))
            for article_id in removed:
                writer.delete_by_term("id", article_id)

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
        """Run one search on the index (no cache)."""
        schema = searcher.schema
        vocabulary = self.vocabulary[lang]
        words = _words(text)[:MAX_QUERY_WORDS]
        concepts, corrected, changed = self._concepts(words, searcher, vocabulary)
        if not concepts:
            return Results(query=text, lang=lang, hits=[])

        highlight_terms: set[str] = set()

        def concept_query(alternatives: list[str]):
            options = []
            for position, phrase in enumerate(alternatives):  # the word typed (or its correction) first
                tokens = [t.text for t in schema["body"].analyzer(phrase)]
                if not tokens:
                    continue
                highlight_terms.update(phrase.split())
                highlight_terms.update(tokens)
                own = 1.0 if position == 0 else SYNONYM_WEIGHT
                per_token = [
                    UnionOr([Q.Term(name, token, boost=weight * own) for name, weight in FIELD_WEIGHTS.items()])
                    for token in dict.fromkeys(tokens)
                ]
                if len(per_token) == 1:
                    options.append(per_token[0])
                elif " " in phrase:  # a multi-word synonym: all of its words
                    options.append(Q.And(per_token))
                else:  # a compound split into parts: any part is a (weaker) match
                    options.append(UnionOr(per_token))
            return UnionOr(options) if options else None

        parts = [q for q in (concept_query(c) for c in concepts) if q is not None]
        if not parts:
            return Results(query=text, lang=lang, hits=[])

        def restricted(query):
            # Category and drafts narrow the query itself: Whoosh's filter= would first
            # collect every matching document number, on every search.
            if category:
                query = Q.And([query, Q.Term("category", category)])
            if not include_drafts:
                query = Q.AndNot(query, Q.Term("draft", "yes"))
            return query

        limit = max(1, min(int(limit), MAX_LIMIT))
        results = searcher.search(restricted(Q.And(parts)), limit=limit)
        if results.is_empty() and len(parts) > 1:
            results = searcher.search(restricted(UnionOr(parts)), limit=limit)
        hits = []
        for hit in results:
            snippet = make_snippet(hit["body"], highlight_terms)
            hits.append(Hit(
                id=hit["id"], lang=lang, slug=hit["slug"], title=hit["title"], summary=hit["summary"],
                category=hit["category"], applies_to=[a for a in hit["applies_to"].split(",") if a],
                snippet=snippet, score=round(hit.score, 3),
            ))
        suggestion = " ".join(corrected) if changed and suggest else None
        return Results(query=text, lang=lang, hits=hits, suggestion=suggestion, total=results.scored_length())

    def _concepts(self, words: list[str], searcher, vocabulary: Vocabulary):
        """Group the words into concepts: synonym phrases, known words and corrected typos."""
        phrases = vocabulary.phrases()
        reader = searcher.reader()
        concepts: list[list[str]] = []
        corrected: list[str] = []
        changed = False
        i = 0
        while i < len(words):
            matched = None
            for size in (3, 2):  # longest synonym phrase first
                phrase = " ".join(words[i:i + size])
                if i + size <= len(words) and phrase in phrases:
                    matched = phrase
                    break
            if matched:
                concepts.append(vocabulary.groups_for(matched))
                corrected.append(matched)
                i += len(matched.split())
                continue
            word = words[i]
            i += 1
            if word in phrases or reader.doc_frequency("words", word) > 0 or len(word) < 4:
                concepts.append(vocabulary.groups_for(word))
                corrected.append(word)
                continue
            fix = self._correct(word, reader)
            if fix:
                changed = True
                concepts.append([*vocabulary.groups_for(fix), word])
                corrected.append(fix)
            else:
                concepts.append(vocabulary.groups_for(word))
                corrected.append(word)
        return concepts, corrected, changed

    @staticmethod
    def _correct(word: str, reader) -> str | None:
        """Return the most frequent indexed word within one or two edits, or None."""
        maxdist = 1 if len(word) <= 5 else 2
        candidates = []
        for candidate in reader.terms_within("words", word, maxdist):
            if candidate == word:
                continue
            distance = 1 if maxdist == 1 else _edit_distance(word, candidate)
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


def make_snippet(text: str, terms: set[str]) -> str:
    """Return an HTML-escaped excerpt around the first match, with matched words in <mark>.

    Whoosh's highlighter re-analyzes the whole stored body (stemming, compound splitting)
    for every hit, which cost more than the search itself; a prefix match on the words
    and stems of the query finds the same places for a fraction of the time.
    """
    if not text:
        return ""
    usable = sorted({t for t in terms if len(t) >= 3}, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:%s)\w*" % "|".join(map(re.escape, usable)), re.I) if usable else None
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


def _edit_distance(a: str, b: str) -> int:
    """Return the Damerau-Levenshtein distance between two short words."""
    previous = list(range(len(b) + 1))
    before = None
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if before and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current.append(value)
        before, previous = previous, current
    return previous[-1]
