"""`flask backup` and `flask restore`: a database filled through the real flows comes back whole (issue 14).

On SQLite by default; on PostgreSQL when TEST_DATABASE_URL is PostgreSQL (the restore then goes
into a second, empty database on the same server, created and dropped here).
"""

import io
import json
import os
import re
import tarfile

import pytest
from conftest import csrf_token
from sqlalchemy import make_url, select

from helpsite import create_app
from helpsite.config import TestingConfig
from helpsite.extensions import db
from helpsite.models import ArticleFeedback, Message, OutgoingMail, Ticket, User

CUSTOMER = ("klant@bakker-backup.nl", "backup-klant-2026!")
AGENT = ("support@webxtra.nl", "backup-support-2026!")
QUESTION = "Sinds vanochtend geeft www.bakker-backup.nl een 500 Internal Server Error bij het bestellen."
REPLY = "We hebben de PHP-versie van uw site teruggezet; probeert u het nog eens?"
FEEDBACK = "Mist de stap voor het wachtwoord <script>"
SAME_SITE = {"Origin": "http://help.test"}


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture
def empty_target(tmp_path):
    """Return the URL of an empty database to restore into (a new SQLite file, or a new PostgreSQL database)."""
    source = _postgres_url()
    if source is None:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    import psycopg

    url = make_url(source)
    name = f"{url.database}_restore"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def bare_app(shared_index_dir):
    """Return a factory of apps that do not create tables (a restore target must stay empty)."""
    made = []

    def factory(database_url, instance):
        config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
        config.update(SECRET_KEY="test-secret", SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_PATH=str(instance),
                      SEARCH_INDEX_DIR=str(shared_index_dir), SERVER_NAME="help.test")
        app = create_app(config)
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def log_in(client, email, password):
    token = csrf_token(client.get("/nl/inloggen"))
    response = client.post("/nl/inloggen", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, "login failed"


def fill_through_the_site(app) -> int:
    """Create users with the command, then a ticket, a staff reply and feedback through the pages."""
    runner = app.test_cli_runner()
    for (email, password), options in ((CUSTOMER, ["--domain", "bakker-backup.nl", "--name", "Bakker"]),
                                       (AGENT, ["--role", "support"])):
        result = runner.invoke(args=["users", "create", email, "--password", password, *options])
        assert result.exit_code == 0, result.output
    customer = app.test_client()
    log_in(customer, *CUSTOMER)
    token = csrf_token(customer.get("/nl/vraag-stellen"))
    asked = customer.post("/nl/vraag-stellen", data={"domain": "bakker-backup.nl", "subject": "Bestellen lukt niet",
                                                      "question": QUESTION, "csrf_token": token})
    number = int(re.search(r"/tickets/(\d+)\?created=1", asked.headers["Location"]).group(1))
    agent = app.test_client()
    log_in(agent, *AGENT)
    token = csrf_token(agent.get(f"/nl/desk/tickets/{number}"))
    assert agent.post(f"/nl/desk/tickets/{number}", data={"body": REPLY, "csrf_token": token}).status_code == 302
    reader = app.test_client()
    answered = reader.post("/nl/artikel-feedback/ftp-settings", headers=SAME_SITE,
                           data={"helpful": "no", "comment": FEEDBACK})
    assert answered.status_code == 303
    return number


def test_backup_and_restore_into_an_empty_database_finds_everything(make_app, bare_app, empty_target, tmp_path):
    source_instance = tmp_path / "instance-source"
    source_instance.mkdir()
    (source_instance / "secret_key").write_text("the-source-hosts-generated-key")
    app = make_app(INSTANCE_PATH=str(source_instance))
    number = fill_through_the_site(app)
    archive = tmp_path / "backups" / "site.tar.gz"

    made = app.test_cli_runner().invoke(args=["backup", "--output", str(archive)])
    assert made.exit_code == 0, made.output
    assert archive.stat().st_mode & 0o077 == 0  # customers' data and the secret key: the owner's only
    with tarfile.open(archive) as tar:
        assert "search-index" not in " ".join(tar.getnames())  # derived data stays out
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["database"]["tables"]["ticket"] == 1 and "secret_key" in manifest["secrets"]

    target_instance = tmp_path / "instance-restored"
    restored = bare_app(empty_target, target_instance)
    result = restored.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "every table as in the backup" in result.output
    assert (target_instance / "secret_key").read_text() == "the-source-hosts-generated-key"

    with restored.app_context():
        ticket = db.session.get(Ticket, number)
        assert ticket.subject == "Bestellen lukt niet" and ticket.domain == "bakker-backup.nl"
        bodies = [m.body for m in db.session.scalars(select(Message).where(Message.ticket_id == number)
                                                     .order_by(Message.id))]
        assert QUESTION in bodies[0] and REPLY in bodies[-1]
        assert {u.email for u in db.session.scalars(select(User))} == {CUSTOMER[0], AGENT[0]}
        assert db.session.scalars(select(ArticleFeedback)).one().comment == FEEDBACK
        assert db.session.query(OutgoingMail).count() == 2  # the confirmation and the reply
    # The restored site works: the customer logs in with the same password and sees the ticket,
    # and a new ticket gets the next number (the sequences came along).
    customer = restored.test_client()
    log_in(customer, *CUSTOMER)
    assert f"[#{number}]" in customer.get("/nl/mijn-tickets").get_data(as_text=True)
    token = csrf_token(customer.get("/nl/vraag-stellen"))
    again = customer.post("/nl/vraag-stellen", data={
        "domain": "bakker-backup.nl", "subject": "Mail komt niet aan", "override": "y", "split_ok": "y",
        "duplicate_choice": "new", "question": "Sinds gisteren komt er geen mail meer binnen op de server.",
        "csrf_token": token})
    assert int(re.search(r"/tickets/(\d+)\?created=1", again.headers["Location"]).group(1)) > number


def test_restore_refuses_a_database_that_is_not_empty(make_app, bare_app, empty_target, tmp_path):
    app = make_app(INSTANCE_PATH=str(tmp_path / "instance-source"))
    fill_through_the_site(app)
    archive = tmp_path / "site.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(archive)]).exit_code == 0

    target = bare_app(empty_target, tmp_path / "instance-target")
    runner = target.test_cli_runner()
    assert runner.invoke(args=["restore", str(archive)]).exit_code == 0
    with target.app_context():
        db.session.execute(db.delete(ArticleFeedback))
        db.session.commit()
    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0 and "not empty" in refused.output and "--force" in refused.output
    with target.app_context():
        assert db.session.query(ArticleFeedback).count() == 0  # nothing was touched
    forced = runner.invoke(args=["restore", "--force", str(archive)])
    assert forced.exit_code == 0, forced.output
    with target.app_context():
        assert db.session.query(ArticleFeedback).count() == 1


def test_restore_refuses_a_damaged_archive_and_another_hosts_secret(make_app, bare_app, empty_target, tmp_path):
    source_instance = tmp_path / "instance-source"
    source_instance.mkdir()
    (source_instance / "secret_key").write_text("source-key")
    app = make_app(INSTANCE_PATH=str(source_instance))
    fill_through_the_site(app)
    archive = tmp_path / "site.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(archive)]).exit_code == 0

    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name.startswith("database."):
                middle = len(data) // 2
                data = data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64]) + data[middle + 64:]
            out.addfile(member, io.BytesIO(data))
    target_instance = tmp_path / "instance-target"
    target_instance.mkdir()
    target = bare_app(empty_target, target_instance)
    runner = target.test_cli_runner()
    result = runner.invoke(args=["restore", str(damaged)])
    assert result.exit_code != 0 and "damaged" in result.output

    (target_instance / "secret_key").write_text("this-hosts-own-key")
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code != 0 and "differs from the backup" in result.output
    assert (target_instance / "secret_key").read_text() == "this-hosts-own-key"
    with target.app_context():
        assert db.inspect(db.engine).get_table_names() == []  # refused before anything was written

    not_a_backup = tmp_path / "other.tar.gz"
    with tarfile.open(not_a_backup, "w:gz") as out:
        out.addfile(tarfile.TarInfo("../../etc/evil"), io.BytesIO(b""))
    result = runner.invoke(args=["restore", str(not_a_backup)])
    assert result.exit_code != 0 and "not a help-site backup" in result.output


def test_a_pg_dump_older_than_the_server_is_refused(tmp_path, monkeypatch):
    from helpsite import backup

    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.14 (Debian 13.14-0+deb11u1)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    with pytest.raises(backup.BackupError, match="pg_dump 13 is older than the PostgreSQL server \\(15\\)"):
        backup._check_pg_tool("pg_dump", 150004)
    assert backup._check_pg_tool("pg_dump", 130002) == str(fake)  # the same major version is fine
