"""Thin blueprints, one per area: they read the request, call a domain module, render."""

import re
import time
from datetime import datetime
from urllib.parse import quote

from flask import current_app, request, url_for
from flask.globals import _cv_request
from flask_babel import format_datetime
from markupsafe import Markup, escape

from .. import analytics
from ..content import label_table_cells
from ..extensions import articles
from ..i18n import LOCALIZED_ENDPOINTS, current_language
from ..support_calendar import calendar_from_config
from ..tickets import response_guaranteed


def switch_url(lang: str) -> str:
    """Return this page in another language, or that language's home page."""
    endpoint = request.endpoint
    if endpoint in LOCALIZED_ENDPOINTS:
        # The query string may name anything, also "lang" or url_for's own "_external": the
        # page's own values win, and names with "_" are not passed on.
        values = {key: value for key, value in request.args.items() if not key.startswith("_")}
        values.update(request.view_args or {}, lang=lang)
        return url_for(endpoint, **values)
    return url_for("kb.home", lang=lang)


URL_MEMO_SIZE = 4096


def memoized_url_for(app):
    """Return url_for for templates that remembers what it built.

    A page builds twenty-odd URLs, mostly the same ones on every page (home, search, the
    footer's permalinks), and building one costs more than the rest of a line of template.
    A URL depends on its endpoint and values, the language (added by i18n's url_defaults) and
    the host it is built for; the same inputs give the same URL, so it is kept.
    """
    memo: dict = {}
    build = app.url_for

    def url_for_in_template(endpoint, **values):
        ctx = _cv_request.get(None)  # the request itself, not through the proxy: a page builds twenty-odd URLs
        if ctx is None:  # a mail rendered by a command: no host to key on
            return build(endpoint, **values)
        try:
            key = (endpoint, tuple(sorted(values.items())) if values else (), current_language(),
                   ctx.request.host_url, ctx.request.script_root)
            hash(key)
        except TypeError:  # a list or dict among the values: build it every time
            return build(endpoint, **values)
        found = memo.get(key)
        if found is None:
            found = build(endpoint, **values)
            if len(memo) >= URL_MEMO_SIZE:
                memo.clear()
            memo[key] = found
        return found

    return url_for_in_template


def init_app(app):
    """Give every template the helpers the layout needs."""
    register_filters(app)
    app.jinja_env.globals["url_for"] = memoized_url_for(app)

    view_functions = app.view_functions  # the app's own dict: blueprints registered later are in it too

    def has_endpoint(name: str) -> bool:
        return name in view_functions

    @app.context_processor
    def layout_helpers():
        return {
            "switch_url": switch_url,
            "has_endpoint": has_endpoint,
            "provider": lambda key: articles.placeholder_values(current_language()).get(key, ""),
            "closed_days": closed_days,
            "popular_articles": popular_articles,
        }


def popular_articles(limit: int = 6) -> list:
    """Return the published articles people opened or were sent most in the last 90 days, in this language."""
    lang = current_language()
    found = [articles.best(article_id, lang) for article_id in _popular_ids(limit)]
    return [article for article in found if article is not None]


def _popular_ids(limit: int) -> list[str]:
    """Return analytics.popular_articles over 90 days, remembered per worker for POPULAR_ARTICLES_SECONDS.

    Its two aggregate queries were about a third of the CPU of a home page rendered without
    the page cache. A list over 90 days does not change in a minute, and a cached home page
    keeps its list until the content changes anyway.
    """
    seconds = float(current_app.config.get("POPULAR_ARTICLES_SECONDS", 60))
    memo = current_app.extensions.setdefault("popular_article_ids", {})
    now = time.monotonic()
    kept = memo.get(limit)
    if kept is not None and now - kept[0] < seconds:
        return kept[1]
    ids = analytics.popular_articles(analytics.period_start(90), limit)
    memo[limit] = (now, ids)
    return ids


def closed_days() -> list:
    """Return the weekdays support is closed in the coming year, from the support calendar."""
    calendar = calendar_from_config(current_app.config)
    today = datetime.now(calendar.tz).date()
    return calendar.closed_weekdays(today, lang=current_language())


URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def format_due(moment) -> str:
    """Format an expected response moment in the visitor's language and the support time zone."""
    if moment is None:
        return "-"
    return format_datetime(moment, "EEEE d MMMM y, HH:mm")


def linkify(text: str) -> Markup:
    """Escape text and turn the web addresses in it into links (for support replies)."""
    escaped = str(escape(text))
    return Markup(URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


ARTICLE_HREF = re.compile(r'href="(/(?:nl/artikel|en/article)/[a-z0-9-]+)(#[^"]*)?"')


def carry_address(html, address: str | None) -> Markup:
    """Add the reader's address to the links to other guides, so they stay personalised too."""
    if not address:
        return Markup(str(html))
    query = "?address=" + quote(address, safe="@")
    return Markup(ARTICLE_HREF.sub(lambda m: f'href="{m.group(1)}{query}{m.group(2) or ""}"', str(html)))


def register_filters(app):
    """Add the template filters for dates and message bodies."""
    app.add_template_filter(format_due, "format_due")
    app.add_template_global(response_guaranteed, "response_guaranteed")
    app.add_template_filter(linkify, "linkify_permalinks")
    app.add_template_filter(carry_address, "carry_address")
    # Data tables become one card per row on a phone, each value under its column's heading.
    app.add_template_filter(lambda html: Markup(label_table_cells(str(html))), "label_cells")
