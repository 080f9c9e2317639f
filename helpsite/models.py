"""Database tables: people and their domains, tickets and their messages, outgoing mail, analytics."""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .extensions import db



# The stored values are these strings (the columns stay VARCHAR); a member equals its value.
class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    EDITOR = "editor"
    ADMIN = "admin"


class TicketStatus(StrEnum):
    WAITING_SUPPORT = "waiting_support"
    WAITING_CUSTOMER = "waiting_customer"
    CLOSED = "closed"


class TicketKind(StrEnum):
    TECHNICAL = "technical"  # the SLA's response target for a technical question
    ADMINISTRATIVE = "administrative"


ROLES = tuple(role.value for role in Role)
PLANS = ("standard", "managed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class User(UserMixin, db.Model):
    """A customer, support agent, editor or admin."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.CUSTOMER.value)
    plan: Mapped[str] = mapped_column(String(20), default="standard")
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    # Rotated at every login and logout: a session cookie carries it, so a copied cookie dies at logout.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32), index=True)
    # When that token stops working, whatever the cookie says (remember-me lives long): None = not logged in.
    session_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    domains: Mapped[list[Domain]] = relationship(back_populates="owner", cascade="all, delete-orphan",
                                                 order_by="Domain.name")

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.SUPPORT, Role.ADMIN)

    @property
    def is_editor(self) -> bool:
        return self.role in (Role.EDITOR, Role.ADMIN)

    @property
    def is_managed(self) -> bool:
        return self.plan == "managed"


class Domain(db.Model):
    """A domain name a customer holds with us."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    owner: Mapped[User] = relationship(back_populates="domains")


class Ticket(db.Model):
    """A customer's question to the Customer Support Team; its id is the ticket number."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253), default="")
    subject: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=TicketKind.TECHNICAL.value)  # a TicketKind
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.WAITING_SUPPORT.value, index=True)
    managed: Mapped[bool] = mapped_column(Boolean, default=False)  # plan when opened: Managed Hosting goes first
    lang: Mapped[str] = mapped_column(String(5), default="nl")
    # The queue is ordered by this moment: moving a ticket to the back sets it to now.
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    customer: Mapped[User] = relationship(foreign_keys=[user_id])
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", cascade="all, delete-orphan",
                                                   order_by="Message.id")

    @property
    def number(self) -> int:
        return self.id


class Message(db.Model):
    """One message in a ticket's conversation, or an internal note."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    author_role: Mapped[str] = mapped_column(String(20))  # customer | support | system
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # A support reply that asks the customer for information: their answer keeps the ticket's place.
    asks_information: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    via: Mapped[str] = mapped_column(String(10), default="web")  # web | email
    # The Message-ID of the customer's mail this message came from: our answer refers to it
    # (In-Reply-To), so the customer's mail program puts the two in one conversation.
    mail_message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()


class OutgoingMail(db.Model):
    """A mail waiting to be sent, sent, or given up: nothing is lost when the SMTP server is down.

    A sender claims a row (claim_token, claimed_until) before it talks to the SMTP server, so two
    senders never send the same row; a claim that outlives its sender (a killed process) expires.
    The Message-ID is fixed here, when the row is written: a retry is the same message.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    # RFC 3834: "auto-replied" for a confirmation, "auto-generated" for other automatic mail,
    # None for a person's answer.
    auto_submitted: Mapped[str | None] = mapped_column(String(20))
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set (committed) just before the SMTP conversation, cleared when its outcome is written: a
    # claimed row that still has it was being sent when its sender died, and the outcome is unknown.
    sending_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)  # given up
    last_error: Mapped[str | None] = mapped_column(Text)


class MailReceipt(db.Model):
    """The Message-ID of every mail taken in: the same mail delivered twice is processed once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IncomingMail(db.Model):
    """A received mail kept for a person to look at: it could not be processed automatically."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    raw: Mapped[bytes] = mapped_column(db.LargeBinary)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled: Mapped[bool] = mapped_column(Boolean, default=False)


class SearchEvent(db.Model):
    """A search made on the site, for the editors' view of what readers miss."""

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    lang: Mapped[str] = mapped_column(String(5))
    hits: Mapped[int] = mapped_column(Integer)
    other_hits: Mapped[int] = mapped_column(Integer, default=0)
    clicked_article: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Made when the page is rendered (the row is written later, in the background): result links carry it.
    token: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)


class ArticleFeedback(db.Model):
    """A reader's answer to "Was this helpful?"."""

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100), index=True)
    lang: Mapped[str] = mapped_column(String(5))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TriageDecision(db.Model):
    """How a question was routed, and whether the customer overrode it, for editors to review."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(5))
    verdict: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(40))
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    source: Mapped[str] = mapped_column(String(10), default="web")  # web | email
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ArticleLink(db.Model):
    """An article linked in a support reply: which articles support staff use most."""

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
