"""One operation for a question (issue 11): the form and mail in both go through submit_question."""

from conftest import csrf_token, login
from sqlalchemy import select
from test_mail_in import compose

from helpsite import accounts, mail_in, questions, tickets
from helpsite.extensions import db
from helpsite.models import Ticket, TriageDecision

SUBJECT = "Website klant.nl geeft 503"
QUESTION = "Sinds vanochtend geeft www.klant.nl een 503 Service Unavailable, we hebben niets veranderd."


def test_the_form_and_a_mail_make_the_same_ticket(app, users):
    client = app.test_client()
    login(client, "anna@klant.nl")
    page = client.get("/nl/vraag-stellen")
    response = client.post("/nl/vraag-stellen", data={"csrf_token": csrf_token(page), "domain": "klant.nl",
                                                      "subject": SUBJECT, "question": QUESTION})
    assert response.status_code == 302 and "created=1" in response.headers["Location"]
    with app.app_context():
        tickets.close_ticket(db.session.get(Ticket, 1))  # so the mail is not offered as "the same subject"
        result = mail_in.ingest(compose("anna@klant.nl", SUBJECT, QUESTION))
        assert (result.action, result.ticket_number) == ("created", 2)
        web, by_mail = db.session.get(Ticket, 1), db.session.get(Ticket, 2)
        fields = ("subject", "domain", "kind", "lang", "managed", "user_id")
        assert [getattr(web, f) for f in fields] == [getattr(by_mail, f) for f in fields]
        assert web.messages[0].body == by_mail.messages[0].body == QUESTION
        assert (web.messages[0].via, by_mail.messages[0].via) == ("web", "email")
        decisions = db.session.scalars(select(TriageDecision).order_by(TriageDecision.id)).all()
        assert [(d.verdict, d.topic, d.ticket_id, d.source) for d in decisions] == [
            ("ticket", decisions[0].topic, 1, "web"), ("ticket", decisions[0].topic, 2, "email")]


def test_the_steps_of_the_form_are_outcomes(app, users):
    with app.app_context():
        anna = accounts.find_user("anna@klant.nl")
        first = questions.submit_question(anna, "klant.nl", SUBJECT, QUESTION, "nl")
        assert first.action == "created"
        again = questions.submit_question(anna, "klant.nl", SUBJECT, QUESTION, "nl")
        assert again.action == "similar" and [t.number for t in again.similar] == [first.ticket.number]
        added = questions.submit_question(anna, "klant.nl", SUBJECT, "Nog steeds.", "nl",
                                          questions.Choices(duplicate=f"add:{first.ticket.number}"))
        assert added.action == "added" and len(added.ticket.messages) == 2
        setup = questions.submit_question(anna, "klant.nl", "Outlook", "Hoe stel ik mijn e-mail in op Outlook?", "nl")
        assert setup.action == "answered" and setup.ticket is None
        several = ("1. Mijn website geeft een 500 fout, kunnen jullie kijken?\n"
                   "2. En ik wil ook graag weten wat mijn factuur van vorige maand was?\n"
                   "3. Daarnaast: kan mijn pakket groter worden?")
        split = questions.submit_question(anna, "ander.klant.nl", "Drie vragen", several, "nl")
        assert split.action == "split" and split.ticket is None
        by_mail = questions.submit_question(anna, "ander.klant.nl", "Drie vragen", several, "nl",
                                            questions.Choices(interactive=False))
        assert by_mail.action == "created"  # mail cannot be asked to split: it goes through
        assert db.session.query(Ticket).count() == 2


def test_form_mail_and_desk_make_the_same_ticket(app, users):
    """Issue 11: the three ways a question becomes a ticket go through the one operation."""
    from helpsite import kept_mail

    with app.app_context():
        anna = accounts.find_user("anna@klant.nl")
        web = questions.submit_question(anna, "klant.nl", SUBJECT, QUESTION, "nl").ticket
        tickets.close_ticket(web)
        mailed = mail_in.ingest(compose("anna@klant.nl", SUBJECT, QUESTION))
        tickets.close_ticket(db.session.get(Ticket, mailed.ticket_number))
        kept = questions.submit_contact_question("anna@klant.nl", "klant.nl", SUBJECT, QUESTION, "nl")
        assert kept.action == "kept" and kept.ticket is None
        row = kept_mail.waiting()[0]
        desk = kept_mail.open_ticket_for(row, anna, kind=web.kind)
        by_mail = db.session.get(Ticket, mailed.ticket_number)
        fields = ("subject", "domain", "kind", "lang", "managed", "user_id")
        assert [getattr(web, f) for f in fields] == [getattr(by_mail, f) for f in fields] \
            == [getattr(desk, f) for f in fields]
        assert web.messages[0].body == by_mail.messages[0].body == desk.messages[0].body == QUESTION
        assert row.handled
        sources = [d.source for d in db.session.scalars(select(TriageDecision).order_by(TriageDecision.id))]
        assert sources == ["web", "email", "contact", "desk"]


def test_a_failure_half_way_leaves_no_half_ticket(app, users, monkeypatch):
    """The ticket, its confirmation mail and the decision are one transaction."""
    from helpsite import analytics
    from helpsite.models import Message, OutgoingMail

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away after the ticket was written")

    with app.app_context():
        anna = accounts.find_user("anna@klant.nl")
        monkeypatch.setattr(analytics, "record_triage", broken)
        try:
            questions.submit_question(anna, "klant.nl", SUBJECT, QUESTION, "nl")
        except RuntimeError:
            pass
        else:
            raise AssertionError("the failure was swallowed")
        db.session.expire_all()
        assert db.session.query(Ticket).count() == 0
        assert db.session.query(Message).count() == 0
        assert db.session.query(OutgoingMail).count() == 0
        assert db.session.query(TriageDecision).count() == 0
        monkeypatch.undo()
        assert questions.submit_question(anna, "klant.nl", SUBJECT, QUESTION, "nl").action == "created"
        assert db.session.query(OutgoingMail).count() == 1 and db.session.query(TriageDecision).count() == 1


def test_the_contact_form_is_decided_as_the_question_form_and_keeps_nothing_it_answers(app, users):
    from helpsite.models import IncomingMail

    with app.app_context():
        setup = questions.submit_contact_question("x@example.org", "klant.nl", "Outlook",
                                                  "Hoe stel ik mijn e-mail in op Outlook?", "nl")
        assert setup.action == "answered"
        assert setup.decision.verdict == questions.decide("Outlook\nHoe stel ik mijn e-mail in op Outlook?",
                                                          "nl")[1].verdict
        assert db.session.query(IncomingMail).count() == 0
        anyway = questions.submit_contact_question("x@example.org", "klant.nl", "Outlook",
                                                   "Hoe stel ik mijn e-mail in op Outlook?", "nl",
                                                   questions.Choices(override=True))
        assert anyway.action == "kept" and db.session.query(IncomingMail).count() == 1
        overridden = db.session.scalars(select(TriageDecision.overridden).order_by(TriageDecision.id)).all()
        assert overridden == [False, True]


def test_the_triage_api_is_the_same_decision_and_writes_nothing(app, users):
    text = "Hoe stel ik mijn e-mail in op Outlook?"
    client = app.test_client()
    answer = client.post("/api/triage", json={"text": text, "lang": "nl"}).get_json()
    with app.app_context():
        _verdict, decision = questions.decide(text, "nl")
        assert (answer["verdict"], answer["topic"]) == (decision.verdict, decision.topic)
        assert db.session.query(TriageDecision).count() == 0 and db.session.query(Ticket).count() == 0
