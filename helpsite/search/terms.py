"""Which words of a question are searched for, and as which Whoosh query.

A question becomes concepts (a word, or a synonym phrase from search.yaml); of a long question
only the MAX_QUERY_TERMS that say most are kept. Each concept is one flat query: the word in
every field, plus one term per synonym group (expanded at index time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whoosh import matching
from whoosh import query as Q
from whoosh.matching.binary import UnionMatcher
from whoosh.matching.mcore import ReadTooFar

from .analysis import FIELD_WEIGHTS, TOKEN, CompoundSplitFilter

# Of a pasted question, only the MAX_QUERY_TERMS terms that say most are searched, so the cost stays bounded.
MAX_QUERY_WORDS = 400
MAX_QUERY_TERMS = 10
# A word in more than this share of a language's articles says little on its own ("instellen").
COMMON_SHARE = 0.3
# A word with synonyms is searched as itself in the short fields only (the body is reached through
# its synonym group): every synonym of a common word in the body matched nearly every article.
SYNONYM_FIELDS = {"title": 4.0, "tags": 3.0, "summary": 2.0}
# The weight of a synonym group (expanded at index time, counted per field weight) in a query.
SYNONYM_GROUP_WEIGHT = 1.0


class QuickUnionMatcher(UnionMatcher):
    """Whoosh's UnionMatcher, which remembers where it stands instead of asking its tree each time.

    Whoosh's union answers is_active() and id() by asking both sub-matchers, which ask theirs: a
    word in four fields and its synonym group is a tree three unions deep, and the search asked
    it some 30,000 times per query at 1,000 articles (a fifth of a search). This one looks at a
    sub-matcher after moving it (next, skip_to, skip_to_quality, reset) and keeps the answer;
    nothing else moves its sub-matchers, since each belongs to one parent. skip_to() leaves a
    sub-matcher alone that is at or past the target already (it would not move). Which documents
    match, in which order, and every score (the same additions in the same order) are Whoosh's.
    """

    def __init__(self, a, b):
        super().__init__(a, b)
        self._look_a()
        self._look_b()
        self._settle()

    def _look_a(self):
        self._a_active = self.a.is_active()
        self._a_id = self.a.id() if self._a_active else None

    def _look_b(self):
        self._b_active = self.b.is_active()
        self._b_id = self.b.id() if self._b_active else None

    def _settle(self):
        a_active, b_active = self._a_active, self._b_active
        self._active = a_active or b_active
        if a_active and b_active:
            self._current = min(self._a_id, self._b_id)
        else:
            self._current = self._a_id if a_active else self._b_id

    def is_active(self):
        return self._active

    def id(self):
        if self._active:
            return self._current
        return UnionMatcher.id(self)  # inactive: fails the way Whoosh's does

    def next(self):
        # UnionMatcher.next: the sub-matcher(s) at the current document move on.
        a_active, b_active = self._a_active, self._b_active
        if not (a_active or b_active):
            raise ReadTooFar
        if not a_active:
            moved = self.b.next()
            self._look_b()
        elif not b_active:
            moved = self.a.next()
            self._look_a()
        else:
            a_id, b_id = self._a_id, self._b_id
            ar = br = None
            if a_id <= b_id:
                ar = self.a.next()
                self._look_a()
            if b_id <= a_id:
                br = self.b.next()
                self._look_b()
            moved = ar or br
        self._settle()
        return moved

    def skip_to(self, id):
        # UnionMatcher.skip_to, without asking a sub-matcher already at or past id (it would not move).
        ra = rb = False
        if self._a_active and self._a_id < id:
            ra = self.a.skip_to(id)
            self._look_a()
        if self._b_active and self._b_id < id:
            rb = self.b.skip_to(id)
            self._look_b()
        self._settle()
        return ra or rb

    def skip_to_quality(self, minquality):
        skipped = UnionMatcher.skip_to_quality(self, minquality)
        self._look_a()
        self._look_b()
        self._settle()
        return skipped

    def reset(self):
        UnionMatcher.reset(self)
        self._look_a()
        self._look_b()
        self._settle()

    def score(self):
        # UnionMatcher.score, on what was seen after the last move: the same branches and the same addition.
        if not self._a_active:
            return self.b.score()
        if not self._b_active:
            return self.a.score()
        a_id, b_id = self._a_id, self._b_id
        if a_id < b_id:
            return self.a.score()
        if b_id < a_id:
            return self.b.score()
        return self.a.score() + self.b.score()


class UnionOr(Q.Or):
    """An Or that always uses Whoosh's union matchers (QuickUnionMatcher).

    On small indexes Whoosh picks an array matcher that fills a 2,048-slot array in pure
    Python for every nested Or; our queries nest one Or per field and word, so that
    array filling cost more than the search.
    """

    matcher_type = Q.Or.DEFAULT_MATCHER

    def _matcher(self, subs, searcher, context):
        if self.scale:  # ours never scale; a scaled Or goes Whoosh's own way
            return super()._matcher(subs, searcher, context)
        # DefaultOr._matcher of whoosh-reloaded 2.7.5 (pinned): the same weighted tree, of QuickUnionMatchers.
        reader = searcher.reader()
        return self._tree_matcher(subs, QuickUnionMatcher, searcher, context, lambda q: q.estimate_size(reader))


class _BoostedScorer:
    """A scorer that multiplies another's scores, qualities included, by a field's weight."""

    __slots__ = ("scorer", "boost")

    def __init__(self, scorer, boost: float):
        self.scorer = scorer
        self.boost = boost

    def supports_block_quality(self):
        return self.scorer.supports_block_quality()

    def score(self, matcher):
        return self.scorer.score(matcher) * self.boost

    def max_quality(self):
        return self.scorer.max_quality() * self.boost

    def block_quality(self, matcher):
        return self.scorer.block_quality(matcher) * self.boost


class WeightedTerm(Q.Term):
    """A Term whose boost (the field's weight) is applied by its scorer, not by a wrapping matcher.

    Whoosh wraps the postings of a boosted Term in a matcher that only passes every call on
    (is_active, id, skip_to, ...) and multiplies the score; our queries boost most terms, and
    those pass-through calls were about a sixth of a search at 1,000 articles. The scores are
    the same products (the term's score times its weight).
    """

    def matcher(self, searcher, context=None):
        if self.boost == 1.0:
            return super().matcher(searcher, context)
        # Term.matcher of whoosh-reloaded 2.7.5 (pinned), without the wrapping matcher.
        if self.fieldname not in searcher.schema:
            return matching.NullMatcher()
        try:
            text = searcher.schema[self.fieldname].to_bytes(self.text)
        except ValueError:
            return matching.NullMatcher()
        if (self.fieldname, text) not in searcher.reader():
            return matching.NullMatcher()
        weighting = searcher.weighting if context is None else context.weighting
        found = searcher.postings(self.fieldname, text, weighting=weighting)
        if self.minquality:
            found.set_min_quality(self.minquality)
        if getattr(found, "scorer", None) is None:  # not a leaf with a scorer: let Whoosh wrap it
            return matching.WrappingMatcher(found, boost=self.boost)
        found.scorer = _BoostedScorer(found.scorer, self.boost)
        return found


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
        # Known: written in some article as typed, or a Dutch compound whose known parts (search.yaml)
        # all are ("e-mailbericht": mail + bericht; its query searches the parts), or in a synonym
        # group that some article has. A word is never known through a mere substring: "outlok"
        # has "out" in it, but "lok" is no part, so it stays unknown and can be corrected.
        if " " in phrase:
            self.known = self.frequency > 0
        else:
            self.known = reader.doc_frequency("words", phrase) > 0 or _known_through_parts(phrase, reader, analyzer)
        self.known = self.known or any(reader.doc_frequency("synonyms", g) for g in self.groups)

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
                clauses.append(Q.And([UnionOr([WeightedTerm(name, token, boost=weight)
                                               for name, weight in fields.items()]) for token in tokens]))
            else:  # a word, or a compound and its parts: any of them
                clauses.extend(WeightedTerm(name, token, boost=weight) for token in tokens for name, weight in fields.items())
        clauses.extend(Q.Term("synonyms", group, boost=SYNONYM_GROUP_WEIGHT) for group in self.groups)
        return UnionOr(clauses) if clauses else None


def _frequency(phrase: str, reader, analyzer) -> int:
    """Return in how many articles the phrase's best-known word occurs (0: in none)."""
    best = 0
    for token in {t.text for t in analyzer(phrase)}:
        for name in FIELD_WEIGHTS:
            best = max(best, reader.doc_frequency(name, token))
    return best


def _known_through_parts(word: str, reader, analyzer) -> bool:
    """Return whether every piece of the word is in some article, a compound piece through its parts.

    The pieces are what the tokenizer splits the word into ("e-mailbericht": e, mailbericht); a piece
    of one letter says nothing. A piece in no article counts only when the analyzer's compound
    splitter splits it wholly into known parts, each of them in some article.
    """
    splitter = next((f for f in getattr(analyzer, "items", ()) if isinstance(f, CompoundSplitFilter)), None)
    if splitter is None:
        return False
    pieces = [piece for piece in TOKEN.findall(word) if len(piece) > 1]
    if not pieces:
        return False
    for piece in pieces:
        if reader.doc_frequency("words", piece) > 0:
            continue
        parts = splitter.split(piece, {})
        if not parts or len(parts) < 2 or not all(_frequency(part, reader, analyzer) for part in parts):
            return False
    return True


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

