"""What a hostile test found (issue 9): 500s, a trusted Host header, and their fixes, one test each."""

import pytest
from conftest import csrf_token, login
from sqlalchemy import select

from helpsite.extensions import db
from helpsite.models import OutgoingMail

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


# -- finding 9: 500s ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/nl/zoeken?q=outlook&lang=en", "/en/login?lang=nl", "/nl/?lang=xx",
                                  "/en/search?q=ftp&_external=1&_scheme=javascript"])
def test_lang_in_the_query_string_is_not_a_500(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "javascript:" not in response.get_data(as_text=True)


def test_deeply_nested_json_is_a_400_not_a_500(client):
    response = client.post("/api/triage", data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 400 and "error" in response.get_json()


@pytest.mark.parametrize("target", ["/nl/mijn-tickets\r\nSet-Cookie: x=1", "/nl/%0d%0aX: y", "/\\evil.example",
                                    "/nl/mijn-tickets\n"])
def test_next_with_control_characters_after_login_goes_home(client, users, target):
    path = "/nl/inloggen"
    token = csrf_token(client.get(path))
    response = client.post(path, query_string={"next": target},
                           data={"email": "anna@klant.nl", "password": "anna-password-1", "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "evil" not in location
    assert location.endswith("/nl/mijn-tickets") or location.endswith("/nl/%0d%0aX: y") is False


@pytest.mark.parametrize("number", [2147483647, 2147483648, 99999999999])
def test_ticket_numbers_beyond_the_database_integer_are_404(client, users, number):
    login(client, "anna@klant.nl")
    assert client.get(f"/nl/tickets/{number}").status_code == 404
    staff = client.application.test_client()
    login(staff, "support@webxtra.nl")
    assert staff.get(f"/nl/desk/tickets/{number}").status_code == 404


def test_a_failing_error_page_still_answers_with_the_security_headers(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.jinja_env.globals["switch_url"] = None  # the layout fails to render as well
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    for header in SECURITY_HEADERS:
        assert header in response.headers


# -- finding 7: the Host header -------------------------------------------------------------------

def test_a_hostile_host_header_is_refused_and_mail_links_use_helpsite_url(make_app, users):
    app = make_app(SERVER_NAME=None, HELPSITE_URL="http://help.webxtra.example", MAIL_SUPPRESS_SEND=True)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the refusal goes through the error handler
    client = app.test_client()
    for path in ("/robots.txt", "/api/search?q=outlook&lang=en", "/nl/"):
        refused = client.get(path, headers={"Host": "evil.example"})
        assert refused.status_code == 400 and "evil" not in refused.get_data(as_text=True)
        assert all(header in refused.headers for header in SECURITY_HEADERS)
    # The site's own name works, and a ticket's mail links to the public address.
    base = "http://help.webxtra.example"
    login_page = client.get("/nl/inloggen", base_url=base)
    assert login_page.status_code == 200, login_page.get_data(as_text=True)[:500]
    client.post("/nl/inloggen", base_url=base, data={"email": "anna@klant.nl", "password": "anna-password-1",
                                                     "csrf_token": csrf_token(login_page)})
    page = client.get("/nl/vraag-stellen", base_url=base)
    response = client.post("/nl/vraag-stellen", base_url=base, data={
        "csrf_token": csrf_token(page), "domain": "klant.nl", "subject": "Website plat",
        "question": "Sinds vanochtend geeft www.klant.nl een 503 fout.", "override": "y", "split_ok": "y",
        "duplicate_choice": "new"})
    assert response.status_code == 302
    with app.app_context():
        body = db.session.scalars(select(OutgoingMail)).one().body
    assert "http://help.webxtra.example/nl/tickets/1" in body and "evil" not in body


def test_trusted_hosts_default_to_the_public_host_and_loopback(make_app):
    app = make_app(SERVER_NAME=None, HELPSITE_URL="https://help.webxtra.example/")
    assert app.config["HELPSITE_URL"] == "https://help.webxtra.example"
    assert set(app.config["TRUSTED_HOSTS"]) == {"help.webxtra.example", "127.0.0.1", "localhost"}
    assert app.test_client().get("/robots.txt", headers={"Host": "127.0.0.1:5000"}).status_code == 200


# -- finding 13: CI without its browsers ----------------------------------------------------------

def test_ci_fails_when_a_test_tool_is_missing():
    import os
    import subprocess
    from pathlib import Path

    script = Path(__file__).parent.parent / "scripts" / "check-test-tools"
    for missing in ("CHROMIUM_PATH", "AXE_JS", "DOVECOT"):
        result = subprocess.run(["bash", str(script)], env={**os.environ, missing: "/nonexistent"},
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 1 and "missing" in result.stderr, (missing, result.stderr)
    test = (script.parent / "test").read_text()
    assert 'if [ "${CI:-}" = "true" ]; then\n  bash scripts/check-test-tools' in test
    assert "dovecot-imapd" in test
