"""Snippets: the excerpt of a result around the words asked, and the section that answers best."""

from __future__ import annotations

import html
import re

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
