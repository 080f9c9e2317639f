"""Production mode: refuse settings that only suit a laptop, and trust the reverse proxy's headers.

HELPSITE_ENV=production turns the start-up check on. A host that would run with a secret key
generated into its own instance folder (every host a different one: sessions die between
hosts), a SQLite database (one file per host, so tickets on one host are missing on another),
or rate limits counted in memory behind several workers (each worker its own counts, so ten
failed logins become ten per worker) does not start, and says what to set instead.
"""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

# Values someone may copy from an example instead of generating a key.
KNOWN_EXAMPLE_KEYS = {"change-me", "changeme", "secret", "dev", "development", "test", "test-secret",
                      "replace-with-64-hex-characters"}
MIN_SECRET_KEY_LENGTH = 32
PROXY_FIX_SETTINGS = {"x_for": "PROXY_FIX_X_FOR", "x_proto": "PROXY_FIX_X_PROTO", "x_host": "PROXY_FIX_X_HOST",
                      "x_port": "PROXY_FIX_X_PORT", "x_prefix": "PROXY_FIX_X_PREFIX"}


class ProductionSettingsError(RuntimeError):
    """The settings are not fit for production; the message lists every problem and its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("HELPSITE_ENV=production, but:\n" + "\n".join(f"  - {p}" for p in problems))


def is_production(config) -> bool:
    return str(config.get("HELPSITE_ENV") or "").strip().lower() == "production"


def problems(config) -> list[str]:
    """Return what stops these settings from running in production (empty: fine).

    Called before the factory fills in its laptop defaults, so an empty SECRET_KEY or database
    URL here means the generated key or the SQLite file in the instance folder.
    """
    found = []
    key = config.get("SECRET_KEY") or ""
    if not key:
        found.append("SECRET_KEY is not set: each host would generate its own (logins would not survive a "
                     "switch of host). Set the same random value on every host: "
                     "python3 -c 'import secrets; print(secrets.token_hex(32))'")
    elif key.strip().lower() in KNOWN_EXAMPLE_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        found.append(f"SECRET_KEY is an example value or shorter than {MIN_SECRET_KEY_LENGTH} characters: "
                     "generate one with python3 -c 'import secrets; print(secrets.token_hex(32))'")
    database = config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not database or database.startswith("sqlite"):
        found.append("DATABASE_URL is SQLite (or unset): every host would have its own database. "
                     "Set DATABASE_URL=postgresql+psycopg://user:password@host/dbname")
    workers = int(config.get("WORKERS") or 1)
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if workers > 1 and storage.startswith("memory://"):
        found.append(f"RATELIMIT_STORAGE_URI is memory:// with {workers} workers (WEB_CONCURRENCY): each worker "
                     "would count failed logins on its own. Set RATELIMIT_STORAGE_URI=redis://host:6379/0")
    if not (config.get("HELPSITE_URL") or config.get("SERVER_NAME")):
        found.append("HELPSITE_URL is not set: links in mail and the sitemap would point to 127.0.0.1. "
                     "Set HELPSITE_URL=https://help.example.nl")
    elif str(config.get("HELPSITE_URL") or "").startswith("https://") and not config.get("SESSION_COOKIE_SECURE"):
        found.append("the site is served over https but cookies may travel over http: set HELPSITE_SECURE_COOKIES=1")
    return found


def check_settings(app) -> None:
    """Raise ProductionSettingsError when production mode is on and a setting is unfit for it."""
    if not is_production(app.config):
        return
    found = problems(app.config)
    if found:
        raise ProductionSettingsError(found)


def init_app(app) -> None:
    """Trust X-Forwarded-* from as many proxies as configured (none by default).

    Behind nginx on the same host set PROXY_FIX_X_FOR=1 and PROXY_FIX_X_PROTO=1: the client's
    address (for rate limits) and the scheme then come from nginx's headers. More than the real
    number of proxies would let a visitor choose their own address by sending the header.
    """
    counts = {arg: int(app.config.get(name) or 0) for arg, name in PROXY_FIX_SETTINGS.items()}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)
