"""Mail in, step 3: what a received mail becomes: a reply in its ticket, a question, an answer, or kept.

A reply goes into a ticket only from the ticket's customer and only when authenticated (our
reply token or a DMARC pass from our own server); a new question goes through
submit_question like the form's; whatever cannot be processed is kept for a person.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import mail, tickets
from ..accounts import find_user
from ..extensions import articles, db, search_index
from ..models import IncomingMail, MailReceipt, OutgoingMail, Ticket, User, utcnow
from ..questions import Choices, submit_question
from ..urls import site_url
from .guard import automatic_reason, bounced_ticket, failed_dmarc, passed_dmarc, too_many_from
from .parse import (LANGUAGES, ReceivedMail, _size, guess_language, header_text, html_to_text, message_body,
                    read_mail, sender_address, sender_addresses)

log = logging.getLogger("helpsite.mail_in")


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
         now: dt.datetime | None = None, commit: bool = True) -> IngestResult:
    """Keep a mail for a person to look at, with the reason; raw bytes beyond MAIL_IN_KEEP_BYTES are cut.

    commit=False: part of the caller's transaction.
    """
    limit = int(current_app.config.get("MAIL_IN_KEEP_BYTES", 5 * 1024 * 1024))
    if len(raw) > limit:
        reason = f"{reason} (first {_size(limit)} of {_size(len(raw))} kept)"
    row = IncomingMail(sender=sender[:254], subject=subject[:300], raw=raw[:limit], reason=reason[:200],
                       created_at=now or utcnow())
    db.session.add(row)
    if commit:
        db.session.commit()
    else:
        db.session.flush()  # the id, for the result
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
