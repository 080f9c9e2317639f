"""A way in for everyone: the contact form without an account, "Still need help?" with the article
named, mail kept for a person on the desk, and the desk's own status wording."""

import re

import pytest
from conftest import csrf_token, login

from helpsite import kept_mail, mail_in, tickets
from helpsite.extensions import db
from helpsite.models import IncomingMail, Ticket

SERVER_DOWN = ("Website geeft 500", "Sinds vanochtend geeft mijn website een 500 Internal Server Error.")


def contact(client, lang="nl", article="", **fields):
    path = f"/{lang}/contact" + (f"?article={article}" if article else "")
    page = client.get(path)
    data = {"csrf_token": csrf_token(page), "email": "piet@nieuw.nl", "domain": "shop.klant.nl",
            "subject": SERVER_DOWN[0], "question": SERVER_DOWN[1], "article": article, **fields}
    return client.post(path, data=data)


@pytest.mark.parametrize("lang, slug", [("nl", "/nl/artikel/ftp-instellen-filezilla"),
                                        ("en", "/en/article/ftp-setup-filezilla")])
def test_still_need_help_reaches_the_form_with_the_article_named(client, users, lang, slug):
    page = client.get(slug).get_data(as_text=True)
    link = re.search(r'id="still-need-help".*?<a class="button" href="([^"]+)"', page, re.S).group(1)
    assert link.endswith("?article=ftp-filezilla")
    # Not logged in: the contact form, with the article named on it.
    form_page = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert 'id="question-article"' in form_page and "FileZilla" in form_page
    # A customer gets the question form, with the article named and sent along with the ticket.
    login(client, users["customer"], lang)
    form_page = client.get(link)
    assert form_page.status_code == 200 and 'id="question-article"' in form_page.get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_token(form_page), "domain": "klant.nl",
                                       "subject": SERVER_DOWN[0], "question": SERVER_DOWN[1],
                                       "article": "ftp-filezilla", "override": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with client.application.app_context():
        ticket = db.session.query(Ticket).one()
        assert "/a/ftp-filezilla" in ticket.messages[0].body


def test_a_no_on_was_this_helpful_lands_on_still_need_help(client):
    page = client.get("/en/article/imap-or-pop3").get_data(as_text=True)
    action = re.search(r'action="(/en/article-feedback/[^"]+)"', page).group(1)
    # The feedback form carries no token (the page is cacheable); a same-site Origin is what a browser sends.
    response = client.post(action, data={"helpful": "no"}, headers={"Origin": "http://help.test"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("#still-need-help")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_visitor_without_an_account_reaches_support_and_the_question_is_kept_for_a_person(app, client, lang):
    response = contact(client, lang, article="ftp-filezilla")
    assert response.status_code == 303
    sent = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="contact-sent"' in sent and 'id="ask-form"' not in sent
    with app.app_context():
        row = db.session.query(IncomingMail).one()
        seen = kept_mail.read(row)
        assert seen.sender == "piet@nieuw.nl" and seen.domain == "shop.klant.nl" and seen.lang == lang
        assert SERVER_DOWN[1] in seen.text and "/a/ftp-filezilla" in seen.text
        assert db.session.query(Ticket).count() == 0  # a person checks who it is from first


def test_the_contact_form_follows_the_sla(make_app):
    app = make_app(CONTACT_RATE_LIMIT="100/hour")
    client = app.test_client()
    # The (sub)domain is required and must be a domain name.
    missing = contact(client, domain="")
    assert missing.status_code == 400 and 'href="#domain"' in missing.get_data(as_text=True)
    assert contact(client, domain="geen domein").status_code == 400
    assert contact(client, email="geen-adres").status_code == 400
    # Client setup is supported online: the guides, not a ticket.
    setup = contact(client, subject="Outlook instellen",
                    question="Hoe stel ik mijn e-mail in Outlook in? Welke IMAP server moet ik gebruiken?")
    assert setup.status_code == 200 and 'id="answer"' in setup.get_data(as_text=True)
    # ... also without a (sub)domain: the SLA asks it for a ticket, a guide does not need it.
    setup = contact(client, domain="", subject="", question="Hoe stel ik mijn e-mail in Outlook in?")
    page = setup.get_data(as_text=True)
    assert setup.status_code == 200 and 'id="answer"' in page and 'href="#domain"' not in page
    # Two questions: one question per ticket.
    split = contact(client, subject="Twee vragen", question="Mijn website is offline sinds vanochtend. "
                    "Daarnaast wil ik graag weten hoe ik de EPP code opvraag?")
    assert 'id="split-advice"' in split.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(IncomingMail).count() == 0
    # Without a CSRF token nothing is kept, and the text is still there.
    refused = client.post("/nl/contact", data={"email": "piet@nieuw.nl", "domain": "klant.nl",
                                               "subject": "x", "question": "Mijn tekst blijft staan"})
    assert refused.status_code == 400 and "Mijn tekst blijft staan" in refused.get_data(as_text=True)


def test_the_contact_form_is_rate_limited(make_app):
    app = make_app(CONTACT_RATE_LIMIT="2/hour")
    client = app.test_client()
    assert contact(client).status_code == 303
    assert contact(client).status_code == 303
    assert contact(client).status_code == 429


@pytest.fixture
def agent(app, client, users):
    login(client, users["support"])
    return client


def kept_row(app, raw: bytes, reason="no ticket number") -> int:
    with app.app_context():
        return mail_in.keep(raw, reason, "anna@klant.nl", "Mijn site").incoming_id


RAW = (b"From: anna@klant.nl\r\nTo: support@webxtra.nl\r\nSubject: Mijn site\r\n"
       b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Mijn site klant.nl is traag.</p><script>alert(1)</script>")


def test_the_desk_lists_reads_and_assigns_kept_mail_to_a_new_ticket(app, agent):
    mail_id = kept_row(app, RAW)
    queue = agent.get("/nl/desk").get_data(as_text=True)
    assert "/nl/desk/bewaarde-mail" in queue
    listing = agent.get("/nl/desk/bewaarde-mail").get_data(as_text=True)
    assert f"/nl/desk/bewaarde-mail/{mail_id}" in listing and "no ticket number" in listing
    page = agent.get(f"/nl/desk/bewaarde-mail/{mail_id}")
    html = page.get_data(as_text=True)
    assert "Mijn site klant.nl is traag." in html and "<script>alert" not in html
    assert 'value="anna@klant.nl"' in html  # the customer of the sender's address, offered
    response = agent.post(f"/nl/desk/bewaarde-mail/{mail_id}", data={
        "csrf_token": csrf_token(page), "action": "open", "customer": "anna@klant.nl", "kind": "technical"})
    assert response.status_code == 303
    with app.app_context():
        ticket = db.session.query(Ticket).one()
        assert ticket.customer.email == "anna@klant.nl" and "traag" in ticket.messages[0].body
        assert db.session.get(IncomingMail, mail_id).handled
    assert agent.get(f"/nl/desk/bewaarde-mail/{mail_id}").status_code == 404  # handled: gone from the list


def test_kept_mail_can_be_added_to_a_ticket_or_discarded_and_refusals_change_nothing(app, agent, users):
    with app.app_context():
        from helpsite.accounts import find_user

        number = tickets.open_ticket(find_user(users["customer"]), "klant.nl", "Traag", "Mijn site is traag.").number
    first, second = kept_row(app, RAW), kept_row(app, RAW)
    page = agent.get(f"/en/desk/kept-mail/{first}")
    token = csrf_token(page)
    wrong = agent.post(f"/en/desk/kept-mail/{first}", data={"csrf_token": token, "action": "add", "ticket": "999"})
    assert wrong.status_code == 400 and "There is no ticket with this number." in wrong.get_data(as_text=True)
    nobody = agent.post(f"/en/desk/kept-mail/{first}", data={"csrf_token": token, "action": "open",
                                                               "customer": "nobody@nergens.nl"})
    assert nobody.status_code == 400
    assert agent.post(f"/en/desk/kept-mail/{first}", data={"action": "discard"}).status_code == 400  # no token
    added = agent.post(f"/en/desk/kept-mail/{first}", data={"csrf_token": token, "action": "add",
                                                              "ticket": f"[#{number}]"})
    assert added.status_code == 303
    discarded = agent.post(f"/en/desk/kept-mail/{second}", data={"csrf_token": token, "action": "discard"})
    assert discarded.status_code == 303
    with app.app_context():
        ticket = db.session.get(Ticket, number)
        assert len(ticket.messages) == 2
        assert all(row.handled for row in db.session.query(IncomingMail).all())
        assert db.session.query(Ticket).count() == 1


def test_customers_and_editors_cannot_see_kept_mail(app, client, users):
    mail_id = kept_row(app, RAW)
    for who in ("customer", "editor"):
        login(client, users[who])
        assert client.get("/nl/desk/bewaarde-mail").status_code == 403
        assert client.get(f"/nl/desk/bewaarde-mail/{mail_id}").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/nl/"))})


def test_the_desk_says_waiting_for_the_customer_not_waiting_for_you(app, agent, users):
    with app.app_context():
        from helpsite.accounts import find_user

        ticket = tickets.open_ticket(find_user(users["customer"]), "klant.nl", "Traag", "Mijn site is traag.")
        tickets.add_support_reply(ticket, find_user(users["support"]), "We kijken ernaar.")
        number = ticket.number
    desk = agent.get(f"/nl/desk/tickets/{number}").get_data(as_text=True)
    queue = agent.get("/nl/desk?status=all").get_data(as_text=True)
    for page in (desk, queue):
        assert "Wacht op de klant" in page and "Wacht op u" not in page


def test_a_customer_can_mark_their_ticket_solved_and_nobody_else_can(app, client, users):
    with app.app_context():
        from helpsite.accounts import find_user

        ticket = tickets.open_ticket(find_user(users["customer"]), "klant.nl", "Traag", "Mijn site is traag.")
        tickets.add_support_reply(ticket, find_user(users["support"]), "Opgelost, de cache is geleegd.")
        tickets.add_customer_message(ticket, find_user(users["customer"]), "Nog steeds traag?")
        number = ticket.number
    login(client, users["other"], "en")
    page = client.get("/en/")
    assert client.post(f"/en/tickets/{number}/solved", data={"csrf_token": csrf_token(page)}).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    login(client, users["customer"])
    page = client.get(f"/nl/tickets/{number}")
    html = page.get_data(as_text=True)
    # We answered before: the page does not claim we never did.
    assert "Wij hebben nog niet gereageerd op uw laatste bericht." in html
    assert "Wij hebben nog niet gereageerd." not in html
    assert client.post(f"/nl/tickets/{number}/opgelost").status_code == 400  # no CSRF token
    response = client.post(f"/nl/tickets/{number}/opgelost", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert "Het ticket is gesloten." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Ticket, number).status == "closed"


@pytest.mark.parametrize("lang, path", [("nl", "/nl/overzicht"), ("en", "/en/site-map")])
def test_the_footer_sitemap_is_a_page_for_people_and_there_is_a_favicon(client, lang, path):
    home = client.get(f"/{lang}/").get_data(as_text=True)
    assert f'href="{path}"' in home and 'rel="icon"' in home
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert ("ftp-instellen-filezilla" if lang == "nl" else "ftp-setup-filezilla") in html
    icon = re.search(r'rel="icon" href="([^"]+)"', home).group(1)
    response = client.get(icon)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    response.close()


def test_english_guides_have_one_related_articles_heading(client):
    html = client.get("/en/article/set-up-email-outlook").get_data(as_text=True)
    assert html.count(">Related articles<") == 1


def test_the_support_hours_article_lists_the_closed_days_from_the_support_calendar(app, client):
    import datetime as dt

    from helpsite.support_calendar import calendar_from_config

    calendar = calendar_from_config(app.config)
    with app.test_request_context():
        days = calendar.closed_weekdays(dt.date(2026, 11, 30), lang="en")
    assert (dt.date(2026, 12, 25), "Christmas Day") in days  # a Friday
    assert dt.date(2026, 12, 26) not in [d for d, _ in days]  # Boxing Day 2026 is a Saturday
    assert (dt.date(2027, 1, 1), "New Year's Day") in days
    assert all(d.weekday() < 5 for d, _ in days)
    extra = dt.datetime.now(calendar.tz).date() + dt.timedelta(days=14)
    extra += dt.timedelta(days=max(0, extra.weekday() - 4) and 7 - extra.weekday())  # a weekday
    app.config["SUPPORT_EXTRA_CLOSED_DAYS"] = extra.isoformat()
    for path in ("/nl/artikel/openingstijden-helpdesk", "/en/article/support-hours"):
        html = client.get(path).get_data(as_text=True)
        assert "{{closed_days}}" not in html and 'class="closed-days"' in html
        assert f'datetime="{extra.isoformat()}"' in html  # the extra closed day is shown, nobody typed it
        lang = path[1:3]
        with app.test_request_context():
            expected = calendar_from_config(app.config).closed_weekdays(
                dt.datetime.now(calendar.tz).date(), lang=lang)
        shown = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)"', html.split('class="closed-days"')[1].split("</ul>")[0])
        assert shown == [d.isoformat() for d, _ in expected]


@pytest.mark.parametrize("path, other", [("/nl/artikel/e-mail-instellen-thunderbird", "/en/article/set-up-email-thunderbird"),
                                         ("/en/article/set-up-email-thunderbird", "/nl/artikel/e-mail-instellen-thunderbird")])
def test_the_personalised_address_follows_links_and_the_language_switch(client, users, path, other):
    html = client.get(path, query_string={"address": "info@klant.nl"}).get_data(as_text=True)
    switch = re.search(r'<a class="lang-switch" href="([^"]+)"', html).group(1)
    assert switch == other + "?address=info%40klant.nl"
    body = html.split('class="article-body"')[1].split('class="article-aside"')[0]
    links = re.findall(r'href="(/(?:nl/artikel|en/article)/[^"]+)"', body)
    assert links and all("?address=info@klant.nl" in link for link in links), links
    # Without an address nothing is added.
    plain = client.get(path).get_data(as_text=True)
    assert "?address=" not in plain.split('class="article-body"')[1].split('class="article-aside"')[0]


def test_the_home_page_has_no_empty_popular_list_without_data(client):
    assert 'id="popular-heading"' not in client.get("/nl/").get_data(as_text=True)


def test_the_home_page_shows_the_articles_people_open_most(app, client):
    from helpsite import analytics

    # The data first: the home page may be cached for anonymous readers once it is shown.
    with app.app_context():
        for _ in range(3):
            analytics.record_click(analytics.record_search("filezilla", "nl", 2), "ftp-filezilla")
        analytics.record_click(analytics.record_search("outlook", "en", 2), "email-outlook")
    for lang, first, second in [("nl", "/nl/artikel/ftp-instellen-filezilla", "/nl/artikel/e-mail-instellen-outlook"),
                                ("en", "/en/article/ftp-setup-filezilla", "/en/article/set-up-email-outlook")]:
        html = client.get(f"/{lang}/").get_data(as_text=True)
        popular = html.split('id="popular-heading"')[1].split("</section>")[0]
        assert popular.index(first) < popular.index(second)  # most opened first, in the reader's language


def test_a_worker_reuses_the_popular_list_for_a_minute(app, client, monkeypatch):
    from helpsite import analytics

    asked = []
    monkeypatch.setattr(analytics, "popular_articles", lambda since, limit: asked.append(limit) or ["ftp-filezilla"])
    # Different URLs, so that each page is rendered (the page cache keys on the URL).
    assert "/nl/artikel/ftp-instellen-filezilla" in client.get("/nl/").get_data(as_text=True)
    assert "/en/article/ftp-setup-filezilla" in client.get("/en/").get_data(as_text=True)
    assert asked == [6]  # asked once for both languages, not on every home page
    app.config["POPULAR_ARTICLES_SECONDS"] = 0
    client.get("/nl/?again=1")
    assert asked == [6, 6]
