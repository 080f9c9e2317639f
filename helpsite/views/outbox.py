"""Outgoing mail for admins: what waits, what was given up, and retrying it."""

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from .. import mail
from ..i18n import localized_route

bp = Blueprint("outbox", __name__)


def admin_required(view):
    """Let admins in; others get 403 (anonymous visitors are sent to log in)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapper


class RetryForm(FlaskForm):
    """Carries only the CSRF token; the mail id is the button's value."""


@localized_route(bp, {"nl": "/desk/uitgaande-mail", "en": "/desk/outgoing-mail"})
@admin_required
def index():
    """Show how much mail waits and which mail was given up."""
    return render_template("outbox/index.html", waiting=mail.waiting_count(), failed=mail.given_up(),
                           form=RetryForm())


@localized_route(bp, {"nl": "/desk/uitgaande-mail/opnieuw", "en": "/desk/outgoing-mail/retry"}, methods=["POST"])
@admin_required
def retry():
    """Put one given-up mail, or all of them, back in the outbox."""
    if not RetryForm().validate_on_submit():
        abort(400)
    which = request.form.get("mail", "")
    if which == "all":
        count = mail.retry()
    elif which.isdigit():
        count = mail.retry([int(which)])
    else:
        abort(400)
    flash(_("%(count)d mail(s) back in the outbox: they are sent within a minute.", count=count), "success")
    return redirect(url_for("outbox.index"))
