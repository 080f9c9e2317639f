"""Mail in: a received mail becomes a reply in a ticket, a new ticket, or an answer by mail.

The SLA's rules, by mail: a reply with "[#N]" in the subject continues ticket N (and moves it
to the back of the queue when we had not answered yet); a new question from a customer's
address goes through the same triage as the web form; a ticket question that names none of
the customer's domains is asked to add it. Mail we must never answer (auto-replies, bounces,
our own mail coming back) is recognised first. Whatever cannot be processed is kept in
IncomingMail for a person to look at, never dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import imaplib
import logging
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage, Message as MIMEPart
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import mail, tickets
from .accounts import find_user
from .extensions import articles, db, search_index
from .models import IncomingMail, MailReceipt, Message, OutgoingMail, Ticket, User, utcnow
from .questions import Choices, submit_question
from .urls import site_url

log = logging.getLogger(__name__)

LANGUAGES = ("nl", "en")
MAX_TEXT_CHARS = 200_000  # of a mail's text before quotes are stripped: bounds the work on a huge body
MAX_MIME_DEPTH = 20
OMITTED = {
    "nl": "[… de rest van dit bericht is weggelaten: het was te lang]",
    "en": "[… the rest of this message was left out: it was too long]",
}


@dataclass
class IngestResult:
    """What happened to one received mail."""

    action: str  # threaded | created | asked_domain | answered | answered_unknown | ignored | kept
    ticket_number: int | None = None
    reason: str = ""
    incoming_id: int | None = None  # the IncomingMail row when the mail was kept for a person

    def __str__(self) -> str:
        if self.action == "threaded":
            return f"threaded into ticket {self.ticket_number}"
        if self.action == "created":
            return f"new ticket {self.ticket_number}"
        if self.action == "asked_domain":
            return f"new ticket {self.ticket_number}, asked the customer to add the domain"
        if self.action == "answered":
            return f"answered by mail without a ticket ({self.reason})"
        if self.action == "answered_unknown":
            return f"answered an unknown sender ({self.reason})"
        if self.action == "ignored":
            return f"ignored, not answered: {self.reason}"
        return f"kept for a person as incoming mail {self.incoming_id}: {self.reason}"


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


# -- mail we must not answer -------------------------------------------------------------------

AUTOMATIC_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+@.-]|$)", re.I)
AUTOMATIC_SUBJECTS = re.compile(
    r"^\s*(automatic reply|auto-?reply|automatisch antwoord|automatisch bericht|afwezig|out of (the )?office|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|undeliverable|undelivered mail|"
    r"delivery status notification|mail delivery failed|onbestelbaar|niet bezorgd)\b", re.I)


def automatic_reason(message: MIMEPart, sender: str, subject: str) -> str | None:
    """Return why this mail is automatic (auto-reply, bounce, list, our own), or None for a person's mail."""
    config = current_app.config
    auto_submitted = header_text(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From"):
        if message.get(name) is not None:
            return f"{name} header"
    if message.get("X-Ticket-Number") is not None:
        return "our own mail came back (X-Ticket-Number header)"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "mailing list"
    if message.get("Return-Path") is not None and header_text(message, "Return-Path").strip() in ("<>", ""):
        return "empty Return-Path (a bounce or notification)"
    if message.get_content_type() == "multipart/report":
        return "delivery report (bounce)"
    if not sender:
        return None
    ours = {(config.get("MAIL_SENDER") or "").lower()}
    ours |= {a.strip().lower() for a in (config.get("MAIL_IN_OWN_ADDRESSES") or "").split(",") if a.strip()}
    if sender in ours:
        return f"sent from our own address {sender}"
    if AUTOMATIC_SENDERS.match(sender):
        return f"automatic sender {sender}"
    if AUTOMATIC_SUBJECTS.match(subject):
        return "automatic reply (subject)"
    return None


def bounced_ticket(message: MIMEPart) -> int | None:
    """Return the ticket number of our mail that a bounce returns, if it shows one."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("text/rfc822-headers", "message/rfc822"):
            if content_type == "message/rfc822":
                inner = part.get_payload()
                returned = inner[0] if isinstance(inner, list) and inner else None
                if returned is None:
                    continue
                number = header_text(returned, "X-Ticket-Number")
                subject = header_text(returned, "Subject")
            else:
                data = part.get_payload(decode=True) or b""
                headers = email.message_from_bytes(data, policy=policy.default)
                number, subject = header_text(headers, "X-Ticket-Number"), header_text(headers, "Subject")
            if number.strip().isdigit():
                return int(number)
            found = tickets.find_ticket_number(subject)
            if found:
                return found
    return None


def failed_dmarc(message: MIMEPart) -> bool:
    """Return whether our own mail server's Authentication-Results says the sender failed DMARC."""
    authserv_id = (current_app.config.get("MAIL_IN_AUTHSERV_ID") or "").strip().lower()
    if not authserv_id:
        return False
    for value in message.get_all("Authentication-Results") or []:
        text = repair_text(str(value)).strip().lower()
        # Only our own server's verdict counts: a sender can write any header it likes.
        if text.split(";", 1)[0].strip().split()[0:1] == [authserv_id] and re.search(r"\bdmarc=fail\b", text):
            return True
    return False


def passed_dmarc(message: MIMEPart) -> bool:
    """Return whether our own mail server's Authentication-Results says the sender passed DMARC."""
    authserv_id = (current_app.config.get("MAIL_IN_AUTHSERV_ID") or "").strip().lower()
    if not authserv_id:
        return False
    for value in message.get_all("Authentication-Results") or []:
        text = repair_text(str(value)).strip().lower()
        if text.split(";", 1)[0].strip().split()[0:1] == [authserv_id]:
            return bool(re.search(r"\bdmarc=pass\b", text))  # our server writes its header first
    return False


def too_many_from(sender: str, now: dt.datetime) -> bool:
    """Return whether this sender reached the hourly limit: a mail loop, or a flood a person should see."""
    limit = int(current_app.config.get("MAIL_IN_MAX_PER_HOUR", 20))
    since = now - dt.timedelta(hours=1)
    kept = db.session.scalar(select(func.count(IncomingMail.id)).where(
        IncomingMail.sender == sender, IncomingMail.created_at >= since))
    posted = db.session.scalar(select(func.count(Message.id)).join(User, Message.author_id == User.id).where(
        User.email == sender, Message.via == "email", Message.created_at >= since))
    answered = db.session.scalar(select(func.count(OutgoingMail.id)).where(
        OutgoingMail.recipient == sender, OutgoingMail.created_at >= since))
    return kept + posted + answered >= limit


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


# -- domains, threading ------------------------------------------------------------------------

HOSTNAME = re.compile(r"(?<![\w.-])(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])")


def find_customer_domain(customer: User, text: str) -> str:
    """Return the first of the customer's (sub)domains named in the text, or ""."""
    for match in HOSTNAME.finditer(text):
        try:
            return tickets.check_domain(customer, match.group(0))
        except tickets.TicketError:
            continue
    return ""


def ticket_number_of(received: ReceivedMail) -> tuple[int | None, bool]:
    """Return the ticket a mail continues and whether that is certain.

    "[#N]" in the subject and our own Message-ID in In-Reply-To are certain; a bare "#12" or
    "ticket 12" may be an order or invoice number, so it only counts for the sender's own ticket.
    """
    number = tickets.find_ticket_number(received.subject)
    if number:
        return number, tickets.TICKET_NUMBER_FORMS[0].search(received.subject) is not None
    number = mail.parse_thread_id(received.in_reply_to)
    return (number, True) if number else (None, False)


# -- outcomes ----------------------------------------------------------------------------------

def keep(raw: bytes, reason: str, sender: str = "", subject: str = "",
         now: dt.datetime | None = None) -> IngestResult:
    """Keep a mail for a person to look at, with the reason; raw bytes beyond MAIL_IN_KEEP_BYTES are cut."""
    limit = int(current_app.config.get("MAIL_IN_KEEP_BYTES", 5 * 1024 * 1024))
    if len(raw) > limit:
        reason = f"{reason} (first {_size(limit)} of {_size(len(raw))} kept)"
    row = IncomingMail(sender=sender[:254], subject=subject[:300], raw=raw[:limit], reason=reason[:200],
                       created_at=now or utcnow())
    db.session.add(row)
    db.session.commit()
    log.info("incoming mail %s kept for a person: %s", row.id, reason)
    return IngestResult("kept", reason=reason, incoming_id=row.id)


def external_url(endpoint: str, **values) -> str | None:
    """Return a full URL for a link in a mail, or None when that page does not exist in this app."""
    return site_url(endpoint, **values)


def send_template(recipient: str, mail_subject: str, template: str, lang: str, ticket_id: int | None = None,
                  **context) -> None:
    """Queue a mail written from mail/<template>.txt and .html in this language."""
    with force_locale(lang):
        context.update(lang=lang, help_url=external_url("kb.home", lang=lang),
                       login_url=external_url("auth.login", lang=lang),
                       ask_url=external_url("tickets.ask", lang=lang),
                       panel_url=articles.placeholder_values(lang).get("panel_url", ""))
        body = render_template(f"mail/{template}.txt", **context)
        markup = render_template(f"mail/{template}.html", **context)
    mail.queue_mail(recipient, mail_subject, body, markup, ticket_id=ticket_id)


def reply_subject(subject: str) -> str:
    subject = subject.strip() or "-"
    return subject if re.match(r"^\s*re\s*:", subject, re.I) else f"Re: {subject}"


def article_links(items, lang: str, with_steps: bool = False) -> list[dict]:
    """Return the triage's articles as links in the reader's language (with their text for steps)."""
    links = []
    for item in items or []:
        article = articles.best(getattr(item, "id", ""), lang) or item
        entry = {"title": article.title, "summary": getattr(article, "summary", ""),
                 "url": external_url("kb.article", lang=article.lang, slug=article.slug), "steps": ""}
        if with_steps and getattr(article, "html", None):
            steps = html_to_text(article.html, strip_quotes=False)
            entry["steps"] = steps if len(steps) <= 3000 else steps[:3000].rsplit("\n", 1)[0] + "\n…"
        links.append(entry)
    return links


UNKNOWN_SENDER_SUBJECTS = {"nl": "Uw mail aan Web://Xtra Customer Support",
                           "en": "Your mail to Web://Xtra Customer Support"}


def search_words(text: str, limit: int = 150) -> str:
    """Return the words of a text, up to limit characters, as a search query (the search takes 200 at most)."""
    words, length = [], 0
    for word in re.findall(r"\w[\w.-]*", text):
        if length + len(word) + 1 > limit:
            break
        words.append(word)
        length += len(word) + 1
    return " ".join(words)


def too_many_unknown_answers(now: dt.datetime) -> bool:
    """Return whether the answers to unknown senders in the last hour reached MAIL_IN_UNKNOWN_MAX_PER_HOUR.

    Anyone can write from any address: without a cap over all senders, forged senders would
    make us send mail to whoever an attacker names.
    """
    limit = int(current_app.config.get("MAIL_IN_UNKNOWN_MAX_PER_HOUR", 60))
    sent = db.session.scalar(select(func.count(OutgoingMail.id)).where(
        OutgoingMail.subject.in_(list(UNKNOWN_SENDER_SUBJECTS.values())),
        OutgoingMail.created_at >= now - dt.timedelta(hours=1)))
    return sent >= limit


def answer_unknown_sender(raw: bytes, received: ReceivedMail, lang: str, now: dt.datetime) -> IngestResult:
    """Answer someone we have no account for: where to find help and how to reach us.

    The answer quotes nothing of theirs (a subject can carry a phishing link) and has a fixed
    subject; over the hourly cap for all unknown senders the mail is kept for a person.
    """
    if too_many_unknown_answers(now):
        return keep(raw, "too many mails from unknown senders within an hour", received.sender, received.subject, now)
    suggestions = []
    try:
        results = search_index.search(search_words(f"{received.subject} {received.text[:500]}"), lang, limit=3)
        suggestions = [{"title": hit.title, "url": external_url("kb.article", lang=hit.lang, slug=hit.slug)}
                       for hit in results.hits]
    except Exception:  # noqa: BLE001 - suggestions are a courtesy; the answer goes out without them
        log.exception("no article suggestions for an unknown sender")
    send_template(received.sender, UNKNOWN_SENDER_SUBJECTS[lang], "in_unknown_sender", lang,
                  sender=received.sender, suggestions=suggestions)
    db.session.commit()
    return IngestResult("answered_unknown", reason=received.sender)


def new_question(customer: User, received: ReceivedMail, now: dt.datetime) -> IngestResult:
    """Triage a customer's new question: an answer by mail, or a ticket (asking for the domain if missing)."""
    lang = customer.locale if customer.locale in LANGUAGES else "nl"
    body = message_body(received, lang) or received.subject
    subject = " ".join(received.subject.split())[:tickets.MAX_SUBJECT_LENGTH]
    text = f"{subject}\n{received.text}"[:tickets.MAX_BODY_LENGTH]
    domain = find_customer_domain(customer, text)
    # Mail has no dialogue: no split advice, no offer of an open ticket; open_ticket still moves
    # an earlier one on the same subject to the back, and its confirmation asks for a missing domain.
    outcome = submit_question(customer, domain, subject, body, lang, Choices(interactive=False), via="email",
                              triage_lang=guess_language(text, lang), triage_text=text,
                              mail_message_id=received.message_id or None, now=now)
    decision = outcome.decision
    if outcome.action == "answered":
        send_template(customer.email, reply_subject(subject), "in_answer", lang, verdict=decision.verdict,
                      subject=subject, topic=decision.topic,
                      items=article_links(decision.articles, lang, with_steps=decision.verdict == "self_service"),
                      doc_links=list(decision.doc_links or []))
        db.session.commit()
        return IngestResult("answered", reason=decision.verdict)
    return IngestResult("created" if domain else "asked_domain", ticket_number=outcome.ticket.number)


def continue_ticket(raw: bytes, customer: User | None, received: ReceivedMail, number: int,
                    now: dt.datetime, dmarc_pass: bool = False) -> IngestResult:
    """Add a reply to its ticket, but only from that ticket's customer, and only when authenticated.

    A From header proves nothing (anyone can write it), so the mail must also show it comes
    from the customer: a DMARC pass from our own mail server (MAIL_IN_AUTHSERV_ID), or the
    reply token of a mail we sent about this ticket in In-Reply-To/References. Anything
    else is kept for a person: fail closed.
    """
    ticket = db.session.get(Ticket, number)
    if ticket is None:
        return keep(raw, f"ticket {number} does not exist", received.sender, received.subject, now)
    if customer is None or ticket.user_id != customer.id:
        return keep(raw, f"{received.sender} is not the customer of ticket {number}", received.sender,
                    received.subject, now)
    if not dmarc_pass and number not in mail.thread_ids(received.in_reply_to):
        return keep(raw, f"reply to ticket {number} not authenticated (no DMARC pass, no reply token of ours)",
                    received.sender, received.subject, now)
    body = message_body(received, ticket.lang if ticket.lang in LANGUAGES else "nl")
    if not body:
        return keep(raw, f"reply to ticket {number} without new text", received.sender, received.subject, now)
    if not ticket.domain:  # the SLA: "reply to this message to add the domain"
        ticket.domain = find_customer_domain(customer, f"{received.subject}\n{received.text}")
    tickets.add_customer_message(ticket, customer, body, via="email", now=now,
                                 mail_message_id=received.message_id or None)
    return IngestResult("threaded", ticket_number=ticket.number)


class NotProcessed(RuntimeError):
    """A mail could not be processed and was not kept: its sender (the mail server) must keep it."""


def ingest(raw: bytes, now: dt.datetime | None = None, keep_failures: bool = True) -> IngestResult:
    """Process one received RFC 822 mail; keep it for a person when it cannot be processed.

    With keep_failures=False a mail that fails is not kept but NotProcessed is raised, with
    nothing half done, so that a mail server's pipe delivery keeps it and tries again later.
    Raises also when even keeping the mail failed (the database is unreachable): the caller
    must then leave the mail where it came from, to be tried again.
    """
    now = now or utcnow()
    sender = subject = ""
    try:
        limit = int(current_app.config.get("MAIL_IN_MAX_BYTES", 25 * 1024 * 1024))
        message = email.message_from_bytes(raw[:limit], policy=policy.default)
        sender, subject = sender_address(message), header_text(message, "Subject")
        return _process(raw, message, len(raw) > limit, now)
    except IntegrityError:
        db.session.rollback()
        message_id = header_text(message, "Message-ID").strip()[:255]
        if message_id and already_received(message_id):  # the same mail, delivered twice at once
            return IngestResult("ignored", reason=f"already received: {message_id}")
        log.exception("incoming mail could not be processed")
        return keep(raw, "could not be processed: a database conflict", sender, subject, now)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the mail must not be lost
        db.session.rollback()
        log.exception("incoming mail could not be processed")
        if not keep_failures:
            raise NotProcessed(f"{type(exc).__name__}: {exc}") from exc
        return keep(raw, f"could not be processed: {type(exc).__name__}: {exc}", sender, subject, now)


def already_received(message_id: str) -> bool:
    return db.session.scalar(select(func.count(MailReceipt.id)).where(MailReceipt.message_id == message_id)) > 0


def _process(raw: bytes, message: EmailMessage, truncated: bool, now: dt.datetime) -> IngestResult:
    sender, subject = sender_address(message), header_text(message, "Subject")
    message_id = header_text(message, "Message-ID").strip()[:255]
    if message_id:
        # The same mail delivered twice (a retrying mail server, a second poll) is processed once.
        # The receipt is committed with whatever the mail becomes; the unique key stops a race.
        if already_received(message_id):
            return IngestResult("ignored", reason=f"already received: {message_id}")
        db.session.add(MailReceipt(message_id=message_id, created_at=now))
    reason = automatic_reason(message, sender, subject)
    if reason:
        bounce = message.get_content_type() == "multipart/report" or sender.startswith(("mailer-daemon@",
                                                                                         "postmaster@"))
        number = bounced_ticket(message) if bounce else None
        if number and db.session.get(Ticket, number) is not None:
            return keep(raw, f"bounce: our mail about ticket {number} was not delivered", sender, subject, now)
        log.info("incoming mail from %r not answered: %s", sender, reason)
        return IngestResult("ignored", reason=reason)
    if not sender:
        return keep(raw, "no sender address", sender, subject, now)
    if len(sender_addresses(message)) > 1:
        return keep(raw, "several addresses in From: whose mail is it?", sender, subject, now)
    if failed_dmarc(message):
        return keep(raw, f"{sender} failed the DMARC check: possibly forged", sender, subject, now)
    if too_many_from(sender, now):
        return keep(raw, f"too many mails from {sender} within an hour (a mail loop?)", sender, subject, now)
    customer = find_user(sender)
    received = read_mail(message, truncated)
    number, certain = ticket_number_of(received)
    if number:
        ticket = db.session.get(Ticket, number)
        if certain or (ticket is not None and customer is not None and ticket.user_id == customer.id):
            return continue_ticket(raw, customer, received, number, now, dmarc_pass=passed_dmarc(message))
    if customer is None:
        lang = guess_language(f"{received.subject}\n{received.text}")
        return answer_unknown_sender(raw, received, lang, now)
    if not customer.is_customer:
        return keep(raw, f"{sender} is a staff account, not a customer", sender, subject, now)
    if not received.text and not received.subject.strip():
        return keep(raw, "empty mail", sender, subject, now)
    return new_question(customer, received, now)


# -- IMAP --------------------------------------------------------------------------------------

@dataclass
class PollReport:
    """What one IMAP poll did."""

    results: list[IngestResult] = field(default_factory=list)
    failed: int = 0  # mails left unseen in the mailbox, to be tried at the next poll


def poll_imap(limit: int = 200) -> PollReport:
    """Fetch the unseen mails from the IMAP mailbox, process each, and mark it \\Seen (or move it)."""
    config = current_app.config
    if not config.get("IMAP_HOST"):
        raise RuntimeError("IMAP_HOST is not set")
    connection_class = imaplib.IMAP4_SSL if config.get("IMAP_SSL", True) else imaplib.IMAP4
    connection = connection_class(config["IMAP_HOST"], int(config.get("IMAP_PORT", 993)),
                                  timeout=float(config.get("IMAP_TIMEOUT", 30)))
    report = PollReport()
    try:
        connection.login(config.get("IMAP_USER", ""), config.get("IMAP_PASSWORD", ""))
        status, _ = connection.select(config.get("IMAP_FOLDER") or "INBOX")
        if status != "OK":
            raise RuntimeError(f"cannot open folder {config.get('IMAP_FOLDER')!r}")
        status, data = connection.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split() if status == "OK" and data else []
        target = config.get("IMAP_PROCESSED_FOLDER") or ""
        can_move = "MOVE" in connection.capabilities
        expunge = False
        for uid in uids[:limit]:
            try:
                status, data = connection.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((item[1] for item in data or [] if isinstance(item, tuple)), None)
                if status != "OK" or raw is None:
                    raise RuntimeError(f"cannot fetch message {uid.decode()}: {status}")
                result = ingest(raw)
            except Exception:  # noqa: BLE001 - one bad message must not stop the others
                db.session.rollback()
                log.exception("IMAP message %s not processed; it stays unseen", uid)
                report.failed += 1
                continue
            report.results.append(result)
            try:
                if target and can_move:
                    connection.uid("MOVE", uid, target)
                elif target:
                    connection.uid("COPY", uid, target)
                    connection.uid("STORE", uid, "+FLAGS", "(\\Deleted \\Seen)")
                    expunge = True
                else:
                    connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            except (imaplib.IMAP4.error, OSError):
                log.exception("IMAP message %s processed but not marked; it may be processed again", uid)
        if expunge:
            connection.expunge()
    finally:
        try:
            connection.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return report
