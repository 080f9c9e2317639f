import pytest

pytestmark = pytest.mark.e2e


def test_browser_opens_home(live_server, page):
    page.goto(live_server.url + "/")
    assert page.url.endswith("/nl/")
    assert page.locator("h1").inner_text()
