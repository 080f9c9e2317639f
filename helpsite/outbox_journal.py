"""A journal of the mails the SMTP server accepted, written the moment it answers "250".

The outbox marks a mail sent in the database after the SMTP server accepted it. Between the two
a sender can die (kill -9, a crash, the machine), and the database write can wait for a lock (on
SQLite, behind every request that writes) — a mail whose row still says "not sent" would then be
sent again by the next sender. So a sender first appends the Message-ID to this journal and
fsyncs it: one local append, no lock shared with anyone, done microseconds after the server's
answer. A sender that takes over a mail whose earlier attempt has no known outcome looks here
first: a Message-ID found here was accepted and is only marked sent.

One journal per instance folder (every process of one machine shares it; appends of one short
line with O_APPEND are atomic). Files are per UTC day and deleted after MAIL_JOURNAL_DAYS.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from flask import current_app

PREFIX = "accepted-"


def _folder(config) -> Path:
    return Path(config.get("MAIL_JOURNAL_DIR") or Path(current_app.instance_path) / "outbox-journal")


def record_accepted(message_id: str, config=None) -> None:
    """Append message_id to today's journal and make it durable before returning."""
    config = config if config is not None else current_app.config
    folder = _folder(config)
    today = dt.datetime.now(dt.timezone.utc)
    path = folder / f"{PREFIX}{today:%Y-%m-%d}.log"
    new = not path.exists()
    if new:
        folder.mkdir(parents=True, exist_ok=True)
    line = f"{today:%Y-%m-%dT%H:%M:%S} {message_id}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:  # the new file's name must survive a power cut too
        _fsync_folder(folder)
        _prune(folder, config, today)


def was_accepted(message_id: str, config=None) -> bool:
    """Return True when the journal says the SMTP server accepted this Message-ID."""
    config = config if config is not None else current_app.config
    folder = _folder(config)
    if not folder.is_dir():
        return False
    needle = f" {message_id}\n".encode()
    for path in sorted(folder.glob(f"{PREFIX}*.log"), reverse=True):  # the newest day first
        with open(path, "rb") as journal:
            if any(line.endswith(needle) for line in journal):
                return True
    return False


def _prune(folder: Path, config, today: dt.datetime) -> None:
    """Delete the days older than MAIL_JOURNAL_DAYS (a mail left that long is not reclaimed blind)."""
    keep = int(config.get("MAIL_JOURNAL_DAYS", 30))
    oldest = f"{PREFIX}{(today - dt.timedelta(days=keep)):%Y-%m-%d}.log"
    for path in folder.glob(f"{PREFIX}*.log"):
        if path.name < oldest:
            path.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder; the line itself is synced
        pass
    finally:
        os.close(fd)
