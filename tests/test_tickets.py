"""The ticket rules of the SLA, as code: numbers, queue order, replies, duplicates, mail."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from helpsite import accounts, tickets
from helpsite.extensions import db
from helpsite.models import OutgoingMail, Ticket

AMS = ZoneInfo("Europe/Amsterdam")


def at(*args):
    return dt.datetime(*args, tzinfo=AMS)


@pytest.fixture
def people(app, users):
    with app.app_context():
        yield {key: accounts.find_user(email) for key, email in users.items()}


def test_ticket_gets_number_due_moment_and_confirmation_mail(app, people):
    ticket = tickets.open_ticket(people["customer"], "klant.nl", "Website geeft 500", "Sinds vanochtend een 500-fout.",
                                 now=at(2026, 11, 27, 16, 30))  # Friday 16:30
    assert ticket.number >= 1
    assert ticket.due_at == at(2026, 12, 2, 16, 30)  # 3 working days: Wednesday 16:30
    outgoing = db.session.query(OutgoingMail).one()
    assert outgoing.subject.startswith(f"[#{ticket.number}] ")
    assert outgoing.recipient == "anna@klant.nl"
    assert "Verwachte reactie" in outgoing.body  # anna's ticket is Dutch
    # the SLA: "Er is geen gegarandeerde reactietijd", in the text and the HTML part alike
    assert "ons streven, geen gegarandeerde reactietijd" in outgoing.body
    assert "ons streven, geen gegarandeerde reactietijd" in outgoing.html


def test_administrative_question_gets_seven_days(app, people):
    ticket = tickets.open_ticket(people["customer"], "klant.nl", "Factuur klopt niet", "Dubbel betaald.",
                                 kind="administrative", now=at(2026, 11, 23, 10, 0))
    assert ticket.due_at == at(2026, 11, 30, 10, 0)


def test_managed_hosting_is_always_ahead_of_the_queue(app, people):
    first = tickets.open_ticket(people["customer"], "klant.nl", "Mail werkt niet", "Niemand ontvangt mail.",
                                now=at(2026, 11, 23, 9, 0))
    managed = tickets.open_ticket(people["managed"], "managed.nl", "Server traag", "Alles is traag.",
                                  now=at(2026, 11, 23, 15, 0))
    order = [t.id for t in tickets.queue()]
    assert order == [managed.id, first.id]
    # No guaranteed response time set (the SLA names none): first in the queue, the standard aim shown as an aim.
    assert managed.due_at == at(2026, 11, 26, 15, 0)
    mail_of = {m.ticket_id: m for m in db.session.query(OutgoingMail)}
    assert "not a guaranteed response time" in mail_of[managed.id].body or \
        "geen gegarandeerde reactietijd" in mail_of[managed.id].body


def test_managed_hosting_shows_the_guaranteed_response_time_the_company_set(app, people):
    app.config["SUPPORT_MANAGED_RESPONSE_HOURS"] = 4
    managed = tickets.open_ticket(people["managed"], "managed.nl", "Server traag", "Alles is traag.",
                                  now=at(2026, 11, 23, 15, 0))
    assert managed.due_at == at(2026, 11, 24, 10, 30)  # 4 working hours: 15:00-17:30 + 09:00-10:30
    body = db.session.query(OutgoingMail).filter_by(ticket_id=managed.id).one().body
    assert "gegarandeerde reactietijd" not in body and "guaranteed response time" not in body


def test_reply_before_our_answer_moves_ticket_to_the_back(app, people):
    first = tickets.open_ticket(people["customer"], "klant.nl", "DNS vraag", "Record klopt niet.",
                                now=at(2026, 11, 23, 9, 0))
    second = tickets.open_ticket(people["other"], "ander.nl", "FTP down", "Connection refused.",
                                 now=at(2026, 11, 23, 10, 0))
    assert [t.id for t in tickets.queue()] == [first.id, second.id]
    tickets.add_customer_message(first, people["customer"], "Nog een detail.", now=at(2026, 11, 23, 11, 0))
    assert [t.id for t in tickets.queue()] == [second.id, first.id]


def test_second_ticket_on_same_subject_moves_the_first_to_the_back(app, people):
    first = tickets.open_ticket(people["customer"], "klant.nl", "Website plat", "De site is plat.",
                                now=at(2026, 11, 23, 9, 0))
    other = tickets.open_ticket(people["other"], "ander.nl", "Mail bounce", "Bounces.", now=at(2026, 11, 23, 10, 0))
    duplicate = tickets.open_ticket(people["customer"], "klant.nl", "Website nog steeds plat", "Nog steeds plat!",
                                    now=at(2026, 11, 23, 11, 0))
    assert duplicate.duplicate_of_id == first.id
    assert [t.id for t in tickets.queue()] == [other.id, first.id, duplicate.id]
    assert tickets.linked_tickets(first) == [duplicate]


def test_support_reply_waits_for_customer_and_mails(app, people):
    ticket = tickets.open_ticket(people["other"], "ander.nl", "Question", "Help.", lang="en",
                                 now=at(2026, 11, 23, 9, 0))
    tickets.add_support_reply(ticket, people["support"], "See https://help.test/a/email-outlook#settings")
    assert ticket.status == "waiting_customer"
    mails = db.session.query(OutgoingMail).order_by(OutgoingMail.id).all()
    assert mails[-1].subject == f"[#{ticket.number}] Question"
    assert "The Customer Support Team has answered" in mails[-1].body
    assert '<a href="https://help.test/a/email-outlook#settings">' in mails[-1].html
    # The customer answers: back to us, at the back of the queue, with a new response target.
    tickets.add_customer_message(ticket, people["other"], "Thanks, but it still fails.", now=at(2026, 11, 24, 9, 0))
    assert ticket.status == "waiting_support"
    assert ticket.due_at == at(2026, 11, 26, 17, 30)  # 3 × 8.5 open hours from Tuesday 09:00


def test_internal_notes_are_hidden_from_customers(app, people):
    ticket = tickets.open_ticket(people["customer"], "klant.nl", "Vraag", "Hallo.", now=at(2026, 11, 23, 9, 0))
    tickets.add_support_reply(ticket, people["support"], "Klant is lastig", internal=True)
    assert ticket.status == "waiting_support"  # a note is not an answer
    assert [m.body for m in tickets.visible_messages(ticket, people["customer"])] == ["Hallo."]
    assert len(tickets.visible_messages(ticket, people["support"])) == 2
    assert db.session.query(OutgoingMail).count() == 1  # only the confirmation


def test_customer_sees_only_own_tickets(app, people):
    ticket = tickets.open_ticket(people["customer"], "klant.nl", "Vraag", "Hallo.")
    assert tickets.ticket_for(people["customer"], ticket.number) is ticket
    assert tickets.ticket_for(people["other"], ticket.number) is None
    assert tickets.ticket_for(people["editor"], ticket.number) is None
    assert tickets.ticket_for(people["support"], ticket.number) is ticket
    assert tickets.ticket_for(people["customer"], 10**12) is None
    assert tickets.ticket_for(people["customer"], -1) is None


@pytest.mark.parametrize("given,expected", [
    ("klant.nl", "klant.nl"), ("KLANT.NL.", "klant.nl"), ("shop.klant.nl", "shop.klant.nl"),
    ("https://www.klant.nl/pad", "www.klant.nl"),
])
def test_domain_must_be_the_customers(app, people, given, expected):
    assert tickets.check_domain(people["customer"], given) == expected


@pytest.mark.parametrize("given,error", [
    ("", "domain_missing"), ("ander.nl", "domain_not_yours"), ("evilklant.nl", "domain_not_yours"),
    ("klant", "domain_invalid"), ("<script>.nl", "domain_invalid"), ("a" * 300 + ".nl", "domain_invalid"),
])
def test_bad_domains_are_refused(app, people, given, error):
    with pytest.raises(tickets.TicketError, match=error):
        tickets.check_domain(people["customer"], given)


def test_text_is_cleaned_and_capped(app):
    assert tickets.clean_text("a\x00b\x07c\r\nd", 100) == "abc\nd"
    assert tickets.clean_text("  one\n two ", 100, multiline=False) == "one two"
    with pytest.raises(tickets.TicketError, match="too_long"):
        tickets.clean_text("x" * 10_001, 10_000)


@pytest.mark.parametrize("subject,number", [
    ("[#123] Website plat", 123), ("Re: [#123] Website plat", 123), ("Antw: [# 123] x", 123),
    ("AW: Re: #123 x", 123), ("Ticket 123 nog open?", 123), ("Vraag over ticket nummer 77", 77),
    ("Geen nummer", None), ("Order 2024 factuur", None),
])
def test_ticket_number_found_in_subjects(subject, number):
    assert tickets.find_ticket_number(subject) == number


def test_html_in_a_question_is_escaped_in_mail(app, people):
    ticket = tickets.open_ticket(people["customer"], "klant.nl", "<b>bold</b>", "<script>alert(1)</script>")
    outgoing = db.session.query(OutgoingMail).one()
    assert "<script>alert(1)</script>" not in outgoing.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outgoing.html
    assert db.session.get(Ticket, ticket.id).messages[0].body == "<script>alert(1)</script>"  # stored as typed


# -- replies that keep the place (issue 15) -------------------------------------------------------

def _two_in_the_queue(people):
    first = tickets.open_ticket(people["customer"], "klant.nl", "DNS vraag", "Record klopt niet.",
                                now=at(2026, 11, 23, 9, 0))
    second = tickets.open_ticket(people["other"], "ander.nl", "FTP down", "Connection refused.",
                                 now=at(2026, 11, 23, 10, 0))
    return first, second


def test_the_answer_to_our_request_for_information_keeps_the_place(app, people):
    first, second = _two_in_the_queue(people)
    tickets.add_support_reply(first, people["support"], "Welk record bedoelt u?", asks_information=True,
                              now=at(2026, 11, 23, 11, 0))
    tickets.add_customer_message(first, people["customer"], "Het MX-record.", now=at(2026, 11, 24, 9, 0))
    assert first.status == "waiting_support" and first.queued_at == at(2026, 11, 23, 9, 0)
    assert [t.id for t in tickets.queue()] == [first.id, second.id]
    assert first.due_at == at(2026, 11, 26, 17, 30)  # a new response target all the same
    # A second reply before we answer again is chasing: to the back.
    tickets.add_customer_message(first, people["customer"], "En nu?", now=at(2026, 11, 24, 10, 0))
    assert [t.id for t in tickets.queue()] == [second.id, first.id]


def test_a_reply_to_an_answer_that_asked_nothing_goes_to_the_back(app, people):
    first, second = _two_in_the_queue(people)
    tickets.add_support_reply(first, people["support"], "Opgelost, toch?", now=at(2026, 11, 23, 11, 0))
    tickets.add_support_reply(first, people["support"], "intern: vroeg niets", internal=True,
                              asks_information=True)  # a note never asks the customer anything
    assert not first.messages[-1].asks_information
    tickets.add_customer_message(first, people["customer"], "Nee, nog niet.", now=at(2026, 11, 24, 9, 0))
    assert [t.id for t in tickets.queue()] == [second.id, first.id]


def test_a_later_answer_that_asks_nothing_ends_the_request(app, people):
    first, second = _two_in_the_queue(people)
    tickets.add_support_reply(first, people["support"], "Welk record?", asks_information=True)
    tickets.add_support_reply(first, people["support"], "Laat maar, gevonden.")
    tickets.add_customer_message(first, people["customer"], "Dank!", now=at(2026, 11, 24, 9, 0))
    assert [t.id for t in tickets.queue()] == [second.id, first.id]


@pytest.mark.parametrize("reply,keeps", [
    ("Vergeten: het gaat ook om shop.klant.nl", True),
    ("webshop.klant.nl", True),
    ("Nog steeds niet opgelost voor klant.nl!!", False),  # the domain was named already: chasing
    ("Het gaat ook om ander.nl", False),  # not the customer's
    ("Mail naar info@shop.klant.nl komt niet aan", False),  # an address, not a domain
    ("Vergeten: shop.klant.nl. " + "En ik wil ook nog even zeggen dat het echt heel dringend is " * 3, False),
])
def test_a_reply_that_only_adds_a_forgotten_domain_keeps_the_place(app, people, reply, keeps):
    first, second = _two_in_the_queue(people)
    tickets.add_customer_message(first, people["customer"], reply, now=at(2026, 11, 23, 11, 0))
    assert (first.queued_at == at(2026, 11, 23, 9, 0)) is keeps
    assert [t.id for t in tickets.queue()] == ([first.id, second.id] if keeps else [second.id, first.id])
