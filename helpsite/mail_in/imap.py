"""Mail in from an IMAP mailbox: `flask tickets poll-imap`."""

from __future__ import annotations

import imaplib
import logging
from dataclasses import dataclass, field

from flask import current_app

from ..extensions import db
from .route import IngestResult, ingest

log = logging.getLogger("helpsite.mail_in")


# -- IMAP --------------------------------------------------------------------------------------

@dataclass
class PollReport:
    """What one IMAP poll did."""

    results: list[IngestResult] = field(default_factory=list)
    failed: int = 0  # mails left unseen in the mailbox, to be tried at the next poll


def poll_imap(limit: int = 200) -> PollReport:
    """Fetch the unseen mails from the IMAP mailbox, process each, and mark it \\Seen (or move it)."""
    config = current_app.config
    if not config.get("IMAP_HOST"):
        raise RuntimeError("IMAP_HOST is not set")
    connection_class = imaplib.IMAP4_SSL if config.get("IMAP_SSL", True) else imaplib.IMAP4
    connection = connection_class(config["IMAP_HOST"], int(config.get("IMAP_PORT", 993)),
                                  timeout=float(config.get("IMAP_TIMEOUT", 30)))
    report = PollReport()
    try:
        connection.login(config.get("IMAP_USER", ""), config.get("IMAP_PASSWORD", ""))
        status, _ = connection.select(config.get("IMAP_FOLDER") or "INBOX")
        if status != "OK":
            raise RuntimeError(f"cannot open folder {config.get('IMAP_FOLDER')!r}")
        status, data = connection.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split() if status == "OK" and data else []
        target = config.get("IMAP_PROCESSED_FOLDER") or ""
        can_move = "MOVE" in connection.capabilities
        expunge = False
        for uid in uids[:limit]:
            try:
                status, data = connection.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((item[1] for item in data or [] if isinstance(item, tuple)), None)
                if status != "OK" or raw is None:
                    raise RuntimeError(f"cannot fetch message {uid.decode()}: {status}")
                result = ingest(raw)
            except Exception:  # noqa: BLE001 - one bad message must not stop the others
                db.session.rollback()
                log.exception("IMAP message %s not processed; it stays unseen", uid)
                report.failed += 1
                continue
            report.results.append(result)
            try:
                if target and can_move:
                    connection.uid("MOVE", uid, target)
                elif target:
                    connection.uid("COPY", uid, target)
                    connection.uid("STORE", uid, "+FLAGS", "(\\Deleted \\Seen)")
                    expunge = True
                else:
                    connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            except (imaplib.IMAP4.error, OSError):
                log.exception("IMAP message %s processed but not marked; it may be processed again", uid)
        if expunge:
            connection.expunge()
    finally:
        try:
            connection.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return report
