"""Keep the article store and the search index in step with the content folder while the site runs."""

import logging
import time

from flask import current_app

log = logging.getLogger(__name__)

RETRY_SECONDS = 60  # after a failed index update; the articles themselves are already current


def refresh_content() -> None:
    """Reload changed articles and re-index just those; a failure is logged, never shown to the reader."""
    store = current_app.extensions["articles"]
    state = current_app.extensions["content_sync"]
    if store.refresh_if_changed():  # cheap: at most one look at the files per reload interval
        state["pending"] = True
    elif not state["pending"] or time.monotonic() - state["failed_at"] < RETRY_SECONDS:
        return
    try:
        changes = current_app.extensions["search"].sync()
    except Exception:  # noqa: BLE001 - a stale index is better than an error page
        state["failed_at"] = time.monotonic()
        log.exception("could not bring the search index in step with the articles")
        return
    state["pending"] = False
    log.info("content changed: search index %s", changes)


def init_app(app) -> None:
    """Check for changed content before each request."""
    app.extensions["content_sync"] = {"pending": False, "failed_at": 0.0}
    app.before_request(refresh_content)
