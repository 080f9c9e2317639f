"""The editors' dashboard: what the recorded searches, clicks, feedback and triage decisions add up to.

Read-only queries over the tables helpsite/analytics.py writes; callers use them as analytics.<name>.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from .extensions import db
from .models import ArticleFeedback, ArticleLink, SearchEvent, TriageDecision, utcnow



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
