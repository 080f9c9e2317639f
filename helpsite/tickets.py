"""Tickets as the SLA describes them: numbers, the queue and its rules, response targets, mail.

The queue rules: Managed Hosting customers are always ahead of the rest; otherwise a ticket
keeps its place (``queued_at``) until the customer replies before we answered, or opens a
second ticket on the same subject, which moves it to the back. Two replies keep the place: the
answer to our request for information (a support reply marked so), and a short reply before
our answer that only adds a (sub)domain of theirs the ticket did not name yet (the articles
tell customers to do exactly that).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select

from . import incidents, mail
from .accounts import normalise_domain
from .extensions import db
from .models import Message, OutgoingMail, Ticket, TicketKind, TicketStatus, User, utcnow
from .support_calendar import calendar_from_config

OPEN_STATUSES = (TicketStatus.WAITING_SUPPORT, TicketStatus.WAITING_CUSTOMER)
STATUSES = tuple(TicketStatus)
KINDS = tuple(TicketKind)
MAX_SUBJECT_LENGTH = 200
MAX_BODY_LENGTH = 10_000
# What people and mail programs make of "[#123]", most trusted first: the bracketed form the
# SLA asks for wins over a bare "#12" or "ticket 12" elsewhere in the same subject.
TICKET_NUMBER_FORMS = (
    re.compile(r"\[\s*(?:ticket\s*)?#\s*(\d{1,9})\s*\]", re.I),  # [#123], [# 123], [Ticket #123]
    re.compile(r"(?<![\w#&])#\s?(\d{1,9})(?!\d)"),  # #123, # 123 (not an HTML entity like &#123;)
    # "Ticket 123", "ticketnummer 77", "Ticket nr. 5", "ticket: 9", but not "a ticket 2 days ago"
    re.compile(r"\bticket\s*(?:nummer|number|nr\.?|no\.?)?\s*[:#]?\s*(\d{1,9})\b"
               r"(?!\s*(?:days?|dagen|dag|weeks?|weken|hours?|uur|minutes?|minuten|min)\b)", re.I),
)


# An answer that already starts with a greeting gets none from the mail template: greet once.
GREETING = re.compile(r"^\s*(beste|geachte|hallo|hoi|goede(morgen|middag|navond)|dear|hello|hi|good "
                      r"(morning|afternoon|evening))\b", re.I)


class TicketError(ValueError):
    """Input a ticket cannot be made from; str(error) is a key the views turn into a message."""


def clean_text(text: str | None, max_length: int, multiline: bool = True) -> str:
    """Normalise user text: drop control characters (not newlines), trim; raise TicketError when too long."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    allowed = "\n\t" if multiline else ""
    text = "".join(ch for ch in text if ch in allowed or unicodedata.category(ch)[0] != "C")
    text = text.strip() if multiline else " ".join(text.split())
    if len(text) > max_length:
        raise TicketError("too_long")
    return text


def check_domain(customer: User, name: str) -> str:
    """Return the normalised (sub)domain when it is one of the customer's; raise TicketError otherwise."""
    name = normalise_domain(name)
    if not name:
        raise TicketError("domain_missing")
    if not re.match(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", name):
        raise TicketError("domain_invalid")
    for domain in customer.domains:
        if name == domain.name or name.endswith("." + domain.name):
            return name
    raise TicketError("domain_not_yours")


def subject_line(ticket: Ticket, subject: str | None = None) -> str:
    """Return a mail subject with the ticket number in brackets, as the SLA asks customers to keep it."""
    return f"[#{ticket.number}] {subject or ticket.subject}"


def find_ticket_number(subject: str) -> int | None:
    """Return the ticket number in a subject, tolerant of what people and mail programs do to it."""
    for form in TICKET_NUMBER_FORMS:
        match = form.search(subject or "")
        if match:
            return int(match.group(1))
    return None


def similar_open_tickets(customer: User, domain: str, subject: str) -> list[Ticket]:
    """Return the customer's open tickets about the same domain or with a similar subject."""
    words = {w for w in re.findall(r"\w{4,}", subject.lower())}
    candidates = db.session.scalars(
        select(Ticket).where(Ticket.user_id == customer.id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id.desc())
    ).all()
    similar = []
    for ticket in candidates:
        theirs = {w for w in re.findall(r"\w{4,}", ticket.subject.lower())}
        overlap = len(words & theirs) / max(1, min(len(words), len(theirs))) if words and theirs else 0
        if ticket.domain == domain or overlap >= 0.5:
            similar.append(ticket)
    return similar


def response_due(created: dt.datetime, kind: str, managed: bool) -> dt.datetime:
    """Return the expected response moment on the support calendar."""
    calendar = calendar_from_config(current_app.config)
    return calendar.due_at(created, kind, managed, current_app.config.get("SUPPORT_MANAGED_RESPONSE_HOURS"))


def response_guaranteed(ticket: Ticket) -> bool:
    """Return True when the ticket's expected response is a guarantee: Managed Hosting, with the
    guaranteed response time the company set. Every other expected response is an aim (the SLA)."""
    return bool(ticket.managed) and current_app.config.get("SUPPORT_MANAGED_RESPONSE_HOURS") is not None


def open_ticket(customer: User, domain: str, subject: str, body: str, kind: str = TicketKind.TECHNICAL,
                lang: str = "nl", via: str = "web", now: dt.datetime | None = None,
                mail_message_id: str | None = None, commit: bool = True) -> Ticket:
    """Create a ticket with its first message and queue the confirmation mail.

    A second ticket on the same subject or domain moves the earlier open ones to the back
    of the queue, as the SLA says. commit=False: part of the caller's transaction.
    """
    if kind not in KINDS:
        raise TicketError("kind_invalid")
    now = now or utcnow()
    subject = clean_text(subject, MAX_SUBJECT_LENGTH, multiline=False)
    body = clean_text(body, MAX_BODY_LENGTH)
    if not body:
        raise TicketError("body_missing")
    # Tickets an open incident gathers are not duplicates of each other: they keep their place.
    gathering = incidents.gathering(customer, domain, f"{subject}\n{body}", now)
    title = subject or subject_from(body)  # a mail without a subject
    earlier = [t for t in (similar_open_tickets(customer, domain, title) if domain else [])
               if not incidents.keeps_place(t, gathering)]
    for ticket in earlier:
        ticket.queued_at = now
    ticket = Ticket(
        customer=customer, domain=domain, subject=title, kind=kind,
        status=TicketStatus.WAITING_SUPPORT, managed=customer.is_managed, lang=lang, queued_at=now, created_at=now,
        updated_at=now, due_at=response_due(now, kind, customer.is_managed),
    )
    if earlier:
        ticket.duplicate_of_id = earlier[0].id
    ticket.messages.append(Message(author=customer, author_role="customer", body=body, via=via, created_at=now,
                                   mail_message_id=mail_message_id))
    db.session.add(ticket)
    db.session.flush()  # the number is needed for the mail subject
    incidents.gather(ticket, gathering)
    notify_customer(ticket, "created")
    if commit:
        db.session.commit()
    return ticket


def answers_our_request(ticket: Ticket) -> bool:
    """Return True when we wait for the customer because our last answer asked them for information."""
    if ticket.status != TicketStatus.WAITING_CUSTOMER:
        return False
    for message in reversed(ticket.messages):
        if message.author_role == "support" and not message.internal:
            return bool(message.asks_information)
    return False


# A (sub)domain in running text; not the part of an email address after the @.
DOMAIN_IN_TEXT = re.compile(r"(?<![\w@.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})(?![\w-])")
FORGOTTEN_DOMAIN_MAX_WORDS = 30  # beyond this a reply says more than "this domain too"
SUBJECT_FROM_QUESTION_LENGTH = 80  # a subject is read in a queue line, not a paragraph


def domain_named_in(customer: User, text: str) -> str | None:
    """Return the (sub)domain of the customer's that a question names, when it names exactly one.

    Customers often write "my site bakkerij-jansen.nl" in the question and leave the domain field
    empty; asking them again for what they already wrote is friction, guessing between two is not
    our place.
    """
    named = set()
    for found in DOMAIN_IN_TEXT.findall((text or "").lower()):
        try:
            named.add(check_domain(customer, found))
        except TicketError:
            continue
    return named.pop() if len(named) == 1 else None


def subject_from(question: str) -> str:
    """Return a subject made of the question's first line, cut at a word within SUBJECT_FROM_QUESTION_LENGTH."""
    first = next((line.strip() for line in question.splitlines() if line.strip()), "")
    first = " ".join(first.split())
    if len(first) <= SUBJECT_FROM_QUESTION_LENGTH:
        return first
    cut = first[:SUBJECT_FROM_QUESTION_LENGTH].rsplit(" ", 1)[0] or first[:SUBJECT_FROM_QUESTION_LENGTH]
    return cut.rstrip(" ,.;:") + "…"


def adds_a_forgotten_domain(ticket: Ticket, customer: User, body: str) -> bool:
    """Return True for a short reply that names a (sub)domain of the customer's the ticket did not name yet.

    A reply before our answer moves a ticket back (the SLA's rule against chasing); adding the
    domain we need is not chasing. A reply that repeats a domain already named, or a long one,
    is treated as any other reply.
    """
    lowered = body.lower()
    if len(lowered.split()) > FORGOTTEN_DOMAIN_MAX_WORDS:
        return False
    named = "\n".join([ticket.domain or "", ticket.subject] + [m.body for m in ticket.messages]).lower()
    already = set(DOMAIN_IN_TEXT.findall(named))
    for found in DOMAIN_IN_TEXT.findall(lowered):
        if found in already:
            continue
        try:
            check_domain(customer, found)
        except TicketError:
            continue
        return True
    return False


def add_customer_message(ticket: Ticket, author: User, body: str, via: str = "web",
                         now: dt.datetime | None = None, mail_message_id: str | None = None,
                         commit: bool = True) -> Message:
    """Add the customer's reply; a reply before we answered moves the ticket to the back of the queue.

    The answer to our request for information, and a reply that only adds a forgotten domain,
    keep the ticket's place.
    """
    now = now or utcnow()
    body = clean_text(body, MAX_BODY_LENGTH)
    if not body:
        raise TicketError("body_missing")
    keeps_place = (answers_our_request(ticket)
                   or (ticket.status == TicketStatus.WAITING_SUPPORT and adds_a_forgotten_domain(ticket, author, body)))
    if ticket.status != TicketStatus.WAITING_SUPPORT:  # a new question for us: a new response target
        ticket.due_at = response_due(now, ticket.kind, ticket.managed)
    if not keeps_place:
        # The SLA's rule for a reply before our answer, and the normal place for a ticket that
        # returns to us with something new.
        ticket.queued_at = now
    ticket.status = TicketStatus.WAITING_SUPPORT
    ticket.closed_at = None
    ticket.updated_at = now
    message = Message(author=author, author_role="customer", body=body, via=via, created_at=now,
                      mail_message_id=mail_message_id)
    ticket.messages.append(message)
    if commit:
        db.session.commit()
    return message


def add_support_reply(ticket: Ticket, agent: User, body: str, internal: bool = False,
                      now: dt.datetime | None = None, asks_information: bool = False) -> Message:
    """Answer the customer (mailed, waiting for the customer) or add an internal note.

    asks_information: the answer asks the customer for something we need; their reply then
    keeps the ticket's place in the queue.
    """
    now = now or utcnow()
    body = clean_text(body, MAX_BODY_LENGTH)
    if not body:
        raise TicketError("body_missing")
    message = Message(author=agent, author_role="support", body=body, internal=internal, created_at=now,
                      asks_information=asks_information and not internal)
    ticket.messages.append(message)
    if not internal:
        ticket.status = TicketStatus.WAITING_CUSTOMER
        ticket.updated_at = now
        db.session.flush()
        notify_customer(ticket, "replied", message=message)
    db.session.commit()
    return message


def close_ticket(ticket: Ticket, now: dt.datetime | None = None) -> None:
    """Close a ticket."""
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now or utcnow()
    db.session.commit()


def reopen_ticket(ticket: Ticket, now: dt.datetime | None = None) -> None:
    """Reopen a closed ticket: it waits for us again."""
    now = now or utcnow()
    ticket.status = TicketStatus.WAITING_SUPPORT
    ticket.closed_at = None
    ticket.queued_at = now
    ticket.due_at = response_due(now, ticket.kind, ticket.managed)
    db.session.commit()


def ticket_for(user: User, number: int) -> Ticket | None:
    """Return the ticket if this user may see it (its customer, or support staff), else None."""
    if number is None or number < 1 or number >= 2**31:  # beyond PostgreSQL's integer: no such ticket
        return None
    ticket = db.session.get(Ticket, number)
    if ticket is None:
        return None
    if user.is_staff or ticket.user_id == user.id:
        return ticket
    return None


def customer_tickets(customer: User) -> list[Ticket]:
    """Return a customer's tickets, open ones first, newest first."""
    tickets = db.session.scalars(select(Ticket).where(Ticket.user_id == customer.id).order_by(Ticket.id.desc())).all()
    return sorted(tickets, key=lambda t: t.status == TicketStatus.CLOSED)


def queue(status: str | None = TicketStatus.WAITING_SUPPORT, kind: str | None = None, domain: str | None = None) -> list[Ticket]:
    """Return tickets in the order the SLA serves them: Managed Hosting first, then by place in the queue."""
    query = select(Ticket)
    if status == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif status in STATUSES:
        query = query.where(Ticket.status == status)
    if kind in KINDS:
        query = query.where(Ticket.kind == kind)
    if domain:
        pattern = normalise_domain(domain)
        query = query.where(or_(Ticket.domain == pattern, Ticket.domain.like(f"%.{pattern}")))
    query = query.order_by(Ticket.managed.desc(), Ticket.queued_at.asc(), Ticket.id.asc())
    return list(db.session.scalars(query).all())


def visible_messages(ticket: Ticket, user: User) -> list[Message]:
    """Return the conversation as this user may see it: customers never see internal notes."""
    return [m for m in ticket.messages if user.is_staff or not m.internal]


def thread_headers(ticket: Ticket) -> tuple[str | None, str | None]:
    """Return In-Reply-To and References for a new mail about this ticket.

    It answers the customer's last mail when there is one, else our last mail about the
    ticket, so the customer's mail program shows the ticket as one conversation.
    """
    ours = list(db.session.scalars(select(OutgoingMail.message_id).where(OutgoingMail.ticket_id == ticket.id)
                                   .order_by(OutgoingMail.id)).all())
    theirs = [m.mail_message_id for m in ticket.messages if m.author_role == "customer" and m.mail_message_id]
    parent = theirs[-1] if theirs else (ours[-1] if ours else None)
    if parent is None:
        return None, None
    chain = []
    for mid in ours[:1] + theirs[-3:] + ours[-1:] + [parent]:
        if mid not in chain:
            chain.append(mid)
    return parent, " ".join(chain)


def notify_customer(ticket: Ticket, event: str, message: Message | None = None) -> None:
    """Queue the mail about a ticket in the customer's language (sent after the commit)."""
    with force_locale(ticket.lang):
        context = {"ticket": ticket, "message": message, "event": event,
                   "greeted": bool(message and GREETING.match(message.body))}
        body = render_template(f"mail/ticket_{event}.txt", **context)
        html = render_template(f"mail/ticket_{event}.html", **context)
        subject = subject_line(ticket) if event != "created" else subject_line(
            ticket, _("Received: %(subject)s", subject=ticket.subject))
    in_reply_to, references = thread_headers(ticket)
    # An agent's answer is a person's mail: no Auto-Submitted (RFC 3834 is for automatic mail).
    mail.queue_mail(ticket.customer.email, subject, body, html, ticket_id=ticket.id,
                    auto_submitted=None if event == "replied" else "auto-replied",
                    in_reply_to=in_reply_to, references=references)


def linked_tickets(ticket: Ticket) -> list[Ticket]:
    """Return the tickets marked as duplicates of this one, and the one it duplicates."""
    query = select(Ticket).where(or_(Ticket.duplicate_of_id == ticket.id,
                                     Ticket.id == (ticket.duplicate_of_id or 0))).order_by(Ticket.id)
    return [t for t in db.session.scalars(query).all() if t.id != ticket.id]
