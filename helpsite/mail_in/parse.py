"""Mail in, step 1: bytes to a ReceivedMail value (pure: no database, no app).

Decoding whatever charsets and MIME mail programs send, HTML to text, format=flowed, quoted
history stripped, attachments noted, and a guess at the language.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import Message as MIMEPart
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from .. import tickets

LANGUAGES = ("nl", "en")
MAX_TEXT_CHARS = 200_000  # of a mail's text before quotes are stripped: bounds the work on a huge body
MAX_MIME_DEPTH = 20
OMITTED = {
    "nl": "[… de rest van dit bericht is weggelaten: het was te lang]",
    "en": "[… the rest of this message was left out: it was too long]",
}


@dataclass
class ReceivedMail:
    """The parts of a received mail that matter here, decoded."""

    sender: str
    subject: str
    text: str  # the new text: quoted history stripped, capped to what a ticket message holds
    in_reply_to: str = ""  # In-Reply-To and References together
    message_id: str = ""
    attachments: list[tuple[str, int]] = field(default_factory=list)  # (file name, approximate bytes)
    truncated: bool = False  # the raw mail was larger than MAIL_IN_MAX_BYTES and was cut


# -- decoding: charsets, headers, HTML ---------------------------------------------------------

# Mail that says latin-1 or ASCII is in practice often windows-1252 (curly quotes, €) or UTF-8;
# browsers treat those labels the same way.
SINGLE_BYTE_LABELS = {"", "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "iso-8859-15",
                      "windows-1252", "cp1252"}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text whose declared charset may be missing, unknown or wrong."""
    if data.isascii():
        return data.decode("ascii")
    label = (charset or "").strip().strip('"').lower()
    # Non-ASCII bytes that are valid UTF-8 are almost never anything else.
    order = ["utf-8", "windows-1252"] if label in SINGLE_BYTE_LABELS else [label, "utf-8", "windows-1252"]
    for candidate in order:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")  # maps every byte: nothing is lost


def repair_text(text: str) -> str:
    """Turn bytes that arrived undecoded in a header (surrogate escapes) into characters."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)


def header_text(message: MIMEPart, name: str) -> str:
    """Return a header as text, whatever went wrong in it (bad encoded words, raw 8-bit bytes)."""
    raw = next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    try:
        if isinstance(raw, str) and any("\udc80" <= ch <= "\udcff" for ch in raw):
            # Unencoded 8-bit bytes (not allowed, but common): decode them as the body would be,
            # then let the parser decode any RFC 2047 words around them.
            value = policy.default.header_factory(name, repair_text(raw))
        else:
            value = message.get(name)
        text = str(value)
    except Exception:  # noqa: BLE001 - a header the parser chokes on is used as it came
        text = repair_text(str(raw))
    return " ".join(text.split())


def sender_addresses(message: MIMEPart) -> list[str]:
    """Return the addresses in From, lowercased (a forger may write several)."""
    value = header_text(message, "From")
    addresses = [addr.strip().lower() for _name, addr in getaddresses([value]) if "@" in addr]
    if not addresses and "@" in parseaddr(value)[1]:
        addresses = [parseaddr(value)[1].strip().lower()]
    return list(dict.fromkeys(addresses))


def sender_address(message: MIMEPart) -> str:
    """Return the sender's address from From, lowercased; empty when there is none."""
    addresses = sender_addresses(message)
    return addresses[0] if addresses else ""


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
FORWARD_SUBJECT = re.compile(r"^\s*(\[[^\]]*\]\s*)*(fwd?|doorst|wg|tr)\s*:", re.I)
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

def _is_attachment(part: MIMEPart) -> bool:
    disposition = (header_text(part, "Content-Disposition").split(";")[0]).strip().lower()
    return disposition == "attachment" or (disposition == "inline" and bool(part.get_filename()))


def _filename(part: MIMEPart) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a mangled name parameter is not worth losing the mail over
        name = None
    return repair_text(name or "") or part.get_content_type()


def _approximate_size(part: MIMEPart) -> int:
    """Estimate an attachment's size without decoding it (it may be huge)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return sum(_approximate_size(p) for p in payload)
    payload = payload or ""
    size = len(payload)
    if header_text(part, "Content-Transfer-Encoding").lower() == "base64":
        size = (size - payload.count("\n") - payload.count("\r")) * 3 // 4
    return size


def _lenient_base64(text: str) -> bytes:
    """Decode base64 that the strict decoder gave up on: skip stray characters, mend the length."""
    chars = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(chars) % 4 == 1:
        chars = chars[:-1]
    return base64.b64decode(chars + "=" * (-len(chars) % 4))


def _part_text(part: MIMEPart, strip_quotes: bool) -> str:
    data = part.get_payload(decode=True)
    if any(isinstance(defect, errors.InvalidBase64LengthDefect) for defect in part.defects):
        data = _lenient_base64(part.get_payload())
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    text = decode_bytes(data[:MAX_TEXT_CHARS * 4], part.get_content_charset())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_type() == "text/html":
        return html_to_text(text, strip_quotes)
    if (part.get_param("format") or "").lower() == "flowed":
        text = unflow(text, (part.get_param("delsp") or "").lower() == "yes")
    return text


def collect_body(part: MIMEPart, strip_quotes: bool, attachments: list, depth: int = 0) -> str:
    """Return the text of a mail (part), preferring plain text; note the attachments by name and size."""
    content_type = part.get_content_type()
    payload = part.get_payload()
    if depth > MAX_MIME_DEPTH:
        return ""
    if content_type == "message/rfc822":  # a mail attached whole (Outlook's "forward as attachment")
        attachments.append((_filename(part) if part.get_filename() else "forwarded message",
                            _approximate_size(part)))
        return ""
    if part.is_multipart() and isinstance(payload, list):
        if content_type == "multipart/alternative":
            for wanted in ("text/plain", "text/html"):
                for sub in payload:
                    if sub.get_content_type() == wanted and not _is_attachment(sub):
                        text = collect_body(sub, strip_quotes, attachments, depth + 1)
                        if text.strip():
                            return text
            for sub in reversed(payload):  # e.g. multipart/related inside alternative
                if sub.is_multipart():
                    return collect_body(sub, strip_quotes, attachments, depth + 1)
            return ""
        texts = [collect_body(sub, strip_quotes, attachments, depth + 1) for sub in payload]
        return "\n\n".join(text for text in texts if text.strip())
    if content_type.startswith("multipart/"):
        # A multipart without its boundary: the parser could not split it, so read it as text.
        return _part_text(part, strip_quotes)
    if content_type in ("text/plain", "text/html") and not _is_attachment(part):
        return _part_text(part, strip_quotes)
    attachments.append((_filename(part), _approximate_size(part)))
    return ""


def read_mail(message: MIMEPart, truncated: bool = False) -> ReceivedMail:
    """Return the sender, subject and new text of a parsed mail."""
    subject = header_text(message, "Subject")
    strip_quotes = not FORWARD_SUBJECT.match(subject)  # a forward's quoted part is the point of it
    attachments: list[tuple[str, int]] = []
    text = collect_body(message, strip_quotes, attachments)[:MAX_TEXT_CHARS]
    text = strip_quoted(text) if strip_quotes else text.strip()
    references = " ".join(header_text(message, name) for name in ("In-Reply-To", "References"))
    return ReceivedMail(sender=sender_address(message), subject=subject, text=text, in_reply_to=references,
                        message_id=header_text(message, "Message-ID").strip()[:255],
                        attachments=attachments, truncated=truncated)


def message_body(received: ReceivedMail, lang: str) -> str:
    """Return the text a ticket message gets: the new text, a note on attachments, within the length cap."""
    notes = []
    if received.attachments:
        listed = ", ".join(f"{name} ({_size(size)})" for name, size in received.attachments[:10])
        notes.append({"nl": f"[Bijlagen niet opgeslagen: {listed}]",
                      "en": f"[Attachments not stored: {listed}]"}[lang])
    if received.truncated:
        notes.append({"nl": "[Dit bericht was te groot en is afgekapt]",
                      "en": "[This message was too large and was cut]"}[lang])
    suffix = ("\n\n" + "\n".join(notes)) if notes else ""
    room = tickets.MAX_BODY_LENGTH - len(suffix)
    text = received.text
    if len(text) > room:
        text = text[:room - len(OMITTED[lang]) - 2].rstrip() + "\n" + OMITTED[lang]
    return (text + suffix).strip()


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(1, size // 1024)} kB"


# -- language ----------------------------------------------------------------------------------

DUTCH_WORDS = {"de", "het", "een", "ik", "je", "jij", "u", "uw", "mijn", "niet", "en", "van", "op", "met", "voor",
               "dat", "die", "wat", "hoe", "kan", "kunt", "wordt", "geen", "bij", "ook", "naar", "er", "maar", "heb",
               "heeft", "zijn", "graag", "groet", "groeten", "bedankt", "alvast", "vriendelijke", "goedemorgen",
               "beste", "waarom", "werkt", "meer", "mail", "bericht", "kunnen", "moet", "wij", "we", "onze"}
ENGLISH_WORDS = {"the", "a", "an", "i", "you", "your", "my", "not", "and", "of", "on", "with", "for", "that",
                 "what", "how", "can", "does", "doesn't", "no", "at", "also", "to", "there", "but", "have", "has",
                 "are", "please", "thanks", "thank", "regards", "hello", "hi", "dear", "why", "works", "work",
                 "is", "it", "this", "we", "our", "would", "could"}


def guess_language(text: str, default: str = "nl") -> str:
    """Return "nl" or "en", whichever the text's common words say; the default when it is unclear."""
    words = re.findall(r"[a-z']+", text.lower())[:400]
    dutch = sum(word in DUTCH_WORDS for word in words)
    english = sum(word in ENGLISH_WORDS for word in words)
    if dutch == english:
        return default
    return "nl" if dutch > english else "en"
