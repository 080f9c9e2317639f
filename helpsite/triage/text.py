"""The triage's reading of a question: words, spellings and rule terms.

Case, accents and edit distance come from helpsite.text, the normalisation search uses too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import edit_distance, fold

# A version or address ("6.503", "5.7.1", "64.233.176.27") is one word: its parts are not error codes.
# The key prefix of "words starting with this letter" in a Document's positions.
INITIAL = "\0"
# A macOS program's name ("Mail.app") is one word too: Mail.app is not "mail" and "app".
# "home.php" is one word: a file's name says which file, not that the question is about PHP code
# (wp-config.php stays three words, so "wp config" still names WordPress).
WORD = re.compile(r"\d+(?:\.\d+)+|\w+\.app\b|(?<![\w.-])\w+\.php\b|\w+(?:['’]\w+)*", re.I)
TERM_WORD = re.compile(r"\d+(?:\.\d+)+|\w+\.app\b|[\w*]+(?:['’][\w*]+)*", re.I)


@dataclass(frozen=True)
class Token:
    text: str  # folded
    start: int  # character offsets in the original text
    end: int


def _apply_spellings(words: list, spellings: dict[tuple[str, ...], str], text_of, merge) -> list:
    """Replace written forms by their canonical word, longest form first."""
    longest = max((len(form) for form in spellings), default=0)
    result, i = [], 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            form = tuple(text_of(w) for w in words[i:i + size])
            if form in spellings:
                result.append(merge(words[i:i + size], spellings[form]))
                i += size
                break
        else:
            result.append(words[i])
            i += 1
    return result


def tokenize(text: str, spellings: dict[tuple[str, ...], str]) -> list[Token]:
    """Split a question into folded words with their place in the original text."""
    text = text.replace("_", " ")
    tokens = []
    for m in WORD.finditer(text):
        token = Token(fold(m.group()), m.start(), m.end())
        # "e-mailadres" is one word, not "e" and "mailadres"
        if tokens and tokens[-1].text == "e" and token.text.startswith("mail") and text[m.start() - 1] == "-" \
                and tokens[-1].end == m.start() - 1:
            token = Token("e" + token.text, tokens.pop().start, token.end)
        tokens.append(token)
    return _apply_spellings(
        tokens, spellings, lambda t: t.text,
        lambda run, canonical: Token(canonical, run[0].start, run[-1].end),
    )


# -- terms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One word of a term: exact, or with * at its start and/or end."""

    word: str
    prefix: bool = False  # "instell*"
    suffix: bool = False  # "*instellen"

    def matches(self, token: str, fuzzy_from: int | None) -> bool:
        if self.prefix and self.suffix:
            return self.word in token
        if self.prefix:
            return token.startswith(self.word)
        if self.suffix:
            return token.endswith(self.word)
        if token == self.word:
            return True
        return (
            fuzzy_from is not None
            and len(self.word) >= fuzzy_from
            and len(token) >= fuzzy_from
            and token[0] == self.word[0]
            and edit_distance(self.word, token, limit=1) <= 1
        )


@dataclass(frozen=True)
class Term:
    """A rule term as an editor wrote it, compiled into segments of pieces ("a ... b" has two)."""

    source: str
    segments: tuple[tuple[Piece, ...], ...]

    @classmethod
    def compile(cls, source: str, spellings: dict[tuple[str, ...], str]) -> "Term":
        segments = []
        for part in str(source).replace("_", " ").split("..."):
            pieces = []
            for word in TERM_WORD.findall(part):
                if "*" in word:
                    core = fold(word.strip("*"))
                    if not core or "*" in core:
                        raise ValueError(f"term {source!r}: * may only stand at the start or end of a word")
                    pieces.append(Piece(core, prefix=word.endswith("*"), suffix=word.startswith("*")))
                else:
                    pieces.append(Piece(fold(word)))
            pieces = _apply_spellings(
                pieces, spellings,
                lambda p: None if (p.prefix or p.suffix) else p.word,
                lambda run, canonical: Piece(canonical),
            )
            if not pieces:
                raise ValueError(f"term {source!r} has an empty part")
            segments.append(tuple(pieces))
        return cls(str(source), tuple(segments))

    def find(self, tokens: list[Token], window: int, fuzzy_from: int | None,
             positions: dict[str, list[int]] | None = None) -> tuple[int, int] | None:
        """Return the (first, last + 1) token positions of the first match, or None.

        positions (word -> where it occurs, and INITIAL + letter -> where words with that first letter
        occur) lets a term skip questions that lack one of its exact words, and look only where it can start.
        """
        first, rest = self.segments[0], self.segments[1:]
        starts = range(len(tokens) - len(first) + 1)
        if positions is not None:
            exact = [p.word for segment in self.segments for p in segment
                     if not (p.prefix or p.suffix) and (fuzzy_from is None or len(p.word) < fuzzy_from)]
            if any(word not in positions for word in exact):
                return None
            lead = first[0]
            if not (lead.prefix or lead.suffix) and (fuzzy_from is None or len(lead.word) < fuzzy_from):
                starts = positions[lead.word]
            elif not lead.suffix:  # a prefix or a typo keeps the first letter: only words with that letter
                starts = positions.get(INITIAL + lead.word[:1], ())
        for i in starts:
            if i > len(tokens) - len(first) or not self._at(first, tokens, i, fuzzy_from):
                continue
            end = i + len(first)
            for segment in rest:
                for j in range(end, min(end + window, len(tokens) - len(segment)) + 1):
                    if self._at(segment, tokens, j, fuzzy_from):
                        end = j + len(segment)
                        break
                else:
                    break
            else:
                return i, end
        return None

    @staticmethod
    def _at(segment, tokens, i, fuzzy_from) -> bool:
        return all(piece.matches(tokens[i + k].text, fuzzy_from) for k, piece in enumerate(segment))


@dataclass(frozen=True)
class Match:
    """Where a term matched: the customer's own words, for the reasons."""

    term: str
    start: int  # token positions
    end: int
    words: str  # the original text of the match


@dataclass
class TermList:
    """A list of terms (both languages), with its weight (from the rules' weights) and options."""

    name: str
    terms: list[Term]
    weight: int = 0
    max_count: int = 1
    excepts: list[Term] = field(default_factory=list)
    fuzzy: bool = False
    article: str | None = None

    def find(self, doc: "Document") -> list[Match]:
        """Return every term that matches, in the order of the text; matches inside an except are dropped."""
        fuzzy_from = doc.rules.fuzzy_min_length if self.fuzzy else None
        blocked = []
        for term in self.excepts:
            span = term.find(doc.tokens, doc.rules.window, None, doc.positions)
            if span:
                blocked.append(span)
        found = {}
        for term in self.terms:
            span = term.find(doc.tokens, doc.rules.window, fuzzy_from, doc.positions)
            if span and span not in found and not any(span[0] < b[1] and b[0] < span[1] for b in blocked):
                found[span] = Match(term.source, span[0], span[1], doc.words(*span))
        return sorted(found.values(), key=lambda m: (m.start, m.end))

    def score(self, matches: list[Match]) -> int:
        """Return weight times the number of distinct matches, at most max_count.

        Overlapping matches count once: "contact form" and "form" are one piece of evidence.
        """
        distinct, taken = set(), []
        for match in sorted(matches, key=lambda m: (m.start, -m.end)):
            if any(match.start < end and start < match.end for start, end in taken):
                continue
            taken.append((match.start, match.end))
            distinct.add(match.words.casefold())
        return self.weight * min(len(distinct), self.max_count)

