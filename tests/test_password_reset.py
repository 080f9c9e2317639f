"""Self-service password reset: a mailed, time-limited, single-use link; no account enumeration; rate limited."""

import re

import pytest
from conftest import csrf_token

from helpsite import accounts
from helpsite.extensions import db
from helpsite.models import OutgoingMail, User

PATHS = {"nl": ("/nl/wachtwoord-vergeten", "/nl/inloggen"), "en": ("/en/forgot-password", "/en/login")}


def ask_reset(client, email, lang="nl"):
    path = PATHS[lang][0]
    token = csrf_token(client.get(path))
    return client.post(path, data={"email": email, "csrf_token": token})


def reset_link(app, email) -> str:
    with app.app_context():
        mail = db.session.query(OutgoingMail).filter_by(recipient=email).order_by(OutgoingMail.id.desc()).first()
        assert mail is not None, "no reset mail queued"
        return re.search(r"https?://\S+/(?:nieuw-wachtwoord|new-password)/\S+", mail.body).group(0)


def choose(client, link, password, confirm=None):
    path = link.split("help.test", 1)[-1]
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token(page)})


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_password_can_be_reset_with_the_mailed_link_once(app, client, users, lang):
    login_page = client.get(PATHS[lang][1]).get_data(as_text=True)
    assert PATHS[lang][0] in login_page  # "Forgot your password?" on the login page
    response = ask_reset(client, "anna@klant.nl", lang)
    assert response.status_code == 200
    link = reset_link(app, "anna@klant.nl")
    with app.app_context():
        mail = db.session.query(OutgoingMail).filter_by(recipient="anna@klant.nl").one()
        assert ("wachtwoord" if lang == "nl" else "password") in mail.subject.lower()
    done = choose(client, link, "a-brand-new-password")
    assert done.status_code == 303
    with app.app_context():
        user = accounts.find_user("anna@klant.nl")
        assert accounts.check_password(user, "a-brand-new-password")
        assert not accounts.check_password(user, "anna-password-1")
    # Single use: the same link no longer works.
    again = client.get(link.split("help.test", 1)[-1])
    assert again.status_code == 400
    assert 'id="reset-invalid"' in again.get_data(as_text=True)


def test_unknown_and_known_addresses_get_the_same_answer_and_only_one_mail(app, client, users):
    known = ask_reset(client, "anna@klant.nl")
    unknown = ask_reset(client, "nobody@nergens.nl")
    strip = lambda r: re.sub(r'name="csrf_token" value="[^"]+"|value="[^"]*@[^"]*"', "", r.get_data(as_text=True))
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    with app.app_context():
        assert [m.recipient for m in db.session.query(OutgoingMail).all()] == ["anna@klant.nl"]


def test_an_expired_or_forged_link_is_refused(app, client, users):
    ask_reset(client, "anna@klant.nl")
    link = reset_link(app, "anna@klant.nl")
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    assert choose(client, link, "a-brand-new-password").status_code == 400
    app.config["PASSWORD_RESET_MAX_AGE"] = 3600
    assert choose(client, link[:-3] + "xyz", "a-brand-new-password").status_code == 400
    with app.app_context():
        assert accounts.check_password(accounts.find_user("anna@klant.nl"), "anna-password-1")


def test_a_short_or_mismatched_password_is_refused_with_a_summary(app, client, users):
    ask_reset(client, "anna@klant.nl")
    link = reset_link(app, "anna@klant.nl")
    short = choose(client, link, "kort")
    assert short.status_code == 400
    page = short.get_data(as_text=True)
    assert 'id="error-summary"' in page and 'href="#password"' in page
    mismatch = choose(client, link, "a-brand-new-password", "another-new-password")
    assert mismatch.status_code == 400 and 'href="#confirm"' in mismatch.get_data(as_text=True)
    with app.app_context():
        assert accounts.check_password(accounts.find_user("anna@klant.nl"), "anna-password-1")


def test_a_reset_ends_other_sessions(app, users):
    other = app.test_client()
    from conftest import login

    login(other, "anna@klant.nl")
    assert other.get("/nl/mijn-tickets").status_code == 200
    client = app.test_client()
    ask_reset(client, "anna@klant.nl")
    choose(client, reset_link(app, "anna@klant.nl"), "a-brand-new-password")
    assert other.get("/nl/mijn-tickets").status_code == 302  # the old session is gone


def test_asking_for_resets_is_rate_limited_per_address(make_app, users):
    app = make_app(PASSWORD_RESET_ADDRESS_LIMIT="2/hour", PASSWORD_RESET_RATE_LIMIT="100/hour")
    client = app.test_client()
    with app.app_context():
        if accounts.find_user("anna@klant.nl") is None:
            accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])
    assert ask_reset(client, "anna@klant.nl").status_code == 200
    assert ask_reset(client, "Anna@Klant.nl ").status_code == 200
    assert ask_reset(client, "anna@klant.nl").status_code == 429
    assert ask_reset(client, "bob@ander.nl").status_code == 200  # another address is not blocked


def test_a_refused_form_says_what_is_wrong(client):
    response = client.post("/en/forgot-password", data={"email": "", "csrf_token": csrf_token(client.get("/en/forgot-password"))})
    assert response.status_code == 400
    assert 'href="#email"' in response.get_data(as_text=True)
    no_token = client.post("/en/forgot-password", data={"email": "anna@klant.nl"})
    assert no_token.status_code == 400
