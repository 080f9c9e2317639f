"""Logging in and out."""

from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from .. import accounts
from ..extensions import limiter
from ..i18n import localized_route

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(_l("Enter your email address.")),
                                                         Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=1024)])
    remember = BooleanField(_l("Keep me logged in on this device"))


def safe_next(target: str | None) -> str | None:
    """Return a same-site path to go back to after login, or None (no open redirects)."""
    if not target:
        return None
    # Control characters (CR/LF would split the Location header) and backslashes (browsers read
    # "/\\evil.example" as "//evil.example") never belong in a path of ours.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user) -> str:
    if user.is_staff:
        return url_for("desk.queue") if "desk.queue" in current_app.view_functions else url_for("kb.home")
    if user.is_editor:
        return url_for("editor.dashboard") if "editor.dashboard" in current_app.view_functions else url_for("kb.home")
    return url_for("tickets.mine")


def login_failed(response) -> bool:
    """A login that did not succeed (a successful one redirects): only those count toward the limits."""
    return response.status_code != 302


def login_account() -> str:
    """The rate-limit key of the account being guessed: guesses from many addresses add up."""
    return "account:" + accounts.normalise_email(request.form.get("email", ""))[:254]


@localized_route(bp, {"nl": "/inloggen", "en": "/login"}, methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], deduct_when=login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=login_account, methods=["POST"],
               deduct_when=login_failed)
def login():
    """Log a customer or staff member in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.find_user(form.email.data)
        if accounts.check_password(user, form.password.data):
            next_page = safe_next(request.args.get("next"))
            accounts.start_session(user)
            lang = g.lang
            session.clear()  # a fresh session at login: nothing from before survives
            session["lang"] = lang
            login_user(user, remember=form.remember.data)
            flash(_("You are logged in."), "success")
            return redirect(next_page or home_for(user))
        form.password.errors.append(_("The email address or password is not right."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out, and make the old session cookie worthless."""
    lang = session.get("lang")
    accounts.end_session(current_user)
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "success")
    return redirect(url_for("kb.home"))


# -- password reset: new functions, kept apart from login ---------------------------------------

class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(_l("Enter your email address.")),
                                                         Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a new password.")),
        Length(min=accounts.MIN_PASSWORD_LENGTH, max=1024,
               message=_l("Use at least %(min)d characters."))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Type the new password again.")),
        EqualTo("password", message=_l("The two passwords are not the same."))])


def _address_key() -> str:
    """Rate-limit key for the address typed, so one inbox is not flooded from many places."""
    return "reset:" + accounts.normalise_email(request.form.get("email", ""))[:254]


@localized_route(bp, {"nl": "/wachtwoord-vergeten", "en": "/forgot-password"}, methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("PASSWORD_RESET_RATE_LIMIT", "5/hour"), methods=["POST"])
@limiter.limit(lambda: current_app.config.get("PASSWORD_RESET_ADDRESS_LIMIT", "3/hour"), methods=["POST"],
               key_func=_address_key)
def forgot_password():
    """Mail a link to set a new password; the answer is the same whether the address is known or not."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form, sent=False), \
            400 if request.method == "POST" else 200
    max_age = int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600))
    user = accounts.find_user(form.email.data)
    if user is not None:
        token = accounts.password_reset_token(user)
        accounts.queue_password_reset_mail(
            user, url_for("auth.reset_password", lang=g.lang, token=token, _external=True), g.lang, max_age // 60)
    response = make_response(render_template("auth/forgot_password.html", form=form, sent=True))
    return response  # the reset mail leaves through the outbox after the request: every address takes as long


# The password policy's refusals (accounts.check_password_policy), in the reader's language.
PASSWORD_POLICY_ERRORS = {
    "too_short": lambda: _("Use at least %(num)d characters.", num=accounts.MIN_PASSWORD_LENGTH),
    "whitespace": lambda: _("A password cannot start or end with a space."),
    "too_common": lambda: _("This password is too common or too easy to guess: use a few unrelated words, "
                            "or a password manager."),
}


@localized_route(bp, {"nl": "/nieuw-wachtwoord/<token>", "en": "/new-password/<token>"}, methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("LOGIN_RATE_LIMIT", "10/minute;50/hour"), methods=["POST"])
def reset_password(token):
    """Choose a new password with the link from the mail; the link works once and expires."""
    user = accounts.user_for_reset_token(token, int(current_app.config.get("PASSWORD_RESET_MAX_AGE", 3600)))
    if user is None:
        return render_template("auth/reset_password.html", form=None), 400
    form = NewPasswordForm()
    min_length = accounts.MIN_PASSWORD_LENGTH
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data)
        except accounts.PasswordPolicyError as exc:
            form.password.errors = [PASSWORD_POLICY_ERRORS[exc.code]()]
            return render_template("auth/reset_password.html", form=form, min_length=min_length), 400
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your password has been changed. Log in with your new password."), "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/reset_password.html", form=form, min_length=min_length), \
        400 if request.method == "POST" else 200
