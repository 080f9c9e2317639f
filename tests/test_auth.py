"""Logging in and out: hashing, session renewal, refusals, rate limits."""

from conftest import PASSWORDS, csrf_token, login

from helpsite import accounts
from helpsite.extensions import db
from helpsite.models import User


def test_passwords_are_hashed_with_argon2id(app, users):
    with app.app_context():
        user = accounts.find_user(users["customer"])
        assert user.password_hash.startswith("$argon2id$")
        assert "anna-password-1" not in user.password_hash
        params = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
        assert int(params["m"]) >= 19456 and int(params["t"]) >= 2  # OWASP ASVS minimum for argon2id


def test_login_and_logout(client, users):
    response = login(client, users["customer"])
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/nl/mijn-tickets")
    page = client.get("/nl/")
    assert "Uitloggen" in page.get_data(as_text=True) or "Log out" in page.get_data(as_text=True)
    token = csrf_token(page)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_wrong_password_is_refused_in_the_users_language(client, users):
    path = "/en/login"
    token = csrf_token(client.get(path))
    response = client.post(path, data={"email": users["customer"], "password": "wrong-password", "csrf_token": token})
    assert response.status_code == 200
    assert "The email address or password is not right." in response.get_data(as_text=True)
    assert users["customer"] in response.get_data(as_text=True)  # the address is kept in the form


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post("/nl/inloggen", data={"email": users["customer"], "password": PASSWORDS[users["customer"]]})
    assert response.status_code == 400


def test_copied_session_cookie_dies_at_logout(app, users):
    first = app.test_client()
    login(first, users["customer"])
    cookie = first.get_cookie("session", domain="help.test")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, domain="help.test")
    assert thief.get("/nl/mijn-tickets").status_code in (200, 404)  # logged in with the copy
    token = csrf_token(first.get("/nl/"))
    first.post("/logout", data={"csrf_token": token})
    response = thief.get("/nl/mijn-tickets")
    assert response.status_code == 302 and "/nl/inloggen" in response.headers["Location"]


def test_session_token_is_renewed_at_login(app, users):
    with app.app_context():
        before = accounts.find_user(users["customer"]).session_token
    login(app.test_client(), users["customer"])
    with app.app_context():
        assert accounts.find_user(users["customer"]).session_token != before


def test_login_is_rate_limited(make_app, users):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    client = app.test_client()
    with app.app_context():
        if accounts.find_user("anna@klant.nl") is None:
            accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])
    statuses = []
    for _ in range(5):
        token = csrf_token(client.get("/en/login"))
        statuses.append(client.post("/en/login", data={"email": "anna@klant.nl", "password": "nope-nope-nope",
                                                        "csrf_token": token}).status_code)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[-1] == 429


def test_open_redirect_after_login_is_refused(client, users):
    token = csrf_token(client.get("/nl/inloggen"))
    response = client.post("/nl/inloggen?next=https://evil.example/", data={
        "email": users["customer"], "password": PASSWORDS[users["customer"]], "csrf_token": token})
    assert response.headers["Location"].startswith("/") or "help.test" in response.headers["Location"]
    assert "evil.example" not in response.headers["Location"]


def test_create_user_refuses_bad_input(app):
    import pytest

    with app.app_context():
        with pytest.raises(accounts.AccountError):
            accounts.create_user("not-an-address", "long-enough-password")
        with pytest.raises(accounts.AccountError):
            accounts.create_user("a@b.nl", "short")
        accounts.create_user("a@b.nl", "long-enough-password", domains=["b.nl"])
        with pytest.raises(accounts.AccountError):
            accounts.create_user("c@d.nl", "long-enough-password", domains=["b.nl"])  # someone else's domain
        db.session.rollback()
        assert db.session.query(User).count() == 1


def test_users_cli_creates_a_customer_with_domains(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "new@klant.nl", "--domain", "klant.nl", "--domain",
                                 "shop.nl", "--password", "a-long-password-1"])
    assert result.exit_code == 0, result.output
    assert "klant.nl" in result.output
    result = runner.invoke(args=["users", "create", "x@y.nl", "--password", "short"])
    assert result.exit_code != 0 and "12 characters" in result.output
