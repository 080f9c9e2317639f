"""Every page template, as every role sees it, fits a phone: nothing scrolls sideways at 390 and 320 px.

The pages, their data and the logged-in roles are those of the accessibility test, so a page
added there is measured here too.
"""

import json
import os

import pytest
from playwright.sync_api import expect
from test_a11y import VISITS, context_for, site  # noqa: F401 (pytest fixtures, shared on purpose)

pytestmark = [pytest.mark.e2e]

LANGS = ("nl", "en")
WIDTHS = (390, 320)
CASES = [pytest.param(visit, lang, id=f"{visit.role}-{visit.name}-{lang}") for visit in VISITS for lang in LANGS]


def overflow(page) -> dict:
    """Return the page's widths and the elements that stick out to the right."""
    return page.evaluate("""() => {
        const inner = window.innerWidth;
        const wide = [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > inner + 0.5 && el.getClientRects().length)
            .filter(el => !el.closest('.visually-hidden'))
            .slice(0, 5)
            .map(el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
                                                  ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                       + ' ' + Math.round(el.getBoundingClientRect().right));
        return {scrollWidth: document.documentElement.scrollWidth, innerWidth: inner, wide: wide};
    }""")


@pytest.mark.parametrize("visit,lang", CASES)
def test_no_page_scrolls_sideways_on_a_phone(site, context_for, visit, lang):  # noqa: F811
    page = context_for(visit.role).new_page()
    measured = {}
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(site.url + visit.paths[lang].format(**site.tickets))
            expect(page.locator("html")).to_have_attribute("lang", lang)
            if visit.then:
                visit.then(page, lang)
            measured[width] = overflow(page)
    finally:
        page.close()
    report = os.environ.get("WIDTH_REPORT")
    if report:  # figures for the README: WIDTH_REPORT=/tmp/widths.jsonl
        with open(report, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"page": f"{visit.role}-{visit.name}-{lang}",
                                 **{str(w): m["scrollWidth"] for w, m in measured.items()}}) + "\n")
    for width, m in measured.items():
        assert m["scrollWidth"] <= m["innerWidth"], f"{width} px: {m}"


GUIDES = {"nl": ["/nl/artikel/e-mail-instellen-iphone-ipad?address=info@klant.nl", "/nl/artikel/e-mailinstellingen",
                 "/nl/artikel/ftp-instellen-filezilla?address=klant.nl", "/nl/artikel/e-mail-instellen-thunderbird"],
          "en": ["/en/article/set-up-email-iphone-ipad?address=info@klant.nl", "/en/article/email-settings",
                 "/en/article/ftp-setup-filezilla?address=klant.nl", "/en/article/set-up-email-thunderbird"]}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", WIDTHS)
def test_settings_tables_never_break_a_word_and_steps_come_first(site, context_for, lang, width):  # noqa: F811
    page = context_for("anonymous").new_page()
    page.set_viewport_size({"width": width, "height": 800})
    try:
        for path in GUIDES[lang]:
            page.goto(site.url + path)
            broken = page.evaluate("""() => [...document.querySelectorAll('.article-body td, .article-body th')]
                .filter(cell => cell.textContent.trim() && !/\\s/.test(cell.textContent.trim()))
                .filter(cell => {
                    const range = document.createRange();
                    range.selectNodeContents(cell);
                    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
                    return tops.size > 1;
                }).map(cell => cell.textContent.trim())""")
            assert not broken, f"{path} at {width} px breaks {broken}"
            # The first step of the guide starts above the table of contents and the extras.
            first_step = page.locator(".article-body ol > li").first
            if first_step.count():
                step_top = first_step.bounding_box()["y"]
                for extra in (".toc", ".guide-offer"):
                    if page.locator(extra).count():
                        assert step_top < page.locator(extra).bounding_box()["y"], (path, extra)
                print(f"{path} at {width} px: the first step starts {step_top:.0f} px down")
    finally:
        page.close()


@pytest.mark.parametrize("width", (1280, *WIDTHS))
def test_desk_ticket_facts_never_break_a_word(site, context_for, width):  # noqa: F811
    """The desk's facts column is narrow on a laptop: "Technical" or a date must not wrap letter by letter."""
    page = context_for("support").new_page()
    page.set_viewport_size({"width": width, "height": 800})
    try:
        page.goto(site.url + "/en/desk/tickets/{first}".format(**site.tickets))
        broken = page.evaluate("""() => [...document.querySelectorAll('.ticket-facts dd')]
            .flatMap(dd => dd.textContent.trim().split(/[\\s,]+/).filter(w => w.length > 3).map(w => [dd, w]))
            .filter(([dd, word]) => {
                const walker = document.createTreeWalker(dd, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    const at = node.textContent.indexOf(word);
                    if (at < 0) continue;
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + word.length);
                    return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size > 1;
                }
                return false;
            }).map(([dd, word]) => word)""")
        assert not broken, f"{width} px breaks {broken}"
    finally:
        page.close()
