"""Text normalisation shared by search and triage: one fold, one edit distance.

Search and triage once had a fold() and an edit distance each, and they disagreed on small
things (apostrophes, ß); a question must look the same to both.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Return text without case, accents or apostrophes: "Beëindigen" -> "beeindigen", "m'n" -> "mn"."""
    if text.isascii():  # most words: no accents to strip, and casefold() is lower() (a fifth of an index build)
        return text.lower().replace("'", "")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("'", "").replace("’", "")


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Return the Damerau-Levenshtein distance (adjacent swaps count once) between two words.

    With limit, any distance above it is returned as limit + 1 as soon as that is certain, so
    "is this one typo away?" costs little for words that are clearly different.
    """
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if before is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current.append(value)
        if limit is not None and min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]
