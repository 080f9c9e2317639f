"""The site's public address: every absolute link (mail, sitemap, API results) starts with it.

It comes from HELPSITE_URL (scripts/start sets it), else from SERVER_NAME, else the default
address of scripts/start. A visitor's Host header never decides a link: Flask's TRUSTED_HOSTS
is set to the public host, so a request for another host is refused with 400.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

DEFAULT_URL = "http://127.0.0.1:5000"


def public_url(config) -> str:
    """Return the site's public base URL from the settings, without a trailing slash."""
    url = (config.get("HELPSITE_URL") or "").strip().rstrip("/")
    if not url and config.get("SERVER_NAME"):
        url = f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{config['SERVER_NAME']}"
    return url or DEFAULT_URL


def init_app(app) -> None:
    """Fix the public URL and trust only its host (and loopback, for the address the site runs on)."""
    app.config["HELPSITE_URL"] = public_url(app.config)
    if app.config.get("TRUSTED_HOSTS") is None:
        host = urlsplit(app.config["HELPSITE_URL"]).hostname or "127.0.0.1"
        extra = [h.strip() for h in (app.config.get("HELPSITE_TRUSTED_HOSTS") or "").split(",") if h.strip()]
        app.config["TRUSTED_HOSTS"] = sorted({host, "127.0.0.1", "localhost", *extra})
    app.jinja_env.globals["site_url"] = site_url


def site_url(endpoint: str, **values) -> str | None:
    """Return the absolute URL of a page on the public address, inside or outside a request.

    None when the endpoint does not exist in this app (a mail names only pages that exist).
    """
    app = current_app
    if endpoint not in app.view_functions:
        return None
    parts = urlsplit(app.config["HELPSITE_URL"])
    adapter = app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http")
    anchor = values.pop("_anchor", None)
    app.inject_url_defaults(endpoint, values)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url
