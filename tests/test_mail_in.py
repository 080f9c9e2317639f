"""Mail in: real received mails thread into tickets, open tickets, get answers, or are kept or ignored.

The mails under tests/mail/ are written as the mail programs send them (Outlook, Thunderbird,
Gmail, Apple Mail, an Exchange out-of-office, a Postfix bounce); what we send in return goes
through a real SMTP server (aiosmtpd) and is checked as it arrives.
"""

import datetime as dt
import email
import socketserver
import threading
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import login
from sqlalchemy import select

from helpsite import accounts, mail, mail_in, tickets, triage
from helpsite.extensions import db
from helpsite.models import IncomingMail, Message, OutgoingMail, Ticket, TriageDecision, utcnow

MAIL_DIR = Path(__file__).parent / "mail"


# Replies written by mail programs: they answer a mail of ours, so they carry its Message-ID.
REPLYING = {"apple_mail_reply.eml", "gmail_reply.eml", "outlook_antw_nl.eml", "outlook_re.eml",
            "thunderbird_re.eml", "stranger_reply.eml", "html_script_reply.eml", "malformed_mime.eml",
            "no_boundary.eml", "html_only_script.eml", "wrong_charset.eml", "latin1_is_utf8.eml", "unknown_charset.eml"}


def our_message_id(number: int = 1) -> str:
    """Return a Message-ID as we write it in a mail about this ticket (with its reply token)."""
    from flask import has_app_context
    return mail.thread_id(number, None if has_app_context() else {"SECRET_KEY": "test-secret"})


def eml(name: str) -> bytes:
    """Return a fixture mail; a reply gets the Message-ID of our mail about ticket 1 in References.

    The fixtures were captured before our Message-IDs carried a reply token; the mail program
    copies whatever our mail's Message-ID is, so the test puts in the one we write now.
    """
    raw = (MAIL_DIR / name).read_bytes()
    if name in REPLYING:
        raw = f"References: {our_message_id(1)}\r\n".encode() + raw
    return raw


def compose(sender: str, subject: str, body: str, replying_to: int | None = None, **headers) -> bytes:
    """Return a simple mail as a mail program would send it; replying_to: a reply to our mail about that ticket."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@webxtra.nl"
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="sender.test")
    if replying_to is not None:
        message["In-Reply-To"] = our_message_id(replying_to)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def sink(smtp_server):
    return smtp_server[0]


@pytest.fixture
def mail_app(make_app, smtp_server, users):
    """An app that sends to the test's SMTP server; the users fixture filled its database."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server[1])


@pytest.fixture
def ctx(mail_app):
    with mail_app.app_context():
        yield mail_app


def anna():
    return accounts.find_user("anna@klant.nl")


def first_ticket(minutes_ago: int = 120, domain: str = "klant.nl") -> Ticket:
    """Open ticket 1 for anna and forget its confirmation mail (it is not what these tests look at)."""
    ticket = tickets.open_ticket(anna(), domain, "Website geeft foutmelding", "De site geeft een 500-fout.",
                                 now=utcnow() - dt.timedelta(minutes=minutes_ago))
    assert ticket.number == 1  # the fixtures under tests/mail reply to [#1]
    db.session.query(OutgoingMail).delete()
    db.session.commit()
    return ticket


def delivered(sink) -> list:
    """Send the outbox to the SMTP server and return what arrived there."""
    mail.send_pending()
    return sink.messages


def text_part(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(("html",)).get_content()


def messages_of(number: int) -> list[Message]:
    db.session.expire_all()
    return db.session.get(Ticket, number).messages


# -- the ticket number in a subject ---------------------------------------------------------------

@pytest.mark.parametrize("subject,number", [
    ("Antw: [#123] Website plat", 123), ("RE: [#123] Website plat", 123), ("AW: Re: [# 123 ] x", 123),
    ("Fwd: [#123] x", 123), ("[Ticket #123] x", 123), ("Vraag over #123", 123), ("# 123 nog open?", 123),
    ("Ticket 123", 123), ("ticketnummer 77", 77), ("Ticket: 5 - mail", 5), ("ticket nr. 9", 9),
    ("Re: [#12] zie ook #13", 12), ("Order #5 en [#7]", 7),  # the bracketed form wins
    ("I opened a ticket 2 days ago", None), ("Prijs &#123; entity", None), ("Factuur 2026-001", None),
    ("Geen nummer", None), ("", None),
])
def test_ticket_number_found_in_subjects(subject, number):
    assert tickets.find_ticket_number(subject) == number


# -- replies from mail programs -----------------------------------------------------------------

REPLIES = {
    # fixture: (words that must be in the ticket, words of the quoted history that must not)
    "outlook_antw_nl.eml": (["“500 Internal Server Error”", "zo’n € 200", "Klant B.V."],
                            ["Oorspronkelijk bericht", "Verzonden:", "Kunt u de cache"]),
    "outlook_re.eml": (["The error is gone since 15:00", "works again"],
                       ["From: Web://Xtra", "Sent:", "____", "has answered"]),
    "thunderbird_re.eml": (["Het lijkt alleen op de pagina's met het bestelformulier te gebeuren, de rest",
                            "Groet,\nAnna"], ["schreef", "> ", "Kunt u de cache"]),
    "gmail_reply.eml": (["de fout blijft\nop https://www.klant.nl/bestellen staan"],
                        ["wrote:", "support@webxtra.nl>", "Kunt u de cache"]),
    "apple_mail_reply.eml": (["Ook op mijn telefoon via 4G", "Verstuurd vanaf mijn iPhone"],
                             ["het volgende geschreven", "has answered"]),
}


@pytest.mark.parametrize("fixture", sorted(REPLIES))
def test_reply_lands_in_its_ticket_with_only_the_new_text(ctx, sink, fixture):
    ticket = first_ticket()
    wanted, unwanted = REPLIES[fixture]
    result = mail_in.ingest(eml(fixture))
    assert (result.action, result.ticket_number) == ("threaded", 1), str(result)
    reply = messages_of(1)[-1]
    assert (reply.author.email, reply.author_role, reply.via) == ("anna@klant.nl", "customer", "email")
    for words in wanted:
        assert words in reply.body
    for words in unwanted:
        assert words not in reply.body
    assert db.session.get(Ticket, ticket.id).status == "waiting_support"
    assert delivered(sink) == []  # a reply is not confirmed by mail
    assert db.session.query(IncomingMail).count() == 0


def test_reply_before_our_answer_moves_the_ticket_to_the_back_of_the_queue(ctx):
    first_ticket(minutes_ago=120)
    other = tickets.open_ticket(accounts.find_user("bob@ander.nl"), "ander.nl", "Mail komt niet aan",
                                "Sinds gisteren geen mail.", now=utcnow() - dt.timedelta(minutes=60))
    assert [t.number for t in tickets.queue()] == [1, other.number]
    before = utcnow()
    mail_in.ingest(eml("outlook_antw_nl.eml"))
    assert [t.number for t in tickets.queue()] == [other.number, 1]
    assert db.session.get(Ticket, 1).queued_at >= before


def test_reply_to_a_closed_ticket_opens_it_again(ctx):
    ticket = first_ticket()
    tickets.close_ticket(ticket)
    assert mail_in.ingest(eml("gmail_reply.eml")).action == "threaded"
    assert db.session.get(Ticket, 1).status == "waiting_support"


@pytest.mark.parametrize("fixture", ["handtyped_hash.eml", "handtyped_bracket_space.eml"])
def test_a_new_mail_with_a_typed_ticket_number_is_not_trusted_without_authentication(ctx, fixture):
    """Finding 5 of issue 9: "From: the customer, Subject: [#2]" was threaded; anyone can write that."""
    first_ticket()
    result = mail_in.ingest(eml(fixture))
    assert result.action == "kept" and "not authenticated" in result.reason
    assert len(messages_of(1)) == 1


def test_a_typed_ticket_number_is_trusted_with_a_dmarc_pass_from_our_server(make_app, users):
    app = make_app(MAIL_IN_AUTHSERV_ID="mx.webxtra.nl", MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        first_ticket()
        raw = b"Authentication-Results: mx.webxtra.nl; dmarc=pass header.from=klant.nl\r\n" + eml("handtyped_hash.eml")
        assert mail_in.ingest(raw).action == "threaded"
        assert "hoe staat het met mijn vraag" in messages_of(1)[-1].body
        # Our server says nothing (the header is missing or another server's): fail closed.
        other = b"Authentication-Results: mx.elders.example; dmarc=pass\r\n" + eml("handtyped_bracket_space.eml")
        assert mail_in.ingest(other).action == "kept"


def test_a_reply_token_of_another_ticket_does_not_open_this_one(ctx):
    first_ticket()
    forged = compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding", "Sluit dit ticket.",
                     References=mail.thread_id(7).replace(".t7.", ".t1."))  # the token is for 7, not 1
    result = mail_in.ingest(forged)
    assert result.action == "kept" and "not authenticated" in result.reason


def test_several_addresses_in_from_are_kept_for_a_person(ctx):
    first_ticket()
    raw = compose("anna@klant.nl, mallory@elders.example", "Re: [#1] Website geeft foutmelding", "Sluit maar.",
                  replying_to=1)
    result = mail_in.ingest(raw)
    assert result.action == "kept" and "several addresses" in result.reason


def test_the_same_mail_delivered_twice_is_processed_once(ctx, sink):
    """Finding 11 of issue 9: a mail server that delivers again posted the question twice."""
    raw = eml("new_server_problem.eml")
    assert mail_in.ingest(raw).action == "created"
    again = mail_in.ingest(raw)
    assert again.action == "ignored" and "already received" in again.reason
    assert db.session.query(Ticket).count() == 1
    assert len(delivered(sink)) == 1


def test_reply_threads_by_our_message_id_when_the_subject_lost_the_number(ctx, sink):
    tickets.open_ticket(anna(), "klant.nl", "Website geeft foutmelding", "De site geeft een 500-fout.")
    confirmation = delivered(sink)[0]
    assert confirmation["Subject"].startswith("[#1] ")
    reply = compose("anna@klant.nl", "Re: Website geeft foutmelding", "Nog steeds kapot.",
                    In_Reply_To=confirmation["Message-ID"])
    result = mail_in.ingest(reply)
    assert (result.action, result.ticket_number) == ("threaded", 1)
    assert messages_of(1)[-1].body == "Nog steeds kapot."


def test_message_id_of_another_domain_does_not_thread(ctx):
    first_ticket()
    reply = compose("anna@klant.nl", "Nieuwe vraag over de mailbox", "Hoe groot is mijn mailbox?",
                    In_Reply_To="<1.2.3.ticket-1@elders.example>")
    assert mail_in.ingest(reply).action != "threaded"
    assert len(messages_of(1)) == 1


# -- nobody posts into someone else's ticket ----------------------------------------------------

def test_stranger_replying_to_someone_elses_ticket_is_kept_for_a_person(ctx, sink):
    first_ticket()
    raw = eml("stranger_reply.eml")
    result = mail_in.ingest(raw)
    assert result.action == "kept"
    assert "bob@ander.nl is not the customer of ticket 1" in result.reason
    kept = db.session.get(IncomingMail, result.incoming_id)
    assert (kept.sender, kept.raw, kept.handled) == ("bob@ander.nl", raw, False)
    assert kept.subject == "Re: [#1] Website geeft foutmelding"
    assert len(messages_of(1)) == 1
    assert delivered(sink) == []


def test_unknown_address_replying_to_a_ticket_is_kept(ctx, sink):
    first_ticket()
    result = mail_in.ingest(compose("iemand@elders.example", "Re: [#1] Website geeft foutmelding", "Sluit maar."))
    assert result.action == "kept" and "not the customer of ticket 1" in result.reason
    assert len(messages_of(1)) == 1
    assert delivered(sink) == []


def test_reply_to_a_ticket_that_does_not_exist_is_kept(ctx):
    result = mail_in.ingest(compose("anna@klant.nl", "Re: [#99] iets", "Hallo"))
    assert result.action == "kept" and "ticket 99 does not exist" in result.reason


def test_a_bare_number_that_is_not_the_senders_ticket_is_not_a_ticket_number(ctx, sink):
    first_ticket()
    result = mail_in.ingest(compose("bob@ander.nl", "Factuur #1 klopt niet",
                                    "Op factuur #1 staat een verkeerd bedrag voor ander.nl."))
    assert result.action == "created" and result.ticket_number == 2  # ander.nl is named: no need to ask
    assert len(messages_of(1)) == 1
    result = mail_in.ingest(compose("anna@klant.nl", "Bestelling #20260012 komt niet door",
                                    "Sinds vanochtend geeft www.klant.nl een 503 fout, we hebben niets veranderd."))
    assert (result.action, result.ticket_number) == ("created", 3)


def test_staff_address_writing_in_is_kept(ctx):
    result = mail_in.ingest(compose("editor@webxtra.nl", "Vraag", "Kan iemand dit bekijken?"))
    assert result.action == "kept" and "staff account" in result.reason


def test_failed_dmarc_at_our_own_mail_server_is_kept(make_app, users):
    app = make_app(MAIL_IN_AUTHSERV_ID="mx.webxtra.nl", MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        first_ticket()
        forged = compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding", "Sluit dit ticket.", replying_to=1,
                         Authentication_Results="mx.webxtra.nl; spf=fail smtp.mailfrom=klant.nl; "
                                                "dmarc=fail header.from=klant.nl")
        result = mail_in.ingest(forged)
        assert result.action == "kept" and "DMARC" in result.reason
        # A verdict in a header the sender wrote, not our server, counts for nothing.
        own_claim = compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding", "Nog steeds stuk.", replying_to=1,
                            Authentication_Results="mx.elders.example; dmarc=fail header.from=klant.nl")
        assert mail_in.ingest(own_claim).action == "threaded"
        passed = compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding", "En nog steeds.",  # no token: DMARC
                         Authentication_Results="mx.webxtra.nl; dmarc=pass header.from=klant.nl")
        assert mail_in.ingest(passed).action == "threaded"


# -- new questions by mail ----------------------------------------------------------------------

def test_server_problem_from_a_customer_becomes_a_ticket_with_a_confirmation(ctx, sink):
    result = mail_in.ingest(eml("new_server_problem.eml"))
    assert result.action == "created", str(result)
    ticket = db.session.get(Ticket, result.ticket_number)
    assert (ticket.domain, ticket.kind, ticket.lang, ticket.customer.email) == (
        "klant.nl", "technical", "nl", "anna@klant.nl")
    assert ticket.subject == "Website klant.nl geeft 503 sinds vanochtend"
    assert ticket.messages[0].via == "email" and "503 Service Unavailable" in ticket.messages[0].body
    [sent] = delivered(sink)
    assert sent["To"] == "anna@klant.nl"
    assert sent["Subject"].startswith(f"[#{ticket.number}] ")
    assert sent["X-Ticket-Number"] == str(ticket.number)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert mail.parse_thread_id(sent["Message-ID"]) == ticket.number
    assert sent["Message-ID"] == db.session.scalars(select(OutgoingMail.message_id)).one()  # fixed when written
    # Dutch: the expected response moment is written with Dutch day and month names.
    assert '<html lang="nl">' in html_part(sent)
    weekdays = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag")
    assert any(day in text_part(sent) for day in weekdays)
    assert "Reageer op dit bericht om het alsnog toe te voegen" not in text_part(sent)
    decision = db.session.scalars(select(TriageDecision)).one()
    assert (decision.verdict, decision.source, decision.ticket_id) == ("ticket", "email", ticket.id)


def test_script_question_gets_the_refusal_with_documentation_links_and_no_ticket(ctx, sink):
    result = mail_in.ingest(eml("new_script_question.eml"))
    assert (result.action, result.reason) == ("answered", "script")
    assert db.session.query(Ticket).count() == 0
    [sent] = delivered(sink)
    assert sent["To"] == "anna@klant.nl"
    assert sent["Subject"] == "Re: Redirect in .htaccess"
    assert "[#" not in sent["Subject"] and sent["X-Ticket-Number"] is None
    body, markup = text_part(sent), html_part(sent)
    assert "Onze helpdesk kan niet helpen bij het instellen en gebruiken van scripts" in body  # anna's language
    assert "https://httpd.apache.org/docs/current/howto/htaccess.html" in body
    assert 'href="https://httpd.apache.org/docs/current/howto/htaccess.html"' in markup
    assert "http://help.test/nl/artikel/" in body  # the SLA article, in Dutch
    assert '<html lang="nl">' in markup
    decision = db.session.scalars(select(TriageDecision)).one()
    assert (decision.verdict, decision.topic, decision.source, decision.ticket_id) == (
        "script", "htaccess", "email", None)


def test_client_setup_question_gets_the_guide(ctx, sink):
    result = mail_in.ingest(compose("anna@klant.nl", "Outlook instellen", "Hoe stel ik mijn e-mail in op Outlook?"))
    assert (result.action, result.reason) == ("answered", "client_setup")
    [sent] = delivered(sink)
    assert "http://help.test/nl/artikel/" in text_part(sent)
    assert "Outlook" in text_part(sent)
    assert db.session.query(Ticket).count() == 0


def test_self_service_question_gets_the_steps(ctx, sink):
    result = mail_in.ingest(compose("anna@klant.nl", "EPP code",
                                    "Ik wil mijn domein verhuizen, hoe kom ik aan de EPP code?"))
    assert (result.action, result.reason) == ("answered", "self_service")
    [sent] = delivered(sink)
    article = mail_in.articles.get("nl", "account-epp-code")
    assert f"http://help.test/nl/artikel/{article.slug}" in text_part(sent)
    first_step_words = mail_in.html_to_text(article.html, strip_quotes=False).split("\n")[0][:40]
    assert first_step_words in text_part(sent)


def test_question_without_a_domain_gets_a_ticket_and_the_request_to_add_it(ctx, sink):
    result = mail_in.ingest(eml("new_no_domain.eml"))
    assert result.action == "asked_domain", str(result)
    ticket = db.session.get(Ticket, result.ticket_number)
    assert ticket.domain == ""
    [sent] = delivered(sink)
    assert sent["Subject"].startswith(f"[#{ticket.number}] ")
    assert "Reageer op dit bericht om het alsnog toe te voegen" in text_part(sent)  # a Dutch ticket, a Dutch mail
    assert "Reageer op dit bericht om het alsnog toe te voegen" in html_part(sent)
    # The customer replies, as asked, and the domain is filled in.
    answer = compose("anna@klant.nl", f"Re: {sent['Subject']}", "Het gaat om shop.klant.nl, sorry!",
                     In_Reply_To=sent["Message-ID"])
    assert mail_in.ingest(answer).action == "threaded"
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.number).domain == "shop.klant.nl"


def test_domain_of_someone_else_does_not_count(ctx):
    result = mail_in.ingest(compose("anna@klant.nl", "Website ander.nl plat",
                                    "De website ander.nl geeft sinds vannacht een 503 fout, wij hebben niets veranderd."))
    assert result.action == "asked_domain"
    assert db.session.get(Ticket, result.ticket_number).domain == ""


def test_english_customer_gets_english_mail(ctx, sink):
    result = mail_in.ingest(compose("bob@ander.nl", "Website down",
                                    "Since this morning www.ander.nl returns a 503 error. We changed nothing."))
    assert result.action == "created"
    [sent] = delivered(sink)
    assert '<html lang="en">' in html_part(sent)
    assert any(day in text_part(sent) for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))
    assert "/en/tickets/" in text_part(sent)


def test_unknown_sender_gets_a_helpful_answer_and_no_ticket(ctx, sink):
    result = mail_in.ingest(eml("unknown_sender.eml"))
    assert result.action == "answered_unknown"
    assert db.session.query(Ticket).count() == 0
    [sent] = delivered(sink)
    assert sent["To"] == "sam.carter@example.org"
    assert sent["Subject"] == "Your mail to Web://Xtra Customer Support"  # nothing of theirs is quoted
    assert sent["Auto-Submitted"] == "auto-generated"
    body = text_part(sent)
    assert "http://help.test/en/login" in body and "http://help.test/en/" in body
    assert "sam.carter@example.org" in body
    assert '<html lang="en">' in html_part(sent)


def test_unknown_sender_writing_dutch_gets_dutch_links(ctx, sink):
    mail_in.ingest(compose("p.jansen@elders.example", "Vraag over mijn website",
                           "Goedemorgen, ik heb een vraag over de website van mijn bedrijf. Met vriendelijke groet"))
    [sent] = delivered(sink)
    assert "http://help.test/nl/inloggen" in text_part(sent)
    assert '<html lang="nl">' in html_part(sent)


# -- never answered ------------------------------------------------------------------------------

AUTOMATIC = [
    ("out_of_office.eml", "Auto-Submitted"),
    ("loop.eml", "X-Ticket-Number"),
    ("bounce.eml", "Auto-Submitted"),  # without ticket 1 in the database: backscatter, nothing to keep
]


@pytest.mark.parametrize("fixture,why", AUTOMATIC)
def test_auto_replies_bounces_and_loops_are_never_answered(ctx, sink, fixture, why):
    result = mail_in.ingest(eml(fixture))
    assert result.action == "ignored" and why in result.reason, str(result)
    assert delivered(sink) == []
    assert db.session.query(Ticket).count() == 0
    assert db.session.query(IncomingMail).count() == 0


@pytest.mark.parametrize("headers,sender,subject", [
    ({"Precedence": "bulk"}, "nieuws@elders.example", "Nieuwsbrief maart"),
    ({"Precedence": "auto_reply"}, "anna@klant.nl", "Re: [#1] x"),
    ({"X-Autoreply": "yes"}, "anna@klant.nl", "Afwezig"),
    ({"X-Autorespond": "yes"}, "iemand@elders.example", "Vraag"),
    ({"Return-Path": "<>"}, "iemand@elders.example", "Vraag"),
    ({}, "MAILER-DAEMON@mx.elders.example", "Returned mail"),
    ({}, "postmaster@elders.example", "Returned mail"),
    ({}, "support@webxtra.nl", "[#1] Website geeft foutmelding"),
    ({}, "iemand@elders.example", "Automatisch antwoord: uw vraag"),
    ({"List-Id": "<nieuws.elders.example>"}, "nieuws@elders.example", "Nieuws"),
])
def test_automatic_mail_is_recognised(ctx, sink, headers, sender, subject):
    first_ticket()
    raw = compose(sender, subject, "Dit is een automatisch bericht.", **{k.replace("-", "_"): v
                                                                       for k, v in headers.items()})
    assert mail_in.ingest(raw).action == "ignored"
    assert len(messages_of(1)) == 1
    assert delivered(sink) == []


def test_auto_submitted_no_is_a_person(ctx):
    first_ticket()
    raw = compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding", "Ik typ dit zelf.", replying_to=1,
                  Auto_Submitted="no")
    assert mail_in.ingest(raw).action == "threaded"


def test_bounce_of_our_mail_about_a_ticket_is_kept_for_a_person(ctx, sink):
    first_ticket()
    result = mail_in.ingest(eml("bounce.eml"))
    assert result.action == "kept"
    assert "our mail about ticket 1 was not delivered" in result.reason
    assert delivered(sink) == []


def test_too_many_mails_from_one_sender_stop_being_answered(make_app, smtp_server, users):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_IN_MAX_PER_HOUR=3)
    with app.app_context():
        actions = [mail_in.ingest(compose("sam.carter@example.org", "Hosting?", "Can you host my site?")).action
                   for _ in range(5)]
        assert actions == ["answered_unknown"] * 3 + ["kept"] * 2
        assert len(delivered(sink)) == 3
        assert "too many mails from sam.carter@example.org" in db.session.scalars(select(IncomingMail)).first().reason


# -- what mail programs get wrong ----------------------------------------------------------------

def test_malformed_mime_still_reaches_the_ticket(ctx):
    first_ticket()
    assert mail_in.ingest(eml("malformed_mime.eml")).action == "threaded"
    body = messages_of(1)[-1].body
    assert "Het formulier werkt nog steeds niet op www.klant.nl. Foutcode 500." in body
    assert "log.txt" in body  # the attachment is named, not stored
    assert mail_in.ingest(eml("no_boundary.eml")).action == "threaded"
    assert messages_of(1)[-1].body == "De fout is weer terug sinds 12:15."


def test_garbage_is_kept_for_a_person(ctx):
    raw = bytes(range(256)) * 4
    result = mail_in.ingest(raw)
    assert result.action == "kept" and "no sender address" in result.reason
    assert db.session.get(IncomingMail, result.incoming_id).raw == raw


@pytest.mark.parametrize("fixture,text", [
    ("wrong_charset.eml", "Het bestelformulier op café.klant.nl toont “Fout 500” bij bedragen boven € 100."),
    ("latin1_is_utf8.eml", "Het café menu kost € 12 en de pagina is traag."),
    ("unknown_charset.eml", "Reïntegratie van de webshop lukt niet."),
])
def test_wrong_and_unknown_charsets_are_read_correctly(ctx, fixture, text):
    first_ticket()
    assert mail_in.ingest(eml(fixture)).action == "threaded"
    assert messages_of(1)[-1].body == text


def test_encoded_and_raw_8bit_headers_are_decoded(ctx):
    message = email.message_from_bytes(eml("wrong_charset.eml"), policy=policy.default)
    assert mail_in.header_text(message, "Subject") == "Re: [#1] Café-pagina werkt niet"
    raw = b"From: J\xe9r\xf4me <jerome@elders.example>\nSubject: Caf\xe9 =?utf-8?q?pr=C3=B6bleem?=\n\nhoi\n"
    message = email.message_from_bytes(raw, policy=policy.default)
    assert mail_in.header_text(message, "Subject") == "Café pröbleem"
    assert mail_in.sender_address(message) == "jerome@elders.example"


def huge_mail(sender: str, megabytes: int) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, "support@webxtra.nl"
    message["Subject"] = "Re: [#1] Website geeft foutmelding"
    message["In-Reply-To"] = our_message_id(1)
    message.set_content("Hierbij de export van de database, de fout zit er vast in.")
    message.add_attachment(b"\x00\x01" * (megabytes * 512 * 1024), maintype="application", subtype="zip",
                           filename="dump.zip")
    return message.as_bytes()


def test_huge_attachment_is_named_in_the_ticket_but_not_stored(ctx):
    first_ticket()
    assert mail_in.ingest(huge_mail("anna@klant.nl", 12)).action == "threaded"
    body = messages_of(1)[-1].body
    assert body.startswith("Hierbij de export van de database")
    assert "[Bijlagen niet opgeslagen: dump.zip (12.0 MB)]" in body
    assert len(body) < 500
    assert db.session.query(IncomingMail).count() == 0


def test_mail_larger_than_the_limit_is_cut_and_says_so(make_app, users):
    app = make_app(MAIL_IN_MAX_BYTES=1024 * 1024, MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        first_ticket()
        assert mail_in.ingest(huge_mail("anna@klant.nl", 3)).action == "threaded"
        body = messages_of(1)[-1].body
        assert body.startswith("Hierbij de export") and "[Dit bericht was te groot en is afgekapt]" in body


def test_kept_mail_is_stored_up_to_the_cap(make_app, users):
    app = make_app(MAIL_IN_KEEP_BYTES=1024 * 1024, MAIL_SUPPRESS_SEND=True)
    with app.app_context():
        first_ticket()
        raw = huge_mail("bob@ander.nl", 3)
        result = mail_in.ingest(raw)
        assert result.action == "kept"
        assert f"first 1.0 MB of {len(raw) / 1024 / 1024:.1f} MB kept" in result.reason
        kept = db.session.get(IncomingMail, result.incoming_id)
        assert kept.raw == raw[:1024 * 1024]


def test_long_text_is_cut_to_what_a_ticket_message_holds(ctx):
    first_ticket()
    text = "\n".join(f"Regel {n} van het foutlogboek met wat tekst erbij." for n in range(1000))
    assert mail_in.ingest(compose("anna@klant.nl", "Re: [#1] log", text, replying_to=1)).action == "threaded"
    body = messages_of(1)[-1].body
    assert len(body) <= tickets.MAX_BODY_LENGTH
    assert body.startswith("Regel 0 van") and body.endswith(mail_in.OMITTED["nl"])


# -- HTML and script ------------------------------------------------------------------------------

def test_html_in_a_reply_is_stored_as_typed_and_shown_escaped(ctx, mail_app):
    first_ticket()
    assert mail_in.ingest(eml("html_script_reply.eml")).action == "threaded"
    body = messages_of(1)[-1].body
    assert '<script>alert("xss")</script>' in body  # kept as the customer typed it
    client = mail_app.test_client()
    login(client, "anna@klant.nl")
    page = client.get("/nl/tickets/1").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in page
    assert '<script>alert("xss")' not in page and "<img src=x" not in page


def test_html_only_mail_becomes_text_without_its_scripts(ctx):
    first_ticket()
    assert mail_in.ingest(eml("html_only_script.eml")).action == "threaded"
    body = messages_of(1)[-1].body
    assert body == ("Het bestelformulier werkt weer & de fout is weg.\n\n- stap een\n- stap twee\n\n"
                    "Zie de pagina (https://www.klant.nl/bestellen).")


def test_html_in_a_question_is_escaped_in_the_mail_we_send(ctx, sink):
    result = mail_in.ingest(compose("anna@klant.nl", "Website klant.nl <b>plat</b>",
                                    "Sinds vanochtend geeft de server een 503 fout en toont <script>alert(1)</script>. "
                                    "We hebben niets veranderd."))
    assert result.action == "created"
    [sent] = delivered(sink)
    markup = html_part(sent)
    assert "<script>alert(1)</script>" not in markup and "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "<b>plat</b>" not in markup and "&lt;b&gt;plat&lt;/b&gt;" in markup


def test_an_unknown_senders_subject_is_never_quoted_in_our_answer(ctx, sink):
    """Finding 11 of issue 9: a 3,000-character subject with a phishing link came back from support@."""
    subject = 'Hello <img src=x onerror="alert(1)"> urgent: verify at https://phish.example/login ' + "x" * 3000
    mail_in.ingest(compose("x@elders.example", subject, "Can you help me please?"))
    [sent] = delivered(sink)
    assert sent["Subject"] == "Your mail to Web://Xtra Customer Support"
    for part in (html_part(sent), text_part(sent)):
        assert "phish.example" not in part and "img src" not in part and "x" * 50 not in part


def test_answers_to_unknown_senders_have_a_cap_over_all_senders(make_app, smtp_server, users):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server[1], MAIL_IN_UNKNOWN_MAX_PER_HOUR=2)
    with app.app_context():
        actions = [mail_in.ingest(compose(f"victim{i}@elders.example", "Hosting?", "Can you host my site?")).action
                   for i in range(4)]
        assert actions == ["answered_unknown"] * 2 + ["kept"] * 2
        assert len(delivered(smtp_server[0])) == 2


def test_suggestions_for_an_unknown_sender_with_a_long_mail(ctx, sink):
    """Finding 11 of issue 9: the search text was over the search's 200 characters, so never a suggestion."""
    body = "Hello, my Outlook does not send mail. " * 30
    mail_in.ingest(compose("sam@elders.example", "Outlook sends no mail, what settings do I need for SMTP?", body))
    [sent] = delivered(sink)
    assert "These articles may answer your question" in text_part(sent)


# -- the parts ------------------------------------------------------------------------------------

def test_gmail_and_outlook_html_lose_their_quoted_history():
    gmail = email.message_from_bytes(eml("gmail_reply.eml"), policy=policy.default)
    text = mail_in.html_to_text(gmail.get_body(("html",)).get_content())
    assert text.startswith("Hoi,") and "wrote:" not in text and "Kunt u de cache" not in text
    outlook = email.message_from_bytes(eml("outlook_re.eml"), policy=policy.default)
    text = mail_in.html_to_text(outlook.get_body(("html",)).get_content())
    assert text == "The error is gone since 15:00, thank you. The shop at www.klant.nl works again.\nKind regards,\nAnna"
    apple = email.message_from_bytes(eml("apple_mail_reply.eml"), policy=policy.default)
    text = mail_in.html_to_text(apple.get_body(("html",)).get_content())
    assert "geschreven" not in text and text.endswith("Verstuurd vanaf mijn iPhone")


def test_a_forward_keeps_the_forwarded_text(ctx):
    first_ticket()
    forward = compose("anna@klant.nl", "Fwd: [#1] melding van onze webshop",
                      "Zie hieronder.\n\n-----Original Message-----\nFrom: shop@klant.nl\nSent: vandaag\n\n"
                      "Fatal error: database unreachable", replying_to=1)
    assert mail_in.ingest(forward).action == "threaded"
    assert "Fatal error: database unreachable" in messages_of(1)[-1].body


def test_inline_sentence_that_looks_like_an_attribution_is_kept():
    text = "On Monday my colleague wrote:\nthe site was down for an hour.\n\nOp dinsdag schreef ik:\nnog steeds."
    assert mail_in.strip_quoted(text) == text


def test_format_flowed_with_delsp():
    assert mail_in.unflow("Een lange re \ngel die door \nloopt.\n> quoted \n> more", delsp=True) == \
        "Een lange regel die doorloopt.\n> quotedmore"
    assert mail_in.unflow("a \nb\n-- \nsig", delsp=False) == "a b\n-- \nsig"


@pytest.mark.parametrize("text,lang", [
    ("Hello, can you help me with my website please?", "en"),
    ("Goedemorgen, ik heb een vraag over mijn website.", "nl"),
    ("???", "nl"),
    ("Met vriendelijke groet,\nJan", "nl"),
    ("Kind regards,\nJohn", "en"),
    ("Beste, werkt de mail bij u?", "nl"),
])
def test_language_of_an_unknown_sender(text, lang):
    assert mail_in.guess_language(text) == lang


def test_mail_and_triage_guess_the_language_the_same_way():
    from helpsite import understanding

    assert mail_in.guess_language is understanding.guess_language


def test_a_new_question_becomes_a_ticket_without_helpsite_url_or_server_name(make_app, users):
    """Issue 10: this failed with a traceback when HELPSITE_URL was not set."""
    app = make_app(SERVER_NAME=None, MAIL_SUPPRESS_SEND=True)
    result = app.test_cli_runner().invoke(args=["tickets", "ingest"], input=eml("new_server_problem.eml"))
    assert (result.exit_code, result.output.strip()) == (0, "new ticket 1")
    with app.app_context():
        assert "http://127.0.0.1:5000/nl/tickets/1" in db.session.scalars(select(OutgoingMail)).one().body


def test_ingest_command_exits_non_zero_when_a_mail_fails_so_the_mail_server_keeps_it(mail_app, monkeypatch):
    """Issue 10: a failed mail was "kept for a person" and the command exited 0."""
    def broken(*args, **kwargs):
        raise RuntimeError("triage is broken")
    monkeypatch.setattr(triage, "classify", broken)
    result = mail_app.test_cli_runner().invoke(args=["tickets", "ingest"], input=eml("new_server_problem.eml"))
    assert result.exit_code == 75 and "RuntimeError: triage is broken" in result.output
    with mail_app.app_context():  # nothing half done and nothing kept: the mail server has it
        assert db.session.query(Ticket).count() == db.session.query(IncomingMail).count() == 0
        assert db.session.query(OutgoingMail).count() == 0
    monkeypatch.undo()  # delivered again, it goes through (the receipt was not kept either)
    result = mail_app.test_cli_runner().invoke(args=["tickets", "ingest"], input=eml("new_server_problem.eml"))
    assert (result.exit_code, result.output.strip()) == (0, "new ticket 1")


def test_failure_while_processing_keeps_the_mail_and_leaves_nothing_half_done(make_app, users, monkeypatch):
    app = make_app(MAIL_SUPPRESS_SEND=True)
    monkeypatch.setattr(tickets, "notify_customer", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    with app.app_context():
        raw = eml("new_server_problem.eml")
        result = mail_in.ingest(raw)
        assert result.action == "kept" and "could not be processed: RuntimeError" in result.reason
        assert db.session.query(Ticket).count() == 0
        assert db.session.query(OutgoingMail).count() == 0
        assert db.session.get(IncomingMail, result.incoming_id).raw == raw


# -- the commands ---------------------------------------------------------------------------------

def test_ingest_command_reads_standard_input_and_sends_the_mail(mail_app, sink):
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["tickets", "ingest"], input=eml("new_server_problem.eml"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "new ticket 1"
    assert sink.messages[0]["Subject"].startswith("[#1] ")
    result = runner.invoke(args=["tickets", "ingest"], input=eml("stranger_reply.eml"))
    assert result.exit_code == 0
    assert result.output.startswith("kept for a person as incoming mail 1: bob@ander.nl is not the customer")
    result = runner.invoke(args=["tickets", "ingest"], input=eml("out_of_office.eml"))
    assert (result.exit_code, result.output.strip()) == (0, "ignored, not answered: Auto-Submitted: auto-generated")


def test_ingest_command_writes_links_from_helpsite_url_without_server_name(make_app, users):
    app = make_app(SERVER_NAME=None, HELPSITE_URL="https://help.webxtra.example", MAIL_SUPPRESS_SEND=True)
    result = app.test_cli_runner().invoke(args=["tickets", "ingest"], input=eml("unknown_sender.eml"))
    assert result.output.strip() == "answered an unknown sender (sam.carter@example.org)"
    with app.app_context():
        assert "https://help.webxtra.example/en/login" in db.session.scalars(select(OutgoingMail)).one().body


def test_ingest_command_fails_only_when_the_mail_cannot_even_be_kept(mail_app):
    with mail_app.app_context():
        db.drop_all()  # the database is gone: nowhere to keep the mail
    result = mail_app.test_cli_runner().invoke(args=["tickets", "ingest"], input=eml("new_server_problem.eml"))
    assert result.exit_code == 75  # EX_TEMPFAIL: the mail server keeps it and tries again
    assert "not processed and not kept" in result.output
    with mail_app.app_context():
        db.create_all()


# -- IMAP -----------------------------------------------------------------------------------------

class TinyIMAPHandler(socketserver.StreamRequestHandler):
    """Just enough IMAP4rev1 for imaplib: LOGIN, SELECT, UID SEARCH/FETCH/STORE/MOVE, LOGOUT."""

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        box = self.server.mailbox
        self.send("* OK tiny IMAP ready")
        while line := self.rfile.readline():
            tag, command, *rest = line.decode().rstrip("\r\n").split(" ", 2)
            args = rest[0] if rest else ""
            command = command.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 MOVE")
                self.send(f"{tag} OK CAPABILITY done")
            elif command == "LOGIN":
                user, password = (part.strip('"') for part in args.split(" ", 1))
                ok = (user, password) == ("support", "imap-secret")
                self.send(f"{tag} OK logged in" if ok else f"{tag} NO [AUTHENTICATIONFAILED] wrong")
            elif command == "SELECT":
                self.send(f"* {len(box.messages)} EXISTS")
                self.send(f"{tag} OK [READ-WRITE] SELECT done")
            elif command == "UID":
                self.uid(tag, args, box)
            elif command == "LOGOUT":
                self.send("* BYE")
                self.send(f"{tag} OK LOGOUT done")
                return
            else:
                self.send(f"{tag} BAD unknown command")

    def uid(self, tag, args, box):
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        if sub == "SEARCH":
            unseen = [str(uid) for uid, (_raw, flags) in box.messages.items() if "\\Seen" not in flags]
            self.send("* SEARCH " + " ".join(unseen))
            self.send(f"{tag} OK SEARCH done")
            return
        uid = int(rest.split(" ", 1)[0])
        if uid not in box.messages or uid in box.broken:
            self.send(f"{tag} NO no such message")
            return
        raw, flags = box.messages[uid]
        if sub == "FETCH":
            self.wfile.write(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
            self.send(f"{tag} OK FETCH done")
        elif sub == "STORE":
            flags.update(rest.split("(", 1)[1].rstrip(")").split())
            self.send(f"* {uid} FETCH (UID {uid} FLAGS ({' '.join(sorted(flags))}))")
            self.send(f"{tag} OK STORE done")
        elif sub == "MOVE":
            box.moved.setdefault(rest.split(" ", 1)[1], []).append(box.messages.pop(uid)[0])
            self.send(f"{tag} OK MOVE done")


class Mailbox:
    def __init__(self, messages):
        self.messages = {uid: (raw, set()) for uid, raw in enumerate(messages, start=1)}
        self.broken: set[int] = set()
        self.moved: dict[str, list[bytes]] = {}


@pytest.fixture
def imap_server():
    """Run the tiny IMAP server on a free port; a test puts a Mailbox in server.mailbox."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), TinyIMAPHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def imap_app(make_app, smtp_port, imap_port, **extra):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port, IMAP_HOST="127.0.0.1", IMAP_PORT=imap_port,
                    IMAP_SSL=False, IMAP_USER="support", IMAP_PASSWORD="imap-secret", IMAP_TIMEOUT=5, **extra)


def test_poll_imap_processes_each_mail_and_marks_it_seen(make_app, smtp_server, users, imap_server):
    sink, smtp_port = smtp_server
    imap_server.mailbox = box = Mailbox([eml("new_server_problem.eml"), eml("unknown_sender.eml"),
                                         b"", eml("out_of_office.eml")])
    box.broken.add(3)  # the server cannot hand this one out: the others go on
    app = imap_app(make_app, smtp_port, imap_server.server_address[1])
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.exit_code == 1  # one mail is left for the next poll
    lines = result.output.strip().split("\n")
    assert lines == ["new ticket 1", "answered an unknown sender (sam.carter@example.org)",
                     "ignored, not answered: Auto-Submitted: auto-generated",
                     "3 mail(s) processed, 1 left for the next poll."]
    assert {uid for uid, (_raw, flags) in box.messages.items() if "\\Seen" in flags} == {1, 2, 4}
    assert sorted(m["To"] for m in sink.messages) == ["anna@klant.nl", "sam.carter@example.org"]
    # The next poll takes the one that failed, now that the server hands it out.
    box.broken.clear()
    with app.app_context():  # a reply to our confirmation, with its Message-ID
        box.messages[3] = (eml("gmail_reply.eml"), set())
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.exit_code == 0
    assert result.output.strip().split("\n") == ["threaded into ticket 1", "1 mail(s) processed, 0 left for the next poll."]


def test_poll_imap_can_move_processed_mail(make_app, smtp_server, users, imap_server):
    imap_server.mailbox = box = Mailbox([eml("unknown_sender.eml")])
    app = imap_app(make_app, smtp_server[1], imap_server.server_address[1], IMAP_PROCESSED_FOLDER="Processed")
    with app.app_context():
        report = mail_in.poll_imap()
    assert [r.action for r in report.results] == ["answered_unknown"] and report.failed == 0
    assert box.messages == {} and box.moved == {"Processed": [eml("unknown_sender.eml")]}


def test_poll_imap_reports_a_wrong_password(make_app, smtp_server, users, imap_server):
    imap_server.mailbox = Mailbox([])
    app = imap_app(make_app, smtp_server[1], imap_server.server_address[1])
    app.config["IMAP_PASSWORD"] = "wrong"
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.exit_code == 1 and "IMAP polling failed" in result.output


def test_a_mailed_answer_to_our_request_for_information_keeps_the_place(ctx):
    """Issue 15: support asked for something; the customer's mail answers it and keeps the place."""
    ticket = first_ticket(minutes_ago=120)
    other = tickets.open_ticket(accounts.find_user("bob@ander.nl"), "ander.nl", "Mail komt niet aan",
                                "Sinds gisteren geen mail.", now=utcnow() - dt.timedelta(minutes=60))
    tickets.add_support_reply(ticket, accounts.find_user("support@webxtra.nl"), "Welke pagina geeft de fout?",
                              asks_information=True)
    queued = db.session.get(Ticket, 1).queued_at
    outcome = mail_in.ingest(compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding",
                                     "De pagina /winkelwagen.", replying_to=1))
    assert outcome.action == "threaded"
    db.session.expire_all()
    assert db.session.get(Ticket, 1).status == "waiting_support"
    assert db.session.get(Ticket, 1).queued_at == queued
    assert [t.number for t in tickets.queue()] == [1, other.number]
    assert messages_of(1)[-1].body == "De pagina /winkelwagen."


def test_a_mailed_reply_adding_a_forgotten_subdomain_keeps_the_place(ctx):
    first_ticket(minutes_ago=120)
    other = tickets.open_ticket(accounts.find_user("bob@ander.nl"), "ander.nl", "Mail komt niet aan",
                                "Sinds gisteren geen mail.", now=utcnow() - dt.timedelta(minutes=60))
    mail_in.ingest(compose("anna@klant.nl", "Re: [#1] Website geeft foutmelding",
                           "Vergeten te melden: het gaat om shop.klant.nl", replying_to=1))
    assert [t.number for t in tickets.queue()] == [1, other.number]
