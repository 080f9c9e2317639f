"""Outgoing mail through an outbox table: each mail is sent exactly once, and never lost.

A mail is written to the outbox in the same transaction as what it is about, with its
Message-ID fixed there. After the commit a sender outside the request sends it: a thread in
the app process (woken by the commit) and `flask mail send` from cron. A sender first claims
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one atomic UPDATE on SQLite), so two senders
never send the same row; a claim left by a killed sender expires, and the retry carries the
same Message-ID. Every real attempt counts and is followed by a growing pause; a mail that
keeps failing is given up, reported by `flask mail send`, shown to admins, and can be retried.

Sent once even when a sender dies: before the SMTP conversation the row is marked "sending"
(committed); the moment the server accepts, the Message-ID goes into a local fsync'd journal
(helpsite/outbox_journal.py, no database lock to wait for), and only then is the row marked
sent. A sender that takes over a row still marked "sending" asks the journal first; a mail the
journal knows is marked sent, not sent again. What remains is the time between the server's
"250" and the journal's write (README, "Mail out").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from sqlalchemy import or_, select, text, update

from . import outbox_journal
from .extensions import db
from .models import OutgoingMail, utcnow

log = logging.getLogger(__name__)
BATCH = 20
# On PostgreSQL a commit that queued mail notifies this channel, so the outbox service
# (`flask mail run`, LISTENing) sends at once instead of at its next round.
NOTIFY_CHANNEL = "helpsite_outbox"


# -- the Message-ID: one format, written and parsed here -----------------------------------------

def _signature(config, ticket_id: int) -> str:
    key = str(config.get("SECRET_KEY") or "").encode()
    return hmac.new(key, f"ticket-{ticket_id}".encode(), hashlib.sha256).hexdigest()[:16]


def thread_id(ticket_id: int | None, config=None) -> str:
    """Return a new Message-ID; for a ticket's mail it carries the number and a reply token.

    The token is an HMAC of the ticket number under SECRET_KEY: only someone who received our
    mail about the ticket can put it in In-Reply-To/References, so a reply that carries it is
    from someone we wrote to (helpsite/mail_in/ trusts it).
    """
    config = config if config is not None else current_app.config
    domain = config.get("MAIL_MESSAGE_ID_DOMAIN", "webxtra.nl")
    unique = secrets.token_hex(12)
    if ticket_id is None:
        return f"<{unique}@{domain}>"
    return f"<{unique}.t{ticket_id}.{_signature(config, ticket_id)}@{domain}>"


def thread_ids(text: str, config=None) -> list[int]:
    """Return the ticket numbers of the Message-IDs of ours in text that carry a valid reply token."""
    config = config if config is not None else current_app.config
    domain = re.escape(config.get("MAIL_MESSAGE_ID_DOMAIN", "webxtra.nl").lower())
    numbers = []
    for match in re.finditer(r"<[0-9a-f]+\.t(\d{1,9})\.([0-9a-f]{16})@" + domain + ">", (text or "").lower()):
        number = int(match.group(1))
        if hmac.compare_digest(match.group(2), _signature(config, number)) and number not in numbers:
            numbers.append(number)
    return numbers


def parse_thread_id(text: str, config=None) -> int | None:
    """Return the ticket number of the first Message-ID of ours in text with a valid reply token."""
    numbers = thread_ids(text, config)
    return numbers[0] if numbers else None


# -- writing and sending -------------------------------------------------------------------------

def queue_mail(recipient: str, subject: str, body: str, html: str | None = None,
               ticket_id: int | None = None, auto_submitted: str | None = "automatic",
               in_reply_to: str | None = None, references: str | None = None) -> OutgoingMail:
    """Put a mail in the outbox; the caller commits it together with what it is about.

    auto_submitted: None for a mail a person wrote (an agent's answer); by default automatic
    mail about a ticket is "auto-replied" (it answers the customer's mail) and other mail
    "auto-generated" (RFC 3834), so that auto-responders do not answer it.
    """
    if auto_submitted == "automatic":
        auto_submitted = "auto-replied" if ticket_id is not None else "auto-generated"
    mail = OutgoingMail(recipient=recipient, subject=subject[:300], body=body, html=html, ticket_id=ticket_id,
                        message_id=thread_id(ticket_id), auto_submitted=auto_submitted,
                        in_reply_to=in_reply_to, references=references, created_at=utcnow())
    db.session.add(mail)
    db.session.info["outbox_queued"] = True  # wakes the background sender after the commit
    if db.engine.dialect.name == "postgresql":
        # Part of the transaction: delivered at the commit, never for a rollback; several in one
        # transaction are folded into one by PostgreSQL.
        db.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return mail


def build_message(mail: OutgoingMail, config) -> EmailMessage:
    """Turn an outbox row into an RFC 5322 message."""
    message = EmailMessage()
    message["From"] = formataddr((config.get("MAIL_SENDER_NAME", "Web://Xtra Support"),
                                  config.get("MAIL_SENDER", "support@webxtra.nl")))
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = mail.references
    if mail.auto_submitted:
        message["Auto-Submitted"] = mail.auto_submitted
    if mail.ticket_id is not None:
        message["X-Ticket-Number"] = str(mail.ticket_id)
    message.set_content(mail.body)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def _connect(config) -> smtplib.SMTP:
    host, port = config.get("MAIL_SERVER", "localhost"), int(config.get("MAIL_PORT", 8025))
    timeout = float(config.get("MAIL_TIMEOUT", 5))
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    return smtp


@dataclass
class SendReport:
    """What one `send_pending` did."""

    sent: int = 0
    waiting: int = 0  # not sent yet; tried again after a pause
    given_up: int = 0  # given up in this run

    def __iter__(self):  # (sent, waiting), as callers and tests unpack it
        return iter((self.sent, self.waiting))

    def __eq__(self, other):
        if isinstance(other, tuple):
            return (self.sent, self.waiting) == other
        return NotImplemented


def _claim(limit: int, now: dt.datetime, lease: dt.timedelta, ignore_pause: bool = False
           ) -> tuple[str, list[OutgoingMail]]:
    """Claim up to limit due mails for this sender; nobody else sends them while the claim lasts."""
    token = secrets.token_hex(16)
    due_at = now + dt.timedelta(days=3650) if ignore_pause else now
    due = (select(OutgoingMail.id)
           .where(OutgoingMail.sent_at.is_(None), OutgoingMail.failed_at.is_(None),
                  or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= due_at),
                  or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now))
           .order_by(OutgoingMail.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)  # a row another sender is claiming is skipped, not waited for
    # One statement: on SQLite it runs under the database's write lock, so it is atomic as well.
    db.session.execute(update(OutgoingMail).where(OutgoingMail.id.in_(due.scalar_subquery()))
                       .values(claim_token=token, claimed_until=now + lease)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    claimed = db.session.scalars(select(OutgoingMail).where(OutgoingMail.claim_token == token)
                                 .order_by(OutgoingMail.id)).all()
    return token, list(claimed)


def _renew(mail: OutgoingMail, token: str, lease: dt.timedelta) -> bool:
    """Extend our claim on a mail and mark it "sending" just before SMTP; False when it is no longer ours."""
    renewed = db.session.execute(update(OutgoingMail)
                                 .where(OutgoingMail.id == mail.id, OutgoingMail.claim_token == token,
                                        OutgoingMail.sent_at.is_(None))
                                 .values(claimed_until=utcnow() + lease, sending_since=utcnow())
                                 .execution_options(synchronize_session=False))
    db.session.commit()
    return renewed.rowcount == 1


def retry_delay(attempts: int, config) -> dt.timedelta:
    """Return the pause after this many failed attempts: doubling from MAIL_RETRY_BASE up to MAIL_RETRY_MAX."""
    base = float(config.get("MAIL_RETRY_BASE", 30))
    ceiling = float(config.get("MAIL_RETRY_MAX", 3600))
    return dt.timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


def _failed(mail: OutgoingMail, error: str, config, now: dt.datetime, permanent: bool = False) -> bool:
    """Count a failed attempt; return True when the mail is given up now."""
    mail.attempts += 1
    mail.last_error = error[:1000]
    mail.claim_token = mail.claimed_until = mail.sending_since = None
    if permanent or mail.attempts >= int(config.get("MAIL_MAX_ATTEMPTS", 20)):
        mail.failed_at = now
        log.error("mail %s to %s given up after %d attempt(s): %s", mail.id, mail.recipient, mail.attempts, error)
        return True
    mail.next_attempt_at = now + retry_delay(mail.attempts, config)
    return False


def _release(mails) -> None:
    """Give back claims on mails that were not tried: they count no attempt.

    A "sending" mark from an earlier, dead sender stays: that attempt's outcome is still unknown.
    """
    for mail in mails:
        mail.claim_token = mail.claimed_until = None


def send_pending(limit: int = 500, ignore_pause: bool = False) -> SendReport:
    """Send what is due in the outbox, in claimed batches; never raises on SMTP errors.

    ignore_pause: also send mail that still pauses after a failed attempt (the SMTP server is
    known to be back).
    """
    config = current_app.config
    report = SendReport()
    if config.get("MAIL_SUPPRESS_SEND"):
        return report
    timeout = float(config.get("MAIL_TIMEOUT", 5))
    # A claim is renewed before each mail, so it has to outlive one mail (connect, send, commit)
    # with room to spare; a sender killed meanwhile leaves its mails to the next one when it ends.
    lease = dt.timedelta(seconds=float(config.get("MAIL_CLAIM_SECONDS") or 60 + 3 * timeout))
    while limit > 0:
        now = utcnow()
        token, batch = _claim(min(BATCH, limit), now, lease, ignore_pause)
        if not batch:
            break
        limit -= len(batch)
        batch = _settle_unknown_attempts(batch, report)
        if not batch:
            continue
        try:
            smtp = _connect(config)
        except (OSError, smtplib.SMTPException) as exc:
            for mail in batch:
                report.given_up += _failed(mail, f"cannot connect: {exc}", config, now)
            db.session.commit()
            log.warning("SMTP server unreachable, %d mail(s) wait in the outbox: %s", len(batch), exc)
            break
        try:
            for index, mail in enumerate(batch):
                if not _renew(mail, token, lease):
                    continue  # a slow database let our claim run out and another sender took it: not ours
                try:
                    smtp.send_message(build_message(mail, config))
                except smtplib.SMTPRecipientsRefused as exc:  # this address: 5xx is final, 4xx may pass later
                    codes = [code for code, _msg in exc.recipients.values()]
                    report.given_up += _failed(mail, str(exc), config, utcnow(),
                                               permanent=all(code >= 500 for code in codes))
                except (OSError, smtplib.SMTPException) as exc:
                    report.given_up += _failed(mail, str(exc), config, utcnow())
                    _release(batch[index + 1:])  # the connection is gone: the rest waits for the next round
                    db.session.commit()
                    log.warning("mail %s not sent: %s", mail.id, exc)
                    return _finish(report)
                else:
                    _journal_accepted(mail, config)
                    _mark_sent(mail)
                    report.sent += 1
                db.session.commit()
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return _finish(report)


def _journal_accepted(mail: OutgoingMail, config) -> None:
    """Write down at once, without waiting for the database, that the SMTP server accepted this mail."""
    try:
        outbox_journal.record_accepted(mail.message_id, config)
    except OSError:  # the mail went out all the same: the database says so in a moment
        log.exception("cannot write the outbox journal for mail %s", mail.id)


def _mark_sent(mail: OutgoingMail) -> None:
    mail.sent_at = utcnow()
    mail.attempts += 1
    mail.last_error = None
    mail.claim_token = mail.claimed_until = mail.sending_since = None


def _settle_unknown_attempts(batch: list[OutgoingMail], report: SendReport) -> list[OutgoingMail]:
    """Mark sent the claimed mails a dead sender already handed over; return the rest to send.

    A row still marked "sending" was being sent when its sender died. When the journal holds
    its Message-ID the server accepted it; otherwise the outcome is unknown (the sender died
    before, during or a moment after the conversation) and the mail goes again with the same
    Message-ID, so a receiver that has it already can tell.
    """
    rest = []
    for mail in batch:
        if mail.sending_since is not None and outbox_journal.was_accepted(mail.message_id):
            log.info("mail %s was accepted before its sender stopped: marked sent, not sent again", mail.id)
            _mark_sent(mail)
            report.sent += 1
        else:
            if mail.sending_since is not None:
                log.warning("mail %s: an earlier attempt has no known outcome; sending it again with "
                            "the same Message-ID", mail.id)
            rest.append(mail)
    if len(rest) < len(batch):
        db.session.commit()
    return rest


def _finish(report: SendReport) -> SendReport:
    report.waiting = waiting_count()
    return report


def waiting_count() -> int:
    """Return how many mails wait to be sent (not sent, not given up)."""
    return db.session.query(OutgoingMail).filter(OutgoingMail.sent_at.is_(None),
                                                 OutgoingMail.failed_at.is_(None)).count()


def given_up() -> list[OutgoingMail]:
    """Return the mails that were given up, newest first."""
    return list(db.session.scalars(select(OutgoingMail).where(OutgoingMail.failed_at.is_not(None))
                                   .order_by(OutgoingMail.id.desc())).all())


def retry(mail_ids=None) -> int:
    """Put given-up mails (these ids, or all) back in the outbox; return how many."""
    query = update(OutgoingMail).where(OutgoingMail.failed_at.is_not(None), OutgoingMail.sent_at.is_(None))
    if mail_ids is not None:
        query = query.where(OutgoingMail.id.in_(list(mail_ids)))
    result = db.session.execute(query.values(failed_at=None, attempts=0, next_attempt_at=None,
                                             claim_token=None, claimed_until=None)
                                .execution_options(synchronize_session=False))
    db.session.info["outbox_queued"] = True
    db.session.commit()
    return result.rowcount
