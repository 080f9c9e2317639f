"""End to end in headless Chromium: searching, live suggestions, switching language, no JavaScript."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_search_from_the_home_page_and_open_a_result(live_server, page):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/nl/$"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    search_box = page.get_by_role("combobox")  # the enhanced search field
    search_box.fill("filezilla")
    search_box.press("Enter")
    expect(page).to_have_url(re.compile(r"/nl/zoeken\?q=filezilla"))
    results = page.locator("li.result")
    expect(results.first).to_be_visible()
    expect(results.first.locator("mark").first).to_be_visible()
    results.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/nl/artikel/ftp-instellen-filezilla$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("FTP instellen in FileZilla")


def test_a_typo_offers_the_correction_on_the_search_page(live_server, page):
    page.goto(live_server.url + "/en/search?q=thunderbrid")
    correction = page.locator("p.suggestion a")
    expect(correction).to_have_text("thunderbird")
    correction.click()
    expect(page).to_have_url(re.compile(r"/en/search\?q=thunderbird"))
    expect(page.locator("li.result").first).to_contain_text("Thunderbird")


def test_live_suggestions_appear_while_typing_and_open_with_the_keyboard(live_server, page):
    page.goto(live_server.url + "/en/")
    search_box = page.locator("#site-search")
    search_box.press_sequentially("thunderbird")
    suggestions = page.locator("#site-search-suggestions")
    expect(suggestions).to_be_visible()
    options = suggestions.get_by_role("option")
    expect(options.first).to_have_text("Set up email in Thunderbird")
    expect(search_box).to_have_attribute("aria-expanded", "true")
    search_box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(search_box).to_have_attribute("aria-activedescendant", "site-search-suggestions-0")
    search_box.press("Enter")
    expect(page).to_have_url(re.compile(r"/en/article/set-up-email-thunderbird$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up email in Thunderbird")


def test_escape_closes_the_suggestions_and_enter_then_searches(live_server, page):
    page.goto(live_server.url + "/nl/")
    search_box = page.locator("#site-search")
    search_box.press_sequentially("outlook")
    suggestions = page.locator("#site-search-suggestions")
    expect(suggestions).to_be_visible()
    search_box.press("Escape")
    expect(suggestions).to_be_hidden()
    expect(search_box).to_have_attribute("aria-expanded", "false")
    expect(search_box).to_have_value("outlook")  # closing the list keeps what was typed
    search_box.press("Enter")
    expect(page).to_have_url(re.compile(r"/nl/zoeken\?q=outlook"))


def test_suggestions_from_the_other_language_are_labelled(live_server, page):
    page.goto(live_server.url + "/en/")
    page.locator("#site-search").press_sequentially("wachtwoord")
    option = page.locator("#site-search-suggestions").get_by_role("option").first
    expect(option).to_be_visible()
    expect(option).to_have_attribute("hreflang", "nl")
    expect(option.locator(".other-lang")).to_have_text("(NL)")


def test_switching_language_on_an_article_lands_on_its_translation(live_server, page):
    page.goto(live_server.url + "/nl/artikel/e-mail-instellen-outlook")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.locator("a.lang-switch").click()
    expect(page).to_have_url(re.compile(r"/en/article/set-up-email-outlook$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up email in Outlook")
    page.locator("a.lang-switch").click()
    expect(page).to_have_url(re.compile(r"/nl/artikel/e-mail-instellen-outlook$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("E-mail instellen in Outlook")


def test_a_permalink_to_a_section_opens_that_section_in_the_readers_language(live_server, browser):
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/a/ftp-passive-mode#troubleshooting")
        expect(page).to_have_url(re.compile(r"/en/article/ftp-passive-mode#troubleshooting$"))
        expect(page.locator("#troubleshooting")).to_be_in_viewport()
    finally:
        context.close()


def test_the_site_works_without_javascript(live_server, browser):
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server.url + "/")
        expect(page).to_have_url(re.compile(r"/en/$"))
        search_box = page.locator("#site-search")
        expect(search_box).not_to_have_attribute("role", "combobox")  # no script ran
        search_box.fill("passive mode")
        search_box.press("Enter")
        expect(page).to_have_url(re.compile(r"/en/search\?q=passive"))
        expect(page.locator("#site-search-suggestions")).to_have_count(0)
        page.locator("#search-category").select_option("ftp")
        page.get_by_role("button", name=re.compile("Search", re.I)).last.click()
        expect(page).to_have_url(re.compile(r"category=ftp"))
        page.locator("li.result").first.get_by_role("link").click()
        expect(page).to_have_url(re.compile(r"/en/article/ftp-passive-mode$"))
        page.locator("nav.toc").get_by_role("link").last.click()
        expect(page).to_have_url(re.compile(r"/en/article/ftp-passive-mode#[a-z0-9-]+$"))
        page.locator("a.lang-switch").click()
        expect(page).to_have_url(re.compile(r"/nl/artikel/ftp-passieve-modus$"))
        page.get_by_role("navigation", name=re.compile("Breadcrumb|Kruimelpad", re.I)).get_by_role(
            "link").last.click()
        expect(page).to_have_url(re.compile(r"/nl/categorie/ftp$"))
    finally:
        context.close()


def test_the_skip_link_is_the_first_stop_for_keyboard_users(live_server, page):
    page.goto(live_server.url + "/nl/artikel/ftp-passieve-modus")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main")).to_be_focused()
