"""Self-service client setup: autoconfig, Autodiscover, Apple profiles, FileZilla files, personal guides."""

from io import BytesIO
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import mailconfig
from ..extensions import articles, csrf, limiter
from ..i18n import LANGUAGES, current_language, localized_route
from ..mailconfig import AutodiscoverError, SetupError, Target

bp = Blueprint("autoconfig", __name__)

# What each client's guide offers: a file to download, or a note that the client finds the settings itself.
CLIENT_OFFERS = {
    "ios_mail": "apple_profile",
    "apple_mail": "apple_profile",
    "thunderbird": "autoconfig",
    "outlook": "autodiscover",
    "filezilla": "filezilla",
}
NO_STORE = {"Cache-Control": "private, no-store"}  # the files name one customer's address


def rate_limit() -> str:
    return current_app.config.get("AUTOCONFIG_RATE_LIMIT", "60/minute")


def provider_facts(lang: str | None = None) -> dict[str, str]:
    """Return the provider facts the guides of this language use."""
    return articles.placeholder_values(lang or current_language())


def setup_error_message(error: SetupError, facts: dict[str, str], allow_domain: bool = False) -> str:
    """Return why no settings can be given, in the visitor's language."""
    if error.reason == "not_hosted":
        return _("We do not host %(domain)s, so we have no settings for it. Check the spelling, "
                 "or ask the company that hosts %(domain)s.", domain=error.domain)
    if error.reason == "too_long":
        return _("This address is too long: an email address has at most 254 characters.")
    if allow_domain:
        if error.reason == "empty":
            return _("Type your domain name or email address, for example %(domain)s.", domain=facts["domain"])
        return _("This is not a domain name or email address. Check it for typing errors; "
                 "it looks like %(domain)s.", domain=facts["domain"])
    if error.reason == "empty":
        return _("Type your email address, for example %(email)s.", email=facts["email"])
    return _("This is not an email address. Check it for typing errors; it looks like %(email)s.",
             email=facts["email"])


def error_page(error: SetupError, allow_domain: bool = False):
    """Render the refusal of a download as a page in the visitor's language."""
    code = 404 if error.reason == "not_hosted" else 400
    message = setup_error_message(error, provider_facts(), allow_domain)
    return render_template("error.html", code=code, message=message), code


# -- Thunderbird ----------------------------------------------------------------------


# The route nearest the function is the one url_for builds.
@bp.route("/.well-known/autoconfig/mail/config-v1.1.xml")
@bp.route("/mail/config-v1.1.xml")
@limiter.limit(rate_limit)
def thunderbird():
    """Serve Mozilla's autoconfig file for the domain of ?emailaddress=."""
    facts = provider_facts()
    try:
        target = mailconfig.hosted_target(request.args.get("emailaddress", ""))
    except SetupError as exc:
        code = 404 if exc.reason == "not_hosted" else 400
        return Response(setup_error_message(exc, facts) + "\n", code, mimetype="text/plain")
    settings = mailconfig.mail_settings(target.address, facts)
    descriptions = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            descriptions[lang] = _("Setting up email in Thunderbird")
    xml = mailconfig.autoconfig_xml(
        settings,
        documentation_url=url_for("kb.permalink", article_id="email-thunderbird", _external=True),
        documentation_texts=descriptions,
    )
    return Response(xml, mimetype="application/xml")


# -- Outlook --------------------------------------------------------------------------


def autodiscover_reply(error: AutodiscoverError, status: int = 200) -> Response:
    # Exchange answers protocol errors with 200 and an Error element; Outlook reads the code.
    xml = mailconfig.autodiscover_error(error, server_name=request.host)
    return Response(xml, status, mimetype="text/xml")


@bp.route("/Autodiscover/Autodiscover.xml", methods=["POST"])
@bp.route("/autodiscover/autodiscover.xml", methods=["POST"])
@csrf.exempt  # mail clients post here without a session or a form: nothing of a session changes
@limiter.limit(rate_limit)
def outlook():
    """Answer Outlook's Autodiscover (POX) request with the IMAP and SMTP settings of the address."""
    limit = mailconfig.MAX_AUTODISCOVER_BYTES
    too_large = AutodiscoverError(600, "Invalid Request")
    if (request.content_length or 0) > limit:
        return autodiscover_reply(too_large, 413)
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return autodiscover_reply(too_large, 413)
    try:
        address = mailconfig.read_autodiscover_request(body)
        target = mailconfig.hosted_target(address)
    except AutodiscoverError as exc:
        return autodiscover_reply(exc)
    except SetupError:
        return autodiscover_reply(AutodiscoverError(500, "The e-mail address cannot be found."))
    settings = mailconfig.mail_settings(target.address, provider_facts())
    return Response(mailconfig.autodiscover_response(settings), mimetype="text/xml")


# -- iPhone, iPad and Mac ---------------------------------------------------------------


def signed_if_configured(profile: bytes) -> bytes:
    """Sign the profile with the certificate from the settings; unsigned when none is configured."""
    config = current_app.config
    certificate, key = config.get("MOBILECONFIG_SIGNING_CERT"), config.get("MOBILECONFIG_SIGNING_KEY")
    if not (certificate and key):
        return profile
    password = config.get("MOBILECONFIG_SIGNING_KEY_PASSWORD")
    try:
        return mailconfig.sign_profile(profile, Path(certificate).read_bytes(), Path(key).read_bytes(),
                                       password.encode() if password else None)
    except (OSError, ValueError, TypeError) as exc:
        # An unsigned profile still installs (marked "not verified"); a missing one helps nobody.
        current_app.logger.error("cannot sign the configuration profile: %s", exc)
        return profile


@localized_route(bp, {"nl": "/e-mail/apple-profiel", "en": "/email/apple-profile"})
@limiter.limit(rate_limit)
def apple_profile():
    """Download the configuration profile for ?address= (iPhone, iPad and Mac Mail)."""
    try:
        target = mailconfig.hosted_target(request.args.get("address", ""))
    except SetupError as exc:
        return error_page(exc)
    facts = provider_facts()
    settings = mailconfig.mail_settings(target.address, facts)
    texts = mailconfig.ProfileTexts(
        display_name=_("Email %(address)s", address=settings.address),
        description=_("Sets up %(address)s in Mail with IMAP and SMTP over SSL. Your device asks for "
                      "the password: it is not in this profile.", address=settings.address),
        account_description=settings.address,
    )
    prefix = current_app.config.get("MOBILECONFIG_IDENTIFIER_PREFIX", "nl.webxtra.help")
    profile = signed_if_configured(mailconfig.apple_profile(settings, texts, prefix))
    response = send_file(BytesIO(profile), mimetype="application/x-apple-aspen-config", as_attachment=True,
                         download_name=f"{settings.domain}.mobileconfig", max_age=0)
    response.headers.update(NO_STORE)
    return response


# -- FileZilla ------------------------------------------------------------------------------


@localized_route(bp, {"nl": "/ftp/filezilla-bestand", "en": "/ftp/filezilla-file"})
@limiter.limit(rate_limit)
def filezilla_file():
    """Download the FileZilla site-manager file for the domain (or address) in ?address=."""
    try:
        target = mailconfig.hosted_target(request.args.get("address", ""), allow_domain=True)
    except SetupError as exc:
        return error_page(exc, allow_domain=True)
    settings = mailconfig.ftp_settings(target.domain, provider_facts())
    response = send_file(BytesIO(mailconfig.filezilla_sites(settings)), mimetype="application/xml",
                         as_attachment=True, download_name=f"filezilla-{settings.domain}.xml", max_age=0)
    response.headers.update(NO_STORE)
    return response


# -- personal guides ------------------------------------------------------------------------


def account_target(facts: dict[str, str]) -> Target | None:
    """Return the logged-in customer's first domain (and their address when it is on it)."""
    if not getattr(current_user, "is_authenticated", False) or not getattr(current_user, "is_customer", False):
        return None
    if not current_user.domains:
        return None
    domain = current_user.domains[0].name
    address = current_user.email if current_user.email.endswith("@" + domain) else None
    return Target(domain=domain, address=address)


def personal_guide(article) -> dict:
    """Return the template values that fill a mail or FTP guide in with the reader's own settings.

    Empty for articles without example settings; otherwise "setup" for the form and, when an
    address or domain is known, "article_html" with the customer's host names in place.
    """
    if article.category not in ("email", "ftp"):
        return {}
    facts = provider_facts(article.lang)
    if not facts.get("domain") or facts["domain"] not in article.html:
        return {}
    allow_domain = article.category == "ftp"
    client = article.applies_to[0] if len(article.applies_to) == 1 else None
    typed = request.args.get("address", "")
    setup = {
        "kind": article.category,
        "offer": CLIENT_OFFERS.get(client),
        "typed": typed[: mailconfig.MAX_ADDRESS_LENGTH + 1],
        "error": None,
        "target": None,
        "address": None,
        "from_account": False,
        "example": facts["domain"] if allow_domain else facts["email"],
    }
    target = None
    if typed.strip():
        try:
            target = mailconfig.hosted_target(typed, allow_domain=allow_domain)
        except SetupError as exc:
            setup["error"] = setup_error_message(exc, facts, allow_domain)
    else:
        target = account_target(facts)
        setup["from_account"] = target is not None
    if target is None:
        return {"setup": setup}
    setup["target"] = target
    setup["address"] = target.address or mailconfig.example_address(facts, target.domain)
    return {"setup": setup, "article_html": mailconfig.personalise_html(article.html, facts, target)}
