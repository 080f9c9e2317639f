"""axe-core in headless Chromium on every page template, in Dutch and English, as each role sees it.

Every page must have no serious or critical violation of WCAG 2.2 AA (axe's wcag2a, wcag2aa,
wcag21a, wcag21aa and wcag22aa rules). One server with one set of data serves the whole module,
and each role logs in once through the real login form: a page per test, a context per role.
"""

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from conftest import CONTENT_DIR, LiveServer, PASSWORDS
from playwright.sync_api import expect

from helpsite import accounts, analytics, create_app, incidents, kept_mail, mail_in, tickets
from helpsite.config import TestingConfig
from helpsite.extensions import db

pytestmark = [pytest.mark.e2e]

AXE_JS = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
LANGS = ("nl", "en")
PHONE = 375  # CSS pixels

ROLE_USERS = {"customer": "anna@klant.nl", "support": "support@webxtra.nl", "editor": "editor@webxtra.nl"}

# Articles that exist in one language only (the fallback notice) and a draft (editors only).
EXTRA_ARTICLES = {
    "en/english-only-guide.md": """---
id: a11y-english-only
title: "A guide in English only"
summary: "This guide has not been translated yet."
category: support
tags: [english only]
applies_to: [general]
updated: 2026-11-20
---

This guide exists in English only, so the Dutch site shows it with a notice.

## Steps {#steps}

1. Read the guide.
2. Follow the steps.
""",
    "nl/alleen-nederlands.md": """---
id: a11y-dutch-only
title: "Een handleiding alleen in het Nederlands"
summary: "Deze handleiding is nog niet vertaald."
category: support
tags: [alleen nederlands]
applies_to: [general]
updated: 2026-11-20
---

Deze handleiding bestaat alleen in het Nederlands, dus de Engelse site toont haar met een melding.

## Stappen {#stappen}

1. Lees de handleiding.
2. Volg de stappen.
""",
    "en/draft-guide.md": """---
id: a11y-draft
title: "A draft guide"
summary: "Only editors see this draft."
category: support
tags: [draft]
applies_to: [general]
draft: true
updated: 2026-11-20
---

A draft that is not yet published.

## Settings {#settings}

| Setting | Value |
| --- | --- |
| Server | mail.example.com |
""",
}

PREVIEW_ARTICLE = """---
id: a11y-preview
title: "{title}"
summary: "{summary}"
category: email
tags: [preview]
applies_to: [general]
updated: 2026-11-20
---

{intro}

## {heading} {{#settings}}

| Setting | Value |
| --- | --- |
| IMAP server | mail.example.com |
| Port | 993 |

A link to [a guide that does not exist](a:no-such-article).
"""

TEXTS = {
    "nl": {
        "server_problem": ("Website plat", "Sinds vanochtend geeft mijn website een 500 Internal Server Error "
                                           "en niemand kan meer bestellen."),
        "client_setup": ("Outlook instellen", "Hoe stel ik mijn e-mail in Outlook in? "
                                              "Welke IMAP server en poort moet ik gebruiken?"),
        "split": ("Twee vragen", "Mijn website is offline sinds vanochtend. "
                                 "Daarnaast wil ik graag weten hoe ik de EPP code opvraag?"),
        "preview": {"title": "Testartikel", "summary": "Een artikel om te bekijken.",
                    "intro": "Een inleiding.", "heading": "Instellingen"},
    },
    "en": {
        "server_problem": ("Website down", "Since this morning my website shows a 500 Internal Server Error "
                                           "and nobody can order anymore."),
        "client_setup": ("Setting up Outlook", "How do I set up my email in Outlook? "
                                               "Which IMAP server and port do I use?"),
        "split": ("Two questions", "Another question: how do I get my domain's EPP code? "
                                   "Also, my site has been down all morning."),
        "preview": {"title": "Test article", "summary": "An article to preview.",
                    "intro": "An introduction.", "heading": "Settings"},
    },
}


# -- the site: one server and one set of data for the module ---------------------------------

@dataclass
class Site:
    url: str
    app: object
    tickets: dict[str, int] = field(default_factory=dict)


def seed(app, base_url: str) -> dict[str, int]:
    """Create the users, tickets and reader statistics the pages show; return the ticket numbers."""
    with app.test_request_context(base_url=base_url):  # the mails queued here link to the site
        anna = accounts.create_user("anna@klant.nl", PASSWORDS["anna@klant.nl"], domains=["klant.nl"],
                                    name="Anna de Vries")
        bob = accounts.create_user("bob@ander.nl", PASSWORDS["bob@ander.nl"], domains=["ander.nl"], locale="en",
                                   name="Bob Smith")
        managed = accounts.create_user("it@managed.nl", PASSWORDS["it@managed.nl"], plan="managed",
                                       domains=["managed.nl"])
        agent = accounts.create_user("support@webxtra.nl", PASSWORDS["support@webxtra.nl"], role="support",
                                     name="Sam Support")
        accounts.create_user("editor@webxtra.nl", PASSWORDS["editor@webxtra.nl"], role="editor")

        subject, question = TEXTS["nl"]["server_problem"]
        own = tickets.open_ticket(anna, "klant.nl", subject, question)
        tickets.add_support_reply(own, agent, "We kijken ernaar. Zie ook http://127.0.0.1/a/email-settings")
        # Long past its response moment: the queue marks it overdue.
        overdue = tickets.open_ticket(managed, "managed.nl", "Mail komt niet aan", "Er komt geen mail binnen.",
                                      now=dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.timezone.utc))
        first = tickets.open_ticket(bob, "ander.nl", "Server down", "The server has been down since 9:00.",
                                    lang="en")
        second = tickets.open_ticket(bob, "ander.nl", "Server still down", "Still down, shop is offline.",
                                     lang="en", kind="technical")
        tickets.add_support_reply(second, agent, "Customer is on the old cluster.", internal=True)
        admin_ticket = tickets.open_ticket(bob, "ander.nl", "Invoice question", "Why was I charged twice?",
                                           lang="en", kind="administrative")
        tickets.close_ticket(admin_ticket)

        analytics.record_search("webmail wachtwoord kwijt", "nl", 0, 2)
        analytics.record_search("mailbox quota", "en", 0, 0)
        analytics.record_search("ssl certificaat", "nl", 3)
        opened = analytics.record_search("thunderbird", "en", 4)
        analytics.record_click(opened, "email-thunderbird")
        analytics.record_feedback("email-outlook", "nl", False, "De schermafbeeldingen zijn verouderd.")
        analytics.record_feedback("email-outlook", "en", True, "Clear, thanks.")
        analytics.record_triage("Hoe stel ik Outlook in? Het werkt niet.", "nl", "client_setup", "outlook",
                                anna.id, overridden=True, ticket_id=own.id)
        analytics.record_triage("How do I get my EPP code?", "en", "self_service", None, bob.id)
        analytics.record_article_link("email-settings", own.id)
        # Known incidents: one going on (the banner on every page), one planned, one resolved.
        now = dt.datetime.now(dt.timezone.utc)
        outage = incidents.create_incident(agent, "incident", "Databaseserver db2 traag", "Database server db2 slow",
                                           "Websites met een database laden traag.",
                                           "Websites with a database load slowly.", ["databases"],
                                           servers="db2.webxtra.nl", domains="klant.nl")
        incidents.post_update(outage, agent, "identified", "Een schijf is defect.", "A disk has failed.")
        incidents.follow(outage, bob, "en")
        incidents.create_incident(agent, "maintenance", "Onderhoud FTP-server", "FTP server maintenance", "", "",
                                  ["ftp"], started_at=now + dt.timedelta(days=3),
                                  ended_at=now + dt.timedelta(days=3, hours=2))
        past = incidents.create_incident(agent, "incident", "DNS-storing", "DNS outage", "", "", ["dns"],
                                         started_at=now - dt.timedelta(days=1))
        incidents.post_update(past, agent, "resolved", "Opgelost.", "Resolved.")
        kept = mail_in.keep(b"From: iemand@elders.nl\r\nSubject: Geen ticketnummer\r\n\r\nMijn site doet het niet.",
                            "no ticket number", "iemand@elders.nl", "Geen ticketnummer").incoming_id
        contact = kept_mail.keep_contact_question("piet@nieuw.nl", "klant.nl", "Site traag", "Mijn site is traag.",
                                                  "nl", "FileZilla").id
        return {"own": own.number, "overdue": overdue.number, "first": first.number, "second": second.number,
                "closed": admin_ticket.number, "incident": outage.id, "kept": kept, "contact": contact,
                "reset": accounts.password_reset_token(anna)}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Serve one app with its own content (one-language and draft articles), users, tickets and statistics."""
    root = tmp_path_factory.mktemp("a11y")
    content = root / "content"
    shutil.copytree(CONTENT_DIR, content)
    for name, text in EXTRA_ARTICLES.items():
        (content / "articles" / name).write_text(text, encoding="utf-8")
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update({
        "SECRET_KEY": "a11y-secret",
        "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{root / 'a11y.db'}",
        "CONTENT_DIR": str(content),
        "SEARCH_INDEX_DIR": str(root / "index"),  # its own content, so not the shared index
        "RATELIMIT_ENABLED": False,
        "MAIL_SUPPRESS_SEND": True,
    })
    app = create_app(config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.drop_all()
        db.create_all()
    server = LiveServer(app)
    numbers = seed(app, server.url)
    yield Site(url=server.url, app=app, tickets=numbers)
    server.stop()
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            db.drop_all()
        db.engine.dispose()


@pytest.fixture(scope="session")
def axe_source():
    """Return axe-core's source; fail in CI and skip locally when it is not installed."""
    if not AXE_JS.is_file():
        message = (f"axe-core is not installed ({AXE_JS} is missing): "
                   "run `npm install` in tests/a11y (scripts/test does this)")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


def log_in(context, base_url: str, email: str) -> None:
    """Log in through the real login form in this browser context."""
    page = context.new_page()
    page.goto(base_url + "/nl/inloggen")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORDS[email])
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".main-nav form[action$=\"/logout\"] button")).to_be_visible()
    page.close()


@pytest.fixture(scope="module")
def context_for(browser, site):
    """Return a function giving each role its own browser context, logged in once."""
    made = {}

    def get(role: str):
        if role not in made:
            context = browser.new_context(locale="nl-NL")
            context.set_default_timeout(10_000)
            if role != "anonymous":
                log_in(context, site.url, ROLE_USERS[role])
            made[role] = context
        return made[role]

    yield get
    for context in made.values():
        context.close()


# -- axe ----------------------------------------------------------------------------------

def run_axe(page, axe_source: str) -> list[dict]:
    """Run axe-core's WCAG 2.2 AA rules on the page and return its violations."""
    # The site's Content-Security-Policy (script-src 'self') blocks page.add_script_tag(content=...):
    # Chromium refuses the inline <script> it adds. page.evaluate runs through the DevTools protocol,
    # which the CSP does not govern, so axe checks the page with its real headers; a context with
    # bypass_csp=True would also work, but would test a page the visitors never get.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source + "\n;true")
    # What a closed <details> holds is on the page too: open them so that axe checks it.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                                     resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 200),
                                          summary: n.failureSummary}))
            }));
        }""",
        WCAG_TAGS,
    )


def describe(violations: list[dict]) -> str:
    """Return every violation with its impact, help text and the nodes it was found on."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}: {node['html']}")
            if node["summary"]:
                lines.append("      " + node["summary"].replace("\n", "\n      "))
    return "\n".join(lines)


# -- the pages ------------------------------------------------------------------------------

@dataclass
class Visit:
    role: str
    name: str
    paths: dict[str, str]
    then: Callable | None = None  # what to do on the page before axe runs: fill a form, send it
    width: int | None = None  # a phone's viewport, where target sizes and wrapping differ


def submit(page, selector: str = "main form button[type=submit]") -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state()


def show_suggestions(page, lang):
    page.locator("#site-search").press_sequentially("outlook")
    expect(page.locator("#site-search-suggestions")).to_be_visible()
    page.locator("#site-search").press("ArrowDown")


def show_article_suggestions(page, lang):
    subject, question = TEXTS[lang]["client_setup"]
    page.locator("#subject").fill(subject)
    page.locator("#question").press_sequentially(question[:40])
    expect(page.locator("#question-suggestions")).to_be_visible()


def login_with_error(page, lang):
    page.locator("#email").fill("anna@klant.nl")
    page.locator("#password").fill("not-the-password")
    submit(page)
    expect(page.locator("#password-error")).to_be_visible()


def answer_feedback(page, lang):
    yes = page.locator("#feedback button[value=yes]")
    if yes.count():  # the other language's test may have answered this article already
        yes.click()
        page.wait_for_load_state()
    expect(page.locator("#feedback .notice-success")).to_be_visible()


def feedback_refused(page, lang):
    # An answer posted by another site's page (the browser says so in Origin and Sec-Fetch-Site)
    # is refused, with the form and the comment shown again.
    target = page.evaluate("() => document.querySelector('#feedback form').action")
    other_site = (f'<!doctype html><title>x</title><form method="post" action="{target}">'
                  '<input name="comment" value="Het stuk over poorten is onduidelijk.">'
                  '<button name="helpful" value="no">x</button></form>')
    page.route("http://other-site.test/**", lambda route: route.fulfill(content_type="text/html", body=other_site))
    page.goto("http://other-site.test/")
    page.locator("button").click()
    page.wait_for_load_state()
    expect(page.locator("#feedback .notice-error")).to_be_visible()
    expect(page.locator("#feedback-comment")).to_have_value("Het stuk over poorten is onduidelijk.")


def ask_with_errors(page, lang):
    page.locator("#domain").fill("")
    submit(page, "#ask-form button[type=submit]")
    expect(page.locator("#question-error")).to_be_visible()
    expect(page.locator("#domain-error")).to_be_visible()


def fill_question(page, lang, kind):
    subject, question = TEXTS[lang][kind]
    page.locator("#domain").fill("klant.nl")
    page.locator("#subject").fill(subject)
    page.locator("#question").fill(question)
    submit(page, "#ask-form button[type=submit]")


def ask_client_setup(page, lang):
    fill_question(page, lang, "client_setup")
    expect(page.locator("#answer")).to_be_visible()


def ask_split(page, lang):
    fill_question(page, lang, "split")
    expect(page.locator("#split-advice")).to_be_visible()


def ask_duplicate(page, lang):
    fill_question(page, lang, "server_problem")
    expect(page.locator("#similar")).to_be_visible()


def ask_incident_answer(page, lang):
    page.locator("#domain").fill("klant.nl")
    page.locator("#subject").fill("Database" if lang == "en" else "Databank")
    page.locator("#question").fill("My database is slow." if lang == "en" else "Mijn database is traag.")
    submit(page, "#ask-form button[type=submit]")
    expect(page.locator("#incident-answer")).to_be_visible()


def incident_form_errors(page, lang):
    submit(page, "#incident-form button[type=submit]")
    expect(page.locator("#title_nl-error")).to_be_visible()


def follow_incident(page, lang):
    submit(page, ".follow-form button[type=submit]")  # the other language's test may have followed: then it stops
    expect(page.locator(".notice[role=status]")).to_be_visible()


def reply_with_error(page, lang):
    submit(page)
    expect(page.locator("#body-error")).to_be_visible()


def contact_with_errors(page, lang):
    submit(page, "#ask-form button[type=submit]")
    expect(page.locator("#error-summary")).to_be_focused()


def forgot_password_sent(page, lang):
    page.locator("#email").fill("anna@klant.nl")
    submit(page)
    expect(page.locator("#reset-sent")).to_be_visible()


def new_password_mismatch(page, lang):
    page.locator("#password").fill("een-lang-genoeg-wachtwoord")
    page.locator("#confirm").fill("iets anders")
    submit(page)
    expect(page.locator("#error-summary")).to_be_visible()


def kept_mail_refused(page, lang):
    page.locator("#kept-ticket").fill("99999")
    submit(page, "form.kept-action button[value=add]")
    expect(page.locator("#error-summary")).to_be_visible()


def preview_article(page, lang):
    page.locator("#text").fill(PREVIEW_ARTICLE.format(**TEXTS[lang]["preview"]))
    submit(page, ".preview-form button[type=submit]")
    expect(page.locator("#findings-heading")).to_be_visible()
    expect(page.locator(".preview-frame h1")).to_be_visible()


def preview_empty(page, lang):
    submit(page, ".preview-form button[type=submit]")
    expect(page.locator("#text-error")).to_be_visible()


def both(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


VISITS = [
    # Anyone
    Visit("anonymous", "home", both("/nl/", "/en/")),
    Visit("anonymous", "category", both("/nl/categorie/support", "/en/category/support")),
    Visit("anonymous", "article-with-table", both("/nl/artikel/e-mailinstellingen", "/en/article/email-settings")),
    Visit("anonymous", "article-fallback", both("/nl/artikel/english-only-guide", "/en/article/alleen-nederlands")),
    Visit("anonymous", "search-results", both("/nl/zoeken?q=outlook", "/en/search?q=outlook")),
    Visit("anonymous", "search-other-language", both("/nl/zoeken?q=troubleshooting", "/en/search?q=wachtwoord")),
    Visit("anonymous", "search-suggestions", both("/nl/", "/en/"), show_suggestions),
    Visit("anonymous", "search-refused", both("/nl/zoeken?q=%21%21%21", "/en/search?q=%21%21%21")),
    Visit("anonymous", "status-page", both("/nl/storingen", "/en/status")),
    Visit("anonymous", "incident", both("/nl/storingen/{incident}", "/en/status/{incident}")),
    Visit("anonymous", "not-found", both("/nl/bestaat-niet", "/en/does-not-exist")),
    Visit("anonymous", "login-error", both("/nl/inloggen", "/en/login"), login_with_error),
    Visit("anonymous", "guide-thunderbird", both("/nl/artikel/e-mail-instellen-thunderbird?address=info@klant.nl",
                                                 "/en/article/set-up-email-thunderbird?address=info@klant.nl")),
    Visit("anonymous", "guide-apple-profile", both("/nl/artikel/e-mail-instellen-iphone-ipad?address=info@klant.nl",
                                                   "/en/article/set-up-email-iphone-ipad?address=info@klant.nl")),
    Visit("anonymous", "guide-outlook", both("/nl/artikel/e-mail-instellen-outlook?address=info@klant.nl",
                                             "/en/article/set-up-email-outlook?address=info@klant.nl")),
    Visit("anonymous", "guide-filezilla", both("/nl/artikel/ftp-instellen-filezilla?address=klant.nl",
                                               "/en/article/ftp-setup-filezilla?address=klant.nl")),
    Visit("anonymous", "guide-not-hosted", both("/nl/artikel/e-mail-instellen-thunderbird?address=iemand@elders.nl",
                                                "/en/article/set-up-email-thunderbird?address=someone@elsewhere.com")),
    Visit("anonymous", "setup-download-refused", both("/nl/e-mail/apple-profiel?address=geen-adres",
                                                      "/en/email/apple-profile?address=not-an-address")),
    Visit("anonymous", "feedback-thanks", both("/nl/artikel/imap-of-pop3", "/en/article/imap-or-pop3"),
          answer_feedback),
    Visit("anonymous", "feedback-refused", both("/nl/artikel/poort-25-geblokkeerd", "/en/article/port-25-blocked"),
          feedback_refused),
    Visit("anonymous", "contact", both("/nl/contact?article=ftp-filezilla", "/en/contact?article=ftp-filezilla")),
    Visit("anonymous", "contact-errors", both("/nl/contact", "/en/contact"), contact_with_errors),
    Visit("anonymous", "contact-sent", both("/nl/contact?sent=1", "/en/contact?sent=1")),
    Visit("anonymous", "forgot-password", both("/nl/wachtwoord-vergeten", "/en/forgot-password")),
    Visit("anonymous", "forgot-password-sent", both("/nl/wachtwoord-vergeten", "/en/forgot-password"),
          forgot_password_sent),
    Visit("anonymous", "new-password", both("/nl/nieuw-wachtwoord/{reset}", "/en/new-password/{reset}")),
    Visit("anonymous", "new-password-errors", both("/nl/nieuw-wachtwoord/{reset}", "/en/new-password/{reset}"),
          new_password_mismatch),
    Visit("anonymous", "new-password-invalid", both("/nl/nieuw-wachtwoord/x", "/en/new-password/x")),
    Visit("anonymous", "site-map", both("/nl/overzicht", "/en/site-map")),
    Visit("anonymous", "support-hours", both("/nl/artikel/openingstijden-helpdesk", "/en/article/support-hours")),
    # Customers
    Visit("customer", "home", both("/nl/", "/en/")),
    Visit("customer", "ask-from-article", both("/nl/vraag-stellen?article=ftp-filezilla",
                                               "/en/ask?article=ftp-filezilla")),
    Visit("customer", "guide-from-account", both("/nl/artikel/e-mail-instellen-thunderbird",
                                                 "/en/article/set-up-email-thunderbird")),
    Visit("customer", "ask", both("/nl/vraag-stellen", "/en/ask")),
    Visit("customer", "ask-article-suggestions", both("/nl/vraag-stellen", "/en/ask"), show_article_suggestions),
    Visit("customer", "ask-errors", both("/nl/vraag-stellen", "/en/ask"), ask_with_errors),
    Visit("customer", "ask-client-setup-answer", both("/nl/vraag-stellen", "/en/ask"), ask_client_setup),
    Visit("customer", "ask-split-advice", both("/nl/vraag-stellen", "/en/ask"), ask_split),
    Visit("customer", "ask-duplicate-offer", both("/nl/vraag-stellen", "/en/ask"), ask_duplicate),
    Visit("customer", "ask-incident-answer", both("/nl/vraag-stellen", "/en/ask"), ask_incident_answer),
    Visit("customer", "incident-follow", both("/nl/storingen/{incident}", "/en/status/{incident}"), follow_incident),
    Visit("customer", "my-tickets", both("/nl/mijn-tickets", "/en/my-tickets")),
    Visit("customer", "ticket", both("/nl/tickets/{own}", "/en/tickets/{own}")),
    Visit("customer", "ticket-reply-error", both("/nl/tickets/{own}", "/en/tickets/{own}"), reply_with_error),
    Visit("customer", "forbidden", both("/nl/desk", "/en/desk")),
    # Support
    Visit("support", "queue", both("/nl/desk", "/en/desk")),
    Visit("support", "queue-all", both("/nl/desk?status=all", "/en/desk?status=all")),
    Visit("support", "desk-ticket", both("/nl/desk/tickets/{second}", "/en/desk/tickets/{second}")),
    Visit("support", "desk-ticket-article-search", both("/nl/desk/tickets/{own}?q=outlook",
                                                        "/en/desk/tickets/{first}?q=outlook")),
    Visit("support", "desk-ticket-ready-answer", both("/nl/desk/tickets/{own}?answer=client_setup",
                                                      "/en/desk/tickets/{first}?answer=script")),
    Visit("support", "desk-ticket-overdue", both("/nl/desk/tickets/{overdue}", "/en/desk/tickets/{overdue}")),
    Visit("support", "desk-ticket-closed", both("/nl/desk/tickets/{closed}", "/en/desk/tickets/{closed}")),
    Visit("support", "incidents", both("/nl/desk/storingen", "/en/desk/incidents")),
    Visit("support", "incident-new-errors", both("/nl/desk/storingen/nieuw", "/en/desk/incidents/new"),
          incident_form_errors),
    Visit("support", "desk-incident", both("/nl/desk/storingen/{incident}", "/en/desk/incidents/{incident}")),
    Visit("support", "kept-mail", both("/nl/desk/bewaarde-mail", "/en/desk/kept-mail")),
    Visit("support", "kept-mail-read", both("/nl/desk/bewaarde-mail/{contact}", "/en/desk/kept-mail/{kept}")),
    Visit("support", "kept-mail-refused", both("/nl/desk/bewaarde-mail/{kept}", "/en/desk/kept-mail/{contact}"),
          kept_mail_refused),
    # Editors
    Visit("editor", "dashboard", both("/nl/redactie/", "/en/editors/")),
    Visit("editor", "preview", both("/nl/redactie/voorbeeld", "/en/editors/preview")),
    Visit("editor", "preview-errors", both("/nl/redactie/voorbeeld", "/en/editors/preview"), preview_empty),
    Visit("editor", "preview-article", both("/nl/redactie/voorbeeld", "/en/editors/preview"), preview_article),
    Visit("editor", "draft-article", both("/nl/artikel/draft-guide", "/en/article/draft-guide")),
    # On a phone
    Visit("anonymous", "phone-home", both("/nl/", "/en/"), width=PHONE),
    Visit("anonymous", "phone-article-with-table", both("/nl/artikel/openingstijden-helpdesk",
                                                        "/en/article/support-hours"), width=PHONE),
    Visit("anonymous", "phone-search-results", both("/nl/zoeken?q=outlook", "/en/search?q=outlook"), width=PHONE),
    Visit("customer", "phone-ticket", both("/nl/tickets/{own}", "/en/tickets/{own}"), width=PHONE),
    Visit("support", "phone-desk-ticket", both("/nl/desk/tickets/{own}?q=outlook",
                                               "/en/desk/tickets/{first}?q=outlook"), width=PHONE),
    Visit("editor", "phone-dashboard", both("/nl/redactie/", "/en/editors/"), width=PHONE),
    Visit("anonymous", "phone-guide-filezilla", both("/nl/artikel/ftp-instellen-filezilla?address=klant.nl",
                                                     "/en/article/ftp-setup-filezilla?address=klant.nl"), width=PHONE),
    Visit("customer", "phone-my-tickets", both("/nl/mijn-tickets", "/en/my-tickets"), width=PHONE),
    Visit("support", "phone-queue", both("/nl/desk", "/en/desk"), width=PHONE),
]

CASES = [pytest.param(visit, lang, id=f"{visit.role}-{visit.name}-{lang}") for visit in VISITS for lang in LANGS]


@pytest.mark.parametrize("visit,lang", CASES)
def test_page_has_no_serious_wcag_violations(axe_source, site, context_for, visit, lang):
    page = context_for(visit.role).new_page()
    try:
        if visit.width:
            page.set_viewport_size({"width": visit.width, "height": 800})
        page.goto(site.url + visit.paths[lang].format(**site.tickets))
        expect(page.locator("html")).to_have_attribute("lang", lang)
        if visit.then:
            visit.then(page, lang)
        violations = run_axe(page, axe_source)
        checked_url = page.url
    finally:
        page.close()
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {checked_url}:\n{describe(violations)}"


def test_axe_finds_a_planted_violation(axe_source, site, context_for):
    """Check the check: an image without a text alternative is reported as critical."""
    page = context_for("anonymous").new_page()
    page.goto(site.url + "/nl/")
    page.evaluate("""() => {
        const img = document.createElement("img");
        img.src = "/static/none.png";
        document.querySelector("main").appendChild(img);
    }""")
    violations = run_axe(page, axe_source)
    page.close()
    assert any(v["id"] == "image-alt" and v["impact"] == "critical" for v in violations), describe(violations)
