"""Mail in: the readable new text of one body part — HTML to text, format=flowed, quoted history.

Pure functions on strings; parse.py hands them each text part of a mail.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class HTMLToText(HTMLParser):
    """Turn mail HTML into plain text; optionally leave out the quoted history mail programs add."""

    BLOCKS = {"p", "div", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "section", "article",
              "header", "footer", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "address"}
    PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote"}
    HIDDEN = {"script", "style", "head", "title", "template", "noscript", "object", "svg"}
    VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source", "embed"}
    # Containers of quoted history: Gmail, Thunderbird/Apple Mail (blockquote type=cite), Yahoo.
    QUOTE_CLASSES = {"gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote"}
    # Outlook puts the quoted mail after these markers, as siblings: everything after them is history.
    HISTORY_IDS = {"divrplyfwdmsg", "appendonsend", "stopspelling", "mail-editor-reference-message-container"}

    def __init__(self, strip_quotes: bool = True):
        super().__init__(convert_charrefs=True)
        self.strip_quotes = strip_quotes
        self.parts: list[str] = []
        self.skip_tag: str | None = None
        self.skip_depth = 0
        self.history = False
        self.pre = 0
        self.started = False  # no line breaks before the first text
        self.list_items = 0  # open <li> elements
        self.item_start = False
        self.link: tuple[str, int] | None = None

    def _is_quote(self, tag: str, attrs: dict) -> bool:
        classes = set((attrs.get("class") or "").lower().split())
        if classes & self.QUOTE_CLASSES:
            return True
        return tag == "blockquote" and (attrs.get("type") or "").lower() == "cite"

    def handle_starttag(self, tag, attrs):
        if self.history:
            return
        attrs = {key: value or "" for key, value in attrs}
        if tag == "body" and self.skip_tag == "head":  # a <head> nobody closed ends where the body starts
            self.skip_tag = None
        if self.skip_tag is not None:
            if tag == self.skip_tag and tag not in self.VOID:
                self.skip_depth += 1
            return
        if tag in self.HIDDEN or (self.strip_quotes and self._is_quote(tag, attrs)):
            if tag not in self.HIDDEN:
                self._break()
            if tag not in self.VOID:
                self.skip_tag, self.skip_depth = tag, 1
            return
        if self.strip_quotes and (attrs.get("id") or "").lower() in self.HISTORY_IDS:
            self.history = True
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self._break()
            if tag == "li":
                self.list_items += 1
                self.parts.append("- ")
                self.item_start = True
        if tag == "pre":
            self.pre += 1
        if tag == "a":
            self.link = (attrs.get("href", ""), len(self.parts))
        if tag == "img" and attrs.get("alt"):
            self.parts.append(f"[{attrs['alt']}]")

    def handle_endtag(self, tag):
        if self.history:
            return
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag == "li":
            self.list_items = max(0, self.list_items - 1)
        if tag in self.BLOCKS:
            # Paragraphs get a blank line after them, except inside a list item (a "loose" list).
            self._break(2 if tag in self.PARAGRAPHS and not (tag == "p" and self.list_items) else 1)
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag == "a" and self.link:
            href, start = self.link
            label = "".join(self.parts[start:]).strip()
            if href.startswith(("http://", "https://")) and href.rstrip("/") not in label:
                self.parts.append(f" ({href})")
            self.link = None

    def _break(self, lines: int = 1) -> None:
        """End the current line, leaving at least this many line breaks (a paragraph has two)."""
        if not self.started or self.item_start:  # nothing to end yet, or "- " waits for its text
            return
        tail = "".join(self.parts[-6:])
        have = tail[len(tail.rstrip()):].count("\n")  # blanks between tags do not end a line
        self.parts.append("\n" * max(0, lines - have))

    def handle_data(self, data):
        if self.history or self.skip_tag is not None:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))
        if data.strip():
            self.started, self.item_start = True, False

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str, strip_quotes: bool = True) -> str:
    """Return the readable text of an HTML mail body."""
    parser = HTMLToText(strip_quotes=strip_quotes)
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient, but a broken page must not lose the mail
        return re.sub(r"<[^>]+>", " ", markup)
    return parser.text()


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676), keeping quote depth."""
    out: list[str] = []
    paragraph: str | None = None
    depth_of_paragraph = 0
    for line in text.split("\n"):
        match = re.match(r">+", line)
        depth = len(match.group(0)) if match else 0
        content = line[depth:]
        if content.startswith(" "):  # space-stuffing
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if paragraph is not None and depth == depth_of_paragraph:
            paragraph += content
        else:
            if paragraph is not None:
                out.append((">" * depth_of_paragraph + " " if depth_of_paragraph else "") + paragraph)
            paragraph, depth_of_paragraph = content, depth
        if not flowed:
            out.append((">" * depth + " " if depth else "") + paragraph)
            paragraph = None
    if paragraph is not None:
        out.append((">" * depth_of_paragraph + " " if depth_of_paragraph else "") + paragraph)
    return "\n".join(out)


# -- quoted history ----------------------------------------------------------------------------

ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|oorspronkelijk bericht|origineel bericht|oorspronkelijke bericht|"
    r"ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$", re.I)
HEADER_FROM = re.compile(r"^\s*\*?(from|van|von|de)\s*:\*?\s*\S", re.I)
HEADER_SENT = re.compile(r"^\s*\*?(sent|verzonden|gesendet|envoyé|date|datum)\s*:\*?\s*\S", re.I)
ATTRIBUTION = re.compile(
    # "On ... wrote:", Thunderbird's "Op ... schreef Naam:", Apple Mail's "Op ... het volgende geschreven:"
    r"^\s*(on|op|am|le)\s.{0,300}?\s(wrote|schreef|het volgende geschreven|schrieb|a écrit)\b.{0,150}:\s*$",
    re.I | re.S)
SEPARATOR = re.compile(r"^\s*_{10,}\s*$")


def strip_quoted(text: str) -> str:
    """Return only the new text of a reply: drop "> " lines, attributions and Outlook's quoted mail."""
    lines = text.split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if ORIGINAL_MESSAGE.match(line):
            break
        if HEADER_FROM.match(line) and any(HEADER_SENT.match(nxt) for nxt in lines[index + 1:index + 4]):
            if kept and SEPARATOR.match(kept[-1]):
                kept.pop()
            break
        attribution = _attribution_length(lines, index)
        if attribution:
            rest = [later for later in lines[index + attribution:] if later.strip()]
            if not rest or rest[0].lstrip().startswith(">"):
                index += attribution  # the quote itself goes with the ">" lines below
                continue
            window = " ".join(lines[index:index + attribution])
            if "@" in window or re.search(r"\d", window):
                break  # Outlook for Mac and others quote without ">": the rest is history
        if line.lstrip().startswith(">"):
            index += 1
            continue
        kept.append(line)
        index += 1
    result = "\n".join(line.rstrip() for line in kept)
    return re.sub(r"\n{3,}", "\n\n", result).strip()


def _attribution_length(lines: list[str], index: int) -> int:
    """Return how many lines (1-3) an "On ... wrote:" line starting here spans, or 0."""
    if not re.match(r"^\s*(on|op|am|le)\s", lines[index], re.I):
        return 0
    for length in (1, 2, 3):
        window = " ".join(lines[index:index + length])
        if index + length <= len(lines) and ATTRIBUTION.match(window):
            return length
    return 0


# -- the body ----------------------------------------------------------------------------------
