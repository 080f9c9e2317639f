"""Building the index: one Whoosh index per language in a build folder, swapped in atomically.

The index is derived data: it is built aside in a fresh folder and swapped in by renaming a
symlink, so a reader never sees a half-built index and several worker processes can serve from
the same one. Single changed articles are written into the live index; a missing or broken
index is rebuilt in the background (heal).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as Q

from ..content import LANGUAGES, Article
from ..rendering import html_text
from .analysis import FIELD_WEIGHTS, Vocabulary, load_vocabularies, words_in
from .writing import PARALLEL_WRITE_MIN, write_language, write_language_from_files

log = logging.getLogger(__name__)

SCHEMA_VERSION = "8"  # 8: stored text without a space where an inline tag was


def document_digest(article: Article) -> str:
    """Return what identifies the indexed version of an article: its file name and file contents."""
    return f"{article.slug}:{article.digest}"


def documents(article: Article, vocabulary: Vocabulary | None = None, analyzer=None) -> dict:
    """Return the index document for an article (with its synonym groups, given the vocabulary)."""
    words = set(words_in(" ".join([article.title, article.summary, " ".join(article.tags), article.plain_text])))
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


def article_sections(article: Article) -> list[list[str]]:
    """Return [[anchor, heading, text], ...]: the start of the article (no anchor), then each h2 section."""
    pieces = H2.split(article.html)
    sections = [["", "", html_text(pieces[0])]]
    for i in range(1, len(pieces) - 2, 3):
        sections.append([pieces[i], html_text(pieces[i + 1]), html_text(pieces[i + 2])])
    return sections


class IndexBuilder:
    """The index folder of a SearchIndex: building, swapping, updating in place and healing.

    Uses root, store, vocabulary, build_processes and the heal settings set by SearchIndex.init_app.
    """

    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def fingerprint(self) -> str:
        """Return what the index must have been built from: the content and the schema version."""
        return f"{SCHEMA_VERSION}-{self.store.content_hash()}"

    def _meta(self) -> dict:
        """Return the index in use's meta.json ({} when there is no readable one)."""
        try:
            meta = json.loads((self.current_link / "meta.json").read_text())
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def built_fingerprint(self) -> str | None:
        """Return the fingerprint of the index in use, or None when there is none."""
        return self._meta().get("fingerprint")

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
        self.vocabulary = load_vocabularies(self.store.content_dir)
        fingerprint = self.fingerprint()
        base = self.base_fingerprint()
        started = time.perf_counter()
        target = self.root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
        target.mkdir(parents=True)
        articles = {lang: self.store.in_language(lang, include_drafts=True) for lang in LANGUAGES}
        total, done = sum(len(a) for a in articles.values()), 0
        for lang in LANGUAGES:
            (target / lang).mkdir()
        here, there = LANGUAGES[0], LANGUAGES[-1]
        elsewhere = None
        if self.build_processes > 1 and not self.store.renders.disabled and len(articles[there]) >= PARALLEL_WRITE_MIN:
            # The other language's index is written by a second process meanwhile (spawn, not
            # fork: the parent runs threads, and a forked child could inherit a held lock). Each
            # process renders what the render cache lacks as it goes, so that rendering (half
            # of a cold build) and indexing keep both cores busy from the start.
            pool = multiprocessing.get_context("spawn").Pool(1)
            elsewhere = pool.apply_async(write_language_from_files, (
                str(self.store.content_dir), str(self.store.renders.path), str(target / there), there))
            pool.close()
        else:
            # Render what the render cache lacks first, in parallel processes when there are
            # many (a rebuild with unchanged articles renders nothing).
            self.store.prerender([a for arts in articles.values() for a in arts], processes=self.build_processes)
        try:
            for lang in LANGUAGES if elsewhere is None else [here]:
                offset = done
                done += write_language(target / lang, lang, articles[lang], self.vocabulary[lang],
                                       progress and (lambda n, offset=offset: progress(offset + n, total)))
            if elsewhere is not None:
                done += elsewhere.get()
                if progress:
                    progress(done, total)
        finally:
            if elsewhere is not None:
                pool.terminate()
                pool.join()
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
        def differences(lang: str) -> tuple[list[Article], list[str]]:
            mine = [a for a in changed if a.lang == lang]
            ids = [article_id for removed_lang, article_id in removed if removed_lang == lang]
            if not mine and not ids:
                return [], []
            ix = whoosh_index.open_dir(str(self.current_link / lang))
            with ix.searcher() as searcher:
                return ([a for a in mine if (searcher.document(id=a.id) or {}).get("digest") != document_digest(a)],
                        [i for i in ids if searcher.document_number(id=i) is not None])

        return self._bring_in_step(differences)

    def sync(self) -> dict:
        """Bring the live index in step with the store, article by article; return what changed.

        Only articles whose file changed are re-indexed and only vanished ones removed. A whole
        build happens only when there is no index yet or the schema, search.yaml or
        provider.yaml changed (then every document may differ).
        """
        def differences(lang: str) -> tuple[list[Article], list[str]]:
            indexed = self.indexed_digests(lang)
            wanted = {a.id: a for a in self.store.in_language(lang, include_drafts=True)}
            return ([a for i, a in wanted.items() if indexed.get(i) != document_digest(a)],
                    [i for i in indexed if i not in wanted])

        return self._bring_in_step(differences)

    def _bring_in_step(self, differences) -> dict:
        """Write what differences(lang) -> (changed articles, removed ids) finds into the live index.

        The whole index is built instead when the index is missing or what every document
        depends on changed (see base_fingerprint). Returns {"rebuilt", "updated", "removed"}.
        """
        with self._build_lock():
            meta = self._meta()
            if meta.get("base") != self.base_fingerprint():
                self.build(locked=True)
                return {"rebuilt": True, "updated": 0, "removed": 0}
            # Another process may have rebuilt for a new search.yaml: its synonyms apply here too.
            self.vocabulary = load_vocabularies(self.store.content_dir)
            updated = removed = 0
            for lang in LANGUAGES:
                changed, gone = differences(lang)
                self._apply(lang, changed, gone)
                updated, removed = updated + len(changed), removed + len(gone)
            fingerprint = self.fingerprint()
            if fingerprint != meta.get("fingerprint"):  # so that a restart does not rebuild what is current
                total = sum(len(self.store.in_language(lang, include_drafts=True)) for lang in LANGUAGES)
                self._write_meta(self.current_link.resolve(), **{**meta, "fingerprint": fingerprint, "articles": total})
            return {"rebuilt": False, "updated": updated, "removed": removed}

    def indexed_digests(self, lang: str) -> dict[str, str | None]:
        """Return {article id: digest} of what the live index holds for one language."""
        ix = whoosh_index.open_dir(str(self.current_link / lang))
        with ix.searcher() as searcher:
            return {fields["id"]: fields.get("digest") for fields in searcher.all_stored_fields()}

    def stats(self) -> dict:
        """Return what the index holds, for the command line and the editors; "problem" when it is broken."""
        meta = self._meta()
        if not meta:
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

