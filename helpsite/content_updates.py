"""Keeping the article store's lookups current file by file, without deriving them all again.

ArticleStore (helpsite/content.py) takes apply_changes() from IncrementalUpdates; the ordered
lists (by title, per category) are kept sorted with bisect, and the content version is an
order-free XOR of one hash per article, so one changed file costs milliseconds with thousands.
"""

from __future__ import annotations

import bisect
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from .content_related import features

if TYPE_CHECKING:
    from .content_parse import Article


def _title_key(article: "Article") -> tuple[str, str]:
    return article.title.lower(), article.path_text  # the path breaks ties, the same way in a full load


def _version_part(article: "Article") -> int:
    """Return one article's share of the content version (combined with XOR, so order does not matter)."""
    return int.from_bytes(hashlib.sha256(f"{article.lang}/{article.slug}\0{article.digest}".encode()).digest()[:16], "big")


def _insert_sorted(ordered: list, article: "Article") -> None:
    ordered.insert(bisect.bisect_right(ordered, _title_key(article), key=_title_key), article)


def _remove_sorted(ordered: list, article: "Article") -> None:
    position = bisect.bisect_left(ordered, _title_key(article), key=_title_key)
    while position < len(ordered) and _title_key(ordered[position]) == _title_key(article):
        if ordered[position] is article:
            del ordered[position]
            return
        position += 1


def _unlink(t: dict, article: "Article") -> None:
    """Take an article out of the store's lookup tables t (copies being prepared)."""
    lang = article.lang
    t["by_lang"][lang].pop(article.id, None)
    if t["slugs"][lang].get(article.slug) is article:
        del t["slugs"][lang][article.slug]
    for alias in article.aliases:
        if t["aliases"][lang].get(alias) is article:
            del t["aliases"][lang][alias]
    _remove_sorted(t["by_title"][lang], article)
    if not article.draft:
        _remove_sorted(t["in_category"][lang].get(article.category, []), article)
    t["features"][lang].pop(article.id, None)


def _link(t: dict, article: "Article") -> None:
    """Put an article into the store's lookup tables t."""
    lang = article.lang
    t["by_lang"][lang][article.id] = article
    t["slugs"][lang][article.slug] = article
    for alias in article.aliases:
        t["aliases"][lang][alias] = article
    _insert_sorted(t["by_title"][lang], article)
    if not article.draft:
        _insert_sorted(t["in_category"][lang].setdefault(article.category, []), article)
    t["features"][lang][article.id] = features(article)

class IncrementalUpdates:
    """The part of ArticleStore that applies changed, new and deleted files to its lookups."""

    def apply_changes(self, paths) -> dict:
        """Re-read just these files (changed, new or deleted); return what changed.

        Returns {"reloaded": bool, "changed": [Article], "removed": [(lang, id)]}. A changed
        data file (provider facts, categories, vocabulary) reloads everything, because every
        article may render differently.
        """
        paths = {Path(p) for p in paths}
        with self._lock:
            if any(self.is_data_file(p) for p in paths):
                before = {(a.lang, a.id) for arts in self.by_lang.values() for a in arts.values()}
                self.reload()
                after = {(a.lang, a.id) for arts in self.by_lang.values() for a in arts.values()}
                return {"reloaded": True, "changed": [a for arts in self.by_lang.values() for a in arts.values()],
                        "removed": sorted(before - after)}
            errors = [e for e in self.errors if Path(e.path) not in paths]
            updates = []  # (path, previous article or None, new article or None)
            for path in paths:
                lang = self.article_path_lang(path)
                if lang is None:
                    continue
                previous = self._by_path.get(str(path))
                article = self._parse(path, lang, errors) if path.exists() else None
                if previous is not None and article is not None and previous.digest_bytes == article.digest_bytes:
                    continue  # touched, not changed
                if previous is None and article is None:
                    continue  # a new file that cannot be used (logged), or one created and deleted again
                updates.append((path, previous, article))
            self.errors = errors
            if not updates:
                return {"reloaded": False, "changed": [], "removed": []}
            if self._needs_full_finish(updates):
                old = {(a.lang, a.id): a for arts in self.by_lang.values() for a in arts.values()}
                for path, _, article in updates:
                    if article is None:
                        self._by_path.pop(str(path), None)
                    else:
                        self._by_path[str(path)] = article
                self._finish()
                new = {(a.lang, a.id): a for arts in self.by_lang.values() for a in arts.values()}
                changed = [a for key, a in new.items() if old.get(key) is not a]
                removed = sorted(key for key in old if key not in new)
            else:
                changed, removed = self._update_in_place(updates)
            self._forget_related({(a.lang, a.id) for a in changed} | set(removed))
            return {"reloaded": False, "changed": changed, "removed": removed}

    def _needs_full_finish(self, updates) -> bool:
        """Return whether ids move between files (duplicates, renames onto an id): then derive everything again."""
        for path, previous, article in updates:
            for item in (previous, article):
                if item is None:
                    continue
                holder = self.by_lang.get(item.lang, {}).get(item.id)
                if holder is not None and holder.path_text != str(path):
                    return True  # another file has this id
            if previous is not None and self.by_lang.get(previous.lang, {}).get(previous.id) is not previous:
                return True  # the previous version was itself a skipped duplicate
            if previous is not None and article is not None and previous.id != article.id:
                return True
        return any(getattr(e, "duplicate", False) for e in self.errors)

    def _update_in_place(self, updates) -> tuple[list[Article], list[tuple[str, str]]]:
        """Apply changed files to every lookup without deriving them again: no file read, no sort, no hash of all.

        The lookups of the languages involved are copied, changed and swapped in, so that a
        request reading them meanwhile (in another thread) never sees one half-changed.
        """
        langs = {item.lang for _, previous, article in updates for item in (previous, article) if item is not None}
        t = {
            "by_lang": dict(self.by_lang), "slugs": dict(self._slugs), "aliases": dict(self._aliases),
            "by_title": dict(self._by_title), "in_category": dict(self._in_category), "features": dict(self._features),
        }
        for lang in langs:
            for name in ("by_lang", "slugs", "aliases", "features"):
                t[name][lang] = dict(t[name].get(lang, {}))
            t["by_title"][lang] = list(t["by_title"].get(lang, []))
            t["in_category"][lang] = {c: list(v) for c, v in t["in_category"].get(lang, {}).items()}
        changed, removed, links_moved = [], [], False
        for path, previous, article in updates:
            if previous is not None:
                _unlink(t, previous)
                self._version_sum ^= _version_part(previous)
            if article is None:
                self._by_path.pop(str(path), None)
                removed.append((previous.lang, previous.id))
                links_moved = True
                continue
            self._by_path[str(path)] = article
            _link(t, article)
            self._version_sum ^= _version_part(article)
            changed.append(article)
            links_moved = links_moved or previous is None or previous.slug != article.slug
        self.by_lang, self._slugs, self._aliases = t["by_lang"], t["slugs"], t["aliases"]
        self._by_title, self._in_category, self._features = t["by_title"], t["in_category"], t["features"]
        self._set_version()
        if links_moved:  # links in other articles may resolve differently now
            self._render_epoch = hashlib.sha256(f"{self._render_epoch}\0{self.version}".encode()).hexdigest()
            self.renders.clear_memory()
        return changed, sorted(removed)

