"""Known incidents: kept in the desk, shown on the status page, feed, JSON and banner, answering questions."""

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import csrf_token, login

from helpsite import accounts, incidents, mail, tickets
from helpsite.extensions import db
from helpsite.incident_models import Incident, IncidentFollower, IncidentTicket
from helpsite.models import OutgoingMail, Ticket

MAIL_QUESTION = {"domain": "klant.nl", "subject": "Geen mail",
                 "question": "Mijn mail komt niet meer binnen sinds vanochtend."}
ATOM = "{http://www.w3.org/2005/Atom}"


def open_mail_incident(app, domains="", **kwargs):
    with app.app_context():
        agent = accounts.find_user("support@webxtra.nl")
        made = incidents.create_incident(agent, "incident", "Storing op mailserver mail3", "Outage on mail server mail3",
                                         "Mail komt vertraagd aan.", "Mail arrives late.", ["mail"],
                                         servers="mail3.webxtra.nl", domains=domains, **kwargs)
        return made.id


def ask(client, lang="nl", **fields):
    path = "/nl/vraag-stellen" if lang == "nl" else "/en/ask"
    data = dict(MAIL_QUESTION, **fields)
    data["csrf_token"] = csrf_token(client.get(path))
    return client.post(path, data=data)


@pytest.fixture
def agent(app, users):
    client = app.test_client()
    login(client, users["support"])
    return client


@pytest.fixture
def anna(app, users):
    client = app.test_client()
    login(client, users["customer"])
    return client


# -- the rules -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Mijn mail komt niet meer binnen", True),
    ("My email is not arriving", True),
    ("Alles is plat, niets werkt", True),  # a symptom without naming a service
    ("Mijn website geeft een 500 error", False),  # another service
    ("Hoe vraag ik een EPP code op?", False),
])
def test_a_question_matches_an_open_incident_on_its_service(app, users, text, expected):
    open_mail_incident(app)
    with app.app_context():
        anna = accounts.find_user(users["customer"])
        assert bool(incidents.matching(text, anna, "klant.nl")) is expected


def test_only_the_listed_domains_and_their_subdomains_are_touched(app, users):
    open_mail_incident(app, domains="klant.nl")
    with app.app_context():
        anna, bob = accounts.find_user(users["customer"]), accounts.find_user(users["other"])
        assert incidents.matching("mail komt niet aan", anna, "shop.klant.nl")
        assert not incidents.matching("mail komt niet aan", bob, "ander.nl")
        assert incidents.banner_for(anna) and not incidents.banner_for(bob)


def test_maintenance_ahead_is_planned_not_current(app, users):
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        agent = accounts.find_user(users["support"])
        made = incidents.create_incident(agent, "maintenance", "Onderhoud", "Maintenance", "", "", ["web"],
                                         started_at=now + dt.timedelta(days=2),
                                         ended_at=now + dt.timedelta(days=2, hours=2))
        assert made.status == "scheduled"
        assert incidents.planned() == [made] and incidents.current() == []
        with pytest.raises(incidents.IncidentError):
            incidents.create_incident(agent, "maintenance", "x", "x", "", "", ["web"], started_at=now,
                                      ended_at=now - dt.timedelta(hours=1))
        with pytest.raises(incidents.IncidentError):
            incidents.create_incident(agent, "incident", "x", "x", "", "", [])


def test_gathered_tickets_are_not_duplicates_of_each_other(app, users):
    open_mail_incident(app)
    with app.app_context():
        anna = accounts.find_user(users["customer"])
        first = tickets.open_ticket(anna, "klant.nl", "Geen mail", "Mijn mail komt niet aan")
        place = first.queued_at
        second = tickets.open_ticket(anna, "klant.nl", "Nog steeds geen mail", "Er komt nog steeds geen mail binnen")
        db.session.refresh(first)
        assert first.queued_at == place and second.duplicate_of_id is None
        assert db.session.query(IncidentTicket).count() == 2
        # Without an incident the SLA's rule still applies.
        other = tickets.open_ticket(anna, "klant.nl", "Website traag", "De website is traag")
        db.session.refresh(first)
        assert other.duplicate_of_id is not None


# -- the desk ----------------------------------------------------------------------------------

def test_support_opens_an_incident_in_the_desk(app, agent):
    form = agent.get("/nl/desk/storingen/nieuw")
    assert form.status_code == 200
    response = agent.post("/nl/desk/storingen/nieuw", data={
        "csrf_token": csrf_token(form), "kind": "incident", "title_nl": "Storing mail", "title_en": "Mail outage",
        "description_nl": "We onderzoeken het.", "description_en": "We are looking into it.",
        "services": ["mail", "web"], "servers": "mail3.webxtra.nl", "domains": "klant.nl\nander.nl", "started_at": ""})
    assert response.status_code == 302
    with app.app_context():
        made = db.session.query(Incident).one()
        assert made.service_list == ["mail", "web"] and made.domain_list == ["klant.nl", "ander.nl"]
        assert made.status == "investigating" and len(made.updates) == 1
    page = agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "Storing mail" in page and "klant.nl, ander.nl" in page


def test_an_incident_without_a_service_or_english_title_is_refused(app, agent):
    token = csrf_token(agent.get("/en/desk/incidents/new"))
    response = agent.post("/en/desk/incidents/new", data={"csrf_token": token, "kind": "incident",
                                                          "title_nl": "Storing", "title_en": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Give the title in English." in page and "Choose at least one affected service." in page
    assert 'value="Storing"' in page  # nothing typed is lost
    with app.app_context():
        assert db.session.query(Incident).count() == 0


def test_an_update_needs_both_languages(app, agent):
    number = open_mail_incident(app)
    path = f"/nl/desk/storingen/{number}"
    response = agent.post(path, data={"csrf_token": csrf_token(agent.get(path)), "status": "identified",
                                      "body_nl": "Gevonden.", "body_en": ""})
    assert response.status_code == 400
    assert "Schrijf de update in het Engels." in response.get_data(as_text=True)
    assert agent.get("/nl/desk/storingen/999").status_code == 404


# -- the public side ---------------------------------------------------------------------------

def test_status_page_feed_and_json_in_both_languages(app, client, users):
    number = open_mail_incident(app, domains="klant.nl")
    with app.app_context():
        agent = accounts.find_user(users["support"])
        incidents.post_update(db.session.get(Incident, number), agent, "identified", "Schijf vervangen.",
                              "Disk replaced.")
    nl = client.get("/nl/storingen").get_data(as_text=True)
    en = client.get("/en/status").get_data(as_text=True)
    assert "Storing op mailserver mail3" in nl and "Schijf vervangen." in nl
    assert "Outage on mail server mail3" in en and "Disk replaced." in en
    assert "klant.nl" not in nl  # the affected customers' domains are not public
    detail = client.get(f"/en/status/{number}").get_data(as_text=True)
    assert "Disk replaced." in detail and "Identified" in detail and "Investigating" in detail
    assert client.get("/en/status/12345").status_code == 404

    for path, title in (("/nl/storingen/feed.atom", "Storing op mailserver mail3"),
                        ("/en/status/feed.atom", "Outage on mail server mail3")):
        response = client.get(path)
        assert response.mimetype == "application/atom+xml"
        feed = ET.fromstring(response.data)
        entry = feed.find(f"{ATOM}entry")
        assert title in entry.find(f"{ATOM}title").text
        assert "Disk replaced." in entry.find(f"{ATOM}content").text or "Schijf vervangen." in entry.find(
            f"{ATOM}content").text

    data = client.get("/api/status").get_json()
    [shown] = data["current"]
    assert shown["title"] == {"nl": "Storing op mailserver mail3", "en": "Outage on mail server mail3"}
    assert [u["status"] for u in shown["updates"]] == ["investigating", "identified"]
    assert shown["updates"][1]["text"]["en"] == "Disk replaced."
    assert "domains" not in shown and data["planned"] == [] and data["recent"] == []


def test_banner_on_every_page_only_for_affected_customers(app, client, users):
    open_mail_incident(app, domains="klant.nl")
    assert "incident-banner" in client.get("/nl/").get_data(as_text=True)  # anonymous visitors see it
    anna, bob = app.test_client(), app.test_client()
    login(anna, users["customer"])
    login(bob, users["other"])
    assert "Storing op mailserver mail3" in anna.get("/nl/mijn-tickets").get_data(as_text=True)
    assert "incident-banner" not in bob.get("/en/my-tickets").get_data(as_text=True)


def test_no_banner_when_nothing_is_going_on(client):
    assert "incident-banner" not in client.get("/nl/").get_data(as_text=True)


# -- the question form ---------------------------------------------------------------------------

def test_a_matching_question_gets_the_incident_first_and_following_opens_no_ticket(app, anna):
    number = open_mail_incident(app)
    response = ask(anna)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="incident-answer"' in page and "Storing op mailserver mail3" in page
    assert "Mail komt vertraagd aan." in page and "Laatste update" in page
    follow = re.search(r'action="(/nl/storingen/\d+/volgen)"', page).group(1)
    response = anna.post(follow, data={"csrf_token": csrf_token(response), "action": "follow"})
    assert response.status_code == 302
    assert "U volgt deze storing" in anna.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Ticket).count() == 0
        [follower] = db.session.query(IncidentFollower).all()
        assert follower.incident_id == number and follower.lang == "nl"


def test_following_needs_the_csrf_token_and_a_customer(app, anna, agent):
    number = open_mail_incident(app)
    assert anna.post(f"/nl/storingen/{number}/volgen", data={"action": "follow"}).status_code == 400
    token = csrf_token(agent.get("/nl/desk"))
    assert agent.post(f"/nl/storingen/{number}/volgen", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.query(IncidentFollower).count() == 0


def test_a_ticket_anyway_is_linked_to_the_incident(app, anna):
    number = open_mail_incident(app)
    response = ask(anna, incident_seen="y")
    assert response.status_code == 302 and "created=1" in response.headers["Location"]
    with app.app_context():
        ticket = db.session.query(Ticket).one()
        assert [i.id for i in incidents.incidents_of_ticket(ticket)] == [number]


def test_a_question_about_something_else_is_not_held_up(app, anna):
    open_mail_incident(app)
    response = ask(anna, subject="Website plat", question="Sinds vanochtend geeft mijn website een 500 error.")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(IncidentTicket).count() == 0


def test_resolving_mails_each_customer_once_through_the_outbox(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        agent = accounts.create_user("support@webxtra.nl", "support-pass-1", role="support")
        anna = accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])
        bob = accounts.create_user("bob@ander.nl", "bob-password-12", domains=["ander.nl"], locale="en")
        carol = accounts.create_user("carol@derde.nl", "carol-password1", domains=["derde.nl"])
        made = incidents.create_incident(agent, "incident", "Storing mail", "Mail outage", "", "", ["mail"])
        incidents.follow(made, anna, "nl")
        incidents.follow(made, carol, "nl")
        ticket = tickets.open_ticket(bob, "ander.nl", "No mail", "My mail is not arriving", lang="en")
        incidents.follow(made, bob, "en")  # follows and has a ticket: gets only the ticket's reply
        number, ticket_number = made.id, ticket.number
        mail.send_pending()  # the ticket's confirmation
    client = app.test_client()
    login(client, "support@webxtra.nl")
    path = f"/en/desk/incidents/{number}"
    page = client.get(path).get_data(as_text=True)
    assert f"[#{ticket_number}]" in page
    sink.messages.clear()
    response = client.post(path, data={"csrf_token": csrf_token(client.get(path)), "status": "resolved",
                                       "body_nl": "De mailserver werkt weer.", "body_en": "The mail server works again.",
                                       "answer_tickets": "y"})
    assert response.status_code == 302
    with app.app_context():
        mail.send_pending()  # what the outbox's sender does after the request
    by_recipient = {}
    for message in sink.messages:
        by_recipient.setdefault(message["To"], []).append(message)
    assert sorted(by_recipient) == ["anna@klant.nl", "bob@ander.nl", "carol@derde.nl"]
    assert all(len(mails) == 1 for mails in by_recipient.values())
    assert by_recipient["bob@ander.nl"][0]["Subject"].startswith(f"[#{ticket_number}]")
    assert "The mail server works again." in by_recipient["bob@ander.nl"][0].get_body(("plain",)).get_content()
    anna_mail = by_recipient["anna@klant.nl"][0]
    assert anna_mail["Subject"] == "Opgelost: Storing mail"
    assert "De mailserver werkt weer." in anna_mail.get_body(("plain",)).get_content()
    with app.app_context():
        assert db.session.get(Incident, number).ended_at is not None
        assert incidents.recent() and not incidents.current()
        assert db.session.query(OutgoingMail).filter(OutgoingMail.sent_at.is_(None)).count() == 0


def test_editor_dashboard_counts_prevented_and_gathered_tickets(app, users):
    number = open_mail_incident(app)
    with app.app_context():
        anna, bob, managed = (accounts.find_user(users[k]) for k in ("customer", "other", "managed"))
        made = db.session.get(Incident, number)
        incidents.follow(made, anna, "nl")
        incidents.follow(made, bob, "en")
        tickets.open_ticket(bob, "ander.nl", "No mail", "My mail is not arriving", lang="en")
        tickets.open_ticket(managed, "managed.nl", "Geen mail", "Mail komt niet aan")
        [row] = incidents.effects(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1))
        assert (row["followers"], row["prevented"], row["gathered"]) == (2, 1, 2)
    client = app.test_client()
    login(client, users["editor"])
    page = client.get("/en/editors/").get_data(as_text=True)
    assert "Outage on mail server mail3" in page
    assert re.search(r"Outage on mail server mail3.*?<td[^>]*>1</td>\s*<td[^>]*>2</td>", page, re.S)


def test_the_desk_shows_a_gathered_ticket_with_its_incident(app, agent, users):
    number = open_mail_incident(app)
    with app.app_context():
        anna = accounts.find_user(users["customer"])
        ticket = tickets.open_ticket(anna, "klant.nl", "Geen mail", "Mijn mail komt niet aan").number
    page = agent.get(f"/nl/desk/tickets/{ticket}").get_data(as_text=True)
    assert "Over een bekende storing" in page and f"/nl/desk/storingen/{number}" in page
    assert "Storingen en gepland onderhoud" in agent.get("/nl/desk").get_data(as_text=True)


def test_a_resolved_incident_cannot_be_followed(app, anna, users):
    number = open_mail_incident(app)
    with app.app_context():
        incidents.post_update(db.session.get(Incident, number), accounts.find_user(users["support"]), "resolved",
                              "Opgelost.", "Resolved.")
    page = anna.get(f"/nl/storingen/{number}")
    assert "Volg deze storing" not in page.get_data(as_text=True)
    response = anna.post(f"/nl/storingen/{number}/volgen", data={"csrf_token": csrf_token(anna.get("/nl/")),
                                                                 "action": "follow"})
    assert response.status_code == 302 and "followed" not in response.headers["Location"]
    with app.app_context():
        assert db.session.query(IncidentFollower).count() == 0


def test_each_process_reads_the_banner_again_after_its_cache_time(make_app):
    first = make_app()
    with first.app_context():
        accounts.create_user("support@webxtra.nl", "support-pass-1", role="support")
    second = make_app(INCIDENT_BANNER_CACHE_SECONDS=3600)  # another worker on the same database
    assert "incident-banner" not in second.test_client().get("/nl/").get_data(as_text=True)
    open_mail_incident(first)
    assert "incident-banner" in first.test_client().get("/nl/").get_data(as_text=True)  # cleared at once here
    assert "incident-banner" not in second.test_client().get("/nl/").get_data(as_text=True)  # still cached there
    second.config["INCIDENT_BANNER_CACHE_SECONDS"] = 0
    second.extensions["incident_banner"]["expires"] = 0
    assert "incident-banner" in second.test_client().get("/nl/").get_data(as_text=True)


def test_a_mailed_question_about_an_incident_is_gathered_and_its_confirmation_names_it(app, users):
    from helpsite import mail_in

    number = open_mail_incident(app)
    raw = (b"From: anna@klant.nl\r\nTo: support@webxtra.nl\r\nSubject: Geen mail meer\r\n"
           b"Message-ID: <q1@klant.nl>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Sinds vanochtend komt er geen mail meer binnen.\r\n")
    with app.test_request_context():
        result = mail_in.ingest(raw)
        assert result.ticket_number
        ticket = db.session.get(Ticket, result.ticket_number)
        assert [i.id for i in incidents.incidents_of_ticket(ticket)] == [number]
        confirmation = db.session.query(OutgoingMail).filter_by(ticket_id=ticket.id).one()
        assert "bekende storing: Storing op mailserver mail3" in confirmation.body
        assert f"/nl/storingen/{number}" in confirmation.body and "Storing op mailserver mail3" in confirmation.html


def test_a_cached_page_shows_the_banner_as_soon_as_an_incident_opens(make_app):
    app = make_app(PAGE_CACHE_BYTES=4 * 1024 * 1024)
    client = app.test_client()
    assert "incident-banner" not in client.get("/nl/").get_data(as_text=True)  # now in the page cache
    with app.app_context():
        agent = accounts.create_user("support@webxtra.nl", "support-pass-1", role="support")
        incidents.create_incident(agent, "incident", "Storing mail", "Mail outage", "", "", ["mail"])
    assert "Storing mail" in client.get("/nl/").get_data(as_text=True)
