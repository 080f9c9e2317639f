"""The knowledge base pages: home, categories, articles, search, permalinks, sitemap."""

import datetime as dt
from functools import wraps

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import articles, limiter, search_index
from ..i18n import LANGUAGES, localized_route, other_language, preferred_language
from ..search import QueryError, search_with_fallback
from .. import analytics, incidents, page_cache
from .autoconfig import personal_guide

bp = Blueprint("kb", __name__)

QUERY_ERRORS = {
    "empty": lambda: _("Type a word or a question to search for."),
    "too_long": lambda: _("Your search is too long. Use at most 2,000 characters."),
    "no_words": lambda: _("Your search contains no words to look for."),
}


def sees_drafts() -> bool:
    """Return whether the visitor may see draft articles (editors and admins)."""
    return bool(getattr(current_user, "is_editor", False))


def article_url(article, **kwargs) -> str:
    """Return the URL of an article in its own language."""
    return url_for("kb.article", lang=article.lang, slug=article.slug, **kwargs)


def article_alternates(article_id: str, shown, drafts: bool) -> dict[str, str]:
    """Return {lang: url} of the article in each language (a fallback URL where untranslated)."""
    alternates = {}
    for lang in LANGUAGES:
        translated = articles.get(lang, article_id, include_drafts=drafts)
        alternates[lang] = article_url(translated) if translated else url_for("kb.article", lang=lang, slug=shown.slug)
    return alternates


def page_key() -> tuple:
    """Return the page-cache key of this request for an anonymous reader.

    The content version and the full URL (host, language path and query string), the incident
    banner (an incident opened or updated shows at once, not after the next content change) and
    the day (the support-hours article lists the coming closed days from the calendar).
    """
    return (articles.version, tuple(incidents.banner_for(current_user)), dt.date.today(), request.url)


def cached_page(view):
    """Serve the page from the page cache for anonymous readers; fill the cache on a miss.

    The key is what changes what an anonymous reader sees (page_key).
    """

    @wraps(view)
    def cached(*args, **kwargs):
        cache = page_cache.cache_for_app()
        if cache is None or not page_cache.reader_is_anonymous():
            return view(*args, **kwargs)
        key = page_key()
        page = cache.get(key)
        if page is not None:
            return Response(page.body, status=page.status, mimetype=page.mimetype)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.is_streamed and page_cache.reader_is_anonymous():
            cache.put(key, page_cache.Page(response.get_data(), 200, response.mimetype))
        return response

    return cached


@bp.route("/")
def root():
    """Send the visitor to the home page in their language."""
    return redirect(url_for("kb.home", lang=preferred_language()), code=302)


@localized_route(bp, {"nl": "/", "en": "/"})
@cached_page
def home():
    """Show the search box and the categories."""
    lang = g.lang
    counts = articles.category_counts(lang)
    popular = [a for a in (articles.get(lang, i) for i in current_app.config.get("HOME_POPULAR", ())) if a]
    return render_template("kb/home.html", categories=articles.categories, counts=counts, popular=popular)


@localized_route(bp, {"nl": "/categorie/<category_id>", "en": "/category/<category_id>"})
@cached_page
def category(category_id):
    """List the articles of one category."""
    found = articles.category(category_id)
    if found is None:
        abort(404)
    listed = articles.in_category(g.lang, category_id)
    # Articles that exist only in the other language are listed too, marked as such.
    listed_ids = {a.id for a in listed}
    untranslated = [a for a in articles.in_category(other_language(g.lang), category_id) if a.id not in listed_ids]
    return render_template("kb/category.html", category=found, articles=listed, untranslated=untranslated)


@localized_route(bp, {"nl": "/artikel/<slug>", "en": "/article/<slug>"})
@cached_page
def article(slug):
    """Show one article, or the other language's version with a notice when it is untranslated."""
    lang = g.lang
    if "from_search" in request.args:  # a search result was opened: count it, then show the plain URL
        opened = articles.by_slug(lang, slug)
        if opened is not None:
            analytics.queue_click(request.args["from_search"], opened.id)
        return redirect(url_for("kb.article", lang=lang, slug=slug), code=303)
    drafts = sees_drafts()
    found = articles.by_slug(lang, slug)
    if found is None:
        moved = articles.by_alias(lang, slug)
        if moved:
            return redirect(article_url(moved), code=301)
        other = articles.by_slug(other_language(lang), slug) or articles.by_alias(other_language(lang), slug)
        if other is None or (other.draft and not drafts):
            abort(404)
        translated = articles.get(lang, other.id, include_drafts=drafts)
        if translated:
            return redirect(article_url(translated), code=301)
        found = other  # shown in the other language, with a notice
    if found.draft and not drafts:
        abort(404)
    alternates = article_alternates(found.id, found, drafts)
    canonical = article_url(found)
    return render_template(
        "kb/article.html",
        article=found,
        fallback=found.lang != lang,
        related=articles.related(found),
        category=articles.category(found.category),
        alternates=alternates,
        hreflang={l: u for l, u in alternates.items() if articles.get(l, found.id, drafts)},
        canonical=canonical,
        **personal_guide(found),  # a mail or FTP guide with the reader's own settings
    )


@bp.route("/a/<article_id>")
def permalink(article_id):
    """Redirect a stable permalink to the article in the visitor's language."""
    found = articles.best(article_id, preferred_language(), include_drafts=sees_drafts())
    if found is None:
        abort(404)
    target = article_url(found) if found.lang == preferred_language() else url_for(
        "kb.article", lang=preferred_language(), slug=found.slug)
    return redirect(target, code=302)


# Stands for the search event's token in a cached search page; each reader's copy gets its own.
EVENT_MARKER = "searchEventTokenMarker"


@localized_route(bp, {"nl": "/zoeken", "en": "/search"})
@limiter.limit(lambda: current_app.config["SEARCH_PAGE_RATE_LIMIT"])  # each search writes an analytics row
def search():
    """Search the articles; offer the other language's results when this one has none.

    For anonymous readers the page comes from the page cache; the search is still counted
    for the editors, each time, with its own token in the result links.
    """
    cache = page_cache.cache_for_app()
    key = page_key() if cache is not None and page_cache.reader_is_anonymous() else None
    page = cache.get(key) if key else None
    if page is not None:
        return Response(finish_search_page(page.body, page.extra), status=page.status, mimetype=page.mimetype)
    lang = g.lang
    text = request.args.get("q", "")
    category_id = request.args.get("category") or None
    if category_id and articles.category(category_id) is None:
        category_id = None
    results = other_results = error = event = None
    if text.strip():
        try:
            answer = search_with_fallback(search_index, text, lang, limit=20, other_limit=10,
                                          category=category_id, include_drafts=sees_drafts())
        except QueryError as exc:
            error = QUERY_ERRORS[str(exc)]()
        else:
            if answer.unavailable:
                error = _("Search is being prepared. Please try again in a minute, or browse the categories.")
            else:
                results, other_results = answer.results, answer.other
                event = {"query": results.query, "lang": lang, "hits": len(results.hits),
                         "other": len(other_results.hits) if other_results else 0}
    html = render_template("kb/search.html", q=text, results=results, other_results=other_results,
                           error=error, category_id=category_id, categories=articles.categories,
                           search_event=EVENT_MARKER if event else None)
    body = html.encode()
    extra = {"event": event}
    if key and error is None and page_cache.reader_is_anonymous():
        cache.put(key, page_cache.Page(body, 200, "text/html", extra))
    return Response(finish_search_page(body, extra), mimetype="text/html")


def finish_search_page(body: bytes, extra: dict) -> bytes:
    """Count the search (in the background) and put its token into the result links."""
    event = extra.get("event")
    if not event:
        return body
    token = analytics.queue_search(event["query"], event["lang"], event["hits"], event["other"])
    return body.replace(EVENT_MARKER.encode(), token.encode())


@bp.route("/sitemap.xml")
def sitemap():
    """List every page with its language alternates, for search engines."""
    pages = []
    for lang in LANGUAGES:
        pages.append({"url": url_for("kb.home", lang=lang, _external=True),
                      "alternates": {l: url_for("kb.home", lang=l, _external=True) for l in LANGUAGES}})
        for cat in articles.categories:
            pages.append({"url": url_for("kb.category", lang=lang, category_id=cat["id"], _external=True),
                          "alternates": {l: url_for("kb.category", lang=l, category_id=cat["id"], _external=True)
                                         for l in LANGUAGES}})
        for item in articles.in_language(lang):
            alternates = {}
            for l in LANGUAGES:
                translated = articles.get(l, item.id)
                if translated:
                    alternates[l] = url_for("kb.article", lang=l, slug=translated.slug, _external=True)
            pages.append({"url": alternates[lang], "alternates": alternates, "updated": item.updated})
    xml = render_template("kb/sitemap.xml", pages=pages)
    return Response(xml, mimetype="application/xml")


@bp.route("/robots.txt")
def robots():
    """Tell crawlers what to index and where the sitemap is."""
    lines = ["User-agent: *", "Disallow: /api/", "Disallow: /nl/zoeken", "Disallow: /en/search",
             "Disallow: /desk/", "Disallow: /editor/", f"Sitemap: {url_for('kb.sitemap', _external=True)}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@localized_route(bp, {"nl": "/overzicht", "en": "/site-map"})
def site_map():
    """List every category with its articles, for people (sitemap.xml is for search engines)."""
    sections = [{"category": cat, "items": articles.in_category(g.lang, cat["id"])} for cat in articles.categories]
    return render_template("kb/site_map.html", sections=[s for s in sections if s["items"]])
