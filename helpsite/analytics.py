"""What readers search for and miss: search events, result clicks and article feedback."""

import atexit
import datetime as dt
import logging
import os
import queue
import re
import secrets
import threading
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, func, select

from .extensions import db
from .models import ArticleFeedback, ArticleLink, SearchEvent, TriageDecision, utcnow

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


def record_article_link(article_id: str, ticket_id: int) -> None:
    """Remember that support linked an article in a reply."""
    try:
        db.session.add(ArticleLink(article_id=article_id[:100], ticket_id=ticket_id))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the reply is sent already; a lost statistic is not worth an error
        db.session.rollback()
        log.exception("could not record an article link")


# -- the editors' dashboard ------------------------------------------------------------------


def period_start(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """Return the moment a period of this many days back starts."""
    return (now or utcnow()) - dt.timedelta(days=days)


def search_totals(since: dt.datetime) -> dict:
    """Return how many searches there were, found nothing, and found something nobody opened."""
    row = db.session.execute(
        select(func.count(),
               func.sum(case((SearchEvent.hits == 0, 1), else_=0)),
               func.sum(case(((SearchEvent.hits > 0) & SearchEvent.clicked_article.is_(None), 1), else_=0)))
        .where(SearchEvent.created_at >= since)).one()
    return {"searches": row[0] or 0, "zero": row[1] or 0, "unclicked": row[2] or 0}


def zero_result_searches(since: dt.datetime, limit: int = 50) -> list[dict]:
    """Return the searches that found nothing, grouped by query and language, most frequent first."""
    query = func.lower(SearchEvent.query)
    last = func.max(SearchEvent.created_at)
    rows = db.session.execute(
        select(query, SearchEvent.lang, func.count(), last,
               func.sum(case((SearchEvent.other_hits > 0, 1), else_=0)))
        .where(SearchEvent.created_at >= since, SearchEvent.hits == 0)
        .group_by(query, SearchEvent.lang)
        .order_by(func.count().desc(), last.desc(), query)
        .limit(limit)).all()
    return [{"query": q, "lang": lang, "count": count, "last": _aware(latest), "other_language": other or 0}
            for q, lang, count, latest, other in rows]


def unclicked_searches(since: dt.datetime, limit: int = 50) -> list[dict]:
    """Return the searches with results after which nobody opened one, grouped, most often first."""
    query = func.lower(SearchEvent.query)
    unclicked = func.sum(case((SearchEvent.clicked_article.is_(None), 1), else_=0))
    last = func.max(SearchEvent.created_at)
    rows = db.session.execute(
        select(query, SearchEvent.lang, func.count(), unclicked, last)
        .where(SearchEvent.created_at >= since, SearchEvent.hits > 0)
        .group_by(query, SearchEvent.lang)
        .having(unclicked > 0)
        .order_by(unclicked.desc(), last.desc(), query)
        .limit(limit)).all()
    return [{"query": q, "lang": lang, "searches": count, "unclicked": missed, "share": missed / count,
             "last": _aware(latest)} for q, lang, count, missed, latest in rows]


def searches_per_day(since: dt.datetime, days: int, timezone: str) -> list[dict]:
    """Return, per calendar day in the time zone, the searches and those that found nothing."""
    buckets = _days(since, days, timezone, {"searches": 0, "zero": 0})
    rows = db.session.execute(
        select(SearchEvent.created_at, SearchEvent.hits).where(SearchEvent.created_at >= since))
    zone = ZoneInfo(timezone)
    for created, hits in rows:
        day = _aware(created).astimezone(zone).date()
        if day in buckets:
            buckets[day]["searches"] += 1
            buckets[day]["zero"] += hits == 0
    return [{"day": day, **counts, "zero_share": counts["zero"] / counts["searches"] if counts["searches"] else None}
            for day, counts in buckets.items()]


def feedback_per_article(since: dt.datetime, comments: int = 3, limit: int = 100) -> list[dict]:
    """Return the "Was this helpful?" answers per article with the latest comments, least helpful first."""
    yes = func.sum(case((ArticleFeedback.helpful.is_(True), 1), else_=0))
    total = func.count()
    rows = db.session.execute(
        select(ArticleFeedback.article_id, yes, total, func.max(ArticleFeedback.created_at))
        .where(ArticleFeedback.created_at >= since)
        .group_by(ArticleFeedback.article_id)).all()
    result = {article_id: {"article_id": article_id, "yes": int(y or 0), "no": n - int(y or 0), "answers": n,
                           "share": int(y or 0) / n, "last": _aware(latest), "comments": []}
              for article_id, y, n, latest in rows}
    newest_first = (ArticleFeedback.created_at.desc(), ArticleFeedback.id.desc())
    numbered = (
        select(ArticleFeedback.id, func.row_number().over(partition_by=ArticleFeedback.article_id,
                                                          order_by=newest_first).label("n"))
        .where(ArticleFeedback.created_at >= since, ArticleFeedback.comment != "")
        .subquery())
    latest = db.session.scalars(
        select(ArticleFeedback).join(numbered, ArticleFeedback.id == numbered.c.id)
        .where(numbered.c.n <= comments).order_by(*newest_first))
    for feedback in latest:
        result[feedback.article_id]["comments"].append(feedback)
    ranked = sorted(result.values(), key=lambda r: (r["share"], -r["no"], r["article_id"]))
    return ranked[:limit]


def feedback_per_day(since: dt.datetime, days: int, timezone: str) -> list[dict]:
    """Return, per calendar day, the yes and no answers and the share of yes (None on days without answers)."""
    buckets = _days(since, days, timezone, {"yes": 0, "no": 0})
    zone = ZoneInfo(timezone)
    rows = db.session.execute(
        select(ArticleFeedback.created_at, ArticleFeedback.helpful).where(ArticleFeedback.created_at >= since))
    for created, helpful in rows:
        day = _aware(created).astimezone(zone).date()
        if day in buckets:
            buckets[day]["yes" if helpful else "no"] += 1
    return [{"day": day, **counts,
             "share": counts["yes"] / (counts["yes"] + counts["no"]) if counts["yes"] + counts["no"] else None}
            for day, counts in buckets.items()]


def triage_per_verdict(since: dt.datetime) -> list[dict]:
    """Return how many questions triage routed each way, and how many of those the customer overrode."""
    overridden = func.sum(case((TriageDecision.overridden.is_(True), 1), else_=0))
    rows = db.session.execute(
        select(TriageDecision.verdict, func.count(), overridden)
        .where(TriageDecision.created_at >= since)
        .group_by(TriageDecision.verdict)
        .order_by(func.count().desc(), TriageDecision.verdict)).all()
    return [{"verdict": verdict, "count": count, "overridden": int(over or 0)} for verdict, count, over in rows]


def triage_overrides(since: dt.datetime, limit: int = 50) -> list[TriageDecision]:
    """Return the questions whose customer sent a ticket anyway after being pointed elsewhere, newest first."""
    return list(db.session.scalars(
        select(TriageDecision)
        .where(TriageDecision.created_at >= since, TriageDecision.overridden.is_(True))
        .order_by(TriageDecision.created_at.desc(), TriageDecision.id.desc())
        .limit(limit)))


def most_linked_articles(since: dt.datetime, limit: int = 20) -> list[dict]:
    """Return the articles support linked most in replies, with the number of tickets they went to."""
    rows = db.session.execute(
        select(ArticleLink.article_id, func.count(), func.count(func.distinct(ArticleLink.ticket_id)))
        .where(ArticleLink.created_at >= since)
        .group_by(ArticleLink.article_id)
        .order_by(func.count().desc(), ArticleLink.article_id)
        .limit(limit)).all()
    return [{"article_id": article_id, "links": links, "tickets": tickets} for article_id, links, tickets in rows]


def _days(since: dt.datetime, days: int, timezone: str, empty: dict) -> dict[dt.date, dict]:
    """Return an ordered {day: copy of empty} for each calendar day of the period, today included."""
    zone = ZoneInfo(timezone)
    first = since.astimezone(zone).date()
    return {first + dt.timedelta(days=n): dict(empty) for n in range(days + 1)}


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """Return a moment with its UTC zone (aggregates on SQLite come back without it)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment


def popular_articles(since: dt.datetime, limit: int = 6) -> list[str]:
    """Return the ids of the articles readers opened most from a search, then those support linked most."""
    opened = db.session.execute(
        select(SearchEvent.clicked_article, func.count())
        .where(SearchEvent.created_at >= since, SearchEvent.clicked_article.is_not(None))
        .group_by(SearchEvent.clicked_article)
        .order_by(func.count().desc(), SearchEvent.clicked_article)
        .limit(limit)).all()
    ids = [article_id for article_id, _count in opened]
    for row in most_linked_articles(since, limit):
        if row["article_id"] not in ids:
            ids.append(row["article_id"])
    return ids[:limit]
