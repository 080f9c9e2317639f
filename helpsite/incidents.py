"""Known incidents and planned maintenance: tell everyone once instead of answering a hundred tickets.

Support keeps incidents in the desk; the status page, its feed and JSON show them; a question
that matches an open incident is answered with the incident first, and the customer may follow
it (a mail on each update, through the outbox) instead of opening a ticket. Tickets opened
about an affected service during an incident are gathered by it: they keep their place in the
queue (they are not duplicates of each other) and can be answered together.

This module never imports tickets: tickets.py asks it which incident a new ticket belongs to.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from . import mail
from .accounts import normalise_domain
from .extensions import db
from .incident_models import Incident, IncidentFollower, IncidentTicket, IncidentUpdate
from .models import Ticket, User, utcnow

KINDS = {"incident": _l("Incident"), "maintenance": _l("Planned maintenance")}
SERVICES = {
    "mail": _l("Mail"), "web": _l("Websites"), "ftp": _l("FTP"), "dns": _l("DNS"),
    "databases": _l("Databases"), "control_panel": _l("Control panel (Mijn Web://Xtra)"),
}
STATUSES = {
    "scheduled": _l("Scheduled"), "investigating": _l("Investigating"), "identified": _l("Identified"),
    "monitoring": _l("Monitoring"), "resolved": _l("Resolved"),
}
OPEN = ("scheduled", "investigating", "identified", "monitoring")
# How long a resolved incident stays on the status page: a display choice, not a promise.
RECENT_DAYS = 14
MAX_TITLE = 200
MAX_TEXT = 5000

# Words that name a service, in Dutch and English (lowercased text, word starts).
SERVICE_WORDS = {
    "mail": re.compile(r"\b(e-?mail|mail|mails|imap|smtp|pop3?|inbox|postvak|webmail|mailbox|nieuwsbrief)"),
    "web": re.compile(r"\b(website|webshop|site|homepage|pagina|page|wordpress|http|50[0234])\b"),
    "ftp": re.compile(r"\b(s?ftp|filezilla|winscp|cyberduck|upload)"),
    "dns": re.compile(r"\b(dns|nameserver|naamserver|resolv)"),
    "databases": re.compile(r"\b(database|databank|mysql|mariadb|phpmyadmin|sql)"),
    "control_panel": re.compile(r"(mijn web://xtra|my web://xtra|control ?panel|controlepaneel|\bpanel)"),
}
# Words that say something is broken, without naming what.
SYMPTOMS = re.compile(
    r"\b(down|plat|storing|outage|kapot|broken|offline|werkt\s+(niet|nie)|doet\s+het\s+niet|"
    r"(does\s*n[o']t|doesn't|not)\s+work|niet\s+bereikbaar|unreachable|onbereikbaar|"
    r"komt\s+(niet|geen)\s+(meer\s+)?(aan|binnen)|not\s+(arriving|coming\s+in)|geen\s+(mail|e-?mail)|"
    r"error|fout(melding)?|time-?out|500)\b")


class IncidentError(ValueError):
    """Input an incident cannot be made from; the message is translated lazily."""


# -- keeping incidents -----------------------------------------------------------------------

def _clean_lines(text: str, domains: bool = False) -> str:
    lines = [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]
    if domains:
        lines = [normalise_domain(line) for line in lines]
    return "\n".join(dict.fromkeys(lines))[:5000]


def create_incident(author: User, kind: str, title_nl: str, title_en: str, description_nl: str,
                    description_en: str, services: list[str], servers: str = "", domains: str = "",
                    started_at: dt.datetime | None = None, ended_at: dt.datetime | None = None,
                    now: dt.datetime | None = None) -> Incident:
    """Open an incident (or announce maintenance) with its first status update."""
    now = now or utcnow()
    if kind not in KINDS:
        raise IncidentError(_l("Choose incident or planned maintenance."))
    services = [s for s in services if s in SERVICES]
    if not services:
        raise IncidentError(_l("Choose at least one affected service."))
    if not (title_nl or "").strip() or not (title_en or "").strip():
        raise IncidentError(_l("Give the title in Dutch and in English."))
    started_at = started_at or now
    if ended_at is not None and ended_at <= started_at:
        raise IncidentError(_l("The end must come after the start."))
    status = "scheduled" if kind == "maintenance" and started_at > now else "investigating"
    incident = Incident(
        kind=kind, title_nl=title_nl.strip()[:MAX_TITLE], title_en=title_en.strip()[:MAX_TITLE],
        description_nl=(description_nl or "").strip()[:MAX_TEXT],
        description_en=(description_en or "").strip()[:MAX_TEXT],
        services=" ".join(services), servers=_clean_lines(servers), domains=_clean_lines(domains, domains=True),
        status=status, started_at=started_at, ended_at=ended_at, created_at=now,
        author_id=author.id if author else None)
    incident.updates.append(IncidentUpdate(status=status, author_id=incident.author_id, created_at=now))
    db.session.add(incident)
    db.session.commit()
    forget_banner()
    return incident


def post_update(incident: Incident, author: User, status: str, body_nl: str, body_en: str,
                answered_users: set[int] = frozenset(), now: dt.datetime | None = None) -> IncidentUpdate:
    """Add a status update and mail it to the followers; "resolved" ends the incident.

    Followers in answered_users get their own ticket's reply instead (one mail each).
    """
    now = now or utcnow()
    if status not in STATUSES:
        raise IncidentError(_l("Choose a status."))
    body_nl, body_en = (body_nl or "").strip()[:MAX_TEXT], (body_en or "").strip()[:MAX_TEXT]
    if not body_nl or not body_en:
        raise IncidentError(_l("Write the update in Dutch and in English."))
    update = IncidentUpdate(status=status, body_nl=body_nl, body_en=body_en,
                            author_id=author.id if author else None, created_at=now)
    incident.updates.append(update)
    incident.status = status
    if status == "resolved":
        incident.ended_at = now
    elif incident.ended_at is not None and incident.ended_at <= now:
        incident.ended_at = None  # it is not over after all
    db.session.flush()
    for follower in followers(incident):
        if follower.user_id not in answered_users:
            _mail_follower(incident, update, follower)
    db.session.commit()
    forget_banner()
    return update


def _mail_follower(incident: Incident, update: IncidentUpdate, follower: IncidentFollower) -> None:
    with force_locale(follower.lang):
        context = {"incident": incident, "update": update, "lang": follower.lang,
                   "url": url_for("status.incident", incident_id=incident.id, lang=follower.lang, _external=True)}
        body = render_template("mail/incident_update.txt", **context)
        html = render_template("mail/incident_update.html", **context)
        subject = _("%(status)s: %(title)s", status=STATUSES[update.status], title=incident.title(follower.lang))
    mail.queue_mail(follower.user.email, subject, body, html)


def reply_text(incident: Incident, update: IncidentUpdate, lang: str) -> str:
    """Return the support reply that answers a gathered ticket with this update, in its language."""
    with force_locale(lang):
        return render_template("mail/incident_ticket_reply.txt", incident=incident, update=update, lang=lang,
                               url=url_for("status.incident", incident_id=incident.id, lang=lang, _external=True))


# -- what is going on ------------------------------------------------------------------------

def get(incident_id: int) -> Incident | None:
    return db.session.get(Incident, incident_id) if 0 < incident_id < 2**31 else None


def is_current(incident: Incident | BannerItem, now: dt.datetime | None = None) -> bool:
    """Return whether the incident is going on now (maintenance that has started counts)."""
    now = now or utcnow()
    return (incident.status in OPEN and incident.started_at <= now
            and (incident.ended_at is None or incident.ended_at > now))


def current(now: dt.datetime | None = None) -> list[Incident]:
    """Return what is going on now, newest first."""
    now = now or utcnow()
    found = db.session.scalars(select(Incident).where(Incident.status.in_(OPEN), Incident.started_at <= now)
                               .order_by(Incident.started_at.desc())).all()
    return [i for i in found if is_current(i, now)]


def planned(now: dt.datetime | None = None) -> list[Incident]:
    """Return announced maintenance that has not started yet, soonest first."""
    now = now or utcnow()
    return list(db.session.scalars(select(Incident).where(Incident.status.in_(OPEN), Incident.started_at > now)
                                   .order_by(Incident.started_at)).all())


def recent(now: dt.datetime | None = None, days: int = RECENT_DAYS) -> list[Incident]:
    """Return what ended in the last days, most recent first."""
    now = now or utcnow()
    found = db.session.scalars(select(Incident).where(Incident.ended_at.is_not(None),
                                                      Incident.ended_at > now - dt.timedelta(days=days),
                                                      Incident.ended_at <= now)
                               .order_by(Incident.ended_at.desc())).all()
    return [i for i in found if not is_current(i, now)]


def touches_domain(incident: Incident | BannerItem, domain: str) -> bool:
    """Return whether a (sub)domain is affected: every domain when support named none."""
    listed = incident.domain_list
    if not listed:
        return True
    domain = normalise_domain(domain)
    return any(domain == name or domain.endswith("." + name) for name in listed)


def touches(incident: Incident | BannerItem, user) -> bool:
    """Return whether a visitor should hear of the incident: customers only about their own domains."""
    if not getattr(user, "is_authenticated", False) or not user.is_customer:
        return True
    return any(touches_domain(incident, d.name) for d in user.domains)


@dataclass(frozen=True)
class BannerItem:
    """What the banner needs of an open incident, kept between requests (no database session)."""

    id: int
    title_nl: str
    title_en: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    domain_list: tuple[str, ...]

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_nl


def _open_for_banner() -> list[BannerItem]:
    # The banner is on every page: a database query there doubled the time of an article page
    # (1.8 to 3.3 ms), so each process keeps the open incidents for a few seconds. A change made
    # in this process clears it at once; other processes follow within INCIDENT_BANNER_CACHE_SECONDS.
    cache = current_app.extensions.setdefault("incident_banner", {})
    seconds = current_app.config["INCIDENT_BANNER_CACHE_SECONDS"]
    if cache.get("expires", 0) > time.monotonic():
        return cache["items"]
    found = db.session.scalars(select(Incident).where(Incident.status.in_(OPEN)).order_by(Incident.started_at.desc()))
    items = [BannerItem(i.id, i.title_nl, i.title_en, i.status, i.started_at, i.ended_at, tuple(i.domain_list))
             for i in found]
    cache.update(items=items, expires=time.monotonic() + seconds)
    return items


def forget_banner() -> None:
    """Let the next page read the open incidents again (after a change)."""
    current_app.extensions.get("incident_banner", {}).clear()


def banner_for(user, now: dt.datetime | None = None) -> list[BannerItem]:
    """Return the open incidents the banner shows this visitor."""
    return [i for i in _open_for_banner() if is_current(i, now) and touches(i, user)]


def mentions(incident: Incident, text: str) -> bool:
    """Return whether a question is about the incident: its service, or a symptom without another service."""
    text = (text or "").lower()
    named = {service for service, words in SERVICE_WORDS.items() if words.search(text)}
    if named:
        return bool(named & set(incident.service_list))
    return bool(SYMPTOMS.search(text))


def matching(text: str, customer: User, domain: str, now: dt.datetime | None = None) -> list[Incident]:
    """Return the open incidents a customer's question about a (sub)domain is probably about."""
    return [i for i in current(now) if touches_domain(i, domain) and mentions(i, text)
            and touches(i, customer)]


# -- tickets gathered by an incident ---------------------------------------------------------

def gathering(customer: User, domain: str, text: str, now: dt.datetime | None = None) -> list[Incident]:
    """Return the incidents that gather a ticket about to be opened (the same test as the question form;
    a mail that names no domain is about any of the customer's)."""
    if domain:
        return matching(text, customer, domain, now)
    return [i for i in current(now) if touches(i, customer) and mentions(i, text)]


def keeps_place(ticket: Ticket, found: list[Incident]) -> bool:
    """Return whether an earlier ticket was gathered by one of these incidents: then it is no duplicate."""
    if not found:
        return False
    return db.session.scalar(select(func.count(IncidentTicket.id)).where(
        IncidentTicket.ticket_id == ticket.id, IncidentTicket.incident_id.in_([i.id for i in found]))) > 0


def gather(ticket: Ticket, found: list[Incident]) -> None:
    """Link a new ticket to the incidents it is about (the caller commits)."""
    for incident in found:
        db.session.add(IncidentTicket(incident_id=incident.id, ticket_id=ticket.id))


def gathered_tickets(incident: Incident) -> list[Ticket]:
    """Return the tickets an incident gathered, oldest first."""
    return list(db.session.scalars(select(Ticket).join(IncidentTicket, IncidentTicket.ticket_id == Ticket.id)
                                   .where(IncidentTicket.incident_id == incident.id).order_by(Ticket.id)).all())


def open_gathered_tickets(incident: Incident) -> list[Ticket]:
    """Return the gathered tickets that still wait for an answer or the customer."""
    return [t for t in gathered_tickets(incident) if t.status != "closed"]


def incidents_of_ticket(ticket: Ticket) -> list[Incident]:
    """Return the incidents that gathered a ticket."""
    return list(db.session.scalars(select(Incident).join(IncidentTicket, IncidentTicket.incident_id == Incident.id)
                                   .where(IncidentTicket.ticket_id == ticket.id).order_by(Incident.id)).all())


# -- followers ---------------------------------------------------------------------------------

def follow(incident: Incident, user: User, lang: str, now: dt.datetime | None = None) -> bool:
    """Let a customer follow an incident; return False when they already did or it is resolved."""
    if incident.status == "resolved" or is_following(incident, user):
        return False
    db.session.add(IncidentFollower(incident_id=incident.id, user_id=user.id, lang=lang, created_at=now or utcnow()))
    db.session.commit()
    return True


def unfollow(incident: Incident, user: User) -> None:
    """Stop mailing a customer about an incident."""
    db.session.query(IncidentFollower).filter_by(incident_id=incident.id, user_id=user.id).delete()
    db.session.commit()


def is_following(incident: Incident, user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(func.count(IncidentFollower.id)).where(
        IncidentFollower.incident_id == incident.id, IncidentFollower.user_id == user.id)) > 0


def followers(incident: Incident) -> list[IncidentFollower]:
    return list(db.session.scalars(select(IncidentFollower).where(IncidentFollower.incident_id == incident.id)
                                   .order_by(IncidentFollower.id)).all())


# -- what incidents saved ----------------------------------------------------------------------

def effects(since: dt.datetime) -> list[dict]:
    """Return per incident since a moment: followers, tickets it prevented (followers without a
    gathered ticket of their own) and tickets it gathered."""
    rows = []
    for incident in db.session.scalars(select(Incident).where(Incident.started_at >= since)
                                       .order_by(Incident.started_at.desc())).all():
        ticket_owners = {t.user_id for t in gathered_tickets(incident)}
        following = followers(incident)
        rows.append({"incident": incident, "followers": len(following),
                     "prevented": sum(1 for f in following if f.user_id not in ticket_owners),
                     "gathered": db.session.scalar(select(func.count(IncidentTicket.id))
                                                   .where(IncidentTicket.incident_id == incident.id))})
    return rows


def as_json(incident: Incident) -> dict:
    """Return an incident for the JSON endpoint, in both languages (no customer domains)."""
    return {
        "id": incident.id, "kind": incident.kind, "status": incident.status,
        "title": {"nl": incident.title_nl, "en": incident.title_en},
        "description": {"nl": incident.description_nl, "en": incident.description_en},
        "services": incident.service_list, "servers": incident.server_list,
        "started_at": incident.started_at.isoformat(),
        "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
        "url": {lang: url_for("status.incident", incident_id=incident.id, lang=lang, _external=True)
                for lang in ("nl", "en")},
        "updates": [{"status": u.status, "at": u.created_at.isoformat(), "text": {"nl": u.body_nl, "en": u.body_en}}
                    for u in incident.updates],
    }
