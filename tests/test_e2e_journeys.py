"""The journeys of issue 10 in a real browser, at a phone's and a laptop's width, in both languages.

What a person ran into is asserted as they would see it: the FileZilla "General tab" step is a
list, no page scrolls sideways, a forgotten password is reset through the mail that reached a
real SMTP server, and "Still need help?" under an article reaches the question form with the
article named. HELPSITE_SCREENSHOTS=docs/screenshots writes the README's screenshots.
"""

import os
import re
import time
from pathlib import Path

import pytest
from conftest import LiveServer
from playwright.sync_api import expect

from helpsite import accounts

pytestmark = [pytest.mark.e2e]

WIDTHS = {"phone": 390, "laptop": 1366}
LANGS = ("nl", "en")
FILEZILLA = {"nl": ("/nl/artikel/ftp-instellen-filezilla", "Algemeen"), "en": ("/en/article/ftp-setup-filezilla", "General")}
SCREENSHOTS = os.environ.get("HELPSITE_SCREENSHOTS")


@pytest.fixture
def site(make_app, smtp_server):
    """Serve the app with its mail going to a real SMTP server; yields (url, app, sink)."""
    sink, port = smtp_server
    app = make_app(SERVER_NAME=None, RATELIMIT_ENABLED=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                   MAIL_SUPPRESS_SEND=False, MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_USERNAME=None,
                   # the real outbox sender, as in production: the reset mail leaves after the request
                   MAIL_BACKGROUND_SENDER=True, MAIL_SEND_INTERVAL=0.2)
    with app.app_context():
        accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"], name="Anna")
    server = LiveServer(app)
    yield server.url, app, sink
    server.stop()


def fits(page) -> None:
    """Assert that the page does not scroll sideways."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} px content in {widths[1]} px"


KEPT_SHOTS = {"filezilla-nl-390", "filezilla-nl-1366", "still-need-help-en-390", "still-need-help-en-1366"}


def shoot(page, name: str) -> None:
    """Save what the visitor sees (the viewport, not the whole page): a few small pictures for the README."""
    if SCREENSHOTS and name in KEPT_SHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def wait_for_mail(sink, to: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in sink.messages if m["To"] == to]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no mail to {to} reached the SMTP server")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("device", WIDTHS)
def test_the_journeys_people_ran_into(browser, site, device, lang):
    url, app, sink = site
    context = browser.new_context(locale="nl-NL" if lang == "nl" else "en-GB",
                                  viewport={"width": WIDTHS[device], "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        # 1. The FileZilla guide: the "General tab" step is a list, and nothing scrolls sideways.
        path, tab = FILEZILLA[lang]
        page.goto(url + path + "?address=klant.nl")
        step = page.locator(".article-body li", has=page.locator(f"strong:text-is('{tab}')")).first
        expect(step.locator("ul > li")).to_have_count(6)
        expect(step.locator("ul > li").first).to_contain_text("Protocol")
        fits(page)
        if device == "phone":  # the steps come before the table of contents and the FileZilla file
            assert step.bounding_box()["y"] < page.locator(".toc").bounding_box()["y"]
            assert step.bounding_box()["y"] < page.locator(".guide-offer").bounding_box()["y"]
        step.scroll_into_view_if_needed()
        page.evaluate("() => window.scrollBy(0, -120)")
        shoot(page, f"filezilla-{lang}-{WIDTHS[device]}")

        # 2. "Still need help?" reaches the question form with the article named.
        page.locator("#still-need-help a.button").click()
        expect(page.locator("#question-article")).to_contain_text("FileZilla")
        expect(page.locator("#email")).to_be_visible()  # not logged in: the contact form
        fits(page)
        shoot(page, f"still-need-help-{lang}-{WIDTHS[device]}")

        # 3. A forgotten password, reset through the mail that reached the SMTP server.
        page.goto(url + ("/nl/inloggen" if lang == "nl" else "/en/login"))
        page.locator("main a[href$='/wachtwoord-vergeten'], main a[href$='/forgot-password']").click()
        page.locator("#email").fill("anna@klant.nl")
        page.locator("main form button[type=submit]").click()
        expect(page.locator("#reset-sent")).to_be_visible()
        fits(page)
        message = wait_for_mail(sink, "anna@klant.nl")
        link = re.search(r"https?://\S+/(?:nieuw-wachtwoord|new-password)/\S+", message.get_body(("plain",)).get_content())
        sink.messages.clear()
        page.goto(link.group(0))
        new_password = f"nieuw-wachtwoord-{device}-{lang}"
        page.locator("#password").fill(new_password)
        page.locator("#confirm").fill("something else entirely")
        page.locator("main form button[type=submit]").click()
        expect(page.locator("#error-summary")).to_be_focused()  # the error summary takes the focus
        page.locator("#error-summary a[href='#confirm']").click()
        expect(page.locator("#confirm")).to_be_focused()
        page.locator("#password").fill(new_password)
        page.locator("#confirm").fill(new_password)
        page.locator("main form button[type=submit]").click()
        expect(page.locator(".notice-success")).to_be_visible()
        page.locator("#email").fill("anna@klant.nl")
        page.locator("#password").fill(new_password)
        page.locator("main form button[type=submit]").click()
        expect(page.locator(".main-nav form[action$='/logout'] button")).to_be_visible()
        fits(page)
        # The link worked once.
        page.goto(link.group(0))
        expect(page.locator("#reset-invalid")).to_be_visible()
        fits(page)
    finally:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_composer_searches_articles_without_reloading_and_inserts_at_the_cursor(browser, site, lang):
    url, app, sink = site
    from helpsite import tickets
    from conftest import PASSWORDS

    with app.test_request_context(base_url=url):  # the confirmation mail links to the site
        accounts.create_user("support@webxtra.nl", PASSWORDS["support@webxtra.nl"], role="support")
        number = tickets.open_ticket(accounts.find_user("anna@klant.nl"), "klant.nl", "Outlook",
                                     "Mijn Outlook doet het niet.", lang=lang).number
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 900})
    page = context.new_page()
    try:
        page.goto(url + "/nl/inloggen")
        page.locator("#email").fill("support@webxtra.nl")
        page.locator("#password").fill(PASSWORDS["support@webxtra.nl"])
        page.locator("main form button[type=submit]").click()
        page.goto(url + f"/{lang}/desk/tickets/{number}")
        page.locator("#body").fill("Beste klant,\n\nLees dit:\n\nGroet")
        page.evaluate("() => { window.notReloaded = true; const b = document.getElementById('body');"
                      " const at = b.value.indexOf('Lees dit:') + 'Lees dit:'.length + 1; b.setSelectionRange(at, at); }")
        page.locator("#article-q").fill("outlook")
        page.locator("#article-q").press("Enter")
        expect(page.locator("#article-results button[data-insert]").first).to_be_visible()
        assert page.evaluate("() => window.notReloaded === true"), "the page was reloaded"
        assert page.locator("#site-search").input_value() == ""  # the header's search box is left alone
        page.locator("#article-results button[data-insert]").first.click()
        text = page.locator("#body").input_value()
        assert re.search(r"Lees dit:\n.+: http://127\.0\.0\.1:\d+/a/[a-z0-9-]+\n\nGroet", text), text
        fits(page)
    finally:
        context.close()
