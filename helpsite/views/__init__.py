"""Thin blueprints, one per area: they read the request, call a domain module, render."""

from flask import current_app, request, url_for

from ..extensions import articles
from ..i18n import LOCALIZED_ENDPOINTS, current_language


def switch_url(lang: str) -> str:
    """Return this page in another language, or that language's home page."""
    endpoint = request.endpoint
    if endpoint in LOCALIZED_ENDPOINTS:
        return url_for(endpoint, **(request.view_args or {}), **request.args.to_dict(), lang=lang)
    return url_for("kb.home", lang=lang)


def init_app(app):
    """Give every template the helpers the layout needs."""

    @app.context_processor
    def layout_helpers():
        return {
            "switch_url": switch_url,
            "has_endpoint": lambda name: name in current_app.view_functions,
            "provider": lambda key: articles.placeholder_values(current_language()).get(key, ""),
        }
