"""Apple's configuration profile (from one MailSettings) and FileZilla's site-manager file (from one FtpSettings)."""

from __future__ import annotations

import plistlib
import uuid
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from .autoconfig import _element, _xml_bytes
from .settings import FtpSettings, MailSettings

# FileZilla's enums (libfilezilla's ServerProtocol and LogonType); FileZilla never renumbers them.
FILEZILLA_SFTP = 1
FILEZILLA_FTPES = 4  # FTP over explicit TLS
FILEZILLA_LOGON_ASK = 2  # "Ask for password": what FileZilla itself writes when it keeps no password


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
