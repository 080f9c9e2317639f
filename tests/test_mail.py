"""Mail goes out over real SMTP; when the server is down it waits in the outbox, nothing lost."""

from helpsite import accounts, mail, tickets
from helpsite.extensions import db
from helpsite.models import OutgoingMail


def test_confirmation_reaches_a_real_smtp_server(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        user = accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])
        number = tickets.open_ticket(user, "klant.nl", "Website <b>plat</b>", "Help!").number
        assert mail.send_pending() == (1, 0)
    message = sink.messages[0]
    assert message["Subject"] == f"[#{number}] Ontvangen: Website <b>plat</b>"
    assert message["To"] == "anna@klant.nl"
    html = message.get_body(("html",)).get_content()
    assert "Website &lt;b&gt;plat&lt;/b&gt;" in html
    assert message.get_body(("plain",)).get_content().count(f"[#{number}]") >= 1


def test_mail_waits_in_the_outbox_while_the_server_is_down(make_app, smtp_server, closed_port):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_TIMEOUT=2)
    with app.app_context():
        user = accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])
        ticket = tickets.open_ticket(user, "klant.nl", "Vraag", "Hallo")
        assert mail.send_pending() == (0, 1)
        waiting = db.session.query(OutgoingMail).one()
        assert waiting.sent_at is None and waiting.attempts == 1 and "connect" in waiting.last_error
        assert ticket.id is not None  # the ticket itself is saved
        app.config["MAIL_PORT"] = port  # the server is back
        runner = app.test_cli_runner()
        result = runner.invoke(args=["mail", "send"])  # from cron: the mail still pauses after its failure
        assert "0 sent, 1 still waiting, 0 given up" in result.output
        result = runner.invoke(args=["mail", "send", "--now"])
        assert "1 sent, 0 still waiting, 0 given up" in result.output and result.exit_code == 0
    assert len(sink.messages) == 1


def test_english_customer_gets_english_mail(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        user = accounts.create_user("bob@ander.nl", "bob-password-12", domains=["ander.nl"], locale="en")
        tickets.open_ticket(user, "ander.nl", "FTP", "Does not connect", lang="en")
        mail.send_pending()
    text = sink.messages[0].get_body(("plain",)).get_content()
    assert "We have received your question" in text
    assert sink.messages[0]["Subject"].endswith("Received: FTP")
