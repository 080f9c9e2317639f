"""Mail kept for a person, and the questions of visitors without an account that join it.

Incoming mail that cannot be processed automatically is kept as an IncomingMail row
(helpsite/mail_in.py keep()). Support reads it on the desk and assigns it to a ticket (an
existing one, or a new one for the customer it is from) or discards it. A question sent through
the contact form by someone without an account, or who cannot log in, is kept the same way:
a person checks who it is from before it becomes a ticket, so no one can open tickets in a
customer's name by typing their address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate

from sqlalchemy import select

from . import mail_in, questions, tickets
from .accounts import domain_owner, find_user
from .extensions import db
from .models import IncomingMail, Ticket, TicketKind, User

CONTACT_REASON = "question from the contact form by {email} (not logged in: check who it is from)"


class KeptMailError(ValueError):
    """An assignment that cannot be made; the code names why (views explain it in the reader's language)."""


@dataclass
class KeptMailView:
    """A kept mail as support reads it: never its HTML, only the text."""

    row: IncomingMail
    sender: str
    subject: str
    text: str
    domain: str
    lang: str
    customer: User | None  # the account of the sender's address, or of the domain named


def keep_contact_question(email: str, domain: str, subject: str, question: str, lang: str,
                          article: str = "", commit: bool = True) -> IncomingMail:
    """Keep a question from the contact form for support, as a mail would be kept."""
    message = EmailMessage()
    message["From"] = email
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["X-Helpsite-Source"] = "contact-form"
    message["X-Helpsite-Domain"] = domain
    message["X-Helpsite-Lang"] = lang
    if article:
        message["X-Helpsite-Article"] = article
    message.set_content(question)
    result = mail_in.keep(bytes(message), CONTACT_REASON.format(email=email), email, subject, commit=commit)
    return db.session.get(IncomingMail, result.incoming_id)


def waiting(limit: int = 200) -> list[IncomingMail]:
    """Return the kept mail nobody handled yet, oldest first (the order the queue serves)."""
    query = select(IncomingMail).where(IncomingMail.handled.is_(False)).order_by(IncomingMail.id).limit(limit)
    return list(db.session.scalars(query).all())


def count_waiting() -> int:
    """Return how many kept mails nobody handled yet."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count(IncomingMail.id)).where(IncomingMail.handled.is_(False))) or 0


def read(row: IncomingMail) -> KeptMailView:
    """Return what a kept mail says: sender, subject, text, and the customer it may be from."""
    message = BytesParser(policy=policy.default).parsebytes(row.raw or b"")
    received = mail_in.read_mail(message)
    domain = accounts_domain(mail_in.header_text(message, "X-Helpsite-Domain"))
    lang = mail_in.header_text(message, "X-Helpsite-Lang") or mail_in.guess_language(
        f"{received.subject}\n{received.text}")
    sender = received.sender or row.sender
    customer = find_user(sender) if sender else None
    if (customer is None or not customer.is_customer) and domain:
        customer = domain_owner(domain)
    article = mail_in.header_text(message, "X-Helpsite-Article")
    text = received.text + (f"\n\n[{article}]" if article else "")
    return KeptMailView(row=row, sender=sender, subject=received.subject or row.subject, text=text.strip(),
                        domain=domain, lang=lang if lang in ("nl", "en") else "nl",
                        customer=customer if customer is not None and customer.is_customer else None)


def accounts_domain(name: str) -> str:
    from .accounts import is_domain_name, normalise_domain

    name = normalise_domain(name)
    return name if is_domain_name(name) else ""


def add_to_ticket(row: IncomingMail, ticket: Ticket, now: dt.datetime | None = None) -> None:
    """Add a kept mail's text to a ticket as its customer's message, and mark the mail handled."""
    seen = read(row)
    if not seen.text:
        raise KeptMailError("empty")
    tickets.add_customer_message(ticket, ticket.customer, seen.text, via="email", now=now)
    row.handled = True
    db.session.commit()


def open_ticket_for(row: IncomingMail, customer: User, kind: str = TicketKind.TECHNICAL,
                    now: dt.datetime | None = None) -> Ticket:
    """Open a ticket for a customer with a kept mail as its question, and mark the mail handled."""
    if not customer.is_customer:
        raise KeptMailError("not_customer")
    seen = read(row)
    if not seen.text:
        raise KeptMailError("empty")
    if kind not in tickets.KINDS:
        raise tickets.TicketError("kind_invalid")
    row.handled = True  # committed with the ticket, or rolled back with it
    # A person read it and decided: it becomes a ticket of the kind they chose, through the one
    # path every question takes (the triage decision is recorded for the editors all the same).
    try:
        outcome = questions.submit_question(customer, seen.domain, seen.subject, seen.text, seen.lang,
                                            questions.Choices(override=True, interactive=False, kind=kind),
                                            via="email", source="desk", now=now)
    except Exception:
        db.session.rollback()  # the mail stays waiting
        raise
    return outcome.ticket


def discard(row: IncomingMail) -> None:
    """Mark a kept mail as handled without a ticket (spam, a bounce dealt with, a duplicate)."""
    row.handled = True
    db.session.commit()
