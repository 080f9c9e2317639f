"""The outbox sends each mail exactly once: claimed rows, a fixed Message-ID, retries that count.

Issue 9, findings 1-3: every request sent the whole outbox without claiming it (mail sent up
to seven times), every request counted an attempt (mail given up silently after an outage),
and SMTP inside the request stalled the site when the mail server hung.
"""

import datetime as dt
import socket
import threading
import time
from collections import Counter

from conftest import csrf_token, login
from sqlalchemy import select, update

from helpsite import accounts, mail, outbox_journal, tickets
from helpsite.extensions import db
from helpsite.models import OutgoingMail, utcnow


def customer():
    return accounts.create_user("anna@klant.nl", "anna-password-1", domains=["klant.nl"])


def test_two_senders_at_once_send_every_mail_once(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        user = customer()
        for i in range(40):
            tickets.open_ticket(user, "klant.nl", f"Vraag {i}", "Hallo")
    barrier = threading.Barrier(3)

    def sender():
        with app.app_context():
            barrier.wait()
            mail.send_pending()
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = Counter(message["Message-ID"] for message in sink.messages)
    assert len(ids) == 40 and max(ids.values()) == 1
    with app.app_context():
        rows = db.session.scalars(select(OutgoingMail)).all()
        assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
        assert {row.message_id for row in rows} == set(ids)  # the Message-ID written is the one sent


def test_a_claimed_mail_is_not_sent_by_another_sender(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        db.session.execute(update(OutgoingMail).values(claim_token="x" * 32,
                                                       claimed_until=utcnow() + dt.timedelta(minutes=5)))
        db.session.commit()
        assert mail.send_pending() == (0, 1)
        # A sender that was killed: its claim expires and the mail goes out, with the same Message-ID.
        db.session.execute(update(OutgoingMail).values(claimed_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        assert mail.send_pending() == (1, 0)
        assert sink.messages[0]["Message-ID"] == db.session.scalars(select(OutgoingMail.message_id)).one()


def test_attempts_count_real_attempts_with_a_growing_pause_and_mail_is_given_up_then_retried(
        make_app, smtp_server, closed_port):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_RETRY_BASE=60, MAIL_MAX_ATTEMPTS=3)
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        assert mail.send_pending() == (0, 1)
        for _ in range(5):  # many requests or cron runs during the pause: no attempt is counted
            mail.send_pending()
        row = db.session.scalars(select(OutgoingMail)).one()
        assert row.attempts == 1
        assert dt.timedelta(seconds=55) < row.next_attempt_at - utcnow() <= dt.timedelta(seconds=60)
        mail.send_pending(ignore_pause=True)
        db.session.refresh(row)
        assert row.attempts == 2 and row.next_attempt_at - utcnow() > dt.timedelta(seconds=110)  # doubled
        report = mail.send_pending(ignore_pause=True)
        assert report.given_up == 1
        db.session.refresh(row)
        assert row.failed_at is not None and row.attempts == 3
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "send", "--now"])
    assert result.exit_code == 1  # cron mails the output: someone must look
    assert "0 sent, 0 still waiting, 1 given up." in result.output
    assert "given up: mail 1 to anna@klant.nl" in result.output and "flask mail retry 1" in result.output
    app.config["MAIL_PORT"] = port  # the server is back
    result = runner.invoke(args=["mail", "retry", "1"])
    assert "1 mail(s) back in the outbox; 1 sent, 0 still waiting." in result.output
    assert len(sink.messages) == 1
    assert runner.invoke(args=["mail", "send"]).exit_code == 0


def test_a_refused_recipient_is_given_up_at_once(make_app, smtp_server):
    sink, port = smtp_server

    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 no such user"
    sink.handle_RCPT = refuse
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        report = mail.send_pending()
        assert (report.sent, report.waiting, report.given_up) == (0, 0, 1)
        assert "550" in mail.given_up()[0].last_error


def hanging_smtp_server():
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def test_a_hanging_smtp_server_does_not_slow_a_request(make_app, users, monkeypatch):
    """The request never talks to SMTP; only the sender thread does (checked by thread, not by a stopwatch)."""
    import smtplib

    connecting_threads = []
    real_connect = smtplib.SMTP.connect

    def connect(self, *args, **kwargs):
        connecting_threads.append(threading.current_thread().name)
        return real_connect(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", connect)
    listener, held = hanging_smtp_server()
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=3,
                   MAIL_BACKGROUND_SENDER=True)
    try:
        client = app.test_client()
        login(client, "anna@klant.nl")
        page = client.get("/nl/vraag-stellen")
        response = client.post("/nl/vraag-stellen", data={
            "csrf_token": csrf_token(page), "domain": "klant.nl", "subject": "Website plat",
            "question": "Sinds vanochtend geeft www.klant.nl een 503 fout.", "override": "y", "split_ok": "y",
            "duplicate_choice": "new"})
        assert response.status_code == 302 and "created=1" in response.headers["Location"]
        request_thread = threading.current_thread().name  # the test client runs the view in this thread
        for _ in range(200):  # the sender thread, woken by the commit, connects to the hanging server
            if connecting_threads:
                break
            time.sleep(0.05)
        assert connecting_threads and request_thread not in connecting_threads
        assert set(connecting_threads) == {"outbox-sender"}
        with app.app_context():
            assert db.session.scalars(select(OutgoingMail)).one().sent_at is None  # still waiting, not lost
    finally:
        app.extensions["outbox_sender"].stop(timeout=10)
        listener.close()
        for conn in held:
            conn.close()


def test_the_background_sender_sends_after_the_commit(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_BACKGROUND_SENDER=True)
    try:
        with app.app_context():
            tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")  # commits: wakes the sender
        for _ in range(100):
            if sink.messages:
                break
            time.sleep(0.05)
        assert len(sink.messages) == 1
    finally:
        app.extensions["outbox_sender"].stop()


def test_an_agents_reply_threads_in_the_customers_mail_program_and_greets_once(make_app, smtp_server, users):
    """Issue 10: agent replies said Auto-Submitted: auto-replied, had no In-Reply-To and greeted twice."""
    from helpsite import mail_in
    from test_mail_in import compose

    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        anna = accounts.find_user("anna@klant.nl")
        ticket = tickets.open_ticket(anna, "klant.nl", "Website plat", "Help")
        mail.send_pending()
        confirmation = sink.messages[0]
        reply = compose("anna@klant.nl", f"Re: {confirmation['Subject']}", "Nog steeds plat.",
                        In_Reply_To=confirmation["Message-ID"])
        assert mail_in.ingest(reply).action == "threaded"
        customers_id = reply.split(b"Message-ID: ")[1].split(b"\n")[0].strip().decode()
        agent = accounts.find_user("support@webxtra.nl")
        tickets.add_support_reply(ticket, agent, "Beste klant,\n\nDe website draait weer.")
        mail.send_pending()
    answer = sink.messages[-1]
    assert answer["Auto-Submitted"] is None
    assert answer["In-Reply-To"] == customers_id
    assert customers_id in answer["References"] and confirmation["Message-ID"] in answer["References"]
    text = answer.get_body(("plain",)).get_content()
    assert text.count("Beste klant") == 1
    assert confirmation["Auto-Submitted"] == "auto-replied"


def test_admins_see_given_up_mail_and_retry_it(make_app, smtp_server, closed_port, users):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_MAX_ATTEMPTS=1)
    with app.app_context():
        tickets.open_ticket(accounts.find_user("anna@klant.nl"), "klant.nl", "Website plat", "Help")
        assert mail.send_pending().given_up == 1
    client = app.test_client()
    login(client, "admin@webxtra.nl")
    assert "1 mail(s) given up" in client.get("/en/desk").get_data(as_text=True)
    page = client.get("/en/desk/outgoing-mail")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "anna@klant.nl" in html and "[#1] Ontvangen: Website plat" in html
    app.config["MAIL_PORT"] = port
    response = client.post("/en/desk/outgoing-mail/retry", data={"csrf_token": csrf_token(page), "mail": "1"})
    assert response.status_code == 302
    with app.app_context():
        assert mail.given_up() == [] and mail.waiting_count() == 1  # back in the outbox, not sent in the request
        mail.send_pending()
    assert len(sink.messages) == 1
    support = app.test_client()
    login(support, "support@webxtra.nl")
    assert support.get("/en/desk/outgoing-mail").status_code == 403


def test_a_sender_whose_claim_ran_out_and_was_taken_over_does_not_send(make_app, smtp_server):
    """A slow database can outlast a claim: the first sender must then leave the mail to the second."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server[1])
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        lease = dt.timedelta(seconds=60)
        token, [row] = mail._claim(10, utcnow(), lease)
        assert mail._renew(row, token, lease)  # still ours
        db.session.execute(update(OutgoingMail).values(claim_token="y" * 32))  # another sender took it over
        db.session.commit()
        assert not mail._renew(row, token, lease)


# -- a sender killed after the SMTP server accepted, before the row said so ------------------------

def test_a_mail_in_the_journal_is_marked_sent_not_sent_again(make_app, smtp_server):
    """A dead sender's row still says "sending"; the journal says the server accepted it."""
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        lease = dt.timedelta(seconds=60)
        token, [row] = mail._claim(10, utcnow(), lease)
        assert mail._renew(row, token, lease) and row.sending_since is not None
        outbox_journal.record_accepted(row.message_id)  # ... and then the sender was killed
        db.session.execute(update(OutgoingMail).values(claimed_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        assert mail.send_pending() == (1, 0)
        assert sink.messages == []
        row = db.session.scalars(select(OutgoingMail)).one()
        assert row.sent_at is not None and row.sending_since is None and row.attempts == 1


def test_an_attempt_with_unknown_outcome_is_sent_again_with_the_same_message_id(make_app, smtp_server):
    sink, port = smtp_server
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        lease = dt.timedelta(seconds=60)
        token, [row] = mail._claim(10, utcnow(), lease)
        assert mail._renew(row, token, lease)  # killed before the server answered: not in the journal
        db.session.execute(update(OutgoingMail).values(claimed_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        assert mail.send_pending() == (1, 0)
        assert [m["Message-ID"] for m in sink.messages] == [row.message_id]
        assert outbox_journal.was_accepted(row.message_id)
        assert not outbox_journal.was_accepted("<other@webxtra.nl>")


SENDER = """
import sys
from helpsite import create_app, mail
app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SEARCH_INDEX_DIR": sys.argv[2], "SEARCH_BUILD_ON_START": False, "MAIL_SERVER": "127.0.0.1",
                  "MAIL_PORT": int(sys.argv[3]), "MAIL_JOURNAL_DIR": sys.argv[4], "MAIL_BACKGROUND_SENDER": False,
                  "ANALYTICS_IN_BACKGROUND": False})
with app.app_context():
    mail.send_pending()
"""


def test_a_sender_killed_while_its_database_write_waits_sends_nothing_twice(make_app, tmp_path, shared_index_dir):
    """The fault suite's duplicate, reproduced: the server accepts, the database is locked, kill -9."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    from aiosmtpd.controller import Controller
    from conftest import MailSink

    app = make_app()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        tickets.open_ticket(customer(), "klant.nl", "Vraag", "Hallo")
        message_id = db.session.scalars(select(OutgoingMail.message_id)).one()

    held = {}

    class LockingSink(MailSink):
        """Takes the database's write lock the moment the mail arrives, then accepts it."""

        async def handle_DATA(self, server, session, envelope):
            if "lock" not in held:
                if url.startswith("sqlite"):
                    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30,
                                           check_same_thread=False)
                    conn.execute("BEGIN IMMEDIATE")
                else:
                    import psycopg

                    conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
                    conn.execute("SELECT id FROM outgoing_mail FOR UPDATE")
                held["lock"] = conn
            return await super().handle_DATA(server, session, envelope)

    sink = LockingSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    journal = tmp_path / "outbox-journal"
    child = subprocess.Popen([sys.executable, "-c", SENDER, url, str(shared_index_dir), str(port), str(journal)],
                             cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        deadline = time.monotonic() + 60
        while not (journal.is_dir() and any(message_id in p.read_text() for p in journal.iterdir())):
            assert child.poll() is None and time.monotonic() < deadline, "the sender never reached the journal"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)  # accepted and journalled; its "sent" still waits for the lock
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        if "lock" in held:
            held["lock"].rollback()
            held["lock"].close()
    with app.app_context():
        row = db.session.scalars(select(OutgoingMail)).one()
        assert row.sent_at is None and row.sending_since is not None  # the database never heard
        db.session.execute(update(OutgoingMail).values(claimed_until=utcnow() - dt.timedelta(seconds=1)))
        db.session.commit()
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        assert mail.send_pending() == (1, 0)
    controller.stop()
    assert [m["Message-ID"] for m in sink.messages] == [message_id]  # once, at the sink
