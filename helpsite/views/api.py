"""The JSON API: search and triage (public contracts, keep their shape)."""

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import questions
from ..extensions import csrf, limiter, search_index
from ..i18n import LANGUAGES, preferred_language
from ..search import MAX_LIMIT, QueryError, search_with_fallback

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # read-only JSON: no session state changes, so no CSRF token


def error(message: str, status: int = 400):
    """Return a JSON error with a message in the caller's language."""
    return jsonify({"error": message}), status


def result_json(hit) -> dict:
    """Return one result as the API promises it; section (added) is the part of the article that
    matched best, with its permalink /a/<id>#<anchor>, or null when that is the article's start."""
    return {
        "id": hit.id,
        "lang": hit.lang,
        "title": hit.title,
        "url": url_for("kb.article", lang=hit.lang, slug=hit.slug, _external=True),
        "summary": hit.summary,
        "category": hit.category,
        "applies_to": hit.applies_to,
        "snippet": hit.snippet,
        "section": {
            "id": hit.section,
            "title": hit.section_title,
            "url": url_for("kb.permalink", article_id=hit.id, _anchor=hit.section, _external=True),
        } if hit.section else None,
    }


@bp.route("/search")
@limiter.limit(lambda: current_app.config.get("API_SEARCH_RATE_LIMIT", "120/minute"))
def search():
    """Search the articles: GET /api/search?q=TEXT&lang=nl|en&limit=N."""
    lang = request.args.get("lang") or preferred_language()
    message_lang = lang if lang in LANGUAGES else preferred_language()
    with force_locale(message_lang):
        if lang not in LANGUAGES:
            return error(_("Unknown language %(lang)s: use nl or en.", lang=lang[:10]))
        raw_limit = request.args.get("limit", "10")
        try:
            limit = int(raw_limit)
        except ValueError:
            return error(_("limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            return error(_("limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT))
        text = request.args.get("q", "")
        try:
            # The other language may have the answer; each result says its language.
            answer = search_with_fallback(search_index, text, lang, limit=limit)
        except QueryError as exc:
            messages = {
                "empty": _("Parameter q is required: the text to search for."),
                "too_long": _("q is too long: use at most 2,000 characters."),
                "no_words": _("q contains no words to search for."),
            }
            return error(messages[str(exc)])
        if answer.unavailable:
            return error(_("The search index is being built. Try again in a minute."), 503)
        results = answer.results
        hits = answer.other.hits if answer.other else results.hits
        return jsonify({
            "query": results.query,
            "lang": lang,
            "suggestion": results.suggestion,
            "results": [result_json(hit) for hit in hits],
            # Added fields: when only common words matched ("instellen") and the others matched
            # nothing ("dkim"), no results are listed and these say why.
            "common_only": results.common_only,
            "unmatched": results.unmatched,
        })


MAX_TRIAGE_TEXT = 5000


@bp.route("/triage", methods=["POST"])
@limiter.limit(lambda: current_app.config.get("API_TRIAGE_RATE_LIMIT", "30/minute"))
def triage_question():
    """Say what happens to a question: POST {"text": "...", "lang": "nl"|"en"}; changes nothing."""
    data = request.get_json(silent=True)
    lang = data.get("lang") if isinstance(data, dict) else None
    message_lang = lang if lang in LANGUAGES else preferred_language()
    with force_locale(message_lang):
        if not isinstance(data, dict):
            return error(_('Send a JSON object like {"text": "your question", "lang": "nl"}.'))
        if lang is None:
            lang = preferred_language()
        if not isinstance(lang, str) or lang not in LANGUAGES:
            return error(_("Unknown language %(lang)s: use nl or en.", lang=str(lang)[:10]))
        text = data.get("text")
        if text is None:
            return error(_("text is required: the question to route."))
        if not isinstance(text, str):
            return error(_("text must be a string."))
        if not text.strip():
            return error(_("text is empty: type the question to route."))
        if len(text) > MAX_TRIAGE_TEXT:
            return error(_("text is too long: use at most %(max)d characters.", max=MAX_TRIAGE_TEXT))
        _verdict, decision = questions.decide(text, lang)  # the form's decision, as a dry run
        return jsonify({
            "verdict": decision.verdict,
            "ticket_kind": decision.ticket_kind,
            "topic": decision.topic,
            "articles": [
                {"id": a.id, "title": a.title, "url": url_for("kb.article", lang=a.lang, slug=a.slug, _external=True)}
                for a in decision.articles
            ],
            "doc_links": decision.doc_links,
            "reasons": decision.reasons,
        })
