"""The issue's "done when", in Chromium: an incident answers the question before it becomes a ticket.

Support opens an incident on the mail service; a customer on an affected domain sees the banner,
asks "mijn mail komt niet meer binnen", gets the incident first, follows it and no ticket is
created; a second customer opens a ticket anyway and it is linked; support posts "resolved" and
both customers get one mail each, counted at a real SMTP server; the status page, the feed and
the JSON show the incident with its updates in both languages.
"""

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import PASSWORDS, LiveServer
from playwright.sync_api import expect

from helpsite import accounts
from helpsite.extensions import db
from helpsite.incident_models import Incident, IncidentFollower, IncidentTicket
from helpsite.models import Ticket

pytestmark = pytest.mark.e2e
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def site(make_app, smtp_server):
    sink, port = smtp_server
    # The real outbox sender runs in the background, as in production: mail leaves after the request.
    app = make_app(SERVER_NAME=None, RATELIMIT_ENABLED=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                   MAIL_BACKGROUND_SENDER=True, MAIL_SEND_INTERVAL=0.2)
    with app.app_context():
        accounts.create_user("support@webxtra.nl", PASSWORDS["support@webxtra.nl"], role="support", name="Sam")
        accounts.create_user("anna@klant.nl", PASSWORDS["anna@klant.nl"], domains=["klant.nl"])
        accounts.create_user("bob@ander.nl", PASSWORDS["bob@ander.nl"], domains=["ander.nl"], locale="en")
        accounts.create_user("it@managed.nl", PASSWORDS["it@managed.nl"], domains=["managed.nl"])
    server = LiveServer(app)
    yield server, sink
    server.stop()


def logged_in(browser, url, email, locale="nl-NL"):
    context = browser.new_context(locale=locale)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(url + "/nl/inloggen")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORDS[email])
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".main-nav form[action$=\"/logout\"] button")).to_be_visible()
    return context, page


def mails_to(sink, address):
    return [m for m in sink.messages if m["To"] == address]


def test_an_incident_answers_the_question_and_everyone_hears_once(site, browser):
    server, sink = site
    url = server.url

    # Support opens an incident on the mail service, for two of the customers' domains.
    support_context, desk = logged_in(browser, url, "support@webxtra.nl")
    desk.goto(url + "/nl/desk")
    desk.get_by_role("link", name="Storingen en gepland onderhoud").click()
    desk.get_by_role("link", name="Een storing melden of onderhoud aankondigen").click()
    desk.get_by_label("Titel in het Nederlands").fill("Storing op mailserver mail3")
    desk.get_by_label("Titel in het Engels").fill("Outage on mail server mail3")
    desk.get_by_label("Omschrijving in het Nederlands").fill("Inkomende mail wordt vertraagd afgeleverd.")
    desk.get_by_label("Omschrijving in het Engels").fill("Incoming mail is delivered late.")
    desk.get_by_label("E-mail", exact=True).check()
    desk.get_by_label("Servers of clusters").fill("mail3.webxtra.nl")
    desk.get_by_label("Getroffen domeinen (optioneel)").fill("klant.nl\nander.nl")
    desk.get_by_role("button", name="Publiceren").click()
    expect(desk.locator(".notice[role=status]")).to_contain_text("Gepubliceerd op de statuspagina.")
    incident_path = desk.url.split("?")[0]
    with server.app.app_context():
        incident_id = db.session.query(Incident).one().id

    # A customer on an affected domain sees the banner, asks, gets the incident first and follows it.
    anna_context, anna = logged_in(browser, url, "anna@klant.nl")
    anna.goto(url + "/nl/")
    expect(anna.locator(".incident-banner")).to_contain_text("Storing op mailserver mail3")
    anna.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Stel een vraag").click()
    anna.get_by_label("Onderwerp").fill("Geen mail")
    anna.get_by_label("Uw vraag").fill("mijn mail komt niet meer binnen")
    anna.locator("#ask-form button[type=submit]").click()
    answer = anna.locator("#incident-answer")
    expect(answer).to_contain_text("Storing op mailserver mail3")
    expect(answer).to_contain_text("Laatste update")
    follow = answer.get_by_role("button", name=re.compile("Volg deze storing in plaats van een ticket te openen"))
    follow.focus()
    anna.keyboard.press("Enter")  # keyboard only
    expect(anna.locator(".notice[role=status]")).to_contain_text("U volgt deze storing")
    with server.app.app_context():
        assert db.session.query(Ticket).filter(Ticket.domain == "klant.nl").count() == 0
        assert db.session.query(IncidentFollower).count() == 1

    # An unaffected customer sees no banner.
    other_context, other = logged_in(browser, url, "it@managed.nl")
    other.goto(url + "/nl/")
    expect(other.locator("h1")).to_be_visible()
    assert other.locator(".incident-banner").count() == 0
    other_context.close()

    # A second customer, in English, opens a ticket anyway: it is linked to the incident.
    bob_context, bob = logged_in(browser, url, "bob@ander.nl", locale="en-GB")
    bob.goto(url + "/en/ask")
    bob.get_by_label("Subject").fill("No mail")
    bob.get_by_label("Your question").fill("My mail stopped arriving this morning, nothing comes in.")
    bob.locator("#ask-form button[type=submit]").click()
    expect(bob.locator("#incident-answer")).to_contain_text("Outage on mail server mail3")
    bob.get_by_role("button", name="Open a ticket anyway").click()
    expect(bob.locator("h1")).to_contain_text("[#")
    with server.app.app_context():
        ticket = db.session.query(Ticket).one()
        assert ticket.customer.email == "bob@ander.nl"
        assert db.session.query(IncidentTicket).filter_by(incident_id=incident_id, ticket_id=ticket.id).count() == 1
        number = ticket.number

    # Support sees the linked ticket and resolves the incident, answering the ticket with it.
    before = {address: len(mails_to(sink, address)) for address in ("anna@klant.nl", "bob@ander.nl")}
    desk.goto(incident_path)
    expect(desk.locator("#linked-heading + ul")).to_contain_text(f"[#{number}]")
    desk.get_by_label("Status").select_option("resolved")
    desk.get_by_label("Update in het Nederlands").fill("De mailserver werkt weer; vertraagde mail is afgeleverd.")
    desk.get_by_label("Update in het Engels").fill("The mail server works again; delayed mail has been delivered.")
    desk.get_by_label(re.compile("Beantwoord ook de open gekoppelde tickets")).check()
    desk.get_by_role("button", name="Update publiceren").click()
    expect(desk.locator(".notice[role=status]")).to_contain_text("1 gekoppeld ticket is ermee beantwoord.")

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the background sender delivers within a moment
        anna_mails = mails_to(sink, "anna@klant.nl")[before["anna@klant.nl"]:]
        bob_mails = mails_to(sink, "bob@ander.nl")[before["bob@ander.nl"]:]
        if anna_mails and bob_mails:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # and nothing more arrives: one mail each, not two
    anna_mails = mails_to(sink, "anna@klant.nl")[before["anna@klant.nl"]:]
    bob_mails = mails_to(sink, "bob@ander.nl")[before["bob@ander.nl"]:]
    assert len(anna_mails) == 1 and len(bob_mails) == 1
    assert anna_mails[0]["Subject"] == "Opgelost: Storing op mailserver mail3"
    assert "De mailserver werkt weer" in anna_mails[0].get_body(("plain",)).get_content()
    assert bob_mails[0]["Subject"].startswith(f"[#{number}]")
    assert "The mail server works again" in bob_mails[0].get_body(("plain",)).get_content()

    # The banner is gone; the status page, the feed and the JSON show the incident with its updates.
    anna.goto(url + "/nl/")
    expect(anna.locator("h1")).to_be_visible()
    assert anna.locator(".incident-banner").count() == 0
    for path, title, update in (("/nl/storingen", "Storing op mailserver mail3", "De mailserver werkt weer"),
                                ("/en/status", "Outage on mail server mail3", "The mail server works again")):
        anna.goto(url + path)
        recent = anna.locator("#recent-heading + article, section[aria-labelledby=recent-heading]")
        expect(recent.first).to_contain_text(title)
        expect(recent.first).to_contain_text(update)
        anna.get_by_role("link", name=title).click()
        expect(anna.locator(".incident-updates li")).to_have_count(2)
        expect(anna.locator(".incident-updates")).to_contain_text(update)
    for path, update in (("/nl/storingen/feed.atom", "De mailserver werkt weer"),
                         ("/en/status/feed.atom", "The mail server works again")):
        feed = ET.fromstring(anna.request.get(url + path).body())
        entry = feed.find(f"{ATOM}entry")
        assert update in entry.find(f"{ATOM}content").text
    data = json.loads(anna.request.get(url + "/api/status").body())
    [shown] = data["recent"]
    assert shown["status"] == "resolved" and shown["title"]["en"] == "Outage on mail server mail3"
    assert [u["status"] for u in shown["updates"]] == ["investigating", "resolved"]
    assert shown["updates"][1]["text"]["nl"].startswith("De mailserver werkt weer")
    for context in (support_context, anna_context, bob_context):
        context.close()
