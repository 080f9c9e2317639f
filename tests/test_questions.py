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
