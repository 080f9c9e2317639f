"""Settings, read from the environment, with embedded defaults that run on a fresh machine."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from .support_calendar import DEFAULT_CLOSED_HOLIDAYS

PROJECT_DIR = Path(__file__).resolve().parent.parent


def instance_path(overrides=None) -> str | None:
    """Return the instance folder (secrets, SQLite, the index): INSTANCE_PATH, HELPSITE_INSTANCE_DIR or Flask's.

    In production it lives outside the code checkout (e.g. /var/lib/helpsite), so that a new
    release is a new checkout and the instance folder stays where it is.
    """
    chosen = (overrides.get("INSTANCE_PATH") if isinstance(overrides, dict) else None) \
        or os.environ.get("HELPSITE_INSTANCE_DIR")
    return str(Path(chosen).resolve()) if chosen else None


def instance_secret(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Production and development settings."""

    # "production" refuses laptop settings at start-up (helpsite/production.py).
    HELPSITE_ENV = os.environ.get("HELPSITE_ENV", "development")
    # Unset: generated once into the instance folder (fine for one laptop, refused in production).
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Worker processes per host (gunicorn reads the same variable; deploy/gunicorn.conf.py sets it):
    # more than one needs shared rate-limit counts.
    WORKERS = int(os.environ.get("WEB_CONCURRENCY", "1"))
    # How many reverse proxies set each X-Forwarded-* header (Werkzeug's ProxyFix); 0: not trusted.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", "0"))
    PROXY_FIX_X_HOST = int(os.environ.get("PROXY_FIX_X_HOST", "0"))
    PROXY_FIX_X_PORT = int(os.environ.get("PROXY_FIX_X_PORT", "0"))
    PROXY_FIX_X_PREFIX = int(os.environ.get("PROXY_FIX_X_PREFIX", "0"))

    LANGUAGES = ("nl", "en")
    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_DIR / "translations")
    CONTENT_DIR = os.environ.get("HELPSITE_CONTENT_DIR", str(PROJECT_DIR / "content"))
    CONTENT_RELOAD_INTERVAL = float(os.environ.get("HELPSITE_CONTENT_RELOAD_INTERVAL", "5"))
    SEARCH_INDEX_DIR = os.environ.get("HELPSITE_INDEX_DIR")  # default: <instance>/search-index
    SEARCH_BUILD_ON_START = True
    PAGE_CACHE_BYTES = int(os.environ.get("HELPSITE_PAGE_CACHE_BYTES", str(32 * 1024 * 1024)))  # per worker; 0: off
    ANALYTICS_IN_BACKGROUND = True  # search events and clicks written in batches by a thread
    ANALYTICS_FLUSH_SECONDS = 1.0
    POPULAR_ARTICLES_SECONDS = 60.0  # how long a worker reuses the home page's "popular articles" list
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # default: sqlite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("HELPSITE_SECURE_COOKIES", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # The remember-me cookie logs in on its own: it is as secret as the session cookie.
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # A login lasts at most this long on the server (helpsite/accounts.py), remember-me or not.
    SESSION_LIFETIME_DAYS = float(os.environ.get("HELPSITE_SESSION_LIFETIME_DAYS", "30"))
    REMEMBER_COOKIE_DURATION = timedelta(days=SESSION_LIFETIME_DAYS)
    PERMANENT_SESSION_LIFETIME = timedelta(days=SESSION_LIFETIME_DAYS)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session: a slow writer loses nothing
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # Self-service client setup (helpsite/mailconfig.py): Apple profiles are signed when a PEM
    # certificate (optionally followed by its chain) and key are given; unsigned otherwise.
    MOBILECONFIG_SIGNING_CERT = os.environ.get("HELPSITE_MOBILECONFIG_SIGNING_CERT")
    MOBILECONFIG_SIGNING_KEY = os.environ.get("HELPSITE_MOBILECONFIG_SIGNING_KEY")
    MOBILECONFIG_SIGNING_KEY_PASSWORD = os.environ.get("HELPSITE_MOBILECONFIG_SIGNING_KEY_PASSWORD")
    MOBILECONFIG_IDENTIFIER_PREFIX = os.environ.get("HELPSITE_MOBILECONFIG_IDENTIFIER_PREFIX", "nl.webxtra.help")
    AUTOCONFIG_RATE_LIMIT = os.environ.get("AUTOCONFIG_RATE_LIMIT", "60/minute")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "support@webxtra.nl")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "5"))
    MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN", "webxtra.nl")
    # The outbox (helpsite/mail.py): a thread in each app process sends after every commit that
    # queued mail and every MAIL_SEND_INTERVAL seconds; `flask mail send` from cron does the same.
    MAIL_BACKGROUND_SENDER = os.environ.get("MAIL_BACKGROUND_SENDER", "1") == "1"
    MAIL_SEND_INTERVAL = float(os.environ.get("MAIL_SEND_INTERVAL", "10"))
    # After a failed attempt a mail waits MAIL_RETRY_BASE seconds, doubling up to MAIL_RETRY_MAX;
    # after MAIL_MAX_ATTEMPTS attempts (about 16 hours with the defaults) it is given up and reported.
    MAIL_RETRY_BASE = float(os.environ.get("MAIL_RETRY_BASE", "30"))
    MAIL_RETRY_MAX = float(os.environ.get("MAIL_RETRY_MAX", "3600"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "20"))
    # How long a sender's claim on a mail lasts (renewed before each mail): a killed sender's mail
    # waits this long before another sends it. Unset: 60 s plus three SMTP timeouts.
    MAIL_CLAIM_SECONDS = float(os.environ.get("MAIL_CLAIM_SECONDS", "0")) or None
    # The journal of mails the SMTP server accepted (helpsite/outbox_journal.py), one per machine:
    # default instance/outbox-journal. Days are kept MAIL_JOURNAL_DAYS.
    MAIL_JOURNAL_DIR = os.environ.get("MAIL_JOURNAL_DIR", "")
    MAIL_JOURNAL_DAYS = int(os.environ.get("MAIL_JOURNAL_DAYS", "30"))
    # Mail in (helpsite/mail_in/): `flask tickets ingest` (pipe delivery) and `flask tickets poll-imap`.
    # Other addresses of ours (comma-separated, e.g. the address customers write to): mail from them is a loop.
    MAIL_IN_OWN_ADDRESSES = os.environ.get("MAIL_IN_OWN_ADDRESSES", "")
    MAIL_IN_MAX_BYTES = int(os.environ.get("MAIL_IN_MAX_BYTES", str(25 * 1024 * 1024)))  # larger mail is cut
    MAIL_IN_KEEP_BYTES = int(os.environ.get("MAIL_IN_KEEP_BYTES", str(5 * 1024 * 1024)))  # raw kept for a person
    MAIL_IN_MAX_PER_HOUR = int(os.environ.get("MAIL_IN_MAX_PER_HOUR", "20"))  # from one sender: then a person looks
    # Answers to senders without an account, over all senders (anyone can forge a From).
    MAIL_IN_UNKNOWN_MAX_PER_HOUR = int(os.environ.get("MAIL_IN_UNKNOWN_MAX_PER_HOUR", "60"))
    # The authserv-id of our own mail server's Authentication-Results header; when set, mail whose
    # DMARC check failed there is kept for a person, and a DMARC pass there lets a customer's
    # reply into their ticket even without our reply token (helpsite/mail_in/).
    MAIL_IN_AUTHSERV_ID = os.environ.get("MAIL_IN_AUTHSERV_ID", "")
    IMAP_HOST = os.environ.get("IMAP_HOST", "")
    IMAP_PORT = int(os.environ.get("IMAP_PORT", "993"))
    IMAP_USER = os.environ.get("IMAP_USER", "")
    IMAP_PASSWORD = os.environ.get("IMAP_PASSWORD", "")
    IMAP_SSL = os.environ.get("IMAP_SSL", "1") == "1"
    IMAP_FOLDER = os.environ.get("IMAP_FOLDER", "INBOX")
    IMAP_PROCESSED_FOLDER = os.environ.get("IMAP_PROCESSED_FOLDER", "")  # empty: mark processed mail \Seen
    IMAP_TIMEOUT = float(os.environ.get("IMAP_TIMEOUT", "30"))
    # The site's public address, e.g. https://help.webxtra.nl: every absolute link (mail, sitemap,
    # API results) starts with it, and requests for another Host are refused (helpsite/urls.py).
    # Unset: from SERVER_NAME, else http://127.0.0.1:5000 (scripts/start). More accepted host
    # names, comma-separated: HELPSITE_TRUSTED_HOSTS.
    HELPSITE_URL = os.environ.get("HELPSITE_URL", "")
    HELPSITE_TRUSTED_HOSTS = os.environ.get("HELPSITE_TRUSTED_HOSTS", "")
    # Failed logins only (a successful one does not count): per client address, and per account
    # over all addresses. With several workers the counts must be shared: RATELIMIT_STORAGE_URI=redis://…
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10/minute;50/hour")
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "10/15 minutes;30/day")
    SEARCH_PAGE_RATE_LIMIT = os.environ.get("SEARCH_PAGE_RATE_LIMIT", "60/minute")
    ASK_RATE_LIMIT = os.environ.get("ASK_RATE_LIMIT", "30/hour")
    FEEDBACK_RATE_LIMIT = os.environ.get("FEEDBACK_RATE_LIMIT", "20/hour")  # "Was this helpful?" answers
    API_STATUS_RATE_LIMIT = os.environ.get("API_STATUS_RATE_LIMIT", "120/minute")  # GET /api/status
    # How long a process shows the incident banner without asking the database (helpsite/incidents.py).
    INCIDENT_BANNER_CACHE_SECONDS = float(os.environ.get("HELPSITE_INCIDENT_BANNER_CACHE_SECONDS", "10"))
    # Password reset: how long a mailed link works, and how often a reset may be asked for, per
    # visitor (IP address) and per address typed.
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600"))
    PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5/hour")
    PASSWORD_RESET_ADDRESS_LIMIT = os.environ.get("PASSWORD_RESET_ADDRESS_LIMIT", "3/hour")
    # The form for visitors without an account (views/tickets.py contact): questions per visitor.
    CONTACT_RATE_LIMIT = os.environ.get("CONTACT_RATE_LIMIT", "5/hour")
    PREFERRED_URL_SCHEME = os.environ.get("HELPSITE_URL_SCHEME", "http")
    # The support calendar (helpsite/support_calendar.py); holidays come from the `holidays` package.
    # Extra closed days: ISO dates separated by commas, e.g. "2026-12-24,2026-12-31".
    SUPPORT_OPEN = os.environ.get("HELPSITE_SUPPORT_OPEN", "09:00")
    SUPPORT_CLOSE = os.environ.get("HELPSITE_SUPPORT_CLOSE", "17:30")
    SUPPORT_TIMEZONE = os.environ.get("HELPSITE_SUPPORT_TIMEZONE", "Europe/Amsterdam")
    SUPPORT_EXTRA_CLOSED_DAYS = os.environ.get("HELPSITE_SUPPORT_EXTRA_CLOSED_DAYS", "")
    # Which national holidays close support (the SLA: "nationale feestdagen", no list): keys of
    # support_calendar.CLOSING_HOLIDAYS, comma-separated in the environment; "none" for none.
    SUPPORT_CLOSED_HOLIDAYS = os.environ.get("HELPSITE_SUPPORT_CLOSED_HOLIDAYS", ",".join(DEFAULT_CLOSED_HOLIDAYS))
    # Managed Hosting's guaranteed response time in working hours. The SLA promises one but names no
    # number, so there is none until the company sets it: until then a Managed Hosting ticket goes
    # first in the queue and shows the standard aim, never a guarantee we made up.
    SUPPORT_MANAGED_RESPONSE_HOURS = (float(os.environ["HELPSITE_SUPPORT_MANAGED_RESPONSE_HOURS"])
                                      if os.environ.get("HELPSITE_SUPPORT_MANAGED_RESPONSE_HOURS") else None)


class TestingConfig(Config):
    """Settings for the test suite: paths are filled in by the fixtures."""

    TESTING = True
    CONTENT_RELOAD_INTERVAL = None
    MAIL_BACKGROUND_SENDER = False  # tests send the outbox when they want to look at it
    ANALYTICS_IN_BACKGROUND = False  # rows are there when the request returns; one test turns it on
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = True
    # OWASP's argon2id minimum: still ASVS-compliant, four times faster than production's.
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19456
    ARGON2_PARALLELISM = 1
