"""In headless Chromium: a reader of the iPhone guide types their address and downloads the profile."""

import plistlib

import pytest

from helpsite import accounts
from helpsite.extensions import articles

pytestmark = pytest.mark.e2e


def test_profile_downloads_from_the_iphone_guide(live_server, page):
    with live_server.app.app_context():
        accounts.create_user("jan@klant.nl", "jan-password-12", domains=["klant.nl"])
        guide = articles.article_url(articles.get("nl", "email-ios"))
    page.goto(live_server.url + guide)
    # Selectors that do not depend on the interface text: it gets translated.
    page.locator("#setup-address").fill("piet@klant.nl")
    page.locator(".guide-setup-form button[type=submit]").click()
    page.wait_for_url("**address=piet*")
    assert "mail.klant.nl" in page.locator(".article-body").inner_text()

    with page.expect_download() as download_info:
        page.locator(".guide-offer a[href*='apple-profiel']").click()  # the download sits with the guide's extras
    download = download_info.value
    assert download.suggested_filename == "klant.nl.mobileconfig"
    with open(download.path(), "rb") as fh:
        profile = plistlib.load(fh)
    [account] = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["EmailAddress"] == "piet@klant.nl"
    assert account["IncomingMailServerHostName"] == "mail.klant.nl"
    assert account["IncomingMailServerUsername"] == "piet@klant.nl"
