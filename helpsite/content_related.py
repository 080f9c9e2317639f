"""Related articles: the others sharing the most tags, clients and the category, scored once per content version."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .content_parse import Article


# One tuple per distinct set of words, shared by the articles that have it: a frozenset per
# article cost about 11 MiB at 10,000 articles per language.
_FEATURES: dict[tuple, tuple] = {}


def features(article: Article) -> tuple:
    """Return the article's tags and clients, each once (what related articles are scored on)."""
    words = tuple(sorted(set(article.tags) | set(article.applies_to)))
    return _FEATURES.setdefault(words, words)


class RelatedArticles:
    """The part of ArticleStore that finds related articles and keeps the lists until a change can alter them."""

    def _related_words(self, article: Article) -> set:
        return set(self._features.get(article.lang, {}).get(article.id, ())) - {"general"}

    def _related_score(self, article: Article, other: Article) -> tuple:
        mine = self._related_words(article)
        shared = sum(1 for word in self._features.get(other.lang, {}).get(other.id, ()) if word in mine)
        return (shared + (2 if other.category == article.category else 0), other.title)

    def related(self, article: Article, limit: int = 4) -> list[Article]:
        """Return other articles sharing the most tags, clients and the category."""
        # Scoring every article of the language costs more than the rest of the page once there
        # are thousands, so it is done once per article and content version; a changed article
        # only drops the lists it could change (_forget_related).
        key = (article.lang, article.id, limit)
        cached = self._related.get(key)
        if cached is not None and self.by_lang.get(article.lang, {}).get(article.id) is article:
            return cached
        # _related_score for every other article of the language, with the article's own words taken
        # once and the words shared counted once per distinct set of words (the articles share the
        # tuples, see features()): a first visit at 10,000 articles cost 22 ms of scoring, now 10.
        mine = self._related_words(article)
        features_of = self._features.get(article.lang, {})
        shared_by_words: dict[tuple, int] = {}
        scored = []
        for other in self.in_language(article.lang):
            if other.id == article.id:
                continue
            words = features_of.get(other.id, ())
            shared = shared_by_words.get(words)
            if shared is None:
                shared = shared_by_words[words] = sum(1 for word in words if word in mine)
            points = shared + (2 if other.category == article.category else 0)
            if points > 0:
                scored.append(((points, other.title), other))
        # The first `limit` of a stable sort, best first (nlargest is that, ties in the same order).
        found = [a for _points, a in heapq.nlargest(limit, scored, key=lambda pair: pair[0])]
        self._related[key] = found
        return found

    def _forget_related(self, keys: set[tuple]) -> None:
        """Drop the related lists a change of these articles can alter; keep the rest."""
        current = {key: self.by_lang.get(key[0], {}).get(key[1]) for key in keys}
        for cache_key, found in list(self._related.items()):
            lang, article_id, limit = cache_key
            if (lang, article_id) in keys or any((a.lang, a.id) in keys for a in found):
                del self._related[cache_key]
                continue
            owner = self.by_lang.get(lang, {}).get(article_id)
            if owner is None:
                del self._related[cache_key]
                continue
            # A changed or new article may now outrank the last of this list.
            worst = self._related_score(owner, found[-1]) if len(found) >= limit else (0, "")
            for (other_lang, _), changed in current.items():
                if changed is not None and other_lang == lang and changed.id != article_id and not changed.draft:
                    score = self._related_score(owner, changed)
                    if score[0] > 0 and score > worst:
                        del self._related[cache_key]
                        break
