"""Fixtures built from the app factory: each test gets its own database.

The search index of the shipped content is built once per test session (it is derived
data and read-only for most tests); tests that change content build their own with
``make_app``. Set TEST_DATABASE_URL to run the suite on PostgreSQL instead of SQLite.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from helpsite import create_app
from helpsite.config import PROJECT_DIR, TestingConfig
from helpsite.extensions import db

CONTENT_DIR = PROJECT_DIR / "content"


@pytest.fixture(scope="session")
def shared_index_dir(tmp_path_factory):
    """Return a folder holding the search index of the shipped content, built once."""
    return tmp_path_factory.mktemp("search-index")


def _database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def make_app(tmp_path, shared_index_dir):
    """Return a factory for apps with this test's database and optional own content/index."""
    made = []

    def factory(**overrides):
        config = {
            key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()
        }
        config.update({
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path),
            "CONTENT_DIR": str(CONTENT_DIR),
            "SEARCH_INDEX_DIR": str(shared_index_dir),
            "SERVER_NAME": "help.test",
            "MAIL_JOURNAL_DIR": str(tmp_path / "outbox-journal"),
        })
        config.update(overrides)
        app = create_app(config)
        with app.app_context():
            # PostgreSQL outlives the test: start from empty tables, but only for the test's first
            # app, so that a second app on the same database sees what the first one made.
            if db.engine.dialect.name == "postgresql" and not made:
                db.drop_all()
            db.create_all()
        made.append(app)
        return app

    yield factory
    for app in made:
        for name in ("content_sync", "analytics_writer", "outbox_sender"):  # background threads end with their test
            if app.extensions.get(name) is not None:
                app.extensions[name].stop()
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                db.session.remove()
                db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def content_copy(tmp_path):
    """Return a private copy of the shipped content folder that a test may change."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def csrf_token(response) -> str:
    """Return the CSRF token from a rendered form."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


# -- end-to-end: a real server in a thread and Debian's headless Chromium ---------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


class LiveServer:
    """The app served by Werkzeug on a free localhost port, in a background thread."""

    def __init__(self, app):
        import threading

        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(make_app):
    """Serve a fresh app over HTTP for the browser; yields the LiveServer (use .url and .app)."""
    app = make_app(SERVER_NAME=None, RATELIMIT_ENABLED=False)
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Start Debian's Chromium through Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM}: install Debian's chromium package"
        # Under CI a missing browser is a failure: skipped browser tests would hide every browser bug.
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """Return a fresh browser page (own cookies), Dutch by default."""
    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# -- mail: a real SMTP server (aiosmtpd) on a free localhost port --------------------------

class MailSink:
    """Collects what the site sends, as parsed email messages."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """Run a real SMTP server; yields (sink, port)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def closed_port():
    """Return a localhost port where nothing listens (a mail server that is down)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def users(app):
    """Create demo-like users: two customers (one Managed Hosting), support, editor, admin."""
    from helpsite import accounts

    with app.app_context():
        made = {
            "customer": accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"]),
            "other": accounts.create_user("bob@ander.nl", "bob-password-12", domains=["ander.nl"], locale="en"),
            "managed": accounts.create_user("it@managed.nl", "managed-pass-12", plan="managed",
                                            domains=["managed.nl"]),
            "support": accounts.create_user("support@webxtra.nl", "support-pass-1", role="support"),
            "editor": accounts.create_user("editor@webxtra.nl", "editor-pass-12", role="editor"),
            "admin": accounts.create_user("admin@webxtra.nl", "admin-password1", role="admin"),
        }
        return {key: user.email for key, user in made.items()}


PASSWORDS = {
    "anna@klant.nl": "anna-password-1", "bob@ander.nl": "bob-password-12", "it@managed.nl": "managed-pass-12",
    "support@webxtra.nl": "support-pass-1", "editor@webxtra.nl": "editor-pass-12",
    "admin@webxtra.nl": "admin-password1",
}


def login(client, email, lang="nl"):
    """Log in through the real form (CSRF token included); return the response."""
    path = "/nl/inloggen" if lang == "nl" else "/en/login"
    token = csrf_token(client.get(path))
    return client.post(path, data={"email": email, "password": PASSWORDS[email], "csrf_token": token})
