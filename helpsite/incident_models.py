"""Database tables for known incidents and planned maintenance (the rules are in incidents.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .models import Ticket, User, UTCDateTime, utcnow


class Incident(db.Model):
    """Something that is down (or planned to be), told to everyone once, in both languages."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="incident")  # incident | maintenance
    title_nl: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_nl: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # Space-separated names from incidents.SERVICES, and one server (or cluster) or domain per line.
    services: Mapped[str] = mapped_column(String(200), default="")
    servers: Mapped[str] = mapped_column(Text, default="")
    domains: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="investigating", index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The planned end of maintenance, or the moment an incident was resolved.
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updates: Mapped[list[IncidentUpdate]] = relationship(back_populates="incident", cascade="all, delete-orphan",
                                                         order_by="IncidentUpdate.id")

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_nl

    def description(self, lang: str) -> str:
        return self.description_en if lang == "en" and self.description_en else self.description_nl

    @property
    def service_list(self) -> list[str]:
        return self.services.split()

    @property
    def server_list(self) -> list[str]:
        return [line.strip() for line in self.servers.splitlines() if line.strip()]

    @property
    def domain_list(self) -> list[str]:
        return [line.strip() for line in self.domains.splitlines() if line.strip()]

    @property
    def latest(self) -> IncidentUpdate | None:
        return self.updates[-1] if self.updates else None


class IncidentUpdate(db.Model):
    """A status update on an incident: investigating, identified, monitoring, resolved."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    body_nl: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    incident: Mapped[Incident] = relationship(back_populates="updates")

    def body(self, lang: str) -> str:
        return self.body_en if lang == "en" and self.body_en else self.body_nl


class IncidentFollower(db.Model):
    """A customer who follows an incident (mail on each update) instead of opening a ticket."""

    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    lang: Mapped[str] = mapped_column(String(5), default="nl")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user: Mapped[User] = relationship()


class IncidentTicket(db.Model):
    """A ticket opened during an incident about an affected service: gathered by the incident."""

    __table_args__ = (UniqueConstraint("incident_id", "ticket_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ticket: Mapped[Ticket] = relationship()
