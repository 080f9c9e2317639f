"""Rendering articles: sanitized HTML (an XSS corpus), heading anchors, tables, rendered once."""

import re
from html.parser import HTMLParser

import pytest

import helpsite.content
from helpsite.config import PROJECT_DIR
from helpsite.content import ALLOWED_TAGS, ArticleStore, render_markdown
from helpsite.rendering import drop_blocks_with

# Tags that can run code, load other documents or restyle the page; none may survive.
DANGEROUS_TAGS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "svg", "math", "form",
    "input", "button", "textarea", "select", "meta", "base", "link", "video", "audio", "source", "details",
    "template", "noscript", "marquee", "isindex", "xmp", "plaintext",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset"}
SAFE_SCHEMES = {"http", "https", "mailto"}
CONTENT_DIR = PROJECT_DIR / "content"


def url_scheme(url: str) -> str | None:
    """Return the scheme a browser would see in a URL (WHATWG parsing), or None for a relative URL."""
    url = url.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15"
                    "\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    url = re.sub(r"[\t\n\r]", "", url)
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return match.group(1).lower() if match else None


class Inspector(HTMLParser):
    """Collect what a browser would build from an HTML fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def assert_inert(html: str) -> None:
    """Fail when the HTML holds anything that could run script or escape the allowlist."""
    inspector = Inspector()
    inspector.feed(html)
    inspector.close()
    for tag, attrs in inspector.elements:
        assert tag in ALLOWED_TAGS, f"tag <{tag}> survived in {html!r}"
        assert tag not in DANGEROUS_TAGS
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} survived in {html!r}"
            assert name not in ("style", "srcdoc", "formaction", "xmlns"), f"attribute {name} survived in {html!r}"
            if name in URL_ATTRIBUTES:
                scheme = url_scheme(value)
                assert scheme is None or scheme in SAFE_SCHEMES, f"{name}={value!r} survived in {html!r}"
    # Nothing that looks like markup may have been smuggled out as text either.
    text_only = re.sub(r"<[^>]*>", "", html)
    assert "<script" not in text_only.lower()


XSS_CORPUS = [
    # script and raw tags
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "<script\n>alert(1)</script\n>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    # event handler attributes
    "<img src=x onerror=alert(1)>",
    "<img src=x ONERROR=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    '<a href="https://example.com" onclick="alert(1)">x</a>',
    "<p onmouseover=alert(1)>hover</p>",
    "<body onload=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<div onpointerenter=alert(1)>x</div>",
    # script URLs in links and images, plain and disguised
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](javascript:alert(1) \"title\")",
    "[click](java&#115;cript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](&#0000106;avascript:alert(1))",
    "[click](jav&#9;ascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](jav&Tab;ascript:alert(1))",
    "[click](jav&#10;ascript:alert(1))",
    "[click](jav\tascript:alert(1))",
    "[click](\x01javascript:alert(1))",
    "[click](&#0;javascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](DATA:text/html,<script>alert(1)</script>)",
    "[click](vbscript:msgbox(1))",
    "[click](VBScript:msgbox(1))",
    "[click](file:///etc/passwd)",
    "[ref][evil]\n\n[evil]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](vbscript:msgbox(1))",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<img src=\"javascript:alert(1)\">",
    "<img srcset=\"javascript:alert(1) 1x\">",
    # elements that embed, restyle or submit
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<iframe src=https://evil.example></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=https://evil.example/x.swf></object>",
    "<embed src=https://evil.example/x.swf>",
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<p style=\"position:fixed;top:0;left:0;width:100%;height:100%\">overlay</p>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<button formaction=javascript:alert(1)>x</button>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    # entities and encoded variants that must stay text
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\<script\\>alert(1)\\</script\\>",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    # markdown link-title and attribute tricks
    '[x](https://example.com "title\\" onmouseover=\\"alert(1)")',
    "[x](https://example.com 'a' onclick='alert(1)')",
    '[x](https://example.com "a" onclick="alert(1)")',
    '![x" onerror="alert(1)](https://example.com/a.png)',
    '![x](https://example.com/a.png" onerror="alert(1))',
    "[<img src=x onerror=alert(1)>](https://example.com)",
    '[x](https://example.com){: onclick="alert(1)" }',
    'Alinea {: onclick="alert(1)" }',
    # attribute breakouts in headings
    '## Kop" onmouseover="alert(1) {#kop}',
    "## Kop {#kop onmouseover=alert(1)}",
    '## Kop {: onclick="alert(1)" }',
    '## Kop {#kop" onclick="alert(1)}',
    "## Kop {#kop style=\"color:red\"}",
    "## <img src=x onerror=alert(1)> {#kop}",
    "## [x](javascript:alert(1)) {#kop}",
    # code keeps markup visible, never live
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    # tables with payloads in cells
    "| a | b |\n| --- | --- |\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "| <img src=x onerror=alert(1)> |\n| --- |\n| x |",
]


@pytest.mark.parametrize("markdown_text", XSS_CORPUS)
def test_render_markdown_leaves_nothing_executable(markdown_text):
    assert_inert(render_markdown(markdown_text))


@pytest.fixture(scope="module")
def store():
    """The shipped articles, read once for this module (rendering only reads them)."""
    articles = ArticleStore()
    articles.content_dir = CONTENT_DIR
    articles.reload_interval = None
    articles.reload()
    return articles


@pytest.mark.parametrize("markdown_text", XSS_CORPUS)
def test_article_rendering_leaves_nothing_executable(store, markdown_text):
    """The same corpus through the article pipeline: placeholders, a:links, markdown, sanitizing."""
    for lang in ("nl", "en"):
        assert_inert(store.render_text(f"{{{{company}}}}: {markdown_text} [zie](a:email-outlook)", lang))
        assert_inert(store.render_text(f"[{markdown_text}](a:email-outlook#settings)", lang))


def test_payloads_inside_placeholder_values_are_sanitized_too(make_app, content_copy, tmp_path):
    provider = content_copy / "provider.yaml"
    provider.write_text(provider.read_text().replace(
        'company: "Web://Xtra"', "company: \"<img src=x onerror=alert(1)><script>alert(2)</script>\""))
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "idx"),
                   SEARCH_BUILD_ON_START=False)
    articles = app.extensions["articles"]
    assert_inert(articles.render_text("Welkom bij {{company}}.", "nl"))
    page = app.test_client().get("/nl/artikel/wat-doet-de-helpdesk").get_data(as_text=True)
    body = page[page.index('<div class="article-body">'):]
    assert_inert(body[: body.index("</div>")])


def test_safe_links_and_images_keep_working():
    html = render_markdown(
        "[site](https://www.webxtra.nl/) [mail](mailto:support@webxtra.nl) [intern](/nl/artikel/x#y) "
        '![Het accountvenster](/static/img/account.png "Account")')
    assert 'href="https://www.webxtra.nl/"' in html
    assert 'href="mailto:support@webxtra.nl"' in html
    assert 'href="/nl/artikel/x#y"' in html
    assert 'src="/static/img/account.png"' in html
    assert 'alt="Het accountvenster"' in html
    assert 'title="Account"' in html
    assert 'rel="noopener noreferrer"' in html


def test_the_text_of_removed_markup_is_escaped_not_dropped_into_the_page():
    html = render_markdown("Typ `<b>` of 5 < 6 & 7 > 3")
    assert "<code>&lt;b&gt;</code>" in html
    assert "5 &lt; 6 &amp; 7 &gt; 3" in html


def test_heading_anchors_are_kept():
    html = render_markdown("## Instellingen {#settings}\n\ntekst\n\n### Poort 25 geblokkeerd {#port-25}\n")
    assert '<h2 id="settings">Instellingen</h2>' in html
    assert '<h3 id="port-25">Poort 25 geblokkeerd</h3>' in html


def test_headings_without_an_anchor_get_a_stable_one():
    first = render_markdown("## Problemen oplossen\n")
    assert first == render_markdown("## Problemen oplossen\n")
    assert re.search(r'<h2 id="[a-z0-9_-]+">Problemen oplossen</h2>', first)


def test_tables_are_rendered():
    html = render_markdown(
        "| Instelling | Waarde |\n| --- | --- |\n| Server | mail.voorbeeld.nl |\n| Poort | 993 |\n")
    assert "<table>" in html
    assert "<th>Instelling</th>" in html
    # Each cell carries its column's heading: on a phone the row is a card with the value under it.
    assert '<td data-label="Waarde">mail.voorbeeld.nl</td>' in html
    assert html.count("<tr>") == 3


SETTINGS_TABLE = ("Voor elke server:\n\n| Instelling | Waarde |\n| --- | --- |\n| Gebruikersnaam | {{email}} |\n"
                  "| Grootte van de mailbox | {{mailbox_quota}} |\n\nDaarna verder.")


def test_a_table_row_with_an_unset_fact_drops_out_and_the_table_stays_whole():
    html = render_markdown(drop_blocks_with(SETTINGS_TABLE, {"mailbox_quota"}))
    assert "Grootte van de mailbox" not in html and "{{" not in html.replace("{{email}}", "")
    assert html.count("<tr>") == 2 and '<td data-label="Waarde">{{email}}</td>' in html  # heading row and the other row
    assert "<p>Voor elke server:</p>" in html and "<p>Daarna verder.</p>" in html


@pytest.mark.parametrize("unset", [{"email", "mailbox_quota"}, {"email_heading"}])
def test_a_table_left_without_rows_or_heading_drops_out_as_a_whole(unset):
    text = SETTINGS_TABLE.replace("| Instelling |", "| Instelling {{email_heading}} |")
    html = render_markdown(drop_blocks_with(text, unset))
    assert "<table" not in html and "|" not in html and "---" not in html  # no empty table, no separator as text
    assert "<p>Voor elke server:</p>" in html and "<p>Daarna verder.</p>" in html


def test_table_labels_are_escaped_and_only_from_the_head():
    html = render_markdown('| A "quoted" <b>head</b> | B |\n| --- | --- |\n| x | y |\n')
    assert '<td data-label="A &quot;quoted&quot; head">x</td>' in html
    assert render_markdown("| x | y |\n") == "<p>| x | y |</p>"


def test_the_table_of_contents_lists_the_second_level_headings(app):
    article = app.extensions["articles"].get("nl", "email-outlook")
    anchors = [entry["id"] for entry in article.toc]
    assert anchors[:2] == ["automatic", "settings"]
    assert "troubleshooting" in anchors
    assert all(entry["title"] and "<" not in entry["title"] for entry in article.toc)


def test_an_article_is_rendered_once_and_the_html_reused(app, client, monkeypatch):
    calls = []
    original = helpsite.content.render_markdown

    def counting(text):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(helpsite.content, "render_markdown", counting)
    store = app.extensions["articles"]
    article = store.get("en", "ftp-filezilla")
    store.renders.clear_memory()  # start from an article this worker has not rendered yet
    first = client.get("/en/article/ftp-setup-filezilla")
    second = client.get("/en/article/ftp-setup-filezilla")
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert len(calls) <= 1  # none when the render cache on disk has it already
    assert article.html is article.html
    assert len(calls) <= 1


def test_rendered_bodies_come_from_the_render_cache_after_a_restart(make_app, tmp_path, monkeypatch):
    index_dir = tmp_path / "ix"
    first = make_app(SEARCH_INDEX_DIR=str(index_dir)).extensions["articles"].get("en", "ftp-filezilla").html
    assert (index_dir / "render-cache.sqlite").exists()
    calls = []
    monkeypatch.setattr(helpsite.content, "render_markdown", lambda text: calls.append(text) or "")
    again = make_app(SEARCH_INDEX_DIR=str(index_dir)).extensions["articles"]
    article = again.get("en", "ftp-filezilla")
    # The markdown is not kept in memory (Article's body slot is empty), it is read when needed.
    with pytest.raises(AttributeError):
        object.__getattribute__(article, "body")
    assert article.html == first and calls == []


def test_every_shipped_article_renders_to_inert_html(app):
    articles = app.extensions["articles"]
    for lang in ("nl", "en"):
        for article in articles.in_language(lang):
            assert_inert(article.html)


# -- nested lists as authors write them ---------------------------------------------------------

NESTED = {
    "two spaces under a bullet": "- Host\n  - one\n  - two\n- Port\n",
    "three spaces under a number": "1. Host\n   - one\n   - two\n2. Port\n",
    "four spaces": "1. Host\n    - one\n    - two\n2. Port\n",
    "a numbered list in a numbered list": "1. Host\n   1. one\n   2. two\n2. Port\n",
    "a list right after a line of text": "Host\n- one\n- two\n\nPort\n",
}


@pytest.mark.parametrize("text", NESTED.values(), ids=NESTED.keys())
def test_nested_lists_render_as_lists_at_two_to_four_spaces(text):
    html = render_markdown(text)
    items = re.findall(r"<li>(\w+)", html)
    assert items[:3] in (["Host", "one", "two"], ["one", "two"]), html
    assert re.search(r"<(ul|ol)>\s*<li>one</li>\s*<li>two</li>\s*</\1>", html), html
    assert not helpsite.content.collapsed_lists(html)


def test_a_paragraph_inside_an_item_does_not_swallow_the_next_items():
    html = render_markdown("1. Check:\n   - FTP: 21\n   - SFTP: 22\n\n   Not both.\n2. Try again.\n3. Wait.\n")
    assert re.findall(r"<li>\s*(?:<p>)?(\w+)", html) == ["Check", "FTP", "SFTP", "Try", "Wait"], html


def test_code_and_plain_text_keep_their_meaning():
    assert render_markdown("    - code\n").startswith("<pre><code>- code")
    assert "<li>" not in render_markdown("```\n- a\n  - b\n```\n")
    assert render_markdown("Protocol: FTP - File\n") == "<p>Protocol: FTP - File</p>"


@pytest.mark.parametrize("lang, slug, tab", [("nl", "ftp-instellen-filezilla", "Algemeen"),
                                             ("en", "ftp-setup-filezilla", "General")])
def test_the_filezilla_general_tab_step_is_a_nested_list(client, lang, slug, tab):
    page = client.get(f"/{lang}/{'artikel' if lang == 'nl' else 'article'}/{slug}").get_data(as_text=True)
    step = re.search(rf"<li>[^<]*<strong>{tab}</strong>[^<]*<ul>(.*?)</ul>", page, re.S)
    assert step, "the General tab step has no nested list"
    assert step.group(1).count("<li>") >= 5
    assert "Protocol" in step.group(1) and "- <strong>" not in step.group(1)


def test_no_shipped_article_has_a_collapsed_list():
    store = ArticleStore()
    store.content_dir, store.reload_interval = CONTENT_DIR, None
    store.reload()
    for articles in store.by_lang.values():
        for article in articles.values():
            assert not helpsite.content.collapsed_lists(article.html), article.path


def test_plain_text_has_no_space_where_an_inline_tag_was():
    from helpsite.rendering import derive_rendering

    _html, text, toc = derive_rendering(render_markdown(
        "## Instellen in *Thunderbird*\n\nKlik op **OK**. Server: `imap.example.nl`, poort `993`.\n\n- Eén\n- Twee"))
    assert "Klik op OK. Server: imap.example.nl, poort 993." in text
    assert "Eén Twee" in text  # a block tag still ends a word
    assert toc == [{"id": toc[0]["id"], "title": "Instellen in Thunderbird"}]
