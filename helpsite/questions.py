"""One operation for a customer's question, whether it came from the form or by mail.

submit_question cleans the text, triages it, advises a split, offers an open ticket on the
same subject, adds to that ticket or opens a new one (which queues the confirmation in the
outbox), and records the decision for the editors. The form and mail in only translate their
input into this call and its Outcome into a page or a mail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import analytics, tickets, triage
from .extensions import articles, search_index
from .models import Ticket, User


@dataclass
class Choices:
    """What the customer chose on earlier steps of the form; mail has no steps and chooses nothing."""

    override: bool = False  # send as a ticket although triage points elsewhere
    split_ok: bool = False  # send as one ticket although it asks several questions
    duplicate: str = ""  # "": not asked yet; "new": a new ticket; "add:<number>": add to that ticket
    interactive: bool = True  # False (mail): no split advice or open-ticket offer, the question goes through


@dataclass
class Outcome:
    """What became of a question."""

    action: str  # answered | split | similar | added | created
    decision: triage.Decision
    ticket: Ticket | None = None
    similar: list[Ticket] = field(default_factory=list)


def submit_question(customer: User, domain: str, subject: str, text: str, lang: str, choices: Choices | None = None,
                    via: str = "web", triage_lang: str | None = None, triage_text: str | None = None,
                    mail_message_id: str | None = None, now: dt.datetime | None = None) -> Outcome:
    """Route a customer's question; raise tickets.TicketError for input a ticket cannot be made from.

    domain must be checked already (tickets.check_domain) or empty (mail that names none: the
    confirmation asks for it). triage_lang and triage_text: what triage reads when it differs
    from the ticket's language and text (mail: the guessed language, the text without notes).
    """
    choices = choices or Choices()
    subject = tickets.clean_text(subject, tickets.MAX_SUBJECT_LENGTH, multiline=False)
    text = tickets.clean_text(text, tickets.MAX_BODY_LENGTH)
    routed = triage_text if triage_text is not None else f"{subject}\n{text}"
    decision = triage.classify(routed, triage_lang or lang, articles, search_index)
    source = "email" if via == "email" else "web"

    def record(**extra):
        analytics.record_triage(routed, lang, decision.verdict, decision.topic, customer.id, source=source, **extra)

    if decision.verdict != "ticket" and not choices.override:
        record()
        return Outcome("answered", decision)
    if choices.interactive:
        if triage.split_advice(routed, lang) and not choices.split_ok:
            return Outcome("split", decision)
        if not choices.duplicate:
            similar = tickets.similar_open_tickets(customer, domain, subject)
            if similar:
                return Outcome("similar", decision, similar=similar)
        if choices.duplicate.startswith("add:"):
            number = choices.duplicate[4:]
            existing = tickets.ticket_for(customer, int(number)) if number.isdigit() else None
            if existing is None or existing.user_id != customer.id:
                raise LookupError("no such ticket of this customer")
            tickets.add_customer_message(existing, customer, text, via=via, now=now, mail_message_id=mail_message_id)
            return Outcome("added", decision, ticket=existing)
    kind = decision.ticket_kind if decision.verdict == "ticket" and decision.ticket_kind in tickets.KINDS \
        else "technical"
    ticket = tickets.open_ticket(customer, domain, subject, text, kind=kind, lang=lang, via=via, now=now,
                                 mail_message_id=mail_message_id)
    record(overridden=decision.verdict != "ticket", ticket_id=ticket.id)
    return Outcome("created", decision, ticket=ticket)
