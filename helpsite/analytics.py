"""What readers search for and miss: search events, result clicks and article feedback."""

import logging

from .extensions import db
from .models import SearchEvent

log = logging.getLogger(__name__)


def record_search(query: str, lang: str, hits: int, other_language_hits: int = 0) -> None:
    """Remember a search from the search page; analytics never break the page."""

    try:
        db.session.add(SearchEvent(query=query[:200], lang=lang, hits=hits, other_hits=other_language_hits))
        db.session.commit()
    except Exception:  # noqa: BLE001 - a lost analytics row must not cost the reader their results
        db.session.rollback()
        log.exception("could not record a search")
