"""The keyboard alone: searching, asking a question and answering a ticket, in headless Chromium.

No clicks: only Tab, typing, Enter and Space. Wherever focus lands it must be visible (the
element matches :focus-visible, has an outline or ring, and is on screen).
"""

import re

import pytest
from conftest import PASSWORDS, LiveServer
from playwright.sync_api import expect

from helpsite import accounts, mail, tickets

pytestmark = [pytest.mark.e2e]

FOCUS_STATE = """(selector) => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        element: el.outerHTML.slice(0, 120),
        matches: selector ? el.matches(selector) : false,
        visible: el.matches(":focus-visible"),
        indicator: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== "none",
        on_screen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
                   && box.top < window.innerHeight && box.left < window.innerWidth,
    };
}"""


def focus(page, selector: str | None = None) -> dict:
    """Return what has focus: whether it matches the selector and whether its focus can be seen."""
    return page.evaluate(FOCUS_STATE, selector)


def assert_focus_visible(state: dict) -> None:
    assert state["visible"] and state["indicator"] and state["on_screen"], f"focus cannot be seen: {state}"


def tab_to(page, selector: str, limit: int = 40, backwards: bool = False) -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches; every stop on the way shows its focus."""
    page.wait_for_load_state()  # after a navigation: the style sheet, which draws the focus, has loaded
    stops = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        state = focus(page, selector)
        assert_focus_visible(state)
        if state["matches"]:
            return state
        stops.append(state["element"])
    raise AssertionError(f"{selector} not reached with {limit} Tabs; focus went through:\n" + "\n".join(stops))


def log_in(page, base_url: str, email: str) -> None:
    """Log in through the form with the keyboard."""
    page.goto(base_url + "/nl/inloggen")
    tab_to(page, "#email")
    page.keyboard.type(email)
    tab_to(page, "#password", limit=1)
    page.keyboard.type(PASSWORDS[email])
    page.keyboard.press("Enter")


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(live_server, page):
    page.goto(live_server.url + "/en/article/set-up-email-thunderbird")
    page.keyboard.press("Tab")
    state = focus(page, "a.skip-link")
    assert state["matches"], state
    assert_focus_visible(state)
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    # The next Tab goes on inside the content, past the header and its menu.
    page.keyboard.press("Tab")
    state = focus(page, "main a")
    assert state["matches"], state
    assert_focus_visible(state)


def test_search_and_open_a_result_with_the_keyboard(live_server, page):
    page.goto(live_server.url + "/nl/")
    tab_to(page, "#site-search")
    page.keyboard.type("filezilla")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/nl/zoeken\?q=filezilla"))
    tab_to(page, "li.result a")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/nl/artikel/ftp-instellen-filezilla$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("FTP instellen in FileZilla")


def test_customer_asks_a_question_with_the_keyboard(live_server, page):
    with live_server.app.app_context():
        accounts.create_user("anna@klant.nl", PASSWORDS["anna@klant.nl"], domains=["klant.nl"])
    log_in(page, live_server.url, "anna@klant.nl")
    expect(page).to_have_url(re.compile(r"/nl/mijn-tickets$"))
    tab_to(page, 'main a[href$="/nl/vraag-stellen"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/nl/vraag-stellen$"))

    tab_to(page, "#domain")
    page.keyboard.press("Control+A")
    page.keyboard.type("klant.nl")
    tab_to(page, "#subject")
    page.keyboard.type("Website plat")
    tab_to(page, "#question")
    page.keyboard.type("Sinds vanochtend geeft mijn website een 500 Internal Server Error en niemand kan meer bestellen.")
    tab_to(page, "#ask-form button[type=submit]")  # past the article suggestions, if they appeared
    page.keyboard.press("Space")

    expect(page).to_have_url(re.compile(r"/nl/tickets/\d+\?created=1$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Website plat")
    expect(page.locator(".notice-success")).to_be_visible()
    tab_to(page, "#body")  # and the reply field is there for what comes next


def test_support_answers_a_ticket_from_the_queue_with_the_keyboard(make_app, smtp_server, page):
    sink, port = smtp_server
    app = make_app(SERVER_NAME=None, RATELIMIT_ENABLED=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    server = LiveServer(app)
    try:
        with app.test_request_context(base_url=server.url):  # the confirmation mail links to the site
            anna = accounts.create_user("anna@klant.nl", PASSWORDS["anna@klant.nl"], domains=["klant.nl"])
            accounts.create_user("support@webxtra.nl", PASSWORDS["support@webxtra.nl"], role="support")
            number = tickets.open_ticket(anna, "klant.nl", "Outlook vraagt steeds om wachtwoord",
                                         "Outlook blijft om mijn wachtwoord vragen sinds gisteren.").number

        log_in(page, server.url, "support@webxtra.nl")
        expect(page).to_have_url(re.compile(r"/nl/desk$"))
        tab_to(page, f'a[href$="/desk/tickets/{number}"]')
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"/nl/desk/tickets/{number}$"))

        # Start the answer, then look up an article: Enter in the search field searches,
        # it must not send the half-written reply.
        tab_to(page, "#body")
        page.keyboard.type("Beste Anna,")
        tab_to(page, "#article-q", backwards=True)
        page.keyboard.type("outlook wachtwoord")
        page.keyboard.press("Enter")
        expect(page.locator("#article-results")).to_be_visible()
        page.wait_for_load_state()  # site.js (deferred) handles "Insert link" once the page has loaded
        expect(page.locator("#body")).to_have_value("Beste Anna,")
        assert not sink.messages  # nothing went to the customer

        tab_to(page, "#article-results button[name=insert]")
        page.keyboard.press("Enter")  # puts the link in the reply and the cursor after it
        expect(page.locator("#body")).to_have_value(re.compile(r"Beste Anna,\n.+: http://127\.0\.0\.1:\d+/a/[a-z0-9-]+\n"))
        assert focus(page, "#body")["matches"]
        page.keyboard.type("Dit artikel legt het uit.")
        tab_to(page, "#reply-form button[type=submit]:not([name])")
        page.keyboard.press("Enter")

        expect(page).to_have_url(re.compile(rf"/nl/desk/tickets/{number}\?sent=1$"))
        expect(page.locator(".notice-success")).to_be_visible()
        expect(page.locator(".conversation li").last).to_contain_text("Dit artikel legt het uit.")
        with app.app_context():  # the outbox is sent after the request (by cron or the background sender)
            mail.send_pending()
        replies = [m for m in sink.messages if "Dit artikel legt het uit." in m.get_body(("plain",)).get_content()]
        assert len(replies) == 1, [m["Subject"] for m in sink.messages]
        assert replies[0]["Subject"].startswith(f"[#{number}]")
        assert re.search(r"/a/[a-z0-9-]+", replies[0].get_body(("plain",)).get_content())
    finally:
        server.stop()
