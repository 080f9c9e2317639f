"""Mail in, step 2: mail we must not answer or cannot trust, recognised before anything is done.

Auto-replies, bounces, lists and our own mail coming back; the DMARC verdict of our own mail
server; senders that write too often (a loop or a flood).
"""

from __future__ import annotations

import datetime as dt
import email
import re
from email import policy
from email.message import Message as MIMEPart

from flask import current_app
from sqlalchemy import func, select

from .. import tickets
from ..extensions import db
from ..models import IncomingMail, Message, OutgoingMail, User
from .parse import header_text, repair_text

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
