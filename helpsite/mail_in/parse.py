"""Mail in, step 1: bytes to a ReceivedMail value (pure: no database, no app).

Decoding whatever charsets and MIME mail programs send, walking the parts, noting attachments;
what a text part's words are (HTML to text, format=flowed, quoted history) is body.py's job.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import Message as MIMEPart
from email.utils import getaddresses, parseaddr

from .. import tickets
from ..understanding import guess_language  # noqa: F401 - the one language guess, shared with triage
from .body import html_to_text, strip_quoted, unflow

LANGUAGES = ("nl", "en")
MAX_TEXT_CHARS = 200_000  # of a mail's text before quotes are stripped: bounds the work on a huge body
MAX_MIME_DEPTH = 20
FORWARD_SUBJECT = re.compile(r"^\s*(\[[^\]]*\]\s*)*(fwd?|doorst|wg|tr)\s*:", re.I)
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
