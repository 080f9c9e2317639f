"""Searching the index: a question's terms as one flat Whoosh query, results with snippets.

Answers are cached per index generation; a failure of a broken index becomes SearchUnavailable
and starts a rebuild (see IndexBuilder.heal).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field

from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.scoring import BM25F

from ..text import edit_distance
from ..triage.rules import RulesError, load_rules
from ..understanding import understand
from .analysis import Vocabulary, clean_query, words_in
from .errors import QueryError, SearchUnavailable
from .leads import leads
from .snippets import best_section, highlight_pattern, make_snippet
from .terms import COMMON_SHARE, MAX_QUERY_WORDS, Concept, UnionOr, choose_terms

# A short query (up to this many terms) must match them all before any of them will do.
ALL_TERMS_UP_TO = 4
# Typos are corrected only when the first search found fewer than this (and only these many words).
FEW_HITS = 3
MAX_CORRECTIONS = 4
MAX_LIMIT = 50
WORD_MEMO_SIZE = 50_000


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


class IndexSearcher:
    """The reading side of a SearchIndex: per-thread searchers, the result cache, the query.

    Uses root, current_link, store, vocabulary, cache_size and heal() of SearchIndex.
    """

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
        memo = self._word_memo(lang, reader)
        concepts = self._concepts(words_in(text)[:MAX_QUERY_WORDS], reader, vocabulary, analyzer, memo=memo)
        priority = set()
        if understood is not None:
            for phrase in understood.evidence.words("client", "technology", "troubleshooting", "self_service"):
                priority.update(words_in(phrase))
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
                fix = self._remembered_correction(concept.phrase, reader, memo)
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
        generation = (self._local.searchers[lang][0], reader.generation())
        memos = self.__dict__.setdefault("_memos", {})  # {lang: (generation, memo)}: one per language
        known = memos.get(lang)
        if known is None or known[0] != generation or len(known[1]) > WORD_MEMO_SIZE:
            known = memos[lang] = (generation, {})  # an older generation's words are stale
        return known[1]

    def _understand(self, text: str, lang: str):
        """Return what the question is about, or None when the triage rules cannot be read."""
        try:
            rules = load_rules(self.store.content_dir)
        except RulesError:
            return None
        return understand(text, rules, lang)

    def _leads(self, understood, searcher, lang, category, include_drafts) -> dict[str, int]:
        """Return {article id: document number} of what the question itself points to, in order."""
        return leads(self.store, understood, searcher, lang, category, include_drafts)

    def _run(self, searcher, chosen, analyzer, limit, category, include_drafts):
        """Search for the chosen terms; return Whoosh's results and the words to highlight."""
        highlight: set[str] = set()
        parts = [q for q in (c.query(analyzer, highlight) for c in chosen) if q is not None]

        def restricted(query):
            # Category and drafts narrow the query itself: Whoosh's filter= would first
            # collect every matching document number, on every search.
            if category:
                query = Q.And([query, Q.Term("category", category)])
            # Only when some article is a draft: the extra matcher costs a tenth of a search.
            if not include_drafts and searcher.reader().doc_frequency("draft", "yes"):
                query = Q.AndNot(query, Q.Term("draft", "yes"))
            return query

        if not parts:
            return searcher.search(restricted(Q.NullQuery), limit=limit), highlight
        # A term that is in no article (a typo not corrected) leaves "all terms" empty: skip that search.
        all_can_match = all(c.frequency or c.written != c.phrase for c in chosen)
        if len(parts) <= ALL_TERMS_UP_TO and all_can_match:
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

    def _remembered_correction(self, word: str, reader, memo: dict) -> str | None:
        """Return _correct(word), remembered for this index generation (a correction costs 10-200 ms)."""
        key = ("correction", word)  # the memo's other keys are plain words
        if key not in memo:
            memo[key] = self._correct(word, reader)
        return memo[key]

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

    def forget_searchers(self) -> None:
        """Close and drop this thread's searchers (the next search opens the index afresh)."""
        for _target, searcher in self._local.__dict__.pop("searchers", {}).values():
            try:
                searcher.close()
            except Exception:  # noqa: BLE001 - a broken searcher may fail to close too
                pass
