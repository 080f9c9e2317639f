"""The editors' area: access, the dashboard and its charts, the preview, feedback, click tracking, index sync."""

import datetime as dt
import io
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import csrf_token, login
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from helpsite import analytics, charts
from helpsite.content import ArticleStore
from helpsite.content_check import check_article_text
from helpsite.extensions import db
from helpsite.models import ArticleFeedback, ArticleLink, SearchEvent, Ticket, TriageDecision, User, utcnow

SVG = re.compile(r"<svg\b.*?</svg>", re.S)
SVG_NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'

NEW_ARTICLE = """---
id: {id}
title: "{title}"
summary: "A short summary."
category: email
tags: [test]
applies_to: [general]
updated: 2026-11-20
---

{body}

## Next step {{#next-step}}

[Ask us](ask:) if this did not help.
"""


def article_text(article_id="preview-test", title="Preview test", body="Some text.", **extra) -> str:
    text = NEW_ARTICLE.format(id=article_id, title=title, body=body)
    for key, value in extra.items():
        text = text.replace("updated:", f"{key}: {value}\nupdated:", 1)
    return text


def snapshot(folder: Path) -> dict:
    """Return every file under a folder with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


# -- access -------------------------------------------------------------------------------

EDITOR_PAGES = ["/nl/redactie/", "/en/editors/", "/nl/redactie/voorbeeld", "/en/editors/preview"]


@pytest.mark.parametrize("path", EDITOR_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, users, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/inloggen" in response.headers["Location"] or "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["customer", "managed", "support"])
def test_customers_and_support_are_refused(app, users, role):
    client = app.test_client()
    login(client, users[role])
    for path in EDITOR_PAGES:
        assert client.get(path).status_code == 403, path
    # Posting to the preview is refused before anything is read.
    token = csrf_token(client.get("/nl/"))
    response = client.post("/en/editors/preview", data={"csrf_token": token, "lang": "en", "text": article_text()})
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_get_in(app, users, role):
    client = app.test_client()
    login(client, users[role])
    for path in EDITOR_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
    assert 'href="/nl/redactie/"' in client.get("/nl/").get_data(as_text=True)  # the menu links the dashboard


# -- the dashboard ----------------------------------------------------------------------------

def seed(app, users):
    """Fill the analytics tables: recent events, and old ones that fall outside a 7-day period."""
    now = utcnow()
    with app.app_context():
        customer = User.query.filter_by(email=users["customer"]).one()
        ticket = Ticket(user_id=customer.id, subject="Mail", domain="klant.nl")
        other_ticket = Ticket(user_id=customer.id, subject="FTP", domain="klant.nl")
        db.session.add_all([ticket, other_ticket])
        db.session.flush()
        events = [
            SearchEvent(query="dkim record", lang="en", hits=0, created_at=now - dt.timedelta(hours=1)),
            SearchEvent(query="DKIM record", lang="en", hits=0, other_hits=2, created_at=now - dt.timedelta(days=2)),
            SearchEvent(query="dkim record", lang="en", hits=0, created_at=now - dt.timedelta(days=20)),
            SearchEvent(query="spf", lang="nl", hits=0, created_at=now - dt.timedelta(days=1)),
            SearchEvent(query=HOSTILE, lang="nl", hits=0, created_at=now - dt.timedelta(days=1)),
            SearchEvent(query="outlook", lang="nl", hits=5, created_at=now - dt.timedelta(days=1)),
            SearchEvent(query="outlook", lang="nl", hits=5, clicked_article="email-setup-outlook",
                        created_at=now - dt.timedelta(days=1)),
            SearchEvent(query="filezilla", lang="en", hits=3, clicked_article="ftp-setup-filezilla",
                        created_at=now - dt.timedelta(days=3)),
        ]
        feedback = [
            ArticleFeedback(article_id="email-settings", lang="en", helpful=True, comment="",
                            created_at=now - dt.timedelta(days=1)),
            ArticleFeedback(article_id="email-settings", lang="nl", helpful=False, comment="Geen uitleg over DKIM",
                            created_at=now - dt.timedelta(days=1)),
            ArticleFeedback(article_id="email-settings", lang="en", helpful=False, comment=HOSTILE,
                            created_at=now - dt.timedelta(hours=2)),
            ArticleFeedback(article_id="ftp-settings", lang="nl", helpful=True, comment="",
                            created_at=now - dt.timedelta(days=2)),
            ArticleFeedback(article_id="ftp-settings", lang="nl", helpful=False, comment="old",
                            created_at=now - dt.timedelta(days=40)),
        ]
        decisions = [
            TriageDecision(text="How do I set up Outlook?", lang="en", verdict="client_setup", topic="outlook",
                           created_at=now - dt.timedelta(days=1)),
            TriageDecision(text="Outlook says the server is down for all of us " + HOSTILE, lang="en",
                           verdict="client_setup", topic="outlook", overridden=True, ticket_id=ticket.id,
                           created_at=now - dt.timedelta(hours=3)),
            TriageDecision(text="Mijn .htaccess werkt niet", lang="nl", verdict="script", topic="htaccess",
                           created_at=now - dt.timedelta(days=2)),
            TriageDecision(text="Server geeft 500", lang="nl", verdict="ticket", ticket_id=other_ticket.id,
                           created_at=now - dt.timedelta(days=2)),
        ]
        links = [
            ArticleLink(article_id="email-settings", ticket_id=ticket.id, created_at=now - dt.timedelta(days=1)),
            ArticleLink(article_id="email-settings", ticket_id=other_ticket.id, created_at=now - dt.timedelta(days=1)),
            ArticleLink(article_id="email-settings", ticket_id=ticket.id, created_at=now - dt.timedelta(days=2)),
            ArticleLink(article_id="ftp-settings", ticket_id=ticket.id, created_at=now - dt.timedelta(days=1)),
            ArticleLink(article_id="ftp-settings", ticket_id=ticket.id, created_at=now - dt.timedelta(days=50)),
        ]
        db.session.add_all(events + feedback + decisions + links)
        db.session.commit()


def test_dashboard_figures_match_the_seeded_events(app, users):
    seed(app, users)
    since = analytics.period_start(7)
    with app.app_context():
        assert analytics.search_totals(since) == {"searches": 7, "zero": 4, "unclicked": 1}
        zero = analytics.zero_result_searches(since)
        assert [(r["query"], r["lang"], r["count"], r["other_language"]) for r in zero][0] == ("dkim record", "en", 2, 1)
        assert {r["query"] for r in zero} == {"dkim record", "spf", HOSTILE.lower()}
        unclicked = analytics.unclicked_searches(since)
        assert [(r["query"], r["searches"], r["unclicked"]) for r in unclicked] == [("outlook", 2, 1)]
        feedback = {r["article_id"]: r for r in analytics.feedback_per_article(since)}
        assert (feedback["email-settings"]["yes"], feedback["email-settings"]["no"]) == (1, 2)
        assert feedback["ftp-settings"]["answers"] == 1  # the answer of 40 days ago is outside the period
        assert [c.comment for c in feedback["email-settings"]["comments"]] == [HOSTILE, "Geen uitleg over DKIM"]
        assert analytics.feedback_per_article(since)[0]["article_id"] == "email-settings"  # least helpful first
        verdicts = {r["verdict"]: (r["count"], r["overridden"]) for r in analytics.triage_per_verdict(since)}
        assert verdicts == {"client_setup": (2, 1), "script": (1, 0), "ticket": (1, 0)}
        assert [d.topic for d in analytics.triage_overrides(since)] == ["outlook"]
        assert analytics.most_linked_articles(since) == [
            {"article_id": "email-settings", "links": 3, "tickets": 2},
            {"article_id": "ftp-settings", "links": 1, "tickets": 1},
        ]
        # A longer period takes the older events in.
        assert analytics.search_totals(analytics.period_start(30))["searches"] == 8
        days = analytics.searches_per_day(since, 7, "Europe/Amsterdam")
        assert len(days) == 8 and sum(d["searches"] for d in days) == 7
        assert sum(d["zero"] for d in days) == 4


def test_dashboard_page_shows_the_figures_in_both_languages(app, users):
    seed(app, users)
    client = app.test_client()
    login(client, users["editor"])
    dutch = client.get("/nl/redactie/?period=7").get_data(as_text=True)
    english = client.get("/en/editors/?period=7").get_data(as_text=True)
    for page in (dutch, english):
        assert "dkim record" in page and "Geen uitleg over DKIM" in page
        assert "Email settings: IMAP, POP3 and SMTP at a glance" in english  # article titles from the store
        assert 'option value="7" selected' in page
        assert "Outlook says the server is down for all of us" in page
    assert '<html lang="nl">' in dutch and '<html lang="en">' in english
    assert "E-mailinstellingen" in dutch or "e-mailinstellingen" in dutch.lower()
    # The period changes the figures: the search of 20 days ago counts in 30 days, not in 7.
    week = client.get("/en/editors/?period=7").get_data(as_text=True)
    month = client.get("/en/editors/?period=30").get_data(as_text=True)
    assert re.search(r"<dt>Searches</dt><dd>7</dd>", week)
    assert re.search(r"<dt>Searches</dt><dd>8</dd>", month)
    # A period that is not offered falls back to 30 days instead of failing.
    odd = client.get("/en/editors/?period=100000")
    assert odd.status_code == 200 and 'option value="30" selected' in odd.get_data(as_text=True)


def test_hostile_queries_comments_and_texts_are_escaped(app, users):
    seed(app, users)
    client = app.test_client()
    login(client, users["admin"])
    page = client.get("/nl/redactie/?period=7").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page  # the comment and the triage text
    assert page.count("&lt;script&gt;") >= 3  # query, comment, override text


def test_charts_are_well_formed_svg_with_a_text_alternative(app, users):
    seed(app, users)
    client = app.test_client()
    login(client, users["editor"])
    for path in ("/nl/redactie/?period=7", "/en/editors/?period=90"):
        page = client.get(path).get_data(as_text=True)
        svgs = SVG.findall(page)
        assert len(svgs) == 3
        for markup in svgs:
            root = ET.fromstring(markup)  # raises on anything that is not well-formed XML
            assert root.tag == f"{SVG_NS}svg" and root.get("role") == "img"
            title, desc = root.find(f"{SVG_NS}title"), root.find(f"{SVG_NS}desc")
            assert title is not None and title.text and desc is not None and desc.text
            assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
            assert "style=" not in markup  # the Content-Security-Policy forbids inline styles
        assert "<table" in page and "<details>" in page  # the figures as a table too
    english = client.get("/en/editors/?period=7").get_data(as_text=True)
    assert "Searches per day" in english and "7 searches from" in english


def test_chart_module_escapes_its_text_and_handles_empty_data():
    points = [charts.Point(HOSTILE, 3, tooltip=HOSTILE), charts.Point("b&c", None), charts.Point("d", 0)]
    for chart in (charts.bar_chart("c1", HOSTILE, HOSTILE, points),
                  charts.line_chart("c2", "t", "d", points, top=5),
                  charts.bar_chart("c3", "empty", "nothing", []),
                  charts.line_chart("c4", "gaps", "none", [charts.Point("x", None)] * 3)):
        root = ET.fromstring(str(chart))
        assert root.find(f"{SVG_NS}title") is not None
        assert "<script" not in str(chart)
    assert charts._nice_max(7) == 10 and charts._nice_max(11) == 20 and charts._nice_max(0) == 1


# -- preview ---------------------------------------------------------------------------------

@pytest.fixture
def editor_client(make_app, content_copy, tmp_path, users):
    """Return (client, content folder) for an editor on an app with its own copy of the content."""
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "own-index"))
    client = app.test_client()
    login(client, users["editor"])  # the users live in this test's database, which both apps share
    return client, content_copy


def post_preview(client, lang="en", site_lang="en", upload=None, **data):
    """Send the preview form; upload is (bytes, file name)."""
    path = "/en/editors/preview" if site_lang == "en" else "/nl/redactie/voorbeeld"
    fields = {"csrf_token": csrf_token(client.get(path)), "lang": lang, **data}
    if upload is not None:
        fields["upload"] = FileStorage(io.BytesIO(upload[0]), filename=upload[1], content_type="text/markdown")
    # Encoded here, in memory: the test client spools bodies over 500 KB to a file it never closes.
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_preview_renders_like_the_article_page_with_placeholders_and_links(editor_client):
    client, content = editor_client
    before = snapshot(content)
    body = ("## Settings {#settings}\n\nUse {{imap_host}} on port {{imap_port}}. "
            "See [the settings](a:email-settings#smtp) and [nothing](a:no-such-article).\n\n"
            "![](screenshot.png)\n\n{{ no_such_fact }}\n")
    response = post_preview(client, text=article_text(body=body, draft="true"), slug="preview-test")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "mail.example.com" in page and "{{imap_host}}" not in page.split('<textarea')[0]
    assert 'href="/en/article/email-settings#smtp"' in page
    assert '<article class="article" lang="en">' in page and "<h1>Preview test</h1>" in page
    assert "Draft: only editors can see this article." in page
    # The content check's findings beside it.
    assert "link to unknown article a:no-such-article" in page
    assert "image &#39;screenshot.png&#39; has no alt text" in page
    assert "unknown placeholder {{no_such_fact}}" in page
    assert "no nl translation" in page
    assert 'id="feedback"' not in page  # no feedback form on a preview
    assert snapshot(content) == before  # nothing written


def test_preview_findings_match_the_content_check(editor_client):
    client, _ = editor_client
    text = article_text(article_id="email-settings", title="Copy", body="Hi", category="x")
    text = text.replace("category: email\n", "")
    page = post_preview(client, text=text, slug="a-new-file").get_data(as_text=True)
    assert "duplicate id &#39;email-settings&#39; (also in email-settings.md)" in page
    assert "unknown category &#39;x&#39;" in page
    # The file an article already lives in is the same article, not a duplicate.
    existing = (Path(editor_client[1]) / "articles/en/email-settings.md").read_text()
    page = post_preview(client, text=existing, slug="email-settings").get_data(as_text=True)
    assert "No problems found." in page
    # An alias or slug used by another article is a finding.
    page = post_preview(client, text=article_text(aliases="[ftp-settings]"), slug="new-one").get_data(as_text=True)
    assert "slug or alias &#39;ftp-settings&#39; is also used by ftp-settings.md" in page
    # Missing fields and raw HTML.
    page = post_preview(client, text="---\nid: x\n---\nbody").get_data(as_text=True)
    assert "missing front matter field(s): title, summary, category, tags, applies_to, updated" in page
    page = post_preview(client, text=article_text(body="<div onclick='x()'>raw</div>")).get_data(as_text=True)
    assert "raw HTML is not allowed" in page
    # A list that would collapse into the line above it.
    page = post_preview(client, text=article_text(body="> Fill in:\n> - **Host:** x\n")).get_data(as_text=True)
    assert "is shown as part of the text above it" in page


def test_preview_sanitizes_hostile_markdown(editor_client):
    client, _ = editor_client
    body = ('<script>alert("pwned")</script>\n\n[click](javascript:alert(1))\n\n'
            '<img src="x" onerror="alert(2)">\n\n<iframe src="https://evil.example"></iframe>\n')
    response = post_preview(client, text=article_text(title=HOSTILE.replace('"', "'"), body=body))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    rendered = page.split('class="preview-frame"')[1]
    assert "<script" not in rendered and "<iframe" not in rendered
    assert "javascript:" not in rendered
    assert not re.search(r"<[^>]*\sonerror=", rendered)
    assert "<h1>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</h1>" in rendered


def test_preview_refuses_oversized_and_garbled_input_clearly(editor_client):
    client, content = editor_client
    before = snapshot(content)
    big = article_text(body="x" * (600 * 1024)).encode()
    response = post_preview(client, upload=(big, "big.md"))
    assert response.status_code == 400 and "larger than 512 KiB" in response.get_data(as_text=True)

    latin1 = article_text(body="Café\nNog een regel met é").encode("latin-1")
    for site_lang, message in (("en", "is not saved as UTF-8 (the problem starts on line 11)"),
                               ("nl", 'role="alert"')):
        response = post_preview(client, site_lang=site_lang, upload=(latin1, "cafe.md"))
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    utf16 = article_text().encode("utf-16")
    response = post_preview(client, upload=(utf16, "notepad.md"))
    assert response.status_code == 400 and "is not saved as UTF-8" in response.get_data(as_text=True)
    binary = b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR"
    response = post_preview(client, upload=(binary, "image.md"))
    assert response.status_code == 400 and "This is not a text file" in response.get_data(as_text=True)
    assert post_preview(client).status_code == 400  # neither text nor file
    response = post_preview(client, text="   ")
    assert response.status_code == 400 and "Paste the text of an article, or choose a file." in response.get_data(as_text=True)
    # Bigger than the site accepts at all: the friendly 413 page.
    response = post_preview(client, upload=(b"x" * (3 * 1024 * 1024), "huge.md"))
    assert response.status_code == 413
    assert snapshot(content) == before


def test_preview_takes_an_uploaded_file_and_warns_about_double_encoding(editor_client):
    client, _ = editor_client
    text = article_text(article_id="cafe-article", body="CafÃ© and a good day")
    response = post_preview(client, upload=(b"\xef\xbb\xbf" + text.encode(), "cafe-article.md"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "converted to UTF-8 twice" in page
    assert 'name="slug" type="text" value="cafe-article"' in page or 'value="cafe-article"' in page
    assert "CafÃ© and a good day" in page.split("<textarea", 1)[1].split("</textarea>", 1)[0]  # kept as typed


def test_preview_requires_a_csrf_token(editor_client):
    client, _ = editor_client
    response = client.post("/en/editors/preview", data={"lang": "en", "text": article_text()})
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)


def test_check_article_text_writes_nothing_and_reports_like_check_content(content_copy):
    store = ArticleStore()
    store.content_dir, store.reload_interval = content_copy, None
    store.reload()
    before = snapshot(content_copy)
    article, findings = check_article_text(article_text(body="[x](/a/nope)").encode(), "en", "preview-test", store)
    assert article.id == "preview-test" and article.path == content_copy / "articles/en/preview-test.md"
    assert [f.message for f in findings if not f.warning] == ["link to unknown article /a/nope"]
    assert snapshot(content_copy) == before
    assert store.get("en", "preview-test") is None  # not added to the store either


# -- drafts --------------------------------------------------------------------------------

def test_drafts_are_visible_to_editors_only(make_app, content_copy, tmp_path, users):
    (content_copy / "articles/en/secret-draft.md").write_text(
        article_text(article_id="secret-draft", title="Secret draft zebracorn", body="zebracorn text", draft="true"))
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "draft-index"))
    for role, visible in (("anonymous", False), ("customer", False), ("support", False), ("editor", True),
                          ("admin", True)):
        client = app.test_client()
        if role != "anonymous":
            login(client, users[role])
        article = client.get("/en/article/secret-draft")
        assert article.status_code == (200 if visible else 404), role
        search = client.get("/en/search?q=zebracorn").get_data(as_text=True)
        assert ("Secret draft zebracorn" in search) is visible, role
        assert client.get("/a/secret-draft").status_code == (302 if visible else 404), role


# -- "Was this helpful?" --------------------------------------------------------------------

SAME_SITE = {"Origin": "http://help.test"}  # what a browser sends with a form of this site


def test_every_article_asks_was_this_helpful(client):
    for path in ("/nl/artikel/e-mailinstellingen", "/en/article/ftp-settings"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert 'id="feedback"' in page and 'name="helpful" value="yes"' in page and 'maxlength="2000"' in page
        # No token and no session: the page is the same for every anonymous reader, so it can be cached.
        assert 'name="csrf_token"' not in page


def feedback_post(client, path, headers=SAME_SITE, **data):
    """Answer "Was this helpful?" through the form on an article page, as a browser on this site does."""
    page = client.get(path).get_data(as_text=True)
    target = re.search(r'action="(/(?:nl|en)/[a-z-]+-feedback/[a-z0-9-]+)"', page).group(1)
    return client.post(target, data=data, headers=headers)


@pytest.mark.parametrize("headers", [
    {},  # a request that does not say where it comes from
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/help.test/en/article/ftp-settings"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://help.test"},  # the browser's own word wins
    {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site for us
    {"Origin": "http://help.test.evil.example"},
])
def test_feedback_from_another_site_is_refused_and_the_comment_kept(app, client, headers):
    response = feedback_post(client, "/en/article/ftp-settings", headers=headers, helpful="no", comment="Port 21?")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "was not sent from our site" in page and "Port 21?" in page
    with app.app_context():
        assert db.session.query(ArticleFeedback).count() == 0


@pytest.mark.parametrize("headers", [
    {"Origin": "http://help.test"},
    {"Referer": "http://help.test/en/article/ftp-settings"},  # a browser that sends no Origin
    {"Sec-Fetch-Site": "same-origin"},
])
def test_feedback_from_this_site_is_accepted(app, client, headers):
    assert feedback_post(client, "/en/article/ftp-settings", headers=headers, helpful="yes").status_code == 303
    with app.app_context():
        assert db.session.query(ArticleFeedback).count() == 1


def test_feedback_is_stored_and_the_reader_thanked_in_their_language(app, client):
    response = feedback_post(client, "/nl/artikel/e-mailinstellingen", helpful="no", comment="  Mist DKIM \x07 ")
    assert response.status_code == 303
    # Not helped: the reader lands on "Still need help?", right under the thanks.
    assert response.headers["Location"].endswith("/nl/artikel/e-mailinstellingen#still-need-help")
    page = client.get("/nl/artikel/e-mailinstellingen").get_data(as_text=True)
    assert 'role="status"' in page.split('id="feedback"')[1]
    assert 'name="helpful"' not in page  # answered: thanked, not asked again
    with app.app_context():
        stored = db.session.scalars(db.select(ArticleFeedback)).all()
        assert [(f.article_id, f.lang, f.helpful, f.comment) for f in stored] == [
            ("email-settings", "nl", False, "Mist DKIM")]
    # A second answer for the same article from the same browser is thanked but not counted twice.
    client.post("/nl/artikel-feedback/email-settings", data={"helpful": "yes"}, headers=SAME_SITE)
    # English readers are thanked in English.
    response = feedback_post(client, "/en/article/ftp-settings", helpful="yes")
    assert response.headers["Location"].endswith("/en/article/ftp-settings#feedback")
    english = client.get("/en/article/ftp-settings").get_data(as_text=True)
    assert "Thank you for your answer" in english
    with app.app_context():
        assert db.session.query(ArticleFeedback).count() == 2


def test_feedback_refuses_cross_site_bad_values_and_long_comments(app, client):
    assert client.post("/en/article-feedback/ftp-settings", data={"helpful": "yes"}).status_code == 400
    too_long = client.post("/en/article-feedback/ftp-settings", headers=SAME_SITE,
                           data={"helpful": "no", "comment": "x" * 2001})
    assert too_long.status_code == 400
    assert "Use at most 2000 characters." in too_long.get_data(as_text=True)
    assert "x" * 2001 in too_long.get_data(as_text=True)  # the comment is kept for the reader to shorten
    odd = client.post("/en/article-feedback/ftp-settings", data={"helpful": "maybe"}, headers=SAME_SITE)
    assert odd.status_code == 400 and "Choose Yes or No." in odd.get_data(as_text=True)
    unknown = client.post("/en/article-feedback/no-such-article", data={"helpful": "yes"}, headers=SAME_SITE)
    assert unknown.status_code == 404
    assert client.get("/en/article-feedback/ftp-settings").status_code == 302  # GET goes back to the article
    with app.app_context():
        assert db.session.query(ArticleFeedback).count() == 0


def test_feedback_is_rate_limited(make_app):
    app = make_app(FEEDBACK_RATE_LIMIT="2/hour")
    statuses = []
    for slug, article_id in (("ftp-settings", "ftp-settings"), ("email-settings", "email-settings"),
                             ("request-epp-code", "request-epp-code")):
        client = app.test_client()  # a fresh browser each time: only the address limit applies
        statuses.append(feedback_post(client, f"/en/article/{slug}", helpful="yes").status_code)
    assert statuses == [303, 303, 429]
    with app.app_context():
        assert db.session.query(ArticleFeedback).count() == 2


# -- search result clicks -------------------------------------------------------------------------

def test_result_links_carry_the_search_and_the_click_is_recorded(app, client, users):
    page = client.get("/en/search?q=filezilla").get_data(as_text=True)
    links = re.findall(r'href="(/en/article/[a-z0-9-]+)\?from_search=([A-Za-z0-9_-]{16})"', page)
    assert links, "result links carry the search event"
    path, event_id = links[0]
    response = client.get(f"{path}?from_search={event_id}")
    assert response.status_code == 303 and response.headers["Location"] == path  # the clean, canonical URL
    article = client.get(path).get_data(as_text=True)
    assert f'<link rel="canonical" href="http://help.test{path}">' in article
    with app.app_context():
        event = db.session.scalars(db.select(SearchEvent).where(SearchEvent.token == event_id)).one()
        opened = client.application.extensions["articles"].by_slug("en", path.rsplit("/", 1)[1])
        assert event.clicked_article == opened.id
        first = event.clicked_article
    client.get(f"{links[-1][0]}?from_search={event_id}")  # a second result opened later: the first counts
    with app.app_context():
        assert db.session.scalars(db.select(SearchEvent).where(SearchEvent.token == event_id)).one().clicked_article == first


@pytest.mark.parametrize("value", ["abc", "-1", "0", "99999999999999999999999", "", "1e3", "999999"])
def test_forged_search_ids_are_ignored(app, client, value):
    client.get("/en/search?q=filezilla")
    response = client.get(f"/en/article/ftp-settings?from_search={value}")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.query(SearchEvent).filter(SearchEvent.clicked_article.is_not(None)).count() == 0


def test_old_search_links_do_not_count_as_clicks(app):
    with app.app_context():
        event = SearchEvent(query="ftp", lang="en", hits=3, created_at=utcnow() - dt.timedelta(days=3))
        db.session.add(event)
        db.session.commit()
        assert analytics.record_click(event.id, "ftp-settings") is False
        fresh = SearchEvent(query="ftp", lang="en", hits=3)
        none_found = SearchEvent(query="qqq", lang="en", hits=0)
        db.session.add_all([fresh, none_found])
        db.session.commit()
        assert analytics.record_click(str(fresh.id), "ftp-settings") is True
        assert analytics.record_click(none_found.id, "ftp-settings") is False


def test_unclicked_searches_show_on_the_dashboard(app, client, users):
    client.get("/en/search?q=filezilla")
    page = client.get("/en/search?q=outlook").get_data(as_text=True)
    event_id = re.search(r"from_search=([A-Za-z0-9_-]+)", page).group(1)
    path = re.search(r'href="(/en/article/[a-z0-9-]+)\?from_search', page).group(1)
    client.get(f"{path}?from_search={event_id}")
    login(client, users["editor"], lang="en")
    dashboard = client.get("/en/editors/?period=7").get_data(as_text=True)
    unclicked = dashboard.split('id="unclicked-heading"')[1].split("</table>")[0]
    assert "filezilla" in unclicked and ">outlook<" not in unclicked


# -- the search index follows the content -----------------------------------------------------------

def wait_for(condition, timeout=10.0):
    """Wait until condition() is true: the content watcher applies changes in its own thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_new_article_is_found_without_a_rebuild_and_without_a_request(make_app, content_copy, tmp_path):
    index_dir = tmp_path / "sync-index"
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(index_dir), CONTENT_RELOAD_INTERVAL=0)
    watcher = app.extensions["content_sync"]
    client = app.test_client()
    build = os.readlink(index_dir / "current")
    builds = sorted(p.name for p in index_dir.glob("build-*"))
    assert "Quokka" not in client.get("/en/search?q=quokka").get_data(as_text=True)

    new = content_copy / "articles/en/quokka-mail.md"
    new.write_text(article_text(article_id="quokka-mail", title="Quokka mail setup", body="The quokka way."))
    # The watcher thread picks the change up on its own: no request is needed (or made) for it.
    assert wait_for(lambda: watcher.applied >= 1)
    assert watcher.last["changed"] == 1 and watcher.last["index"]["updated"] == 1
    assert "Quokka mail setup" in client.get("/en/search?q=quokka").get_data(as_text=True)
    assert os.readlink(index_dir / "current") == build  # updated in place: no new build
    assert sorted(p.name for p in index_dir.glob("build-*")) == builds

    # A changed article is re-indexed (even at the same size and file time), a removed one disappears.
    new.write_text(article_text(article_id="quokka-mail", title="Wombat mail setup", body="The wombat way."))
    assert wait_for(lambda: "Wombat mail setup" in client.get("/en/search?q=wombat").get_data(as_text=True))
    assert "Quokka mail setup" not in client.get("/en/search?q=quokka").get_data(as_text=True)
    assert "Wombat mail setup" in client.get("/en/article/quokka-mail").get_data(as_text=True)
    new.unlink()
    assert wait_for(lambda: "Wombat mail setup" not in client.get("/en/search?q=wombat").get_data(as_text=True))
    assert client.get("/en/article/quokka-mail").status_code == 404
    assert os.readlink(index_dir / "current") == build

    # The index records what it holds: a restart finds it current and does not rebuild.
    again = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(index_dir))
    assert again.extensions["search"].is_current()
    assert os.readlink(index_dir / "current") == build


def test_a_change_reads_only_the_changed_file(make_app, content_copy, tmp_path, monkeypatch):
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "ix"))
    store = app.extensions["articles"]
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    changed = content_copy / "articles/en/email-settings.md"
    changed.write_text(changed.read_text().replace("\n---\n", "\n---\nA new first line.\n", 1))
    result = store.apply_changes([changed])
    assert [a.id for a in result["changed"]] == ["email-settings"] and not result["reloaded"]
    assert read == ["email-settings.md"]
    read.clear()
    with app.app_context():
        assert app.extensions["search"].apply_changes(result["changed"], result["removed"])["updated"] == 1
    # The index compares stored digests, not bodies: only the changed article is read (to render it).
    assert {name for name in read if name.endswith(".md")} <= {"email-settings.md"}


def test_a_changed_provider_file_rebuilds_the_index(make_app, content_copy, tmp_path):
    index_dir = tmp_path / "rebuild-index"
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(index_dir), CONTENT_RELOAD_INTERVAL=0)
    build = os.readlink(index_dir / "current")
    provider = content_copy / "provider.yaml"
    provider.write_text(provider.read_text() + "\nnew_fact: \"narwhal\"\n")
    assert wait_for(lambda: os.readlink(index_dir / "current") != build)
    assert wait_for(lambda: app.extensions["content_sync"].applied >= 1)
    with app.app_context():
        index = app.extensions["search"]
        assert index.sync() == {"rebuilt": False, "updated": 0, "removed": 0}  # now in step


def test_sync_only_touches_changed_articles(make_app, content_copy, tmp_path):
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "ix"))
    index, store = app.extensions["search"], app.extensions["articles"]
    (content_copy / "articles/nl/nieuw-artikel.md").write_text(
        article_text(article_id="nieuw-artikel", title="Nieuw", body="Tekst."))
    store.reload()
    assert index.sync() == {"rebuilt": False, "updated": 1, "removed": 0}
    assert index.sync() == {"rebuilt": False, "updated": 0, "removed": 0}
    assert "nieuw-artikel" in index.indexed_digests("nl")


def test_searches_and_clicks_are_written_in_the_background_and_at_exit(make_app):
    app = make_app(ANALYTICS_IN_BACKGROUND=True, ANALYTICS_FLUSH_SECONDS=0.05)
    writer = app.extensions["analytics_writer"]
    client = app.test_client(use_cookies=False)  # anonymous: the second page comes from the page cache
    pages = [client.get("/en/search?q=filezilla").get_data(as_text=True) for _ in range(2)]
    tokens = [re.search(r"from_search=([A-Za-z0-9_-]+)", page).group(1) for page in pages]
    assert tokens[0] != tokens[1]  # each reader's copy of a cached page counts on its own
    path = re.search(r'href="(/en/article/[a-z0-9-]+)\?from_search', pages[1]).group(1)
    assert client.get(f"{path}?from_search={tokens[1]}").status_code == 303
    assert wait_for(lambda: writer.written >= 3)
    with app.app_context():
        events = {e.token: e for e in db.session.scalars(db.select(SearchEvent))}
        assert set(events) == set(tokens)
        assert events[tokens[1]].clicked_article and events[tokens[0]].clicked_article is None
    # What is still queued at a normal exit is written, not lost.
    writer._stopped.set()  # the thread stops flushing: only stop() can write now
    writer._thread.join(timeout=5)
    client.get("/en/search?q=outlook")
    writer._stopped.clear()
    writer.stop()
    with app.app_context():
        assert db.session.query(SearchEvent).count() == 3


def test_search_build_on_an_empty_folder_builds_once(make_app, tmp_path):
    index_dir = tmp_path / "empty-index"
    app = make_app(SEARCH_INDEX_DIR=str(index_dir))  # loading the app builds: the folder was empty
    builds = sorted(p.name for p in index_dir.glob("build-*"))
    assert len(builds) == 1
    result = app.test_cli_runner().invoke(args=["search", "build"])
    assert result.exit_code == 0 and "Indexed" in result.output
    assert sorted(p.name for p in index_dir.glob("build-*")) == builds  # not built a second time
    again = make_app(SEARCH_INDEX_DIR=str(index_dir))  # an index that exists: the command rebuilds
    assert again.test_cli_runner().invoke(args=["search", "build"]).exit_code == 0
    assert sorted(p.name for p in index_dir.glob("build-*")) != builds
