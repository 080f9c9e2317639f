"""The support desk: queue order and filters, the ticket page, replies with article links."""

import datetime as dt
import re

import pytest
from conftest import csrf_token, login

from helpsite import accounts, tickets
from helpsite.extensions import db
from helpsite.models import ArticleLink, OutgoingMail, Ticket


@pytest.fixture
def seeded(app, users):
    """Three tickets: a standard one, a Managed Hosting one, an overdue one (English customer)."""
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        anna, bob, managed = (accounts.find_user(users[k]) for k in ("customer", "other", "managed"))
        overdue = tickets.open_ticket(bob, "ander.nl", "FTP refuses my password", "530 Login incorrect in FileZilla",
                                      lang="en", now=now - dt.timedelta(days=30))
        standard = tickets.open_ticket(anna, "klant.nl", "Website plat", "500 error sinds vanochtend",
                                       now=now - dt.timedelta(hours=1))
        first = tickets.open_ticket(managed, "managed.nl", "Database traag", "Queries duren lang", now=now)
        return {"overdue": overdue.id, "standard": standard.id, "managed": first.id}


@pytest.fixture
def agent(client, users):
    login(client, users["support"])
    return client


@pytest.mark.parametrize("role,status", [("customer", 403), ("editor", 403), ("support", 200), ("admin", 200)])
def test_only_staff_reach_the_desk(client, users, role, status):
    login(client, users[role])
    assert client.get("/nl/desk").status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/en/desk")
    assert response.status_code == 302 and "/en/login" in response.headers["Location"]


def test_queue_is_in_sla_order_and_marks_overdue(agent, seeded):
    page = agent.get("/en/desk").get_data(as_text=True)
    order = [int(n) for n in re.findall(r'href="/en/desk/tickets/(\d+)"', page)]
    assert order == [seeded["managed"], seeded["overdue"], seeded["standard"]]
    assert "is-overdue" in page and "Overdue by" in page
    assert "Managed Hosting" in page


def test_queue_filters(agent, seeded):
    page = agent.get("/en/desk?domain=klant.nl").get_data(as_text=True)
    assert re.findall(r'href="/en/desk/tickets/(\d+)"', page) == [str(seeded["standard"])]
    assert "No tickets match" in agent.get("/en/desk?status=closed").get_data(as_text=True)
    assert agent.get("/en/desk?kind=administrative&status=all").status_code == 200
    assert agent.get("/en/desk?domain=" + "x" * 5000).status_code == 200


def test_ticket_page_shows_customer_details_and_notes(app, agent, seeded, users):
    number = seeded["standard"]
    page = agent.get(f"/en/desk/tickets/{number}")
    text = page.get_data(as_text=True)
    assert "anna@klant.nl" in text and "klant.nl" in text and "Standard" in text
    response = agent.post(f"/en/desk/tickets/{number}", data={"body": "Customer called about this",
                                                               "internal": "y", "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert "Customer called about this" in agent.get(f"/en/desk/tickets/{number}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Ticket, number).status == "waiting_support"
    # The customer never sees the note.
    customer = app.test_client()
    login(customer, users["customer"])
    assert "Customer called about this" not in customer.get(f"/nl/tickets/{number}").get_data(as_text=True)


def test_insert_article_link_without_javascript(agent, seeded):
    number = seeded["overdue"]  # an English customer: links in English
    page = agent.get(f"/nl/desk/tickets/{number}?q=filezilla")
    text = page.get_data(as_text=True)
    assert 'name="insert" value="ftp-filezilla"' in text
    response = agent.post(f"/nl/desk/tickets/{number}", data={
        "body": "Hello,", "insert": "ftp-filezilla#troubleshooting", "csrf_token": csrf_token(page)})
    body = re.search(r'<textarea[^>]*id="body"[^>]*>(.*?)</textarea>', response.get_data(as_text=True), re.S).group(1)
    assert "Hello," in body
    assert re.search(r"FileZilla.*: https?://[^/]+/a/ftp-filezilla#troubleshooting", body)


def test_searching_the_articles_keeps_the_reply_and_sends_nothing(app, agent, seeded):
    number = seeded["overdue"]
    page = agent.get(f"/en/desk/tickets/{number}")
    with app.app_context():
        mails_before = db.session.query(OutgoingMail).count()
    # What the browser sends for Enter in the article search: the form's first submit button is "Search".
    response = agent.post(f"/en/desk/tickets/{number}", data={
        "body": "Dear Bob,", "q": "filezilla", "search": "1", "csrf_token": csrf_token(page)})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<textarea[^>]*id="body"[^>]*>\s*Dear Bob,</textarea>', text)
    assert 'name="insert" value="ftp-filezilla"' in text
    assert text.index('name="search"') < text.index('id="body"')  # the default button of the form
    with app.app_context():
        assert db.session.get(Ticket, number).status == "waiting_support"
        assert db.session.query(OutgoingMail).count() == mails_before


def test_reply_mails_the_customer_and_waits_for_them(app, agent, seeded):
    number = seeded["overdue"]
    page = agent.get(f"/en/desk/tickets/{number}")
    link = "https://help.test/a/ftp-530-login-incorrect"
    response = agent.post(f"/en/desk/tickets/{number}", data={"body": f"Please see {link}",
                                                               "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with app.app_context():
        ticket = db.session.get(Ticket, number)
        assert ticket.status == "waiting_customer"
        sent = db.session.query(OutgoingMail).order_by(OutgoingMail.id.desc()).first()
        assert sent.subject == f"[#{number}] FTP refuses my password" and sent.recipient == "bob@ander.nl"
        assert db.session.query(ArticleLink).one().article_id == "ftp-530-login-incorrect"


@pytest.mark.parametrize("answer,expected", [("client_setup", "/a/"), ("script", "https://")])
def test_ready_made_answers_in_the_customers_language(agent, seeded, answer, expected):
    page = agent.get(f"/en/desk/tickets/{seeded['standard']}?answer={answer}").get_data(as_text=True)
    body = re.search(r'<textarea[^>]*id="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert "Beste klant" in body and "Dear customer" not in body  # anna's ticket is Dutch; the desk page is English
    assert expected in body


def test_close_and_reopen(app, agent, seeded):
    number = seeded["standard"]
    token = csrf_token(agent.get(f"/en/desk/tickets/{number}"))
    assert agent.post(f"/en/desk/tickets/{number}/status", data={"action": "close", "csrf_token": token}
                      ).status_code == 302
    with app.app_context():
        assert db.session.get(Ticket, number).status == "closed"
    agent.post(f"/en/desk/tickets/{number}/status", data={"action": "reopen", "csrf_token": token})
    with app.app_context():
        assert db.session.get(Ticket, number).status == "waiting_support"
    assert agent.post(f"/en/desk/tickets/{number}/status", data={"action": "close"}).status_code == 400
    assert agent.post(f"/en/desk/tickets/{number}/status", data={"action": "explode", "csrf_token": token}
                      ).status_code == 400


def test_reply_without_csrf_keeps_the_text(agent, seeded):
    response = agent.post(f"/en/desk/tickets/{seeded['standard']}", data={"body": "My careful answer"})
    assert response.status_code == 400
    assert "My careful answer" in response.get_data(as_text=True)


def test_unknown_ticket_is_404(agent):
    assert agent.get("/en/desk/tickets/424242").status_code == 404


def test_a_reply_that_asks_for_information_keeps_the_customers_place_when_they_answer(app, agent, seeded, users):
    """Issue 15, through the pages: support ticks the box, the customer answers on the ticket page."""
    number = seeded["standard"]
    page = agent.get(f"/nl/desk/tickets/{number}")
    assert 'name="asks_information"' in page.get_data(as_text=True)
    response = agent.post(f"/nl/desk/tickets/{number}", data={"body": "Welke pagina geeft de fout?",
                                                               "asks_information": "y", "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with app.app_context():
        ticket = db.session.get(Ticket, number)
        queued = ticket.queued_at
        assert ticket.status == "waiting_customer" and ticket.messages[-1].asks_information
    agent.post("/logout", data={"csrf_token": csrf_token(agent.get("/nl/"))})
    login(agent, users["customer"])
    page = agent.get(f"/nl/tickets/{number}")
    assert 'id="asked-information"' in page.get_data(as_text=True)
    assert agent.post(f"/nl/tickets/{number}", data={"body": "De pagina /winkelwagen.",
                                                     "csrf_token": csrf_token(page)}).status_code == 302
    with app.app_context():
        ticket = db.session.get(Ticket, number)
        assert ticket.status == "waiting_support" and ticket.queued_at == queued


def test_the_article_picker_suggests_articles_for_the_tickets_own_question(agent, seeded):
    page = agent.get(f"/en/desk/tickets/{seeded['overdue']}").get_data(as_text=True)  # 530 Login incorrect in FileZilla
    assert "Suggested for this question" in page
    suggested = re.findall(r'name="insert" value="([a-z0-9-]+)"', page)
    assert 0 < len(suggested) <= 3 and set(suggested) & {"ftp-530-login-incorrect", "ftp-filezilla"}
    # a search of the agent's own replaces the suggestions
    searched = agent.get(f"/en/desk/tickets/{seeded['overdue']}?q=webmail").get_data(as_text=True)
    assert "Suggested for this question" not in searched and 'value="email-webmail"' in searched


def test_the_desk_says_when_the_customer_sent_a_question_as_a_ticket_after_we_offered_guides(app, agent, users):
    from helpsite import analytics
    with app.app_context():
        anna = accounts.find_user(users["customer"])
        ticket = tickets.open_ticket(anna, "klant.nl", "Outlook", "Outlook vraagt steeds om mijn wachtwoord")
        analytics.record_triage("Outlook vraagt steeds om mijn wachtwoord", "nl", "client_setup", None, anna.id,
                                overridden=True, ticket_id=ticket.id)
        number = ticket.number
    page = agent.get(f"/en/desk/tickets/{number}").get_data(as_text=True)
    assert "We offered the guides for setting up an email or FTP program; the customer sent it as a ticket anyway." in page
    nl = agent.get(f"/nl/desk/tickets/{number}").get_data(as_text=True)
    assert "Gesteld via het formulier" in nl
