"""The authorization matrix: every route, for every role, anonymous included.

A new route fails this test until it is given its place in ACCESS: nobody adds a page
without deciding who may see it.
"""

import pytest
from conftest import csrf_token, login

from helpsite import accounts, incidents, tickets

ROLES = ("anonymous", "customer", "other_customer", "support", "editor", "admin")
LOGIN = "login"  # a redirect to the login page
PUBLIC = dict.fromkeys(ROLES, "ok")

ACCESS = {
    "static": PUBLIC, "kb.root": PUBLIC, "kb.home": PUBLIC, "kb.category": PUBLIC, "kb.article": PUBLIC,
    "kb.permalink": PUBLIC, "kb.search": PUBLIC, "kb.sitemap": PUBLIC, "kb.robots": PUBLIC,
    "api.search": PUBLIC, "api.triage_question": PUBLIC, "auth.login": PUBLIC, "feedback.submit": PUBLIC,
    "autoconfig.thunderbird": PUBLIC, "autoconfig.outlook": PUBLIC, "autoconfig.apple_profile": PUBLIC,
    "autoconfig.filezilla_file": PUBLIC, "auth.forgot_password": PUBLIC, "auth.reset_password": PUBLIC,
    "auth.logout": {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], "ok")},
    "tickets.contact": PUBLIC, "kb.site_map": PUBLIC,
    "tickets.solve": {"anonymous": LOGIN, "customer": "ok", "other_customer": 404, "support": 404, "editor": 404,
                      "admin": 404}, "desk.kept_list": {"anonymous": LOGIN, "customer": 403, "other_customer": 403,
                                                  "support": "ok", "editor": 403, "admin": "ok"},
    "desk.kept": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": 404, "editor": 403,
                  "admin": 404},
    "tickets.ask": {"anonymous": "ok", "customer": "ok", "other_customer": "ok", "support": 403, "editor": 403,
                    "admin": 403},
    "tickets.mine": {"anonymous": LOGIN, "customer": "ok", "other_customer": "ok", "support": 403, "editor": 403,
                     "admin": 403},
    "tickets.show": {"anonymous": LOGIN, "customer": "ok", "other_customer": 404, "support": "ok", "editor": 404,
                     "admin": "ok"},
    "desk.queue": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": "ok", "editor": 403,
                   "admin": "ok"},
    "desk.ticket": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": "ok", "editor": 403,
                    "admin": "ok"},
    "desk.change_status": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": "ok",
                           "editor": 403, "admin": "ok"},
    "outbox.index": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": 403, "editor": 403,
                     "admin": "ok"},
    "outbox.retry": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": 403, "editor": 403,
                     "admin": "ok"},
    "editor.dashboard": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": 403, "editor": "ok",
                         "admin": "ok"},
    "status.page": PUBLIC, "status.incident": PUBLIC, "status.feed": PUBLIC, "status.status_json": PUBLIC,
    "health.healthz": PUBLIC,  # for load balancers: names no secret (tests/test_health.py)
    "status.follow": {"anonymous": LOGIN, "customer": "ok", "other_customer": "ok", "support": 403, "editor": 403,
                      "admin": 403},
    **dict.fromkeys(("status.desk_list", "status.desk_new", "status.desk_incident"), {
        "anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": "ok", "editor": 403, "admin": "ok"}),
    "editor.preview": {"anonymous": LOGIN, "customer": 403, "other_customer": 403, "support": 403, "editor": "ok",
                       "admin": "ok"},
}

EMAILS = {"customer": "anna@klant.nl", "other_customer": "bob@ander.nl", "support": "support@webxtra.nl",
          "editor": "editor@webxtra.nl", "admin": "admin@webxtra.nl"}


def sample_values(rule, number):
    values = {"slug": "e-mail-instellen-outlook" if rule.rule.startswith("/nl/") else "set-up-email-outlook",
              "category_id": "email", "article_id": "email-outlook", "number": number, "filename": "css/site.css",
              "incident_id": 1, "token": "not-a-valid-token", "mail_id": 999}
    return {name: values[name] for name in rule.arguments if name in values}


def request_for(client, rule, path, method, token):
    if rule.endpoint.startswith("autoconfig.") or rule.endpoint == "api.search":
        query = {"emailaddress": "anna@klant.nl", "email": "anna@klant.nl", "domain": "klant.nl", "q": "outlook"}
        if method == "POST":
            body = ("<Autodiscover xmlns='http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006'>"
                    "<Request><EMailAddress>anna@klant.nl</EMailAddress><AcceptableResponseSchema>"
                    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
                    "</AcceptableResponseSchema></Request></Autodiscover>")
            return client.post(path, data=body, content_type="text/xml")
        return client.get(path, query_string=query)
    if rule.endpoint == "api.triage_question":
        return client.post(path, json={"text": "Mijn website is plat", "lang": "nl"})
    if method == "POST":
        data = {"csrf_token": token, "action": "close", "body": "text", "helpful": "yes"}
        return client.post(path, data=data)
    return client.get(path)


def outcome(response) -> object:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and ("/inloggen" in location or "/login" in location):
        return LOGIN
    if response.status_code in (401, 403, 404):
        return response.status_code
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    return "ok"


@pytest.fixture
def matrix_app(make_app):
    app = make_app(LOGIN_RATE_LIMIT="1000/minute", ASK_RATE_LIMIT="1000/hour", API_TRIAGE_RATE_LIMIT="1000/minute",
                   AUTOCONFIG_RATE_LIMIT="1000/minute", MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        anna = accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])
        accounts.create_user("bob@ander.nl", "bob-password-12", domains=["ander.nl"], locale="en")
        agent = accounts.create_user("support@webxtra.nl", "support-pass-1", role="support")
        accounts.create_user("editor@webxtra.nl", "editor-pass-12", role="editor")
        accounts.create_user("admin@webxtra.nl", "admin-password1", role="admin")
        incidents.create_incident(agent, "incident", "Storing mail", "Mail outage", "", "", ["mail"])
        app.config["MATRIX_TICKET"] = tickets.open_ticket(anna, "klant.nl", "Server down", "It is down.").number
    return app


def test_every_route_is_in_the_matrix(matrix_app):
    endpoints = {rule.endpoint for rule in matrix_app.url_map.iter_rules()}
    assert endpoints - set(ACCESS) == set(), "give new routes their place in ACCESS"


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(matrix_app, role):
    failures = []

    def logged_in_client():
        client = matrix_app.test_client()
        if role != "anonymous":
            login(client, EMAILS[role])
        return client, csrf_token(client.get("/nl/inloggen" if role == "anonymous" else "/nl/"))

    shared = logged_in_client()
    # Logging out ends every session of the user (the session token rotates): it goes last.
    for rule in sorted(matrix_app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.rule)):
        expected = ACCESS[rule.endpoint][role]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            # Logging out ends the session: that one gets a client of its own.
            client, token = logged_in_client() if rule.endpoint == "auth.logout" else shared
            with matrix_app.test_request_context():
                path = matrix_app.url_map.bind("help.test").build(
                    rule.endpoint, {**(rule.defaults or {}), **sample_values(rule, matrix_app.config["MATRIX_TICKET"])},
                    method=method)
            response = request_for(client, rule, path, method, token)
            got = outcome(response)
            response.close()
            if got != expected:
                failures.append(f"{method} {path}: expected {expected}, got {got}")
    assert failures == []
