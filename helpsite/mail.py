"""Outgoing mail through an outbox table: a mail is saved first and sent after, so nothing
is lost when the SMTP server is down; `flask mail send` (or the next mail) retries."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app
from sqlalchemy import select

from .extensions import db
from .models import OutgoingMail, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 50


def queue_mail(recipient: str, subject: str, body: str, html: str | None = None,
               ticket_id: int | None = None) -> OutgoingMail:
    """Put a mail in the outbox; the caller commits it together with what it is about."""
    mail = OutgoingMail(recipient=recipient, subject=subject[:300], body=body, html=html, ticket_id=ticket_id)
    db.session.add(mail)
    return mail


def build_message(mail: OutgoingMail, config) -> EmailMessage:
    """Turn an outbox row into an RFC 5322 message."""
    message = EmailMessage()
    message["From"] = formataddr((config.get("MAIL_SENDER_NAME", "Web://Xtra Support"),
                                  config.get("MAIL_SENDER", "support@webxtra.nl")))
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    # The ticket number in the Message-ID lets a reply thread by its In-Reply-To header even when
    # the customer's mail program dropped "[#N]" from the subject (helpsite/mail_in.py).
    message["Message-ID"] = make_msgid(idstring=f"ticket-{mail.ticket_id}" if mail.ticket_id else None,
                                       domain=config.get("MAIL_MESSAGE_ID_DOMAIN", "webxtra.nl"))
    message["Auto-Submitted"] = "auto-generated" if mail.ticket_id is None else "auto-replied"
    if mail.ticket_id is not None:
        message["X-Ticket-Number"] = str(mail.ticket_id)
    message.set_content(mail.body)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def _connect(config) -> smtplib.SMTP:
    host, port = config.get("MAIL_SERVER", "localhost"), int(config.get("MAIL_PORT", 25))
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


def send_pending(limit: int = 100) -> tuple[int, int]:
    """Try to send what waits in the outbox; return (sent, still waiting). Never raises on SMTP errors."""
    config = current_app.config
    if config.get("MAIL_SUPPRESS_SEND"):
        return 0, 0
    pending = db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS)
        .order_by(OutgoingMail.id).limit(limit)
    ).all()
    if not pending:
        return 0, 0
    sent = 0
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        for mail in pending:
            mail.attempts += 1
            mail.last_error = f"cannot connect: {exc}"[:1000]
        db.session.commit()
        log.warning("SMTP server unreachable, %d mail(s) wait in the outbox: %s", len(pending), exc)
        return 0, len(pending)
    try:
        for mail in pending:
            mail.attempts += 1
            try:
                smtp.send_message(build_message(mail, config))
            except (OSError, smtplib.SMTPException) as exc:
                mail.last_error = str(exc)[:1000]
                log.warning("mail %s not sent: %s", mail.id, exc)
            else:
                mail.sent_at = utcnow()
                mail.last_error = None
                sent += 1
            db.session.commit()
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return sent, len(pending) - sent


def outbox_size() -> int:
    """Return how many mails wait to be sent."""
    return db.session.query(OutgoingMail).filter(OutgoingMail.sent_at.is_(None)).count()
