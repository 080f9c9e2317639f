"""Mail and FTP client configuration for a customer's domain, made from the provider facts.

Every value comes from content/provider.yaml, the same facts the guides show. Its host names
are examples for the example domain ("mail.voorbeeld.nl"); a customer's host name is that value
with the example domain swapped for theirs, so a guide and a configuration file can never disagree.

Out of one MailSettings come Thunderbird's autoconfig file, Outlook's Autodiscover answer and
Apple's configuration profile; out of one FtpSettings a FileZilla site-manager file. Only domains
we host (a Domain row) get settings, and no file ever holds a password.
"""

from __future__ import annotations

import datetime as dt
import plistlib
import re
import uuid
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted_xml
from markupsafe import escape
from sqlalchemy import select

from .accounts import is_domain_name, normalise_domain
from .extensions import db
from .models import Domain

MAX_ADDRESS_LENGTH = 254  # RFC 5321: the longest address a mail server accepts
MAX_LOCAL_PART_LENGTH = 64
# The dot-atom of RFC 5322: what mail servers accept as a mailbox name without quoting.
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
# An Autodiscover request is a few hundred bytes; anything much larger is not one.
MAX_AUTODISCOVER_BYTES = 16 * 1024

AUTODISCOVER_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
AUTODISCOVER_OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

# FileZilla's enums (libfilezilla's ServerProtocol and LogonType); FileZilla never renumbers them.
FILEZILLA_SFTP = 1
FILEZILLA_FTPES = 4  # FTP over explicit TLS
FILEZILLA_LOGON_ASK = 2  # "Ask for password": what FileZilla itself writes when it keeps no password

# The facts that hold a host name or user name for the example domain.
HOST_FACTS = ("imap_host", "pop3_host", "smtp_host", "ftp_host", "ftp_user")


class SetupError(ValueError):
    """An address or domain we cannot make settings for; reason is one of REASONS."""

    REASONS = ("empty", "too_long", "malformed", "not_hosted")

    def __init__(self, reason: str, domain: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.domain = domain


class AutodiscoverError(Exception):
    """An Autodiscover request we cannot answer with settings, with Microsoft's error code."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


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


# -- Thunderbird: Mozilla autoconfig ------------------------------------------------


def _element(parent: ET.Element, tag: str, text=None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def autoconfig_xml(settings: MailSettings, documentation_url: str | None = None,
                   documentation_texts: dict[str, str] | None = None) -> bytes:
    """Return Mozilla's config-v1.1.xml for the settings' domain.

    The user name is %EMAILADDRESS%: Thunderbird fills in what the user typed, so the file for a
    domain says nothing about any one mailbox.
    """
    root = ET.Element("clientConfig", version="1.1")
    provider = _element(root, "emailProvider", id=settings.domain)
    _element(provider, "domain", settings.domain)
    _element(provider, "displayName", f"{settings.provider} ({settings.domain})")
    _element(provider, "displayShortName", settings.provider)
    for kind, server in (("imap", settings.imap), ("pop3", settings.pop3)):
        incoming = _element(provider, "incomingServer", type=kind)
        _server_elements(incoming, server)
    for server in (settings.smtp, settings.smtp_starttls):
        outgoing = _element(provider, "outgoingServer", type="smtp")
        _server_elements(outgoing, server)
    if documentation_url:
        documentation = _element(provider, "documentation", url=documentation_url)
        for lang, text in (documentation_texts or {}).items():
            _element(documentation, "descr", text, lang=lang)
    return _xml_bytes(root)


def _server_elements(parent: ET.Element, server: Server) -> None:
    _element(parent, "hostname", server.hostname)
    _element(parent, "port", server.port)
    _element(parent, "socketType", server.socket)
    _element(parent, "authentication", "password-cleartext")
    _element(parent, "username", "%EMAILADDRESS%")


# -- Outlook: Autodiscover (POX) -----------------------------------------------------


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _same_schema(a: str, b: str) -> bool:
    # Microsoft's own documentation spells its schema URLs with https:// in places; clients send http://.
    return re.sub(r"^https?://", "", a.strip()) == re.sub(r"^https?://", "", b)


def read_autodiscover_request(body: bytes) -> str:
    """Return the EMailAddress of an Outlook Autodiscover request; raise AutodiscoverError.

    The body is parsed with defusedxml: no DTDs, no entities, no external references.
    """
    if len(body) > MAX_AUTODISCOVER_BYTES:
        raise AutodiscoverError(600, "Invalid Request")
    try:
        root = parse_untrusted_xml(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise AutodiscoverError(600, "Invalid Request") from None
    if _local_name(root.tag) != "Autodiscover":
        raise AutodiscoverError(600, "Invalid Request")
    request = next((child for child in root if _local_name(child.tag) == "Request"), None)
    if request is None:
        raise AutodiscoverError(600, "Invalid Request")
    fields = {_local_name(child.tag): (child.text or "").strip() for child in request}
    schema = fields.get("AcceptableResponseSchema", "")
    if not _same_schema(schema, AUTODISCOVER_OUTLOOK_NS):
        raise AutodiscoverError(601, "The requested schema version is not supported.")
    address = fields.get("EMailAddress", "")
    if not address:
        raise AutodiscoverError(600, "Invalid Request")
    return address


def autodiscover_response(settings: MailSettings) -> bytes:
    """Return the Outlook POX answer with the IMAP and SMTP settings of one address."""
    # Written with plain xmlns attributes, so the output has the exact shape of Microsoft's
    # examples (Response redeclares the default namespace) instead of generated prefixes.
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE_NS)
    response = _element(root, "Response", xmlns=AUTODISCOVER_OUTLOOK_NS)
    account = _element(response, "Account")
    _element(account, "AccountType", "email")
    _element(account, "Action", "settings")
    for kind, server in (("IMAP", settings.imap), ("SMTP", settings.smtp)):
        protocol = _element(account, "Protocol")
        _element(protocol, "Type", kind)
        _element(protocol, "Server", server.hostname)
        _element(protocol, "Port", server.port)
        _element(protocol, "DomainRequired", "off")
        _element(protocol, "LoginName", settings.username)
        _element(protocol, "SPA", "off")
        _element(protocol, "SSL", "on" if server.socket == "SSL" else "off")
        _element(protocol, "AuthRequired", "on")
        if kind == "SMTP":
            _element(protocol, "UsePOPAuth", "on")  # the same user name and password as for IMAP
    return _xml_bytes(root)


def autodiscover_error(error: AutodiscoverError, server_name: str = "") -> bytes:
    """Return an Autodiscover error response (the shape Exchange sends, with its error codes)."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE_NS)
    response = _element(root, "Response")
    now = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S.%f")
    # Exchange puts a hash of its server name in Id: a constant per server, so nothing is revealed.
    element = _element(response, "Error", Time=now, Id=zlib.crc32(server_name.encode()))
    _element(element, "ErrorCode", error.code)
    _element(element, "Message", error.message)
    _element(element, "DebugData")
    return _xml_bytes(root)


# -- iPhone, iPad and Mac: Apple configuration profile -----------------------------


@dataclass(frozen=True)
class ProfileTexts:
    """What the device shows while installing the profile, in the visitor's language."""

    display_name: str
    description: str
    account_description: str


def profile_uuid(address: str, part: str) -> str:
    """Return a UUID that stays the same for this address, so a new download replaces the old profile."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{address}#{part}")).upper()


def apple_profile(settings: MailSettings, texts: ProfileTexts, identifier_prefix: str) -> bytes:
    """Return an unsigned .mobileconfig with one IMAP account; the device asks for the password."""
    profile_id = profile_uuid(settings.address, "profile")
    mail_id = profile_uuid(settings.address, "mail")
    account = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier_prefix}.{profile_id}.mail",
        "PayloadUUID": mail_id,
        "PayloadDisplayName": texts.account_description,
        "EmailAccountDescription": texts.account_description,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": settings.address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": settings.imap.hostname,
        "IncomingMailServerPortNumber": settings.imap.port,
        "IncomingMailServerUseSSL": settings.imap.socket == "SSL",
        "IncomingMailServerUsername": settings.username,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": settings.smtp.hostname,
        "OutgoingMailServerPortNumber": settings.smtp.port,
        "OutgoingMailServerUseSSL": settings.smtp.socket == "SSL",
        "OutgoingMailServerUsername": settings.username,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "PreventMove": False,
        "PreventAppSheet": False,
        "SMIMEEnabled": False,
    }
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{identifier_prefix}.{profile_id}",
        "PayloadUUID": profile_id,
        "PayloadDisplayName": texts.display_name,
        "PayloadDescription": texts.description,
        "PayloadOrganization": settings.provider,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [account],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)


def sign_profile(profile: bytes, certificate_pem: bytes, key_pem: bytes, key_password: bytes | None = None) -> bytes:
    """Return the profile wrapped in a CMS (PKCS #7) signature, as Apple devices verify it.

    The certificate file may hold the chain after the signing certificate; it is sent along.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    certificates = x509.load_pem_x509_certificates(certificate_pem)
    key = serialization.load_pem_private_key(key_pem, password=key_password)
    builder = pkcs7.PKCS7SignatureBuilder().set_data(profile).add_signer(certificates[0], key, hashes.SHA256())
    for certificate in certificates[1:]:
        builder = builder.add_certificate(certificate)
    return builder.sign(serialization.Encoding.DER, [])


# -- FileZilla: a site-manager export -------------------------------------------------


def filezilla_sites(settings: FtpSettings) -> bytes:
    """Return the XML that FileZilla imports with File > Import: one FTPS and one SFTP site.

    Elements in the order FileZilla writes them; no <Pass>, and "ask for password" so FileZilla
    asks at the first connection. No version attribute: FileZilla warns about files from a newer version.
    """
    root = ET.Element("FileZilla3")
    servers = _element(root, "Servers")
    sites = (
        (FILEZILLA_FTPES, settings.ftp_port, "MODE_PASSIVE", f"{settings.domain} (FTPS)"),
        (FILEZILLA_SFTP, settings.sftp_port, "MODE_DEFAULT", f"{settings.domain} (SFTP)"),
    )
    for protocol, port, passive_mode, name in sites:
        server = _element(servers, "Server")
        _element(server, "Host", settings.host)
        _element(server, "Port", port)
        _element(server, "Protocol", protocol)
        _element(server, "Type", 0)
        _element(server, "User", settings.user)
        _element(server, "Logontype", FILEZILLA_LOGON_ASK)
        _element(server, "TimezoneOffset", 0)
        _element(server, "PasvMode", passive_mode)
        _element(server, "MaximumMultipleConnections", 0)
        _element(server, "EncodingType", "Auto")
        _element(server, "BypassProxy", 0)
        _element(server, "Name", name)
    return _xml_bytes(root)
