"""`flask tickets poll-imap` against a real IMAP server: Debian's Dovecot on a loopback port.

The test suite starts Dovecot itself with a throwaway configuration, user and maildir (no
system service, no port 143); scripts/test installs dovecot-imapd. Mail is put in with IMAP
APPEND, as a mail server's delivery would leave it.
"""

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from test_mail_in import eml

from helpsite.extensions import db
from helpsite.models import Message, Ticket

DOVECOT = os.environ.get("DOVECOT", "/usr/sbin/dovecot")
USER, PASSWORD = "support", "imap-secret-1"

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  mailbox Processed {{
    auto = create
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dovecot():
    """Start Dovecot with its own configuration on a free loopback port; yield the port."""
    if not os.path.exists(DOVECOT):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no Dovecot at {DOVECOT}: install dovecot-imapd (scripts/test does)")
        pytest.skip(f"no Dovecot at {DOVECOT}: install Debian's dovecot-imapd")
    account = pwd.getpwnam("dovecot")
    root = Path(tempfile.mkdtemp(prefix="helpsite-dovecot-"))  # not under pytest's 0700 folder: dovecot reads it
    root.chmod(0o755)
    (root / "mail").mkdir()
    os.chown(root / "mail", account.pw_uid, account.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, uid=account.pw_uid, gid=account.pw_gid))
    output = open(root / "stdout.log", "wb")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    log = root / "dovecot.log"
                    raise RuntimeError(f"dovecot did not start: {(root / 'stdout.log').read_text()}"
                                       f"{log.read_text() if log.exists() else ''}")
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        output.close()
        shutil.rmtree(root, ignore_errors=True)


def imap(port) -> imaplib.IMAP4:
    connection = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    connection.login(USER, PASSWORD)
    return connection


def deliver(port, *messages: bytes) -> None:
    connection = imap(port)
    for raw in messages:
        status, _ = connection.append("INBOX", None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        assert status == "OK"
    connection.logout()


def flags(port, folder="INBOX") -> list[str]:
    connection = imap(port)
    connection.select(folder)
    status, data = connection.fetch("1:*", "(FLAGS)")
    connection.logout()
    return [item.decode() for item in data if item]


def dovecot_app(make_app, port, **extra):
    return make_app(IMAP_HOST="127.0.0.1", IMAP_PORT=port, IMAP_SSL=False, IMAP_USER=USER, IMAP_PASSWORD=PASSWORD,
                    IMAP_TIMEOUT=10, MAIL_SUPPRESS_SEND=True, **extra)


def test_poll_imap_against_dovecot_processes_and_marks_each_mail(make_app, users, dovecot):
    app = dovecot_app(make_app, dovecot)
    deliver(dovecot, eml("new_server_problem.eml"), eml("unknown_sender.eml"), eml("out_of_office.eml"))
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().split("\n") == [
        "new ticket 1", "answered an unknown sender (sam.carter@example.org)",
        "ignored, not answered: Auto-Submitted: auto-generated", "3 mail(s) processed, 0 left for the next poll."]
    assert all("\\Seen" in line for line in flags(dovecot))
    # The customer replies to our confirmation; the next poll threads it and takes nothing twice.
    with app.app_context():
        deliver(dovecot, eml("gmail_reply.eml"))
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.output.strip().split("\n") == ["threaded into ticket 1",
                                                 "1 mail(s) processed, 0 left for the next poll."]
    with app.app_context():
        assert db.session.query(Ticket).count() == 1
        assert db.session.query(Message).count() == 2


def test_poll_imap_against_dovecot_moves_processed_mail(make_app, users, dovecot):
    app = dovecot_app(make_app, dovecot, IMAP_PROCESSED_FOLDER="Processed")
    deliver(dovecot, eml("unknown_sender.eml"))
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.exit_code == 0, result.output
    connection = imap(dovecot)
    assert connection.select("INBOX")[1] == [b"0"]
    assert connection.select("Processed")[1] == [b"1"]
    connection.logout()


def test_poll_imap_against_dovecot_reports_a_wrong_password(make_app, users, dovecot):
    app = dovecot_app(make_app, dovecot)
    app.config["IMAP_PASSWORD"] = "wrong"
    result = app.test_cli_runner().invoke(args=["tickets", "poll-imap"])
    assert result.exit_code == 1 and "IMAP polling failed" in result.output
