"""Thunderbird's autoconfig file and Outlook's Autodiscover answer, made from one MailSettings."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted_xml

from .settings import MailSettings, Server

# An Autodiscover request is a few hundred bytes; anything much larger is not one.
MAX_AUTODISCOVER_BYTES = 16 * 1024

AUTODISCOVER_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
AUTODISCOVER_RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
AUTODISCOVER_OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"


class AutodiscoverError(Exception):
    """An Autodiscover request we cannot answer with settings, with Microsoft's error code."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


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
