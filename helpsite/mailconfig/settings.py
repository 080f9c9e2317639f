"""Who gets which settings: the customer's address or domain checked, and the provider facts made theirs.

Every value comes from content/provider.yaml; a customer's host name is the example host name
with the example domain swapped for theirs (customer_value). The files made from these settings
are in autoconfig.py (Thunderbird, Outlook) and profiles.py (Apple, FileZilla).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import escape
from sqlalchemy import select

from ..accounts import is_domain_name, normalise_domain
from ..extensions import db
from ..models import Domain

MAX_ADDRESS_LENGTH = 254  # RFC 5321: the longest address a mail server accepts
MAX_LOCAL_PART_LENGTH = 64
# The dot-atom of RFC 5322: what mail servers accept as a mailbox name without quoting.
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

# The facts that hold a host name or user name for the example domain.
HOST_FACTS = ("imap_host", "pop3_host", "smtp_host", "ftp_host", "ftp_user")


class SetupError(ValueError):
    """An address or domain we cannot make settings for; reason is one of REASONS."""

    REASONS = ("empty", "too_long", "malformed", "not_hosted")

    def __init__(self, reason: str, domain: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.domain = domain


@dataclass(frozen=True)
class Server:
    """One server a client connects to; socket is "SSL" (TLS from the start) or "STARTTLS"."""

    hostname: str
    port: int
    socket: str


@dataclass(frozen=True)
class MailSettings:
    """How a mail client reaches one mailbox. The user name is always the full address."""

    address: str
    domain: str
    provider: str
    imap: Server
    pop3: Server
    smtp: Server
    smtp_starttls: Server

    @property
    def username(self) -> str:
        return self.address


@dataclass(frozen=True)
class FtpSettings:
    """How an FTP client reaches the web space of one domain."""

    domain: str
    provider: str
    host: str
    user: str
    ftp_port: int
    sftp_port: int


@dataclass(frozen=True)
class Target:
    """What a visitor asked settings for: a domain, and the address when they gave one."""

    domain: str
    address: str | None = None


# -- reading what the visitor typed -----------------------------------------------


def parse_target(text: str, allow_domain: bool = False) -> Target:
    """Check an email address (or, with allow_domain, a bare domain name); raise SetupError."""
    text = (text or "").strip()
    if not text:
        raise SetupError("empty")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise SetupError("too_long")
    if "@" not in text:
        if not allow_domain:
            raise SetupError("malformed")
        domain = _parse_domain(text)
        return Target(domain=domain)
    local, _, domain_text = text.rpartition("@")
    if not local or len(local) > MAX_LOCAL_PART_LENGTH or not LOCAL_PART.match(local):
        raise SetupError("malformed")
    domain = _parse_domain(domain_text)
    address = f"{local.lower()}@{domain}"
    if len(address) > MAX_ADDRESS_LENGTH:
        raise SetupError("too_long")
    return Target(domain=domain, address=address)


def _parse_domain(text: str) -> str:
    """Return a domain name in lowercase ASCII (IDN as punycode), or raise SetupError."""
    if any(c in text for c in "/:@ \t") or text != text.strip():
        raise SetupError("malformed")
    domain = normalise_domain(text)
    if not domain.isascii() or not is_domain_name(domain):
        raise SetupError("malformed")
    return domain


def is_hosted(domain: str) -> bool:
    """Return whether one of our customers holds this exact domain."""
    return db.session.scalar(select(Domain.id).where(Domain.name == domain)) is not None


def hosted_target(text: str, allow_domain: bool = False) -> Target:
    """Check what the visitor typed and that we host its domain; raise SetupError."""
    target = parse_target(text, allow_domain=allow_domain)
    if not is_hosted(target.domain):
        raise SetupError("not_hosted", domain=target.domain)
    return target


# -- settings from the provider facts ---------------------------------------------


def customer_value(example_value: str, example_domain: str, domain: str) -> str:
    """Return a provider fact for the customer's domain: the example domain swapped for theirs.

    A value that is not about the example domain (a shared server name) is the same for everyone.
    """
    if example_value == example_domain:
        return domain
    if example_value.endswith("." + example_domain):
        return example_value[: -len(example_domain)] + domain
    return example_value


def _fact(facts: dict[str, str], key: str, domain: str) -> str:
    return customer_value(facts[key], facts["domain"], domain)


def mail_settings(address: str, facts: dict[str, str]) -> MailSettings:
    """Return the mail settings of an (already checked) address from the provider facts."""
    domain = address.rpartition("@")[2]
    return MailSettings(
        address=address,
        domain=domain,
        provider=facts["company"],
        imap=Server(_fact(facts, "imap_host", domain), int(facts["imap_port"]), "SSL"),
        pop3=Server(_fact(facts, "pop3_host", domain), int(facts["pop3_port"]), "SSL"),
        smtp=Server(_fact(facts, "smtp_host", domain), int(facts["smtp_port_ssl"]), "SSL"),
        smtp_starttls=Server(_fact(facts, "smtp_host", domain), int(facts["smtp_port_starttls"]), "STARTTLS"),
    )


def ftp_settings(domain: str, facts: dict[str, str]) -> FtpSettings:
    """Return the FTP settings of an (already checked) domain from the provider facts."""
    return FtpSettings(
        domain=domain,
        provider=facts["company"],
        host=_fact(facts, "ftp_host", domain),
        user=_fact(facts, "ftp_user", domain),
        ftp_port=int(facts["ftp_port"]),
        sftp_port=int(facts["sftp_port"]),
    )


def example_address(facts: dict[str, str], domain: str) -> str:
    """Return the guides' example mailbox name at the customer's domain (info@klant.nl)."""
    return f"{facts['email'].rpartition('@')[0]}@{domain}"


# -- personalised guides ------------------------------------------------------------


def personalise_html(html: str, facts: dict[str, str], target: Target) -> str:
    """Replace the example address, host names and domain in rendered guide HTML with the customer's.

    The replacements are escaped; one pass, so a replaced value is never replaced again.
    """
    domain = target.domain
    address = target.address or example_address(facts, domain)
    replacements = {facts["email"]: address, facts["domain"]: domain}
    for key in HOST_FACTS:
        replacements.setdefault(facts[key], _fact(facts, key, domain))
    replacements = {old: new for old, new in replacements.items() if old and old != new}
    if not replacements:
        return html
    # Longest first, so "mail.voorbeeld.nl" wins over "voorbeeld.nl"; the lookarounds keep
    # "voorbeeld.nl" inside "andervoorbeeld.nl" or "voorbeeld.nl.backup" untouched.
    alternatives = "|".join(re.escape(old) for old in sorted(replacements, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-]|\.[\w-])")
    return pattern.sub(lambda m: str(escape(replacements[m.group(0)])), html)
