"""What readers search for and miss: search events, result clicks and article feedback."""

import atexit
import datetime as dt
import logging
import os
import queue
import re
import secrets
import threading

from flask import current_app
from sqlalchemy import select

from .analytics_reports import (
    feedback_per_article, feedback_per_day, most_linked_articles, period_start, popular_articles, search_totals,
    searches_per_day, triage_overrides, triage_per_verdict, unclicked_searches, zero_result_searches,
)
from .extensions import db
from .models import ArticleFeedback, ArticleLink, SearchEvent, TriageDecision, utcnow

# The dashboard queries live in analytics_reports.py; callers use them as analytics.<name>.
__all__ = [
    "CLICK_RETRIES", "CLICK_WINDOW", "CONTROL", "MAX_COMMENT_LENGTH", "PERIODS", "TOKEN", "AnalyticsWriter",
    "clean_comment", "feedback_per_article", "feedback_per_day", "init_app", "most_linked_articles", "new_search_token",
    "period_start", "popular_articles", "queue_click", "queue_search", "record_article_link", "record_click",
    "record_feedback", "record_search", "record_triage", "search_totals", "searches_per_day", "triage_overrides",
    "triage_per_verdict", "unclicked_searches", "zero_result_searches",
]

log = logging.getLogger(__name__)

PERIODS = (7, 30, 90)  # days the editors' dashboard can look back
MAX_COMMENT_LENGTH = 2000
# A result link opened later than this (from the browser history, a bookmark) says nothing about the search.
CLICK_WINDOW = dt.timedelta(hours=24)
CLICK_RETRIES = 5  # flush intervals a click waits for its search to be written by another worker
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def new_search_token() -> str:
    """Return a random token for a search event, made before its row is written."""
    return secrets.token_urlsafe(12)


def record_search(query: str, lang: str, hits: int, other_language_hits: int = 0, token: str | None = None) -> int | None:
    """Remember a search now and return its id; analytics never break the page."""
    try:
        event = SearchEvent(query=query[:200], lang=lang, hits=hits, other_hits=other_language_hits, token=token)
        db.session.add(event)
        db.session.commit()
        return event.id
    except Exception:  # noqa: BLE001 - a lost analytics row must not cost the reader their results
        db.session.rollback()
        log.exception("could not record a search")
        return None


def queue_search(query: str, lang: str, hits: int, other_language_hits: int = 0) -> str:
    """Remember a search from the search page off the request path; return the token its links carry."""
    token = new_search_token()
    _submit(("search", dict(query=query[:200], lang=lang, hits=hits, other_hits=other_language_hits, token=token,
                            created_at=utcnow())))
    return token


def queue_click(value: str | None, article_id: str) -> None:
    """Remember, off the request path, which result a reader opened after a search."""
    if value is None or not (TOKEN.match(value) or value.isdigit()):
        return  # the parameter comes from a URL anyone can type
    _submit(("click", dict(value=value, article_id=article_id, clicked_at=utcnow(), attempts=0)))


def _submit(item) -> None:
    writer = current_app.extensions.get("analytics_writer")
    if writer is None:
        _write([item])
    else:
        writer.put(item)


def record_click(event_id: str | int | None, article_id: str, clicked_at: dt.datetime | None = None) -> bool:
    """Remember which result a reader opened after a search; only the first click counts.

    event_id is the event's token (what result links carry) or, for older links, its number.
    """
    try:
        event = _find_event(event_id)
        if event is None or event.clicked_article or event.hits + event.other_hits == 0:
            return False
        if (clicked_at or utcnow()) - event.created_at > CLICK_WINDOW:
            return False
        event.clicked_article = article_id[:100]
        db.session.commit()
        return True
    except Exception:  # noqa: BLE001 - the reader came for the article, not for our statistics
        db.session.rollback()
        log.exception("could not record a search result click")
        return False


def _find_event(value) -> SearchEvent | None:
    if isinstance(value, str) and TOKEN.match(value) and not value.isdigit():
        return db.session.scalars(select(SearchEvent).where(SearchEvent.token == value)).first()
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2**31:  # the parameter comes from a URL anyone can type
        return None
    return db.session.get(SearchEvent, number)


def _write(items: list) -> list:
    """Write queued analytics in one transaction; return the clicks to try again (their search not yet written)."""
    retry = []
    searches = [SearchEvent(**data) for kind, data in items if kind == "search"]
    if searches:
        try:
            db.session.add_all(searches)
            db.session.commit()
        except Exception:  # noqa: BLE001
            db.session.rollback()
            log.exception("could not record %d searches", len(searches))
    for kind, data in items:
        if kind != "click":
            continue
        if _find_event(data["value"]) is None:
            # Written by another worker that has not flushed yet: try again a few times.
            if data["attempts"] < CLICK_RETRIES:
                retry.append((kind, {**data, "attempts": data["attempts"] + 1}))
            continue
        record_click(data["value"], data["article_id"], data["clicked_at"])
    return retry


class AnalyticsWriter:
    """Writes search events and clicks in batches from a background thread.

    A request only puts a tuple on a queue. The thread writes what is queued every
    ANALYTICS_FLUSH_SECONDS in one transaction, and at a normal exit (gunicorn's graceful
    stop, Ctrl-C) writes the rest. A worker killed with SIGKILL loses at most the events of
    the last flush interval; feedback answers, tickets and everything else a reader would
    miss are written at once, in the request.
    """

    def __init__(self, app, interval: float = 1.0):
        self.app = app
        self.interval = interval
        self.queue: queue.Queue = queue.Queue(maxsize=100_000)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="analytics-writer", daemon=True)
        self.pid = os.getpid()
        self.written = 0

    def start(self) -> None:
        self._thread.start()
        atexit.register(self.stop)

    def put(self, item) -> None:
        if os.getpid() != self.pid:  # forked after start (gunicorn --preload): a thread of our own
            self.pid, self.queue = os.getpid(), queue.Queue(maxsize=100_000)
            self._stopped = threading.Event()
            self._thread = threading.Thread(target=self._run, name="analytics-writer", daemon=True)
            self._thread.start()
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            log.warning("analytics queue full: a search event is dropped")

    def _drain(self) -> list:
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                return items

    def flush(self) -> None:
        """Write everything queued now (the thread does this every interval)."""
        items = self._drain()
        if not items:
            return
        with self.app.app_context():
            try:
                retry = _write(items)
            finally:
                db.session.remove()
        self.written += len(items) - len(retry)
        for item in retry:
            self.queue.put_nowait(item)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - statistics must never stop the thread
                log.exception("could not write analytics")

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:  # noqa: BLE001
            log.exception("could not write the last analytics at exit")


def init_app(app) -> None:
    """Write search analytics in the background unless ANALYTICS_IN_BACKGROUND is off (tests)."""
    if not app.config.get("ANALYTICS_IN_BACKGROUND", True):
        app.extensions["analytics_writer"] = None
        return
    writer = AnalyticsWriter(app, float(app.config.get("ANALYTICS_FLUSH_SECONDS", 1.0)))
    app.extensions["analytics_writer"] = writer
    writer.start()


def clean_comment(text: str | None) -> str:
    """Return a reader's comment without control characters and surrounding space, at most 2000 characters."""
    return CONTROL.sub("", (text or "").replace("\r\n", "\n")).strip()[:MAX_COMMENT_LENGTH]


def record_feedback(article_id: str, lang: str, helpful: bool, comment: str = "") -> ArticleFeedback:
    """Store a reader's answer to "Was this helpful?"."""
    feedback = ArticleFeedback(article_id=article_id[:100], lang=lang, helpful=helpful, comment=clean_comment(comment))
    db.session.add(feedback)
    db.session.commit()
    return feedback


def record_triage(text: str, lang: str, verdict: str, topic: str | None, user_id: int | None = None,
                  overridden: bool = False, ticket_id: int | None = None, source: str = "web",
                  commit: bool = True) -> None:
    """Remember how a question was routed and whether the customer overrode it, for editors to review.

    commit=False: the row is part of the caller's transaction (a ticket and its decision are
    written together or not at all).
    """
    row = TriageDecision(text=text[:5000], lang=lang, verdict=verdict, topic=topic, user_id=user_id,
                         overridden=overridden, ticket_id=ticket_id, source=source)
    if not commit:
        db.session.add(row)
        return
    try:
        db.session.add(row)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the customer's question matters more than the statistics
        db.session.rollback()
        log.exception("could not record a triage decision")


def routing_of(ticket) -> TriageDecision | None:
    """Return how the ticket's question was routed when it was asked (None for mail and older tickets)."""
    return db.session.scalar(select(TriageDecision).where(TriageDecision.ticket_id == ticket.id)
                             .order_by(TriageDecision.created_at).limit(1))


def record_article_link(article_id: str, ticket_id: int) -> None:
    """Remember that support linked an article in a reply."""
    try:
        db.session.add(ArticleLink(article_id=article_id[:100], ticket_id=ticket_id))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the reply is sent already; a lost statistic is not worth an error
        db.session.rollback()
        log.exception("could not record an article link")
