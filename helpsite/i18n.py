"""Language handling: every page URL carries its language (/nl/..., /en/...).

The language comes from the URL; where a URL has none (the API, /a/<id>), from the
visitor's last choice in the session, then the browser's Accept-Language, then Dutch.
"""

from flask import g, request, session
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
LOCALIZED_ENDPOINTS: set[str] = set()


def localized_route(bp, paths: dict[str, str], **options):
    """Register one view under a path per language: {"nl": "/zoeken", "en": "/search"}.

    The language is taken from the URL into g.lang; url_for(endpoint, lang=...) picks the path.
    """

    def decorator(view):
        endpoint = options.pop("endpoint", view.__name__)
        for lang, path in paths.items():
            bp.add_url_rule(f"/{lang}{path}", endpoint=endpoint, view_func=view,
                            defaults={"lang": lang}, **options)
        LOCALIZED_ENDPOINTS.add(f"{bp.name}.{endpoint}")
        return view

    return decorator


def browser_language() -> str:
    """Return the language the visitor's browser asks for, or the default."""
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def preferred_language() -> str:
    """Return the visitor's language when the URL does not say: session, browser, default."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return browser_language()


def current_language() -> str:
    """Return the language of this request."""
    # g straight from the app context: a page asks for its language some thirty times (each URL
    # built, each catalog look-up), and the proxy's lookup was most of that.
    app_ctx = _cv_app.get(None)
    lang = app_ctx.g.get("lang") if app_ctx is not None else g.get("lang")
    if lang in LANGUAGES:
        return lang
    if request:
        # A URL no route matched (a 404) still says its language: /en/unknown is an English page.
        prefix = request.path.split("/", 2)[1]
        if prefix in LANGUAGES:
            return prefix
        # The search API names its language in ?lang=; a refusal before the view runs (429) speaks it too.
        if prefix == "api" and request.args.get("lang") in LANGUAGES:
            return request.args["lang"]
        return preferred_language()
    return DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return current_language()


def other_language(lang: str) -> str:
    return "en" if lang == "nl" else "nl"


def request_catalog():
    """Return the interface catalog of the current locale, looked up once per request.

    Flask-Babel looks the locale and catalog up again for every string; a page has dozens
    of them. The catalog is kept beside Flask-Babel's own per-request locale, so a changed
    locale (force_locale, for a mail in the customer's language) gets its own lookup, and a
    string costs two attribute reads.
    """
    app_ctx = _cv_app.get(None)
    state = getattr(app_ctx.g, "_flask_babel", None) if app_ctx is not None else None
    cached = getattr(state, "helpsite_catalog", None)
    if cached is not None and cached[0] is getattr(state, "babel_locale", None):
        return cached[1]
    translations = get_translations()
    locale = get_locale()
    state = getattr(app_ctx.g, "_flask_babel", None) if app_ctx is not None else None
    if state is not None and locale is not None:
        state.helpsite_catalog = (locale, translations)
    return translations


@pass_eval_context
def template_gettext(eval_ctx, string: str, **variables):
    """Jinja's newstyle `_()`, with the escaped translation of a string without variables kept per catalog.

    A page calls `_()` some forty times; Jinja's own wrapper translates, wraps in Markup and formats
    every call again (a fifth of an uncached article page). The result depends only on the catalog,
    the string and whether the template escapes, so it is kept on the catalog itself. It takes the
    evaluation context only (whether to escape): a function that takes the whole context costs Jinja
    a derived context per call inside a block that sets a variable.
    """
    catalog = request_catalog()
    autoescape = eval_ctx.autoescape
    if variables:
        text = catalog.ugettext(string)
        return (Markup(text) if autoescape else text) % variables
    kept = catalog.__dict__.setdefault("_helpsite_template_strings", {})
    key = (string, autoescape)
    found = kept.get(key)
    if found is None:
        text = catalog.ugettext(string)
        # "%%" in a message is formatted to "%" by Jinja's wrapper even without variables.
        found = kept[key] = (Markup(text) if autoescape else text) % {}
    return found


def init_app(app):
    """Pull the language out of URLs and put it back into url_for."""
    app.jinja_env.install_gettext_callables(
        lambda string: request_catalog().ugettext(string),
        lambda singular, plural, n: request_catalog().ungettext(singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(gettext=template_gettext, _=template_gettext)

    @app.url_value_preprocessor
    def take_language(endpoint, values):
        if values and "lang" in values:
            g.lang = values.pop("lang")
            # Remember a language only where it differs from what the visitor's browser asks for (or
            # a choice was remembered before): most readers then get no cookie at all, and a page
            # is not signed and sent a Set-Cookie for nothing.
            if g.lang in LANGUAGES and session.get("lang") != g.lang and (
                    "lang" in session or g.lang != browser_language()):
                session["lang"] = g.lang

    @app.url_defaults
    def add_language(endpoint, values):
        if endpoint in LOCALIZED_ENDPOINTS and "lang" not in values:
            values["lang"] = current_language()

    @app.context_processor
    def language_context():
        lang = current_language()
        return {"lang": lang, "other_lang": other_language(lang), "languages": LANGUAGES}
