"""How text becomes search terms: the analyzers, the index schema, the vocabulary, the query's words.

One analyzer per language: words, lowercase, accents folded, Dutch compounds split into known
parts, stop words dropped, stemmed. Synonyms come from ``content/search.yaml`` and are expanded
when an article is indexed (see Vocabulary.synonym_tokens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from ..content import LANGUAGES, load_yaml
from ..text import fold
from .errors import QueryError

# Customers paste whole questions with their error messages: up to 2,000 characters are read.
MAX_QUERY_LENGTH = 2000
WORD = re.compile(r"[\w][\w.+#-]*\w|\w", re.UNICODE)
TOKEN = re.compile(r"\w+")  # what make_analyzer's tokenizer splits on
WORD_TOKENS_MEMO_SIZE = 200_000
FIELD_WEIGHTS = {"title": 4.0, "tags": 3.0, "summary": 2.0, "body": 1.0}


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
    chain = RegexTokenizer(TOKEN.pattern) | LowercaseFilter() | AccentFoldFilter()
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
    _member_memo: list = field(default_factory=list, repr=False, compare=False)

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
        members, lengths, word_tokens = self._members(analyzer)
        tokens = []
        # The analyzer's tokenizer (\w+); every filter after it works on one word at a time, so each
        # distinct word is analyzed once: this re-read every article's text for the synonyms field.
        for word in TOKEN.findall(text):
            analyzed = word_tokens.get(word)
            if analyzed is None:
                if len(word_tokens) >= WORD_TOKENS_MEMO_SIZE:
                    word_tokens.clear()
                analyzed = word_tokens[word] = tuple(t.text for t in analyzer(word))
            tokens.extend(analyzed)
        found = []
        for i in range(len(tokens)):
            for size in lengths:
                groups = members.get(tuple(tokens[i:i + size]))
                if groups:
                    found.extend(groups * repeat)
        return " ".join(found)

    def _members(self, analyzer) -> tuple[dict[tuple[str, ...], list[str]], list[int], dict[str, tuple[str, ...]]]:
        """Return {analyzed member: its sorted group ids}, the members' token counts (longest first)
        and a memo {word: its tokens} for this analyzer.

        Worked out once per analyzer: a build asks for every field of every article, and analyzing
        every member of every group each time was a large part of building a big index and of
        re-indexing one changed article. Analyzers are compared by value: each update opens the
        index and unpickles an equal analyzer.
        """
        for known, members, lengths, word_tokens in self._member_memo:
            if known is analyzer or known == analyzer:
                return members, lengths, word_tokens
        found: dict[tuple[str, ...], set[str]] = {}
        for n, group in enumerate(self.synonyms):
            for member in group:
                tokens = tuple(t.text for t in analyzer(member))
                if tokens:
                    found.setdefault(tokens, set()).add(f"g{n}")
        members = {k: sorted(v) for k, v in found.items()}
        lengths = sorted({len(k) for k in members}, reverse=True)
        self._member_memo[:] = [*self._member_memo[-3:], (analyzer, members, lengths, {})]
        return members, lengths, self._member_memo[-1][3]

    def phrases(self) -> set[str]:
        return {member for group in self.synonyms for member in group}


def load_vocabularies(content_dir: Path) -> dict[str, Vocabulary]:
    """Return every language's vocabulary, read from search.yaml now."""
    return {lang: Vocabulary.load(content_dir, lang) for lang in LANGUAGES}


def words_in(text: str) -> list[str]:
    """Return the words of a text, accents folded, without leading or trailing punctuation."""
    return [w.strip(".-+#") for w in WORD.findall(fold(text)) if w.strip(".-+#")]


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
    if not words_in(text):
        raise QueryError("no_words")
    return text
