"""Reading articles: front matter, broken files, drafts, aliases, placeholders and links."""

import datetime as dt
import json
import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from helpsite.accounts import create_user, start_session
from helpsite.content import (
    LANGUAGES,
    MAX_ARTICLE_BYTES,
    REQUIRED_FIELDS,
    ArticleStore,
    ContentError,
    parse_article,
)
from helpsite.extensions import db
from helpsite.rendering import PAGE_PLACEHOLDERS, PLACEHOLDER, html_text
from helpsite.models import User

FIELDS = {
    "id": "test-article",
    "title": "Testartikel over Outlook",
    "summary": "Een korte samenvatting.",
    "category": "email",
    "tags": ["outlook", "imap"],
    "applies_to": ["outlook"],
    "updated": "2026-11-20",
}


def article_text(body: str = "Tekst van het artikel.\n", **fields) -> str:
    """Return an article file: front matter (FIELDS with overrides; None drops a field) and body."""
    meta = {**FIELDS, **fields}
    lines = ["---"] + [f"{key}: {json.dumps(value)}" for key, value in meta.items() if value is not None]
    return "\n".join(lines + ["---", ""]) + body


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_store(content_dir: Path) -> ArticleStore:
    """Return an ArticleStore over a content folder, without an app."""
    store = ArticleStore()
    store.content_dir = Path(content_dir)
    store.reload_interval = None
    store.reload()
    return store


def edit_front_matter(path: Path, **fields) -> None:
    """Set (or add) front matter fields of an existing article file."""
    text = path.read_text(encoding="utf-8")
    for key, value in fields.items():
        line = f"{key}: {json.dumps(value)}"
        text, found = re.subn(rf"^{key}:.*$", line, text, count=1, flags=re.M)
        if not found:
            text = text.replace("---\n", f"---\n{line}\n", 1)
    path.write_text(text, encoding="utf-8")


def own_app(make_app, content_dir, tmp_path, **config):
    """Return an app over changed content, with its own (unbuilt) search index."""
    return make_app(CONTENT_DIR=str(content_dir), SEARCH_INDEX_DIR=str(tmp_path / "idx"),
                    SEARCH_BUILD_ON_START=False, **config)


def shipped_path(content_dir: Path, lang: str, slug: str) -> Path:
    return content_dir / "articles" / lang / f"{slug}.md"


# -- front matter ------------------------------------------------------------------------


def test_parse_reads_every_front_matter_field(tmp_path):
    path = write(tmp_path / "nl" / "outlook-test.md", article_text(
        aliases=["oude-naam", "nog-ouder"], draft=True, body="Eerste regel.\n\n## Kop {#kop}\n"))
    article = parse_article(path, "nl")
    assert article.id == "test-article"
    assert article.lang == "nl"
    assert article.slug == "outlook-test"
    assert article.title == "Testartikel over Outlook"
    assert article.summary == "Een korte samenvatting."
    assert article.category == "email"
    assert article.tags == ["outlook", "imap"]
    assert article.applies_to == ["outlook"]
    assert article.updated == dt.date(2026, 11, 20)
    assert article.aliases == ["oude-naam", "nog-ouder"]
    assert article.draft is True
    assert article.body == "Eerste regel.\n\n## Kop {#kop}\n"
    # The body starts on line 12: 1 '---', 9 fields, 11 '---', then the body.
    assert article.body_line == 12
    assert path.read_text().splitlines()[article.body_line - 1] == "Eerste regel."


def test_optional_fields_default_to_no_aliases_and_published(tmp_path):
    article = parse_article(write(tmp_path / "a.md", article_text()), "nl")
    assert article.aliases == []
    assert article.draft is False


def test_an_unquoted_yaml_date_and_a_single_tag_are_accepted(tmp_path):
    text = article_text(tags="outlook").replace('updated: "2026-11-20"', "updated: 2026-11-20")
    article = parse_article(write(tmp_path / "a.md", text), "nl")
    assert article.updated == dt.date(2026, 11, 20)
    assert article.tags == ["outlook"]


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_a_missing_field_is_named_in_the_error(tmp_path, field):
    path = write(tmp_path / "a.md", article_text(**{field: None}))
    with pytest.raises(ContentError) as caught:
        parse_article(path, "nl")
    assert field in caught.value.message
    assert str(caught.value).startswith(f"{path}:2: ")


@pytest.mark.parametrize("field", ["title", "tags", "applies_to"])
def test_an_empty_required_field_counts_as_missing(tmp_path, field):
    path = write(tmp_path / "a.md", article_text(**{field: "" if field == "title" else []}))
    with pytest.raises(ContentError, match=f"missing front matter field.*{field}"):
        parse_article(path, "nl")


@pytest.mark.parametrize("front_matter, line, problem", [
    # the second mapping on line 5 is indented: "mapping values are not allowed here"
    ("id: x\ntitle: ok\nsummary: s\n  category: email\n", 5, "mapping values"),
    ("id: x\ntitle: ok\nsummary: a: b: c\n", 4, "mapping values"),
    ("id: x\ntitle: ok\n\tsummary: s\n", 4, r"tab|'\\t'"),
    ("id: x\ntitle: ok\ntags: [a, b\ncategory: email\n", 5, "expected ','"),
], ids=["indentation", "colon-in-value", "tab", "unclosed-list"])
def test_bad_yaml_reports_the_file_line_of_the_mistake(tmp_path, front_matter, line, problem):
    path = write(tmp_path / "a.md", f"---\n{front_matter}---\nTekst.\n")
    with pytest.raises(ContentError) as caught:
        parse_article(path, "nl")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: front matter is not valid YAML")
    assert re.search(problem, caught.value.message)


def test_yaml_tags_that_would_run_code_are_refused(tmp_path):
    text = article_text().replace("---\nid:", "---\nx: !!python/object/apply:os.system ['true']\nid:", 1)
    with pytest.raises(ContentError, match="not valid YAML"):
        parse_article(write(tmp_path / "a.md", text), "nl")


@pytest.mark.parametrize("updated, extra", [
    ("2026-13-45", ""),  # YAML reads it as a date, the calendar refuses it
    ("2026-11-20", "x: " + "[" * 1500 + "]" * 1500 + "\n"),  # deeper than the parser or Python allows
], ids=["impossible-date", "deep-nesting"])
def test_front_matter_that_python_cannot_build_is_an_error_not_a_crash(tmp_path, updated, extra):
    text = article_text(updated=None).replace("---\nid:", f"---\nupdated: {updated}\n{extra}id:", 1)
    with pytest.raises(ContentError, match="impossible value|not valid YAML"):
        parse_article(write(tmp_path / "a.md", text), "nl")


@pytest.mark.parametrize("fields, line, problem", [
    ({"id": "Outlook Test"}, 2, "id must be lowercase"),
    ({"updated": "20 november 2026"}, 8, "updated must be a date"),
    ({"tags": [{"a": 1}]}, 6, "tags must be a list of words"),
    ({"applies_to": {"outlook": True}}, 7, "applies_to must be a list of words"),
    ({"aliases": [["x"]]}, 9, "aliases must be a list of words"),
    ({"draft": "false"}, 9, "draft must be true or false"),
])
def test_invalid_field_values_point_at_their_line(tmp_path, fields, line, problem):
    path = write(tmp_path / "a.md", article_text(**fields))
    with pytest.raises(ContentError) as caught:
        parse_article(path, "nl")
    assert problem in caught.value.message
    assert caught.value.line == line


@pytest.mark.parametrize("text, problem", [
    ("Geen front matter.\n", "missing front matter"),
    ("---\nid: x\ntitle: nooit gesloten\n", "not closed"),
    ("---\n- id\n- title\n---\nTekst\n", "must be a mapping"),
    ("", "missing front matter"),
])
def test_a_file_without_usable_front_matter_is_refused(tmp_path, text, problem):
    with pytest.raises(ContentError, match=problem):
        parse_article(write(tmp_path / "a.md", text), "nl")


def test_a_slug_that_cannot_be_a_url_is_refused(tmp_path):
    with pytest.raises(ContentError, match="file name"):
        parse_article(write(tmp_path / "Mijn Artikel.md", article_text()), "nl")


# -- encodings, line endings and size ----------------------------------------------------


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    text = article_text(body="Eerste regel.\nTweede regel met café.\n")
    path = write(tmp_path / "a.md", text.encode("latin-1"))
    with pytest.raises(ContentError) as caught:
        parse_article(path, "nl")
    assert caught.value.line == 11  # body starts on line 10; "café" is on the second body line
    assert "UTF-8" in caught.value.message


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = write(tmp_path / "a.md", "\ufeff".encode() + article_text().encode())
    article = parse_article(path, "nl")
    assert article.id == "test-article"
    assert not article.title.startswith("\ufeff")


def test_windows_line_endings_are_read_like_unix_ones(tmp_path):
    unix = article_text(body="Regel een.\n\n## Kop {#kop}\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n")
    path = write(tmp_path / "a.md", unix.replace("\n", "\r\n").encode())
    article = parse_article(path, "nl")
    expected = parse_article(write(tmp_path / "b.md", unix), "nl")
    assert article.title == expected.title
    assert article.updated == expected.updated
    assert article.body == expected.body
    assert article.body_line == expected.body_line
    assert "\r" not in article.html
    assert '<h2 id="kop">Kop</h2>' in article.html
    assert "<table>" in article.html


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    body = "Een regel tekst over e-mail.\n" * (MAX_ARTICLE_BYTES // 20)
    path = write(tmp_path / "a.md", article_text(body=body))
    assert path.stat().st_size > MAX_ARTICLE_BYTES
    with pytest.raises(ContentError, match="larger than") as caught:
        parse_article(path, "nl")
    assert caught.value.line == 1


# -- the shipped content -----------------------------------------------------------------


def test_the_shipped_content_loads_without_errors_in_both_languages(app):
    articles = app.extensions["articles"]
    assert articles.errors == []
    for lang in LANGUAGES:
        assert len(articles.in_language(lang)) >= 30, f"fewer than 30 articles in {lang}"
    # every article exists in both languages, with the same id
    assert {a.id for a in articles.in_language("nl")} == {a.id for a in articles.in_language("en")}


def test_every_shipped_article_gives_every_section_the_same_anchor_in_both_languages(app):
    articles = app.extensions["articles"]
    for article in articles.in_language("nl"):
        translation = articles.get("en", article.id)
        nl_anchors = [entry["id"] for entry in article.toc]
        en_anchors = [entry["id"] for entry in translation.toc]
        assert nl_anchors == en_anchors, f"{article.id}: section anchors differ between nl and en"
        assert all(line.rstrip().endswith("}") for line in article.body.splitlines() if line.startswith("## ")), \
            f"{article.path}: every ## heading needs an explicit {{#anchor}}"


def test_every_shipped_article_uses_placeholders_not_typed_host_names(app):
    articles = app.extensions["articles"]
    typed = []
    for lang in LANGUAGES:
        values = articles.placeholder_values(lang)
        for article in articles.in_language(lang):
            for key in ("imap_host", "smtp_host", "pop3_host", "ftp_host", "server_host", "panel_url"):
                if values[key] in article.body:
                    typed.append(f"{article.path}: {values[key]} typed instead of {{{{{key}}}}}")
            # Only the page placeholders (filled when the page is shown, kb/article.html) remain.
            html = article.html.replace("<p>{{closed_days}}</p>", "")
            assert "{{" not in html, f"{article.path}: a placeholder was not filled in"
    assert typed == []


# -- a broken article does not take the site down ----------------------------------------


def test_a_broken_article_is_skipped_and_logged_and_the_rest_is_served(make_app, content_copy, tmp_path, caplog):
    broken = shipped_path(content_copy, "nl", "e-mail-instellen-outlook")
    broken.write_text(broken.read_text().replace("category: email", "category: [email\n  oops: x", 1))
    with caplog.at_level(logging.ERROR, logger="helpsite.content"):
        app = own_app(make_app, content_copy, tmp_path)
    assert any("skipping article" in r.getMessage() and "e-mail-instellen-outlook.md" in r.getMessage()
               for r in caplog.records)
    articles = app.extensions["articles"]
    assert [error.path for error in articles.errors] == [broken]
    client = app.test_client()
    assert client.get("/nl/").status_code == 200
    assert client.get("/nl/artikel/e-mail-instellen-thunderbird").status_code == 200
    assert client.get("/nl/categorie/email").status_code == 200
    assert client.get("/sitemap.xml").status_code == 200
    # the English translation of the broken article is still there, and the Dutch URL says so
    assert client.get("/en/article/set-up-email-outlook").status_code == 200
    response = client.get("/nl/artikel/e-mail-instellen-outlook")
    assert response.status_code == 404


@pytest.mark.parametrize("damage", [
    b"\xff\xfe\x00garbage",
    b"---\nupdated: 2026-13-45\n---\n",
    b"---\nid: x\n" + b"[" * 1500 + b"\n---\n",
], ids=["binary", "impossible-date", "deep-nesting"])
def test_no_kind_of_broken_file_stops_the_app_from_starting(make_app, content_copy, tmp_path, damage):
    write(shipped_path(content_copy, "en", "zz-broken"), damage)
    app = own_app(make_app, content_copy, tmp_path)
    articles = app.extensions["articles"]
    assert len(articles.errors) == 1
    assert len(articles.in_language("en")) == len(articles.in_language("nl"))
    assert app.test_client().get("/en/").status_code == 200


def test_of_two_articles_with_one_id_the_second_is_skipped(tmp_path, caplog):
    content = tmp_path / "content"
    write(content / "articles" / "nl" / "a-eerste.md", article_text(title="Eerste"))
    write(content / "articles" / "nl" / "b-tweede.md", article_text(title="Tweede"))
    with caplog.at_level(logging.ERROR, logger="helpsite.content"):
        store = load_store(content)
    assert store.get("nl", "test-article").title == "Eerste"
    assert len(store.errors) == 1
    assert store.errors[0].path.name == "b-tweede.md"
    assert "duplicate id 'test-article'" in store.errors[0].message
    assert "a-eerste.md" in store.errors[0].message
    assert store.by_slug("nl", "b-tweede") is None
    assert "duplicate id" in caplog.text


# -- drafts ------------------------------------------------------------------------------


@pytest.fixture
def draft_app(make_app, content_copy, tmp_path):
    """An app whose Outlook guide is a draft in both languages."""
    for lang, slug in (("nl", "e-mail-instellen-outlook"), ("en", "set-up-email-outlook")):
        edit_front_matter(shipped_path(content_copy, lang, slug), draft=True)
    return own_app(make_app, content_copy, tmp_path)


def test_drafts_are_left_out_of_lookups_unless_asked_for(draft_app):
    articles = draft_app.extensions["articles"]
    assert articles.get("nl", "email-outlook") is None
    assert articles.get("nl", "email-outlook", include_drafts=True).draft is True
    assert "email-outlook" not in {a.id for a in articles.in_language("en")}
    assert "email-outlook" in {a.id for a in articles.in_language("en", include_drafts=True)}
    assert "email-outlook" not in {a.id for a in articles.in_category("nl", "email")}
    assert articles.best("email-outlook", "nl") is None
    assert all(a.id != "email-outlook" for a in articles.related(articles.get("nl", "email-thunderbird")))


def test_anonymous_visitors_never_see_a_draft(draft_app):
    client = draft_app.test_client()
    assert client.get("/nl/artikel/e-mail-instellen-outlook").status_code == 404
    assert client.get("/en/article/set-up-email-outlook").status_code == 404
    assert client.get("/a/email-outlook").status_code == 404
    assert client.get("/en/artikel/e-mail-instellen-outlook").status_code == 404
    for url in ("/nl/categorie/email", "/en/category/email", "/sitemap.xml",
                "/nl/artikel/e-mail-instellen-thunderbird"):
        page = client.get(url).get_data(as_text=True)
        assert "e-mail-instellen-outlook" not in page and "set-up-email-outlook" not in page, url


def test_editors_see_a_draft_with_a_notice(draft_app):
    with draft_app.app_context():
        start_session(create_user("editor@webxtra.nl", "a long editor password", role="editor"))  # a login
        token = db.session.scalar(select(User.session_token).where(User.email == "editor@webxtra.nl"))
    client = draft_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    response = client.get("/nl/artikel/e-mail-instellen-outlook")
    assert response.status_code == 200
    assert 'class="notice notice-warning"' in response.get_data(as_text=True)
    assert client.get("/a/email-outlook").status_code == 302


# -- aliases -----------------------------------------------------------------------------


def test_an_alias_is_found_and_redirects_permanently(make_app, content_copy, tmp_path):
    edit_front_matter(shipped_path(content_copy, "nl", "ftp-instellen-filezilla"),
                      aliases=["filezilla-instellen", "ftp-filezilla-oud"])
    app = own_app(make_app, content_copy, tmp_path)
    articles = app.extensions["articles"]
    assert articles.by_alias("nl", "filezilla-instellen").id == "ftp-filezilla"
    assert articles.by_alias("en", "filezilla-instellen") is None
    client = app.test_client()
    for alias in ("filezilla-instellen", "ftp-filezilla-oud"):
        response = client.get(f"/nl/artikel/{alias}")
        assert response.status_code == 301
        assert response.headers["Location"] == "/nl/artikel/ftp-instellen-filezilla"
    # an old Dutch slug under the English prefix leads to the English translation
    response = client.get("/en/article/filezilla-instellen")
    assert response.status_code == 301
    assert response.headers["Location"] == "/en/article/ftp-setup-filezilla"


# -- placeholders ------------------------------------------------------------------------


def test_placeholders_are_filled_in_per_language(app):
    articles = app.extensions["articles"]
    assert articles.placeholder_values("nl")["imap_host"] == "mail.voorbeeld.nl"
    assert articles.placeholder_values("en")["imap_host"] == "mail.example.com"
    assert articles.placeholder_values("nl")["imap_port"] == "993"
    assert articles.placeholder_values("nl")["company"] == articles.placeholder_values("en")["company"]
    assert articles.fill_placeholders("{{imap_host}}:{{ imap_port }}", "nl") == "mail.voorbeeld.nl:993"
    assert articles.fill_placeholders("{{imap_host}}", "en") == "mail.example.com"
    # an unknown placeholder stays visible, so that an editor sees the mistake
    assert articles.fill_placeholders("{{ imap_hots }}", "nl") == "{{ imap_hots }}"


def test_changing_the_imap_host_changes_every_guide(make_app, content_copy, tmp_path):
    provider = content_copy / "provider.yaml"
    text = provider.read_text()
    text = text.replace('imap_host: {nl: "mail.voorbeeld.nl", en: "mail.example.com"}',
                        'imap_host: {nl: "imap.nieuw-voorbeeld.nl", en: "imap.new-example.com"}')
    assert "imap.nieuw-voorbeeld.nl" in text
    provider.write_text(text)
    app = own_app(make_app, content_copy, tmp_path)
    articles = app.extensions["articles"]
    client = app.test_client()
    changed = 0
    for lang, new_host in (("nl", "imap.nieuw-voorbeeld.nl"), ("en", "imap.new-example.com")):
        for article in articles.in_language(lang):
            if re.search(r"\{\{\s*imap_host\s*\}\}", article.body):
                assert new_host in article.html, article.path
                changed += 1
            else:
                assert new_host not in article.html, article.path
    assert changed >= 20  # every email guide names the IMAP server
    page = client.get("/nl/artikel/e-mail-instellen-outlook").get_data(as_text=True)
    assert "imap.nieuw-voorbeeld.nl" in page
    page = client.get("/en/article/set-up-email-outlook").get_data(as_text=True)
    assert "imap.new-example.com" in page


def test_an_empty_placeholder_leaves_out_its_paragraph_list_item_and_table_row(make_app, content_copy, tmp_path):
    # max_message_size, sending_limit and mailbox_quota ship empty: the SLA gives no value, the company fills them in.
    articles = own_app(make_app, content_copy, tmp_path).extensions["articles"]
    assert articles.placeholder_values("nl")["max_message_size"] == ""
    text = ("Eerste alinea.\n\nHet grootste bericht is {{max_message_size}}.\nDat geldt per bericht.\n\n"
            "- IMAP: {{imap_port}}\n- Limiet: {{sending_limit}} per uur\n  - met een detail\n- Quotum: {{mailbox_quota}}\n\n"
            "| Wat | Waarde |\n| --- | --- |\n| Limiet | {{sending_limit}} |\n| Poort | {{imap_port}} |\n\nLaatste alinea.")
    html = articles.render_text(text, "nl")
    assert "Eerste alinea." in html and "Laatste alinea." in html
    assert "grootste bericht" not in html and "Dat geldt per bericht" not in html  # the whole paragraph
    assert "Limiet" not in html and "met een detail" not in html  # the item, its nested item, the row
    assert "Quotum" not in html  # mailbox_quota ships empty too
    assert "IMAP: 993" in html and "<td" in html and "993" in html
    assert "{{" not in html


def test_a_filled_in_placeholder_is_shown(make_app, content_copy, tmp_path):
    provider = content_copy / "provider.yaml"
    provider.write_text(provider.read_text().replace('max_message_size: ""', 'max_message_size: "50 MB"'))
    articles = own_app(make_app, content_copy, tmp_path).extensions["articles"]
    html = articles.render_text("Het grootste bericht is {{max_message_size}}.\n\n- Limiet: {{sending_limit}}", "nl")
    assert "Het grootste bericht is 50 MB." in html
    assert "Limiet" not in html


# A word that cannot end a sentence or clause: what is left when a number was dropped from the middle
# of one ("your mailbox of .", "de limiet van ;").
DANGLING_WORD = re.compile(r"\b(?:of|van|the|de|het|to|tot|than|dan|for|voor|towards|reached|bereikt)\s+[.,;:)](?=\s|$)|\(\s*\)", re.I)


def test_without_a_mailbox_quota_no_page_shows_a_size_or_a_gap(app, client):
    # The SLA names no mailbox size: unset, the advice stays whole and no page shows a number or a hole.
    articles = app.extensions["articles"]
    assert articles.placeholder_values("nl")["mailbox_quota"] == ""
    for lang in LANGUAGES:
        for article in articles.in_language(lang):
            text = html_text(article.html)
            left = [m.group(0) for m in PLACEHOLDER.finditer(article.html) if m.group(1) not in PAGE_PLACEHOLDERS]
            assert "GB" not in text and not left, (article.path, left)
            assert not DANGLING_WORD.search(text), (article.path, DANGLING_WORD.search(text).group(0))
    spam = {"nl": ("spamfilter-ongewenste-e-mail", "opslagruimte van uw mailbox"),
            "en": ("spam-filter", "mailbox's storage limit")}
    for lang, (slug, words) in spam.items():
        assert words in html_text(articles.by_slug(lang, slug).html)  # the advice is kept, without the number
    full = client.get("/nl/artikel/mailbox-vol").get_data(as_text=True)
    assert "beperkte opslagruimte" in full and "Elke mailbox heeft  opslagruimte" not in full
    settings = client.get("/en/article/email-settings").get_data(as_text=True)
    assert "Mailbox size" not in settings and "Outgoing server requires authentication" in settings


def test_a_mailbox_quota_once_set_shows_in_mailbox_full_and_the_settings_table(make_app, content_copy, tmp_path):
    provider = content_copy / "provider.yaml"
    provider.write_text(provider.read_text().replace('mailbox_quota: ""', 'mailbox_quota: "10 GB"'))
    app = own_app(make_app, content_copy, tmp_path)
    client = app.test_client()
    pages = {("nl", "mailbox-vol"): "Elke mailbox heeft 10 GB opslagruimte.",
             ("en", "mailbox-full"): "Each mailbox has 10 GB of storage space."}
    for (lang, slug), sentence in pages.items():
        word = {"nl": "artikel", "en": "article"}[lang]
        assert sentence in client.get(f"/{lang}/{word}/{slug}").get_data(as_text=True)
    for lang, slug, label in (("nl", "e-mailinstellingen", "Grootte van de mailbox"), ("en", "email-settings", "Mailbox size")):
        word = {"nl": "artikel", "en": "article"}[lang]
        page = client.get(f"/{lang}/{word}/{slug}").get_data(as_text=True)
        row = re.search(rf"<tr>\s*<td[^>]*>{label}</td>\s*<td[^>]*>([^<]*)</td>", page)
        assert row and row.group(1) == "10 GB", page[page.find(label) - 200:page.find(label) + 200]


def test_the_ask_link_is_the_question_form_with_this_article_as_context(app, client):
    articles = app.extensions["articles"]
    nl = articles.render_text("[Stel ons uw vraag](ask:).", "nl", "email-outlook")
    en = articles.render_text("[Ask us](ask:).", "en", "email-outlook")
    assert 'href="/nl/vraag-stellen?article=email-outlook"' in nl
    assert 'href="/en/ask?article=email-outlook"' in en
    article = articles.get("nl", "email-outlook")
    assert 'href="/nl/vraag-stellen?article=email-outlook"' in article.html
    # the link leads where the article's own "Ask a question about this article" button leads
    with app.test_request_context():
        from flask import url_for
        assert url_for("tickets.ask", lang="nl", article="email-outlook") == "/nl/vraag-stellen?article=email-outlook"
        assert url_for("tickets.ask", lang="en", article="email-outlook") == "/en/ask?article=email-outlook"
    response = client.get("/nl/vraag-stellen?article=email-outlook")
    assert response.status_code == 302 and "article=email-outlook" in response.headers["Location"]


# -- links between articles --------------------------------------------------------------


def test_article_links_resolve_in_the_readers_language(app):
    articles = app.extensions["articles"]
    nl = articles.render_text("Zie [de instellingen](a:email-outlook#settings).", "nl")
    en = articles.render_text("See [the settings](a:email-outlook#settings).", "en")
    assert 'href="/nl/artikel/e-mail-instellen-outlook#settings"' in nl
    assert 'href="/en/article/set-up-email-outlook#settings"' in en
    plain = articles.render_text("[FileZilla](a:ftp-filezilla)", "en")
    assert 'href="/en/article/ftp-setup-filezilla"' in plain


def test_a_link_to_an_unknown_article_becomes_its_permalink(app):
    html = app.extensions["articles"].render_text("[weg](a:bestaat-niet#x)", "nl")
    assert 'href="/a/bestaat-niet#x"' in html


def test_a_link_to_an_untranslated_article_leads_to_the_other_language(make_app, content_copy, tmp_path):
    shipped_path(content_copy, "en", "ftp-setup-filezilla").unlink()
    app = own_app(make_app, content_copy, tmp_path)
    html = app.extensions["articles"].render_text("[FileZilla](a:ftp-filezilla#sftp)", "en")
    assert 'href="/nl/artikel/ftp-instellen-filezilla#sftp"' in html


def test_every_link_between_shipped_articles_points_at_an_existing_section(app, client):
    articles = app.extensions["articles"]
    checked = 0
    for lang in LANGUAGES:
        for article in articles.in_language(lang):
            assert "a:" not in re.findall(r'href="([^"]*)"', article.html), article.path
            for href in re.findall(r'href="(/(?:nl/artikel|en/article)/[^"]+)"', article.html):
                path, _, anchor = href.partition("#")
                target = articles.by_slug(lang, path.rsplit("/", 1)[1])
                assert target is not None, f"{article.path}: link to {href}"
                assert target.lang == lang, f"{article.path}: link to the other language {href}"
                if anchor:
                    assert f'id="{anchor}"' in target.html, f"{article.path}: no section #{anchor} in {target.path}"
                checked += 1
    assert checked > 50


def test_changed_files_applied_in_place_give_the_same_store_as_a_full_load(content_copy, tmp_path):
    from helpsite.content import ArticleStore

    def loaded():
        store = ArticleStore()
        store.content_dir = content_copy
        store.reload()
        return store

    def state(store):
        return (store.version,
                {lang: [a.id for a in store.in_language(lang, include_drafts=True)] for lang in ("nl", "en")},
                {lang: {c["id"]: [a.id for a in store.in_category(lang, c["id"])] for c in store.categories}
                 for lang in ("nl", "en")},
                {lang: sorted(store._slugs[lang]) for lang in ("nl", "en")},
                {lang: sorted(store._aliases[lang]) for lang in ("nl", "en")})

    store = loaded()
    english = content_copy / "articles" / "en"
    changed = english / "ftp-settings.md"
    changed.write_text(re.sub(r"^title: .*$", "title: Aardvark settings", changed.read_text(), count=1, flags=re.M))
    broken = english / "broken-new.md"
    broken.write_text("not an article")  # a new file that cannot be used changes nothing
    new = english / "zz-new-article.md"
    new.write_text(changed.read_text().replace("id: ftp-settings", "id: zz-new-article"))
    gone = next(p for p in sorted(english.glob("*.md")) if p not in (changed, new))
    gone.unlink()
    result = store.apply_changes([changed, new, gone, broken])
    assert not result["reloaded"]
    assert sorted(a.id for a in result["changed"]) == ["ftp-settings", "zz-new-article"]
    assert len(result["removed"]) == 1
    assert state(store) == state(loaded())
    assert store.in_language("en")[0].id in ("ftp-settings", "zz-new-article")


def test_related_articles_are_the_best_scored_of_all_others_in_order(app):
    """related() takes shortcuts (words counted once per distinct set, only the best kept); the lists are
    those of scoring every other article and sorting them all, best first, ties in the store's order."""
    articles = app.extensions["articles"]

    def scored_in_full(article, limit=4):
        scored = [(articles._related_score(article, other), other) for other in articles.in_language(article.lang)
                  if other.id != article.id]
        scored.sort(key=lambda pair: pair[0], reverse=True)
        return [other for points, other in scored if points[0] > 0][:limit]

    for lang in ("nl", "en"):
        for article in articles.in_language(lang):
            for limit in (1, 4, 10):
                assert articles.related(article, limit) == scored_in_full(article, limit), (lang, article.id, limit)
