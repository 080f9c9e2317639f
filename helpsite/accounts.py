"""People: password hashing, loading the logged-in user, creating users and assigning domains."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from argon2 import PasswordHasher
from flask import current_app, has_app_context
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from .extensions import db
from .models import PLANS, ROLES, Domain, User, utcnow

# argon2id. OWASP's minimum (ASVS 2.4) is m=19 MiB, t=2, p=1; argon2-cffi's defaults (RFC 9106's
# low-memory profile: m=64 MiB, t=3, p=4) are stronger still and are what production uses. The
# test suite sets the OWASP minimum through ARGON2_* settings to stay fast.
_hashers: dict[tuple, PasswordHasher] = {}


def password_hasher() -> PasswordHasher:
    """Return the argon2id hasher with the parameters from the settings."""
    config = current_app.config if has_app_context() else {}
    params = (int(config.get("ARGON2_TIME_COST", 3)), int(config.get("ARGON2_MEMORY_COST", 65536)),
              int(config.get("ARGON2_PARALLELISM", 4)))
    if params not in _hashers:
        _hashers[params] = PasswordHasher(time_cost=params[0], memory_cost=params[1], parallelism=params[2])
    return _hashers[params]

DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
MIN_PASSWORD_LENGTH = 12
_dummy_hashes: dict[int, str] = {}


class AccountError(ValueError):
    """A user or domain that cannot be created; the message says why."""


class PasswordPolicyError(AccountError):
    """A password that is too short, too common or unusable; code says which (for a translated message)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# zxcvbn (Dropbox's estimator, with its list of the 30,000 most common passwords, keyboard
# patterns, repeats, dates and names) scores 0-4; below 3 a password falls to an online or a
# fast offline guessing attack. "password1234" and "aaaaaaaaaaaa" score 1 and 0.
MIN_PASSWORD_SCORE = 3


def check_password_policy(password: str, user_inputs=()) -> None:
    """Raise PasswordPolicyError unless the password is long, not common and usable as typed."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError("too_short", f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if not password.strip() or password != password.strip():
        # Spaces inside are fine (a passphrase); at the ends they are lost by forms and password managers.
        raise PasswordPolicyError("whitespace", "the password must not start or end with a space")
    inputs = [str(value) for value in user_inputs if value]
    for value in list(inputs):
        inputs.extend(re.split(r"[@.\-_]", value))
    # Imported here: its word lists take about 12 MiB, which a worker that never sets a password
    # should not carry.
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        raise PasswordPolicyError("too_common", "the password is too common or too easy to guess: "
                                                "use a few unrelated words, or a password manager")


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    return password_hasher().hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Return whether the password is the user's; rehash when the parameters were raised."""
    hasher = password_hasher()
    if user is None:
        # Verify against a dummy hash so that an unknown address takes as long as a wrong password.
        # It is made once per hasher: hashing anew on every call would take twice as long as a
        # known address and give the account away (issue 9, finding 6).
        dummy = _dummy_hashes.get(id(hasher))
        if dummy is None:
            dummy = _dummy_hashes.setdefault(id(hasher), hasher.hash(secrets.token_hex(16)))
        try:
            hasher.verify(dummy, password)
        except VerificationError:
            pass
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def normalise_domain(name: str) -> str:
    """Return a domain name in lowercase without a trailing dot or scheme, IDN as punycode."""
    name = (name or "").strip().lower().rstrip(".")
    name = re.sub(r"^[a-z]+://", "", name).split("/")[0]
    try:
        name = name.encode("idna").decode("ascii") if name and not name.isascii() else name
    except UnicodeError:
        return name
    return name


def is_domain_name(name: str) -> bool:
    return bool(DOMAIN_NAME.match(name))


def find_user(email: str) -> User | None:
    """Return the user with this email address, or None."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str, role: str = "customer", plan: str = "standard",
                name: str = "", locale: str = "nl", domains=()) -> User:
    """Create a user with a hashed password and optional domains; raise AccountError on bad input."""
    email = normalise_email(email)
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise AccountError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if plan not in PLANS:
        raise AccountError(f"plan must be one of {', '.join(PLANS)}")
    check_password_policy(password, user_inputs=(email, name, *domains))
    if find_user(email):
        raise AccountError(f"a user with address {email} exists already")
    user = User(email=email, password_hash=hash_password(password), role=role, plan=plan, name=name,
                locale=locale)
    db.session.add(user)
    for domain in domains:
        assign_domain(user, domain)
    db.session.commit()
    return user


def assign_domain(user: User, name: str) -> Domain:
    """Give a customer a domain; raise AccountError when it is invalid or someone else's."""
    name = normalise_domain(name)
    if not is_domain_name(name):
        raise AccountError(f"not a domain name: {name!r}")
    existing = db.session.scalar(select(Domain).where(Domain.name == name))
    if existing and existing.user_id != user.id:
        raise AccountError(f"{name} belongs to another customer")
    if existing:
        return existing
    domain = Domain(name=name, owner=user)
    db.session.add(domain)
    return domain


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(days=float(current_app.config.get("SESSION_LIFETIME_DAYS", 30)))


def start_session(user: User) -> None:
    """Give the user a fresh session token at login (the old cookie's identity stops working).

    The token expires on the server after SESSION_LIFETIME_DAYS, however long a cookie
    (remember-me included) would have lived: then the user logs in again.
    """
    user.session_token = secrets.token_hex(32)
    user.session_expires_at = utcnow() + session_lifetime()
    db.session.commit()


def end_session(user: User) -> None:
    """Invalidate the user's session token at logout: a copied cookie no longer logs anyone in."""
    user.session_token = secrets.token_hex(32)
    db.session.commit()


def domain_owner(name: str) -> User | None:
    """Return the customer who holds this domain (or the parent domain of a subdomain)."""
    name = normalise_domain(name)
    labels = name.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if not candidates:
        return None
    domain = db.session.scalars(select(Domain).where(Domain.name.in_(candidates))).first()
    return domain.owner if domain else None


def load_user(session_token: str) -> User | None:
    """Return the user whose current, unexpired session token is in the session cookie."""
    user = db.session.scalar(select(User).where(User.session_token == session_token))
    if user is None or user.session_expires_at is None or user.session_expires_at <= utcnow():
        return None
    return user


# -- password reset ------------------------------------------------------------------------------
# A reset link carries a signed, time-stamped token naming the user and a fingerprint of their
# current password hash. It needs no table: it expires by its time stamp, and it is single-use
# because setting the new password changes the hash (argon2 salts every hash), so the fingerprint
# no longer matches. The same holds for a link sent before a later successful reset.

RESET_SALT = "password-reset"


def _reset_serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _hash_fingerprint(user: User) -> str:
    import hashlib

    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def password_reset_token(user: User) -> str:
    """Return a reset token for this user, valid until the password changes or it expires."""
    return _reset_serializer().dumps({"u": user.id, "h": _hash_fingerprint(user)})


def user_for_reset_token(token: str, max_age: int) -> User | None:
    """Return the user a reset token is for, or None when it is forged, expired or used."""
    from itsdangerous import BadData

    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not secrets.compare_digest(str(data.get("h", "")), _hash_fingerprint(user)):
        return None
    return user


def reset_password(user: User, password: str) -> None:
    """Set a new password and end every session of the user; raise PasswordPolicyError for a weak one."""
    check_password_policy(password, user_inputs=(user.email,))
    user.password_hash = hash_password(password)
    user.session_token = secrets.token_hex(32)  # a stolen session ends with the reset
    db.session.commit()


def queue_password_reset_mail(user: User, reset_url: str, lang: str, valid_minutes: int) -> None:
    """Put the mail with the reset link in the outbox, in the language the reader asked in."""
    from flask import render_template
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from . import mail

    with force_locale(lang):
        context = {"reset_url": reset_url, "minutes": valid_minutes, "lang": lang}
        body = render_template("mail/password_reset.txt", **context)
        html = render_template("mail/password_reset.html", **context)
        subject = _("Set a new password for Web://Xtra Help")
    mail.queue_mail(user.email, subject, body, html)
    db.session.commit()
