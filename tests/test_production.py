"""Production mode refuses laptop settings at start-up; ProxyFix trusts only the configured proxies (issue 14)."""

import pytest

from helpsite import create_app
from helpsite.config import TestingConfig
from helpsite.production import ProductionSettingsError

GOOD_KEY = "3f1c" * 16


@pytest.fixture
def production_settings(tmp_path, shared_index_dir):
    """Return settings fit for production (a PostgreSQL URL that is never connected to)."""
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update({
        "HELPSITE_ENV": "production", "SECRET_KEY": GOOD_KEY, "WORKERS": 4,
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://helpsite@127.0.0.1:1/helpsite",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/3", "HELPSITE_URL": "https://help.example.nl",
        "SESSION_COOKIE_SECURE": True, "SEARCH_INDEX_DIR": str(shared_index_dir),
    })
    return config


def refusal(config) -> str:
    with pytest.raises(ProductionSettingsError) as raised:
        create_app(config)
    return str(raised.value)


def test_fit_settings_start(production_settings):
    app = create_app(production_settings)
    assert app.config["SECRET_KEY"] == GOOD_KEY


@pytest.mark.parametrize("key", [None, "", "change-me", "test-secret", "short-but-random-9f8e"])
def test_a_generated_or_example_secret_key_is_refused(production_settings, tmp_path, key):
    production_settings["SECRET_KEY"] = key
    message = refusal(production_settings)
    assert "SECRET_KEY" in message and "secrets.token_hex" in message


@pytest.mark.parametrize("url", [None, "sqlite:////srv/helpsite/helpsite.db"])
def test_a_sqlite_database_is_refused(production_settings, url):
    production_settings["SQLALCHEMY_DATABASE_URI"] = url
    assert "DATABASE_URL is SQLite" in refusal(production_settings)


def test_memory_rate_limits_are_refused_behind_several_workers(production_settings):
    production_settings["RATELIMIT_STORAGE_URI"] = "memory://"
    assert "memory:// with 4 workers" in refusal(production_settings)


def test_memory_rate_limits_are_allowed_with_one_worker(production_settings):
    production_settings.update(RATELIMIT_STORAGE_URI="memory://", WORKERS=1)
    create_app(production_settings)


def test_a_missing_public_url_and_insecure_cookies_are_refused(production_settings):
    production_settings["SESSION_COOKIE_SECURE"] = False
    assert "HELPSITE_SECURE_COOKIES=1" in refusal(production_settings)
    production_settings.update(HELPSITE_URL="", SERVER_NAME=None)
    assert "HELPSITE_URL is not set" in refusal(production_settings)


def test_every_problem_is_listed_at_once(production_settings):
    production_settings.update(SECRET_KEY=None, SQLALCHEMY_DATABASE_URI=None, RATELIMIT_STORAGE_URI="memory://")
    message = refusal(production_settings)
    assert message.count("\n  - ") == 3


def test_development_mode_keeps_the_laptop_defaults(production_settings, tmp_path):
    production_settings.update(HELPSITE_ENV="development", SECRET_KEY=None, SQLALCHEMY_DATABASE_URI=None)
    app = create_app(production_settings)
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_forwarded_headers_are_ignored_without_proxy_fix(make_app):
    app = make_app()
    seen = {}

    @app.get("/_peer")
    def peer():
        from flask import request
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    app.test_client().get("/_peer", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}


def test_proxy_fix_trusts_exactly_the_configured_number_of_proxies(make_app):
    app = make_app(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    seen = {}

    @app.get("/_peer")
    def peer():
        from flask import request
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    # A visitor's own X-Forwarded-For comes first; nginx appends the address it saw: only that one counts.
    app.test_client().get("/_peer", headers={"X-Forwarded-For": "10.6.6.6, 203.0.113.9", "X-Forwarded-Proto": "https"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}
