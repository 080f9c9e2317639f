"""What a load balancer and an operator ask a host: is it fit to serve, and from which content.

Cheap enough to be asked every few seconds: one small query for the database and the outbox,
one small file (the index's meta.json) for the search index, and the content version the
article store already holds. It names no secret: no settings, no addresses, no error texts
that could carry a connection string.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from .extensions import articles, db, search_index
from .models import OutgoingMail, utcnow


def content_version() -> str:
    """Return the version of the content this process serves (a hash of its files)."""
    return articles.version


def index_state() -> str:
    """Return "current", "out of date" (the watcher is catching up) or "missing"."""
    built = search_index.built_fingerprint()
    if built is None:
        return "missing"
    return "current" if built == search_index.fingerprint() else "out of date"


def outbox_backlog(now: dt.datetime | None = None) -> dict:
    """Return how many mails wait, how long the oldest has waited, and how many were given up."""
    now = now or utcnow()
    waiting, oldest = db.session.execute(
        select(func.count(OutgoingMail.id), func.min(OutgoingMail.created_at))
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.failed_at.is_(None))).one()
    given_up = db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.failed_at.is_not(None)))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    return {"waiting": waiting, "oldest_seconds": round((now - oldest).total_seconds()) if oldest else 0,
            "given_up": given_up}


def check() -> tuple[dict, bool]:
    """Return the host's health report and whether it can serve (the database answers, an index exists).

    A mail backlog or an index that is catching up is reported, not fatal: taking every host out
    of the load balancer because the SMTP server is down would turn a late mail into an outage.
    """
    report: dict = {"content_version": content_version()}
    try:
        report["outbox"] = outbox_backlog()
        report["database"] = "ok"
    except Exception:  # noqa: BLE001 - any database failure means: do not send visitors here
        db.session.rollback()
        report["database"] = "unreachable"
    report["index"] = index_state()
    healthy = report["database"] == "ok" and report["index"] != "missing"
    report["status"] = "ok" if healthy else "fail"
    return report, healthy
