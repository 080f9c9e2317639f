"""Self-service client setup: every file read back by a real parser and checked against the provider facts."""

import datetime as dt
import functools
import plistlib
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import CONTENT_DIR, csrf_token

from helpsite import accounts, mailconfig
from helpsite.content import ArticleStore, load_yaml, provider_values

RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

# Microsoft's documented Outlook request ("Autodiscover request (POX)"), with our customer's address.
DOCUMENTED_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{scheme}://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
   <Request>
     <EMailAddress>{address}</EMailAddress>
     <AcceptableResponseSchema>{scheme}://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
   </Request>
 </Autodiscover>"""

# The order in which FileZilla's SetServer() writes a site without a stored password.
FILEZILLA_ORDER = ["Host", "Port", "Protocol", "Type", "User", "Logontype", "TimezoneOffset", "PasvMode",
                   "MaximumMultipleConnections", "EncodingType", "BypassProxy", "Name"]

PERSONAL = ("jan@klant.nl", "Jan Klant", "els@ander.nl", "Els Ander")


@pytest.fixture
def hosted(app):
    """Two customers: Jan holds klant.nl, Els holds ander.nl and the IDN domain bücher.nl."""
    with app.app_context():
        accounts.create_user("jan@klant.nl", "jan-password-12", name="Jan Klant", domains=["klant.nl"])
        accounts.create_user("els@ander.nl", "els-password-12", name="Els Ander",
                             domains=["ander.nl", "bücher.nl"])
    return app


def facts(lang="nl"):
    """Return the provider facts straight from content/provider.yaml."""
    return provider_values(load_yaml(CONTENT_DIR / "provider.yaml"), lang)


def expected(key, domain="klant.nl", lang="nl"):
    """Return a provider fact for a customer's domain, worked out independently of mailconfig."""
    values = facts(lang)
    return values[key].replace(values["domain"], domain)


def log_in(client, email, password):
    token = csrf_token(client.get("/nl/inloggen"))
    response = client.post("/nl/inloggen?next=/nl/", data={"email": email, "password": password,
                                                           "csrf_token": token})
    assert response.status_code == 302


@functools.cache
def shipped_articles() -> ArticleStore:
    """Return the shipped articles, read once for working out guide URLs."""
    store = ArticleStore()
    store.content_dir = CONTENT_DIR
    store.reload_interval = None
    store.reload()
    return store


def guide_url(article_id, lang):
    store = shipped_articles()
    return store.article_url(store.get(lang, article_id))


def assert_nothing_personal(text):
    for value in PERSONAL:
        assert value not in text


# -- the provider facts: one source for every language ------------------------------


def test_both_languages_give_the_same_host_names(app):
    for key in ("imap_host", "pop3_host", "smtp_host", "ftp_host", "ftp_user"):
        assert expected(key, lang="nl") == expected(key, lang="en")
    assert expected("imap_host") == "mail.klant.nl"
    assert expected("ftp_host") == "ftp.klant.nl"


def test_a_shared_host_name_stays_the_same_for_everyone():
    assert mailconfig.customer_value("server.webxtra.nl", "voorbeeld.nl", "klant.nl") == "server.webxtra.nl"
    assert mailconfig.customer_value("mail.voorbeeld.nl", "voorbeeld.nl", "klant.nl") == "mail.klant.nl"
    assert mailconfig.customer_value("voorbeeld.nl", "voorbeeld.nl", "klant.nl") == "klant.nl"
    assert mailconfig.customer_value("mailvoorbeeld.nl", "voorbeeld.nl", "klant.nl") == "mailvoorbeeld.nl"


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   ", "empty"),
    ("info", "malformed"),
    ("info@", "malformed"),
    ("@klant.nl", "malformed"),
    ("info@@klant.nl", "malformed"),
    ("in fo@klant.nl", "malformed"),
    ("info@klant", "malformed"),
    ("info@-klant.nl", "malformed"),
    ("info@klant..nl", "malformed"),
    ("<script>@klant.nl", "malformed"),
    ("info@klant.nl/evil", "malformed"),
    ("jån@klant.nl", "malformed"),
    ("a" * 65 + "@klant.nl", "malformed"),
    ("info@" + "a" * 250 + ".nl", "too_long"),
])
def test_malformed_addresses_are_refused(text, reason):
    with pytest.raises(mailconfig.SetupError) as caught:
        mailconfig.parse_target(text)
    assert caught.value.reason == reason


def test_addresses_are_normalised():
    assert mailconfig.parse_target(" Info@Klant.NL ").address == "info@klant.nl"
    assert mailconfig.parse_target("info@bücher.nl").domain == "xn--bcher-kva.nl"
    assert mailconfig.parse_target("o'neil+news@klant.nl").address == "o'neil+news@klant.nl"
    assert mailconfig.parse_target("klant.nl", allow_domain=True) == mailconfig.Target("klant.nl")
    with pytest.raises(mailconfig.SetupError):
        mailconfig.parse_target("klant.nl")  # a mail setup needs the address


# -- Thunderbird: config-v1.1.xml ------------------------------------------------------


@pytest.mark.parametrize("path", ["/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"])
def test_autoconfig_file_matches_the_provider_facts(client, hosted, path):
    response = client.get(path, query_string={"emailaddress": "info@klant.nl"})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.get("id") == "klant.nl"
    assert [d.text for d in provider.findall("domain")] == ["klant.nl"]
    assert facts()["company"] in provider.findtext("displayName")

    def server(element):
        return {child.tag: child.text for child in element}

    incoming = {s.get("type"): server(s) for s in provider.findall("incomingServer")}
    outgoing = [server(s) for s in provider.findall("outgoingServer")]
    assert [s.get("type") for s in provider.findall("incomingServer")] == ["imap", "pop3"]  # IMAP preferred
    assert all(s.get("type") == "smtp" for s in provider.findall("outgoingServer"))
    values = facts()
    assert incoming["imap"] == {"hostname": expected("imap_host"), "port": values["imap_port"], "socketType": "SSL",
                                "authentication": "password-cleartext", "username": "%EMAILADDRESS%"}
    assert incoming["pop3"] == {"hostname": expected("pop3_host"), "port": values["pop3_port"], "socketType": "SSL",
                                "authentication": "password-cleartext", "username": "%EMAILADDRESS%"}
    assert outgoing == [
        {"hostname": expected("smtp_host"), "port": values["smtp_port_ssl"], "socketType": "SSL",
         "authentication": "password-cleartext", "username": "%EMAILADDRESS%"},
        {"hostname": expected("smtp_host"), "port": values["smtp_port_starttls"], "socketType": "STARTTLS",
         "authentication": "password-cleartext", "username": "%EMAILADDRESS%"},
    ]
    assert (values["imap_port"], values["pop3_port"], values["smtp_port_ssl"], values["smtp_port_starttls"]) == (
        "993", "995", "465", "587")
    assert provider.find("documentation").get("url").endswith("/a/email-thunderbird")
    assert_nothing_personal(response.get_data(as_text=True))


def test_autoconfig_for_an_idn_domain_uses_punycode(client, hosted):
    response = client.get("/mail/config-v1.1.xml", query_string={"emailaddress": "info@bücher.nl"})
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    assert root.find("emailProvider/incomingServer/hostname").text == "mail.xn--bcher-kva.nl"
    assert_nothing_personal(response.get_data(as_text=True))


@pytest.mark.parametrize("address, status", [
    ("info@nietbijons.nl", 404),
    ("info@shop.klant.nl", 404),  # a subdomain has no mail server of its own
    ("", 400),
    ("info@klant", 400),
    ("<script>alert(1)</script>@klant.nl", 400),
    ("x" * 300 + "@klant.nl", 400),
])
def test_autoconfig_refuses_what_we_do_not_host(client, hosted, address, status):
    response = client.get("/mail/config-v1.1.xml", query_string={"emailaddress": address})
    assert response.status_code == status
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "<clientConfig" not in text and "mail." not in text
    assert "<script>" not in text
    assert_nothing_personal(text)


# -- Outlook: Autodiscover ---------------------------------------------------------------


def autodiscover(client, body, path="/autodiscover/autodiscover.xml"):
    return client.post(path, data=body, content_type="text/xml; charset=utf-8")


@pytest.mark.parametrize("path", ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"])
@pytest.mark.parametrize("scheme", ["http", "https"])  # Microsoft's pages show both spellings
def test_autodiscover_answers_the_documented_request(client, hosted, path, scheme):
    # No CSRF token: the test config has CSRF on, so this also shows the endpoint is exempt.
    response = autodiscover(client, DOCUMENTED_REQUEST.format(scheme=scheme, address="info@klant.nl"), path)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{{{RESPONSE_NS}}}Autodiscover"
    account = root.find(f"{{{OUTLOOK_NS}}}Response/{{{OUTLOOK_NS}}}Account")
    assert account is not None

    def text(element, tag):
        return element.findtext(f"{{{OUTLOOK_NS}}}{tag}")

    assert text(account, "AccountType") == "email"
    assert text(account, "Action") == "settings"
    protocols = {text(p, "Type"): p for p in account.findall(f"{{{OUTLOOK_NS}}}Protocol")}
    assert list(protocols) == ["IMAP", "SMTP"]
    values = facts()
    for kind, host_key, port_key in (("IMAP", "imap_host", "imap_port"), ("SMTP", "smtp_host", "smtp_port_ssl")):
        protocol = protocols[kind]
        assert text(protocol, "Server") == expected(host_key)
        assert text(protocol, "Port") == values[port_key]
        assert text(protocol, "SSL") == "on"
        assert text(protocol, "SPA") == "off"
        assert text(protocol, "AuthRequired") == "on"
        assert text(protocol, "LoginName") == "info@klant.nl"
        assert text(protocol, "DomainRequired") == "off"
    assert_nothing_personal(response.get_data(as_text=True))


def autodiscover_error_code(response):
    root = ET.fromstring(response.data)
    error = root.find(f"{{{RESPONSE_NS}}}Response/{{{RESPONSE_NS}}}Error")
    assert error is not None, response.data
    assert error.get("Time") and error.get("Id")
    return error.findtext(f"{{{RESPONSE_NS}}}ErrorCode")


def test_autodiscover_refuses_an_address_we_do_not_host(client, hosted):
    for address in ("info@nietbijons.nl", "not an address", "&lt;b&gt;@klant.nl"):
        response = autodiscover(client, DOCUMENTED_REQUEST.format(scheme="http", address=address))
        assert response.status_code == 200
        assert autodiscover_error_code(response) == "500"
        assert "mail." not in response.get_data(as_text=True)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Autodiscover><Request><EMailAddress>&lol3;</EMailAddress></Request></Autodiscover>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>
<EMailAddress>&secret;@klant.nl</EMailAddress>
<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
</Request></Autodiscover>"""


@pytest.mark.parametrize("body, code", [
    ("<Autodiscover><Request>", "600"),  # cut off
    ("not xml at all", "600"),
    ("", "600"),
    (BILLION_LAUGHS, "600"),
    (EXTERNAL_ENTITY, "600"),
    ("<Other><Request><EMailAddress>info@klant.nl</EMailAddress></Request></Other>", "600"),
    (DOCUMENTED_REQUEST.format(scheme="http", address=""), "600"),
    (DOCUMENTED_REQUEST.format(scheme="http", address="info@klant.nl").replace(
        "outlook/responseschema/2006a", "mobilesync/responseschema/2006"), "601"),
])
def test_autodiscover_answers_bad_requests_with_an_error_not_a_crash(client, hosted, body, code):
    response = autodiscover(client, body)
    assert response.status_code == 200
    assert autodiscover_error_code(response) == code
    text = response.get_data(as_text=True)
    assert "root:" not in text and "lol" not in text and "mail.klant.nl" not in text


def test_autodiscover_refuses_an_oversized_request(client, hosted):
    padding = " " * (mailconfig.MAX_AUTODISCOVER_BYTES + 1)
    response = autodiscover(client, DOCUMENTED_REQUEST.format(scheme="http", address="info@klant.nl") + padding)
    assert response.status_code == 413
    assert autodiscover_error_code(response) == "600"


def test_autodiscover_only_answers_posts(client, hosted):
    assert client.get("/autodiscover/autodiscover.xml").status_code == 405


# -- iPhone, iPad and Mac: the configuration profile -----------------------------------------


def download_profile(client, address, lang="nl"):
    path = "/nl/e-mail/apple-profiel" if lang == "nl" else "/en/email/apple-profile"
    return client.get(path, query_string={"address": address})


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_profile_matches_the_provider_facts(client, hosted, lang):
    response = download_profile(client, "piet@klant.nl", lang)
    assert response.status_code == 200
    assert response.mimetype == "application/x-apple-aspen-config"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert ".mobileconfig" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    profile = plistlib.loads(response.data)
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    assert profile["PayloadOrganization"] == facts(lang)["company"]
    assert profile["PayloadIdentifier"].startswith("nl.webxtra.help.")
    [account] = profile["PayloadContent"]
    values = facts(lang)
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["PayloadVersion"] == 1
    assert account["EmailAccountType"] == "EmailTypeIMAP"
    assert account["EmailAddress"] == "piet@klant.nl"
    assert account["IncomingMailServerHostName"] == expected("imap_host")
    assert account["IncomingMailServerPortNumber"] == int(values["imap_port"])
    assert account["IncomingMailServerUseSSL"] is True
    assert account["IncomingMailServerUsername"] == "piet@klant.nl"
    assert account["IncomingMailServerAuthentication"] == "EmailAuthPassword"
    assert account["OutgoingMailServerHostName"] == expected("smtp_host")
    assert account["OutgoingMailServerPortNumber"] == int(values["smtp_port_ssl"])
    assert account["OutgoingMailServerUseSSL"] is True
    assert account["OutgoingMailServerUsername"] == "piet@klant.nl"
    assert account["OutgoingMailServerAuthentication"] == "EmailAuthPassword"
    assert account["OutgoingPasswordSameAsIncomingPassword"] is True
    # No IncomingPassword or OutgoingPassword: the device asks for the password.
    assert {key for key in account if "Password" in key} == {"OutgoingPasswordSameAsIncomingPassword"}
    assert_nothing_personal(response.get_data(as_text=True))


def test_profile_identifiers_are_stable_per_address(client, hosted):
    first = plistlib.loads(download_profile(client, "piet@klant.nl").data)
    again = plistlib.loads(download_profile(client, "Piet@Klant.nl", "en").data)
    other = plistlib.loads(download_profile(client, "kees@klant.nl").data)
    for key in ("PayloadUUID", "PayloadIdentifier"):
        assert first[key] == again[key]  # a new download replaces the installed profile
        assert first[key] != other[key]
        assert first["PayloadContent"][0][key] == again["PayloadContent"][0][key]
    assert first["PayloadUUID"] != first["PayloadContent"][0]["PayloadUUID"]


def make_signing_certificate(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Web://Xtra profile signing (test)")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "signing.pem", tmp_path / "signing.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return certificate, cert_path, key_path


def test_profile_is_signed_when_a_certificate_is_configured(make_app, tmp_path):
    from cryptography.hazmat.primitives.serialization import pkcs7

    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is needed to verify the CMS signature")
    certificate, cert_path, key_path = make_signing_certificate(tmp_path)
    app = make_app(MOBILECONFIG_SIGNING_CERT=str(cert_path), MOBILECONFIG_SIGNING_KEY=str(key_path))
    with app.app_context():
        accounts.create_user("jan@klant.nl", "jan-password-12", domains=["klant.nl"])
    response = download_profile(app.test_client(), "piet@klant.nl")
    assert response.status_code == 200
    assert response.mimetype == "application/x-apple-aspen-config"
    assert not response.data.startswith(b"<?xml")  # DER, not a bare plist
    assert pkcs7.load_der_pkcs7_certificates(response.data) == [certificate]
    signed = tmp_path / "profile.mobileconfig"
    signed.write_bytes(response.data)
    verified = subprocess.run(
        [openssl, "cms", "-verify", "-inform", "DER", "-in", str(signed), "-CAfile", str(cert_path),
         "-purpose", "any"], capture_output=True, check=False)
    assert verified.returncode == 0, verified.stderr
    profile = plistlib.loads(verified.stdout)
    assert profile["PayloadContent"][0]["IncomingMailServerHostName"] == expected("imap_host")


def test_profile_stays_unsigned_when_the_certificate_cannot_be_read(make_app, tmp_path, caplog):
    app = make_app(MOBILECONFIG_SIGNING_CERT=str(tmp_path / "missing.pem"),
                   MOBILECONFIG_SIGNING_KEY=str(tmp_path / "missing.key"))
    with app.app_context():
        accounts.create_user("jan@klant.nl", "jan-password-12", domains=["klant.nl"])
    response = download_profile(app.test_client(), "piet@klant.nl")
    assert response.status_code == 200
    assert plistlib.loads(response.data)["PayloadType"] == "Configuration"
    assert "cannot sign the configuration profile" in caplog.text


# -- FileZilla -------------------------------------------------------------------------------


@pytest.mark.parametrize("path, typed", [("/nl/ftp/filezilla-bestand", "klant.nl"),
                                         ("/en/ftp/filezilla-file", "info@klant.nl")])
def test_filezilla_file_has_the_structure_filezilla_writes(client, hosted, path, typed):
    response = client.get(path, query_string={"address": typed})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"].startswith("attachment")
    root = ET.fromstring(response.data)
    assert root.tag == "FileZilla3"
    servers = root.findall("Servers/Server")
    assert len(servers) == 2
    values = facts()
    sites = {}
    for server in servers:
        assert [child.tag for child in server] == FILEZILLA_ORDER
        assert server.find("Pass") is None
        sites[server.findtext("Protocol")] = {child.tag: child.text for child in server}
    ftps, sftp = sites["4"], sites["1"]  # FileZilla's FTPES (explicit TLS) and SFTP
    for site in (ftps, sftp):
        assert site["Host"] == expected("ftp_host")
        assert site["User"] == expected("ftp_user")
        assert site["Logontype"] == "2"  # ask for the password
        assert site["Type"] == "0"
    assert ftps["Port"] == values["ftp_port"] and ftps["PasvMode"] == "MODE_PASSIVE"
    assert sftp["Port"] == values["sftp_port"]
    assert ftps["Name"] == "klant.nl (FTPS)" and sftp["Name"] == "klant.nl (SFTP)"
    assert_nothing_personal(response.get_data(as_text=True))


@pytest.mark.parametrize("path, typed, status", [
    ("/nl/ftp/filezilla-bestand", "nietbijons.nl", 404),
    ("/en/ftp/filezilla-file", "", 400),
    ("/en/ftp/filezilla-file", "<script>alert(1)</script>", 400),
    ("/nl/e-mail/apple-profiel", "info@nietbijons.nl", 404),
    ("/nl/e-mail/apple-profiel", "klant.nl", 400),  # a profile is for one mailbox
    ("/en/email/apple-profile", "\"><img src=x onerror=alert(1)>@klant.nl", 400),
])
def test_downloads_refuse_with_a_page_in_the_visitors_language(client, hosted, path, typed, status):
    response = client.get(path, query_string={"address": typed})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert f'<html lang="{path[1:3]}"' in page
    if status == 404:
        assert "nietbijons.nl" in page
    assert_nothing_personal(page)


def test_public_endpoints_are_rate_limited(make_app):
    app = make_app(AUTOCONFIG_RATE_LIMIT="2/minute")
    client = app.test_client()
    codes = [client.get("/mail/config-v1.1.xml", query_string={"emailaddress": "info@klant.nl"}).status_code
             for _ in range(3)]
    assert codes == [404, 404, 429]
    codes = [autodiscover(client, "x").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# -- personalised guides -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_guide_shows_the_customers_host_names(client, hosted, lang):
    page = client.get(guide_url("email-ios", lang), query_string={"address": "piet@klant.nl"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    values = facts(lang)
    for key in ("imap_host", "smtp_host", "pop3_host"):
        assert expected(key, lang=lang) in html
        assert values[key] not in html  # no example host left
    assert "piet@klant.nl" in html
    assert values["email"] not in html.replace(f'placeholder="{values["email"]}"', "")
    assert values["server_host"] in html  # the shared server name is the same for everyone
    profile_path = "/nl/e-mail/apple-profiel" if lang == "nl" else "/en/email/apple-profile"
    assert f'href="{profile_path}?address=piet@klant.nl"' in html
    # The guide and the profile agree.
    profile = plistlib.loads(client.get(profile_path, query_string={"address": "piet@klant.nl"}).data)
    assert profile["PayloadContent"][0]["IncomingMailServerHostName"] in html
    assert_nothing_personal(html)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_ftp_guide_shows_the_customers_ftp_account_and_offers_the_filezilla_file(client, hosted, lang):
    html = client.get(guide_url("ftp-filezilla", lang), query_string={"address": "klant.nl"}).get_data(as_text=True)
    assert expected("ftp_host", lang=lang) in html
    assert facts(lang)["ftp_host"] not in html
    file_path = "/nl/ftp/filezilla-bestand" if lang == "nl" else "/en/ftp/filezilla-file"
    assert f'href="{file_path}?address=klant.nl"' in html
    sites = ET.fromstring(client.get(file_path, query_string={"address": "klant.nl"}).data)
    assert sites.findtext("Servers/Server/Host") in html


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_thunderbird_and_outlook_guides_say_the_client_finds_the_settings(client, hosted, lang):
    html = client.get(guide_url("email-thunderbird", lang), query_string={"address": "piet@klant.nl"}).get_data(
        as_text=True)
    assert "http://help.test/mail/config-v1.1.xml?emailaddress=piet@klant.nl" in html
    assert "Thunderbird" in html
    config = ET.fromstring(client.get("/mail/config-v1.1.xml?emailaddress=piet%40klant.nl").data)
    assert config.findtext("emailProvider/incomingServer/hostname") in html
    html = client.get(guide_url("email-outlook", lang)).get_data(as_text=True)
    # Outlook finds the service itself: the guide names it but shows no raw URL to puzzle over.
    assert "/autodiscover/autodiscover.xml" not in html
    assert "Autodiscover" in html


def test_guide_without_an_address_shows_the_examples_and_the_form(client, hosted):
    html = client.get(guide_url("email-ios", "nl")).get_data(as_text=True)
    assert facts("nl")["imap_host"] in html
    assert 'name="address"' in html and 'for="setup-address"' in html
    assert "apple-profiel?address" not in html


def test_articles_without_example_settings_have_no_form(client, hosted):
    html = client.get(guide_url("support-response-times", "nl")).get_data(as_text=True)
    assert 'name="address"' not in html


@pytest.mark.parametrize("typed", [
    "<script>alert(1)</script>@klant.nl",
    '"><script>alert(1)</script>',
    "info@nietbijons.nl<script>alert(1)</script>",
])
def test_guide_escapes_hostile_input(client, hosted, typed):
    response = client.get(guide_url("email-ios", "en"), query_string={"address": typed})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html  # shown back, escaped, in the field
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    assert facts("en")["imap_host"] in html  # the guide keeps its examples


def test_guide_escapes_the_customers_own_values(app):
    values = facts("en")
    html = f"<p>User name: {values['email']}, server {values['imap_host']}, not andermail.example.community</p>"
    target = mailconfig.parse_target("o'neil&co@klant.nl")
    result = mailconfig.personalise_html(html, values, target)
    assert "o&#39;neil&amp;co@klant.nl" in result
    assert "mail.klant.nl" in result
    assert "andermail.example.community" in result


def test_guide_refuses_a_domain_we_do_not_host(client, hosted):
    html = client.get(guide_url("email-ios", "en"), query_string={"address": "info@nietbijons.nl"}).get_data(
        as_text=True)
    assert "nietbijons.nl" in html and 'role="alert"' in html
    assert "mail.nietbijons.nl" not in html


def test_logged_in_customer_sees_their_own_domain(client, hosted):
    log_in(client, "jan@klant.nl", "jan-password-12")
    for lang in ("nl", "en"):
        html = client.get(guide_url("email-ios", lang)).get_data(as_text=True)
        assert expected("imap_host", lang=lang) in html
        assert "jan@klant.nl" in html  # the account address is on the domain, so it is the user name
        assert "ander.nl" not in html
    # What the customer types wins over the account.
    html = client.get(guide_url("email-ios", "nl"), query_string={"address": "info@ander.nl"}).get_data(as_text=True)
    assert "mail.ander.nl" in html


def test_another_customers_domain_shows_host_names_but_nothing_personal(client, hosted):
    log_in(client, "els@ander.nl", "els-password-12")
    html = client.get(guide_url("email-ios", "nl")).get_data(as_text=True)
    assert "mail.ander.nl" in html and "klant.nl" not in html
    html = client.get(guide_url("email-ios", "nl"), query_string={"address": "info@klant.nl"}).get_data(as_text=True)
    assert "mail.klant.nl" in html
    assert "jan@klant.nl" not in html and "Jan Klant" not in html
