"""One path for a customer's question, whether it came from the form, by mail, the contact form or the desk.

decide() is the one decision: triage, then (on a form, where the customer can still answer) the
advice to split. submit_question cleans the text, decides, offers an open ticket on the same
subject, adds to that ticket or opens a new one (which queues the confirmation in the outbox)
and records the decision for the editors — in one transaction: a failure anywhere leaves no
half ticket, no confirmation and no decision. submit_contact_question is the same for a visitor
without an account: what would become a ticket is kept for a person instead. /api/triage calls
decide() and changes nothing. The callers only translate their input into these calls and the
Outcome into a page or a mail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import analytics, kept_mail, tickets, triage
from .extensions import articles, db, search_index
from .models import Ticket, TicketKind, User


@dataclass
class Choices:
    """What the customer chose on earlier steps of the form; mail has no steps and chooses nothing."""

    override: bool = False  # send as a ticket although triage points elsewhere
    split_ok: bool = False  # send as one ticket although it asks several questions
    duplicate: str = ""  # "": not asked yet; "new": a new ticket; "add:<number>": add to that ticket
    interactive: bool = True  # False (mail, the desk): no split advice or open-ticket offer, the question goes through
    kind: str = ""  # a person's choice of ticket kind (the desk); empty: the triage decides


@dataclass
class Outcome:
    """What became of a question."""

    action: str  # answered | split | similar | added | created | kept
    decision: triage.Decision
    ticket: Ticket | None = None
    similar: list[Ticket] = field(default_factory=list)


def decide(text: str, lang: str, choices: Choices | None = None) -> tuple[str, triage.Decision]:
    """Return ("answered" | "split" | "ticket", the triage decision) for a question; changes nothing.

    "answered": triage points to an article, the policy or self-service and the customer did
    not insist; "split": several questions in one text on a form that can still ask for one
    question per ticket; "ticket": it goes to support.
    """
    choices = choices or Choices()
    decision = triage.classify(text, lang, articles, search_index)
    if decision.verdict != "ticket" and not choices.override:
        return "answered", decision
    if choices.interactive and not choices.split_ok and triage.split_advice(text, lang):
        return "split", decision
    return "ticket", decision


def submit_question(customer: User, domain: str, subject: str, text: str, lang: str, choices: Choices | None = None,
                    via: str = "web", triage_lang: str | None = None, triage_text: str | None = None,
                    mail_message_id: str | None = None, now: dt.datetime | None = None,
                    source: str | None = None) -> Outcome:
    """Route a customer's question; raise tickets.TicketError for input a ticket cannot be made from.

    domain must be checked already (tickets.check_domain) or empty (mail that names none: the
    confirmation asks for it). triage_lang and triage_text: what triage reads when it differs
    from the ticket's language and text (mail: the guessed language, the text without notes).
    Whatever the caller has pending in the session is committed with the ticket, or rolled back.
    """
    choices = choices or Choices()
    subject = tickets.clean_text(subject, tickets.MAX_SUBJECT_LENGTH, multiline=False)
    text = tickets.clean_text(text, tickets.MAX_BODY_LENGTH)
    routed = triage_text if triage_text is not None else f"{subject}\n{text}"
    verdict, decision = decide(routed, triage_lang or lang, choices)
    source = source or ("email" if via == "email" else "web")

    def record(**extra):
        analytics.record_triage(routed, lang, decision.verdict, decision.topic, customer.id, source=source,
                                commit=False, **extra)

    if verdict == "answered":
        record()
        db.session.commit()
        return Outcome("answered", decision)
    if verdict == "split":
        return Outcome("split", decision)
    if choices.interactive:
        if not choices.duplicate:
            similar = tickets.similar_open_tickets(customer, domain, subject)
            if similar:
                return Outcome("similar", decision, similar=similar)
        if choices.duplicate.startswith("add:"):
            number = choices.duplicate[4:]
            existing = tickets.ticket_for(customer, int(number)) if number.isdigit() else None
            if existing is None or existing.user_id != customer.id:
                raise LookupError("no such ticket of this customer")
            with _one_transaction():
                tickets.add_customer_message(existing, customer, text, via=via, now=now,
                                             mail_message_id=mail_message_id, commit=False)
            return Outcome("added", decision, ticket=existing)
    if choices.kind:
        kind = choices.kind
    elif decision.verdict == "ticket" and decision.ticket_kind in tickets.KINDS:
        kind = decision.ticket_kind
    else:
        kind = TicketKind.TECHNICAL
    with _one_transaction():
        ticket = tickets.open_ticket(customer, domain, subject, text, kind=kind, lang=lang, via=via, now=now,
                                     mail_message_id=mail_message_id, commit=False)
        record(overridden=decision.verdict != "ticket", ticket_id=ticket.id)
    return Outcome("created", decision, ticket=ticket)


def answer_online(customer: User | None, subject: str, text: str, lang: str, choices: Choices | None = None,
                  source: str = "web") -> Outcome | None:
    """Return the answer to a question that needs no ticket (a guide, the scripts policy, self-service),
    recorded for the editors; None, with nothing recorded, when it would become a ticket.

    The forms call this while the (sub)domain is still missing: the SLA asks it for a ticket, and a
    guide does not need it, so nobody is stopped for it before getting their answer (customer None:
    a visitor on the contact form).
    """
    subject = tickets.clean_text(subject, tickets.MAX_SUBJECT_LENGTH, multiline=False)
    text = tickets.clean_text(text, tickets.MAX_BODY_LENGTH)
    routed = f"{subject}\n{text}"
    verdict, decision = decide(routed, lang, choices)
    if verdict != "answered":
        return None
    analytics.record_triage(routed, lang, decision.verdict, decision.topic, customer.id if customer else None,
                            source=source, commit=False)
    db.session.commit()
    return Outcome("answered", decision)


def submit_contact_question(email: str, domain: str, subject: str, text: str, lang: str,
                            choices: Choices | None = None, article_line: str = "") -> Outcome:
    """Route a question from the contact form (no account): what would become a ticket is kept for a person.

    domain must be a valid domain name already; whose it is, a person checks.
    """
    choices = choices or Choices()
    subject = tickets.clean_text(subject, tickets.MAX_SUBJECT_LENGTH, multiline=False)
    text = tickets.clean_text(text, tickets.MAX_BODY_LENGTH)
    routed = f"{subject}\n{text}"
    verdict, decision = decide(routed, lang, choices)
    if verdict == "split":
        return Outcome("split", decision)
    with _one_transaction():
        if verdict == "ticket":
            kept_mail.keep_contact_question(email, domain, subject, text, lang, article_line, commit=False)
        analytics.record_triage(routed, lang, decision.verdict, decision.topic, source="contact", commit=False,
                                overridden=verdict == "ticket" and decision.verdict != "ticket")
    return Outcome("kept" if verdict == "ticket" else "answered", decision)


class _one_transaction:
    """Commit what the block wrote as one; roll all of it back when anything in it fails."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            try:
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
        else:
            db.session.rollback()
        return False
