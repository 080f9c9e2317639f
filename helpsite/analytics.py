"""What readers search for and miss: search events, result clicks and article feedback."""

import logging

from .extensions import db
from .models import ArticleLink, SearchEvent, TriageDecision

log = logging.getLogger(__name__)


def record_search(query: str, lang: str, hits: int, other_language_hits: int = 0) -> None:
    """Remember a search from the search page; analytics never break the page."""

    try:
        db.session.add(SearchEvent(query=query[:200], lang=lang, hits=hits, other_hits=other_language_hits))
        db.session.commit()
    except Exception:  # noqa: BLE001 - a lost analytics row must not cost the reader their results
        db.session.rollback()
        log.exception("could not record a search")


def record_triage(text: str, lang: str, verdict: str, topic: str | None, user_id: int | None = None,
                  overridden: bool = False, ticket_id: int | None = None, source: str = "web") -> None:
    """Remember how a question was routed and whether the customer overrode it, for editors to review."""
    try:
        db.session.add(TriageDecision(text=text[:5000], lang=lang, verdict=verdict, topic=topic, user_id=user_id,
                                      overridden=overridden, ticket_id=ticket_id, source=source))
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
