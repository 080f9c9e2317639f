"""Every knowledge-base page in both languages, through the Flask test client."""

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from helpsite.search import MAX_QUERY_LENGTH

HOST = "http://help.test"
ARTICLE_PATH = {"nl": "/nl/artikel/", "en": "/en/article/"}
CATEGORY_PATH = {"nl": "/nl/categorie/", "en": "/en/category/"}
SEARCH_PATH = {"nl": "/nl/zoeken", "en": "/en/search"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    """One element of a parsed page."""

    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list = []

    def __getitem__(self, name):
        return self.attrs[name]

    def get(self, name, default=None):
        return self.attrs.get(name, default)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag=None, cls=None, **attrs) -> list["Node"]:
        """Return the descendants with this tag, class and attribute values."""
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if cls and cls not in node.get("class", "").split():
                continue
            if any(node.get(name.rstrip("_").replace("_", "-")) != value for name, value in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag=None, cls=None, **attrs) -> "Node":
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}> in the page"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {name: value or "" for name, value in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(response) -> Node:
    builder = TreeBuilder()
    builder.feed(response.get_data(as_text=True))
    builder.close()
    return builder.root


def html_lang(page: Node) -> str:
    return page.find("html")["lang"]


def path_of(url: str) -> str:
    """Return the path of a URL (absolute or not), without the query string."""
    return urlsplit(url).path


def assert_security_headers(response):
    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def assert_no_inline_script(page: Node):
    for script in page.find_all("script"):
        assert script.get("src"), "inline script: the Content-Security-Policy would block it"
        assert not script.text


def translated_message(app, lang: str, message: str) -> str:
    with app.test_request_context(), force_locale(lang):
        return _(message)


NOT_FOUND = "We could not find this page. Try searching for what you need."


# -- the root and the home pages -------------------------------------------------------


@pytest.mark.parametrize("accept_language, expected", [
    (None, "/nl/"),
    ("en-US,en;q=0.9", "/en/"),
    ("en-GB", "/en/"),
    ("nl-BE,nl;q=0.9,en;q=0.8", "/nl/"),
    ("fr-FR,fr;q=0.9,en;q=0.5", "/en/"),
    ("de-DE,de;q=0.9", "/nl/"),
    ("*", "/nl/"),
    ("!!garbage;;q=x", "/nl/"),
])
def test_the_root_sends_the_visitor_to_their_language(client, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 302
    assert path_of(response.headers["Location"]) == expected


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_home_page_has_a_search_box_and_every_category(app, client, lang):
    response = client.get(f"/{lang}/")
    assert response.status_code == 200
    assert_security_headers(response)
    page = parse(response)
    assert html_lang(page) == lang
    form = page.find("form", role="search")
    assert form["action"] == SEARCH_PATH[lang]
    search_box = form.find("input", type="search")
    assert page.find("label", for_=search_box["id"])
    assert search_box["data-suggest"] == "/api/search"
    assert page.find("h1").text
    category_links = {path_of(a["href"]) for a in page.find("ul", cls="category-grid").find_all("a")}
    expected = {CATEGORY_PATH[lang] + c["id"] for c in app.extensions["articles"].categories}
    assert category_links == expected
    for category in app.extensions["articles"].categories:
        assert category[lang]["name"] in response.get_data(as_text=True)
    alternates = {link["hreflang"]: link["href"] for link in page.find_all("link", rel="alternate")}
    assert alternates == {"nl": f"{HOST}/nl/", "en": f"{HOST}/en/", "x-default": f"{HOST}/"}
    assert page.find("link", rel="canonical")["href"] == f"{HOST}/{lang}/"
    other = "en" if lang == "nl" else "nl"
    assert page.find("a", cls="lang-switch")["href"] == f"/{other}/"
    assert page.find("a", cls="skip-link")["href"] == "#main"
    assert page.find("main")["id"] == "main"
    assert_no_inline_script(page)


# -- categories -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_category_page_lists_its_articles(app, client, lang):
    articles = app.extensions["articles"]
    other = "en" if lang == "nl" else "nl"
    for category in articles.categories:
        url = CATEGORY_PATH[lang] + category["id"]
        response = client.get(url)
        assert response.status_code == 200, url
        page = parse(response)
        assert html_lang(page) == lang
        assert page.find("h1").text == category[lang]["name"]
        listed = {path_of(a["href"]) for a in page.find("ul", cls="article-list").find_all("a")}
        expected = {ARTICLE_PATH[lang] + a.slug for a in articles.in_category(lang, category["id"])}
        assert expected and listed == expected, url
        crumbs = page.find("nav", cls="breadcrumbs").find_all("li")
        assert [c.text for c in crumbs][-1] == category[lang]["name"]
        assert page.find("a", cls="lang-switch")["href"] == CATEGORY_PATH[other] + category["id"]
        alternates = {link["hreflang"]: link["href"] for link in page.find_all("link", rel="alternate")}
        assert alternates == {"nl": f"{HOST}/nl/categorie/{category['id']}",
                              "en": f"{HOST}/en/category/{category['id']}"}


@pytest.mark.parametrize("url", ["/nl/categorie/bestaat-niet", "/en/category/does-not-exist",
                                 "/en/categorie/email", "/nl/category/email"])
def test_an_unknown_category_is_a_404(client, url):
    assert client.get(url).status_code == 404


# -- articles ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_shipped_article_is_served_completely(app, client, lang):
    articles = app.extensions["articles"]
    other = "en" if lang == "nl" else "nl"
    help_home = translated_message(app, lang, "Help")
    for article in articles.in_language(lang):
        url = ARTICLE_PATH[lang] + article.slug
        response = client.get(url)
        assert response.status_code == 200, url
        page = parse(response)
        assert html_lang(page) == lang, url
        body = page.find("article", cls="article")
        assert body["lang"] == lang
        assert body.find("h1").text == article.title
        # search engines: both languages and the canonical URL, absolute
        translation = articles.get(other, article.id)
        alternates = {link["hreflang"]: link["href"] for link in page.find_all("link", rel="alternate")}
        assert alternates == {lang: HOST + url, other: HOST + ARTICLE_PATH[other] + translation.slug}, url
        assert page.find("link", rel="canonical")["href"] == HOST + url
        # the switcher leads to the translated slug, not to a translated-looking URL
        switch = page.find("a", cls="lang-switch")
        assert switch["href"] == ARTICLE_PATH[other] + translation.slug, url
        assert switch["hreflang"] == other and switch["lang"] == other
        # a table of contents whose every entry points at a section of the page
        toc = page.find("nav", cls="toc")
        ids = {node.get("id") for node in page.iter() if node.get("id")}
        entries = [a["href"] for a in toc.find_all("a")]
        assert len(entries) >= 2, url
        assert all(entry.startswith("#") and entry[1:] in ids for entry in entries), url
        # breadcrumbs: help home, category, this article
        crumbs = page.find("nav", cls="breadcrumbs").find_all("li")
        category = articles.category(article.category)
        assert [c.text for c in crumbs] == [help_home, category[lang]["name"], article.title], url
        assert crumbs[-1]["aria-current"] == "page"
        assert path_of(crumbs[1].find("a")["href"]) == CATEGORY_PATH[lang] + article.category
        # the update date, machine-readable and for people
        time = body.find("time")
        assert time["datetime"] == article.updated.isoformat()
        assert str(article.updated.year) in time.text
        # related articles in the same language
        related = page.find("section", cls="related").find_all("a")
        assert related, url
        assert all(path_of(a["href"]).startswith(ARTICLE_PATH[lang]) for a in related), url
        assert all(path_of(a["href"]) != url for a in related), url
        # a permalink for support staff
        assert body.find("a", cls="permalink")["href"] == f"/a/{article.id}"
        assert_no_inline_script(page)


def test_an_article_page_shows_the_rendered_sections_with_anchors(client):
    page = parse(client.get("/en/article/set-up-email-outlook"))
    body = page.find("div", cls="article-body")
    assert body.find("h2", id="settings")
    assert body.find("h2", id="troubleshooting")
    table = body.find("table")
    assert "mail.example.com" in table.text
    assert "993" in table.text


def test_an_article_slug_under_the_other_language_redirects_to_the_translation(client):
    response = client.get("/en/article/e-mail-instellen-outlook")
    assert response.status_code == 301
    assert response.headers["Location"] == "/en/article/set-up-email-outlook"
    response = client.get("/nl/artikel/set-up-email-outlook")
    assert response.status_code == 301
    assert response.headers["Location"] == "/nl/artikel/e-mail-instellen-outlook"


@pytest.mark.parametrize("lang, url", [
    ("nl", "/nl/artikel/bestaat-niet"),
    ("en", "/en/article/does-not-exist"),
    ("en", "/en/artikel/set-up-email-outlook"),  # the Dutch word under the English prefix
    ("nl", "/nl/artikel/..%2Fconfig"),
])
def test_an_unknown_article_is_a_404_in_the_language_of_the_url(app, client, lang, url):
    response = client.get(url)
    assert response.status_code == 404
    assert_security_headers(response)
    page = parse(response)
    assert html_lang(page) == lang
    assert page.find("h1").text == translated_message(app, lang, NOT_FOUND)


@pytest.mark.parametrize("accept_language, lang", [("en-GB,en;q=0.9", "en"), ("nl-NL", "nl"), (None, "nl")])
def test_a_page_outside_the_language_folders_is_a_404_in_the_visitors_language(app, client,
                                                                               accept_language, lang):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    for url in ("/a/does-not-exist", "/bestaat-niet", "/de/", "/nl/bestaat/niet"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        expected = "nl" if url.startswith("/nl/") else lang
        assert html_lang(parse(response)) == expected, url


# -- untranslated articles, aliases and permalinks ---------------------------------------


@pytest.fixture
def untranslated_app(make_app, content_copy, tmp_path):
    """The shipped content without the English FileZilla guide."""
    (content_copy / "articles" / "en" / "ftp-setup-filezilla.md").unlink()
    return make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "idx"),
                    SEARCH_BUILD_ON_START=False)


def test_an_untranslated_article_is_shown_in_the_other_language_with_a_notice(untranslated_app):
    client = untranslated_app.test_client()
    response = client.get("/en/article/ftp-instellen-filezilla")
    assert response.status_code == 200
    page = parse(response)
    assert html_lang(page) == "en"  # the site around it stays English
    article = page.find("article", cls="article")
    assert article["lang"] == "nl"
    assert article.find("h1").text == "FTP instellen in FileZilla"
    notice = page.find(role="note")
    assert notice.text == translated_message(
        untranslated_app, "en", "This article is not yet available in English. It is shown in Dutch.")
    alternates = {link["hreflang"]: link["href"] for link in page.find_all("link", rel="alternate")}
    assert alternates == {"nl": f"{HOST}/nl/artikel/ftp-instellen-filezilla"}
    assert page.find("link", rel="canonical")["href"] == f"{HOST}/nl/artikel/ftp-instellen-filezilla"
    assert page.find("a", cls="lang-switch")["href"] == "/nl/artikel/ftp-instellen-filezilla"


def test_the_way_to_an_untranslated_article_never_ends_in_a_404(untranslated_app):
    client = untranslated_app.test_client()
    dutch = parse(client.get("/nl/artikel/ftp-instellen-filezilla"))
    assert not dutch.find_all(role="note")
    switch = dutch.find("a", cls="lang-switch")["href"]
    assert switch == "/en/article/ftp-instellen-filezilla"
    assert client.get(switch).status_code == 200
    response = client.get("/a/ftp-filezilla", headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/en/article/ftp-instellen-filezilla"
    # the English category lists it, marked as Dutch
    category = parse(client.get("/en/category/ftp"))
    listed = [a for a in category.find("main").find_all("a") if "filezilla" in a["href"]]
    assert [path_of(a["href"]) for a in listed] == ["/nl/artikel/ftp-instellen-filezilla"]
    assert listed[0]["hreflang"] == "nl" and listed[0]["lang"] == "nl"
    assert listed[0].parent.find("span", cls="badge").text == translated_message(untranslated_app, "en", "in Dutch")
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert f"<loc>{HOST}/nl/artikel/ftp-instellen-filezilla</loc>" in sitemap
    assert "ftp-setup-filezilla" not in sitemap


def test_old_slugs_redirect_permanently_in_both_languages(make_app, content_copy, tmp_path):
    for lang, slug, alias in (("nl", "ftp-passieve-modus", "passieve-modus"),
                              ("en", "ftp-passive-mode", "passive-mode")):
        path = content_copy / "articles" / lang / f"{slug}.md"
        path.write_text(path.read_text().replace("---\n", f"---\naliases: [{alias}]\n", 1))
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "idx"),
                   SEARCH_BUILD_ON_START=False)
    client = app.test_client()
    for url, target in (("/nl/artikel/passieve-modus", "/nl/artikel/ftp-passieve-modus"),
                        ("/en/article/passive-mode", "/en/article/ftp-passive-mode"),
                        ("/en/article/passieve-modus", "/en/article/ftp-passive-mode")):
        response = client.get(url)
        assert response.status_code == 301, url
        assert response.headers["Location"] == target
        assert client.get(target).status_code == 200


@pytest.mark.parametrize("accept_language, target", [
    ("en-US,en;q=0.9", "/en/article/set-up-email-outlook"),
    ("nl-NL,nl;q=0.9", "/nl/artikel/e-mail-instellen-outlook"),
    ("fr-FR", "/nl/artikel/e-mail-instellen-outlook"),
    (None, "/nl/artikel/e-mail-instellen-outlook"),
])
def test_a_permalink_leads_to_the_article_in_the_visitors_language(client, accept_language, target):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/a/email-outlook", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == target
    # no fragment in the redirect: the browser keeps the one the visitor followed (/a/id#settings)
    assert "#" not in response.headers["Location"]


def test_a_permalink_follows_the_language_the_visitor_chose_on_the_site(client):
    client.get("/en/")  # the visitor reads the English site...
    response = client.get("/a/email-outlook", headers={"Accept-Language": "nl-NL"})
    assert response.headers["Location"] == "/en/article/set-up-email-outlook"
    client.get("/nl/")  # ...and switches back
    response = client.get("/a/email-outlook", headers={"Accept-Language": "en"})
    assert response.headers["Location"] == "/nl/artikel/e-mail-instellen-outlook"


# -- sitemap and robots -----------------------------------------------------------------


def test_the_sitemap_is_valid_xml_with_every_page_and_its_alternates(app, client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    entries = {}
    for url in root.findall("s:url", ns):
        loc = url.find("s:loc", ns).text
        alternates = {link.get("hreflang"): link.get("href") for link in url.findall("x:link", ns)}
        assert all(link.get("rel") == "alternate" for link in url.findall("x:link", ns))
        entries[loc] = (alternates, url.find("s:lastmod", ns))
    assert len(entries) == len(root.findall("s:url", ns)), "a URL is listed twice"
    articles = app.extensions["articles"]
    expected = {f"{HOST}/nl/", f"{HOST}/en/"}
    expected |= {HOST + CATEGORY_PATH[lang] + c["id"] for c in articles.categories for lang in ("nl", "en")}
    for lang in ("nl", "en"):
        for article in articles.in_language(lang):
            loc = HOST + ARTICLE_PATH[lang] + article.slug
            expected.add(loc)
            alternates, lastmod = entries[loc]
            other = "en" if lang == "nl" else "nl"
            assert alternates == {lang: loc, other: HOST + ARTICLE_PATH[other] + articles.get(other, article.id).slug}
            assert lastmod.text == article.updated.isoformat()
    assert set(entries) == expected
    for loc, (alternates, _) in entries.items():
        assert loc in alternates.values(), loc
        assert set(alternates) == {"nl", "en"}, loc


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_out_of_search(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert f"Sitemap: {HOST}/sitemap.xml" in lines
    for path in ("/api/", "/nl/zoeken", "/en/search"):
        assert f"Disallow: {path}" in lines
    assert "Disallow: /" not in lines


# -- the search page --------------------------------------------------------------------


def result_links(page: Node) -> list[str]:
    return [path_of(a["href"]) for result in page.find_all("li", cls="result") for a in result.find_all("a")]


@pytest.mark.parametrize("lang, query, first", [
    ("nl", "outlook", "/nl/artikel/e-mail-instellen-outlook"),
    ("en", "outlook", "/en/article/set-up-email-outlook"),
    ("nl", "wachtwoord vergeten ftp", "/nl/artikel/ftp-wachtwoord-wijzigen"),  # issue 15: its own article
    ("en", "passive mode", "/en/article/ftp-passive-mode"),
])
def test_the_search_page_lists_results_best_first_with_highlights(client, lang, query, first):
    response = client.get(SEARCH_PATH[lang], query_string={"q": query})
    assert response.status_code == 200
    assert_security_headers(response)
    page = parse(response)
    assert html_lang(page) == lang
    links = result_links(page)
    assert links[0] == first
    assert page.find("p", cls="snippet").find_all("mark")
    assert page.find("input", id="search-q")["value"] == query
    assert page.find("meta", name="robots")["content"] == "noindex"
    for link in (a["href"] for r in page.find_all("li", cls="result") for a in r.find_all("a")):
        assert client.get(link, follow_redirects=True).status_code == 200


@pytest.mark.parametrize("lang, typo, correction", [
    ("nl", "outlok", "outlook"), ("en", "thunderbrid", "thunderbird"),
    ("nl", "filezila", "filezilla"), ("nl", "wachtwordt", "wachtwoord"),
])
def test_the_search_page_suggests_a_correction(client, lang, typo, correction):
    page = parse(client.get(SEARCH_PATH[lang], query_string={"q": typo}))
    suggestion = page.find("p", cls="suggestion").find("a")
    assert suggestion.text == correction
    target = urlsplit(suggestion["href"])
    assert target.path == SEARCH_PATH[lang]
    assert parse_qs(target.query)["q"] == [correction]
    assert result_links(page)  # the results for the correction are already shown


def test_the_search_page_offers_the_other_languages_results_labelled(app, client):
    page = parse(client.get("/en/search", query_string={"q": "wachtwoord"}))
    results = page.find_all("li", cls="result")
    assert results
    assert all(r["lang"] == "nl" for r in results)
    assert all(path_of(a["href"]).startswith("/nl/artikel/") for r in results for a in r.find_all("a"))
    heading = page.find("div", aria_live="polite").find("h2")
    assert heading.text == translated_message(app, "en", "Found in Dutch")
    page = parse(client.get("/nl/zoeken", query_string={"q": "public holidays"}))
    results = page.find_all("li", cls="result")
    assert [r["lang"] for r in results] == ["en"]
    assert path_of(results[0].find("a")["href"]) == "/en/article/support-hours"
    assert page.find("div", aria_live="polite").find("h2").text == translated_message(app, "nl", "Found in English")


def test_the_search_page_says_when_only_common_words_matched(client):
    page = parse(client.get("/nl/zoeken", query_string={"q": "kubernetes instellen"}))  # a word no article uses
    assert not page.find_all("li", cls="result")
    text = page.find("div", aria_live="polite").text
    assert "“instellen”" in text and "“kubernetes”" in text
    assert "Alleen veelvoorkomende woorden" in text


def test_a_search_result_links_to_the_section_that_matches_best(client):
    page = parse(client.get("/en/search", query_string={"q": "FileZilla passive mode directory listing"}))
    links = [a["href"] for r in page.find_all("li", cls="result") for a in r.find_all("a")]
    assert any("/en/article/ftp-setup-filezilla" in href and "#" in href for href in links)


def test_the_search_page_filters_by_category(app, client):
    page = parse(client.get("/en/search", query_string={"q": "password", "category": "ftp"}))
    links = result_links(page)
    ftp = {ARTICLE_PATH["en"] + a.slug for a in app.extensions["articles"].in_category("en", "ftp")}
    assert links and set(links) <= ftp
    assert page.find("option", value="ftp").get("selected") is not None
    unfiltered = result_links(parse(client.get("/en/search", query_string={"q": "password",
                                                                             "category": "no-such"})))
    assert set(unfiltered) - ftp


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("query, message", [
    ("!!!???", "Your search contains no words to look for."),
    ("x" * (MAX_QUERY_LENGTH + 1), "Your search is too long. Use at most 2,000 characters."),
    ("x" * 10_000, "Your search is too long. Use at most 2,000 characters."),
    ("\x00\x01\x02", None),
])
def test_the_search_page_explains_what_is_wrong_with_a_query(app, client, lang, query, message):
    response = client.get(SEARCH_PATH[lang], query_string={"q": query})
    assert response.status_code == 200
    page = parse(response)
    if message is None:  # nothing searchable: the page just shows the form again
        assert not page.find_all("li", cls="result")
        return
    error = page.find("p", id="search-error")
    assert error["role"] == "alert"
    assert error.text == translated_message(app, lang, message)
    field = page.find("input", id="search-q")
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "search-error"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_an_empty_search_shows_the_form_without_an_error(client, lang):
    for query in ({}, {"q": ""}, {"q": "   "}):
        page = parse(client.get(SEARCH_PATH[lang], query_string=query))
        assert page.find("form", role="search")
        assert not page.find_all(id="search-error")
        assert page.find("label", for_="search-q")


@pytest.mark.parametrize("query", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                                   "{{ 7*7 }} {% raw %}", "'; DROP TABLE search_event; --"])
def test_the_query_is_escaped_everywhere_on_the_search_page(client, query):
    response = client.get("/en/search", query_string={"q": query})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<script>alert" not in text
    assert "<img src=x" not in text
    assert "49" not in re.findall(r"\d+", parse(response).find("h1").text)
    page = parse(response)
    assert page.find("input", id="search-q")["value"] == query
    assert_no_inline_script(page)


def test_the_search_page_language_switch_keeps_the_query(client):
    page = parse(client.get("/nl/zoeken", query_string={"q": "outlook"}))
    target = urlsplit(page.find("a", cls="lang-switch")["href"])
    assert target.path == "/en/search"
    assert parse_qs(target.query)["q"] == ["outlook"]


def test_every_page_type_sends_the_security_headers(client):
    for url in ("/nl/", "/en/category/email", "/nl/artikel/e-mail-instellen-outlook", "/en/search?q=ftp",
                "/sitemap.xml", "/robots.txt", "/nl/artikel/bestaat-niet", "/api/search?q=ftp&lang=en"):
        assert_security_headers(client.get(url))


# -- the page cache for anonymous readers -------------------------------------------------------

def test_anonymous_pages_come_from_the_page_cache_per_content_version(make_app, content_copy, tmp_path):
    app = make_app(CONTENT_DIR=str(content_copy), SEARCH_INDEX_DIR=str(tmp_path / "ix"))
    cache, store = app.extensions["page_cache"], app.extensions["articles"]
    client = app.test_client(use_cookies=False)
    first = client.get("/en/article/ftp-settings").get_data()
    hits = cache.hits
    assert client.get("/en/article/ftp-settings").get_data() == first and cache.hits == hits + 1
    assert client.get("/en/").status_code == 200 and client.get("/en/").status_code == 200
    assert cache.hits == hits + 2
    # Another query string is another page.
    assert client.get("/en/article/ftp-settings?address=info@example.com").get_data() != first
    # A changed article is a new content version: the next reader gets the new text.
    path = next(a.path for a in store.in_language("en") if a.id == "ftp-settings")
    path.write_text(path.read_text().replace("\n---\n", "\n---\nPagecache-marker-zebra.\n", 1))
    store.apply_changes([path])
    assert b"Pagecache-marker-zebra" in client.get("/en/article/ftp-settings").get_data()


def test_logged_in_readers_and_answered_feedback_are_never_served_from_the_cache(app, users):
    from conftest import login

    anonymous = app.test_client()
    anonymous.get("/en/article/ftp-settings")
    anonymous.get("/en/article/ftp-settings")  # cached now
    customer = app.test_client()
    login(customer, users["customer"], lang="en")
    page = customer.get("/en/article/ftp-settings").get_data(as_text=True)
    assert "Log out" in page and "Log in" not in page.split("</nav>")[0]
    assert "Log out" not in anonymous.get("/en/article/ftp-settings").get_data(as_text=True)
    answered = app.test_client()
    answered.post("/en/article-feedback/ftp-settings", data={"helpful": "yes"}, headers={"Origin": "http://help.test"})
    assert "Thank you for your answer" in answered.get("/en/article/ftp-settings").get_data(as_text=True)
    assert "Thank you for your answer" not in anonymous.get("/en/article/ftp-settings").get_data(as_text=True)


def test_a_reader_in_their_browsers_language_gets_no_cookie_and_another_choice_is_remembered(client):
    dutch = {"Accept-Language": "nl-NL,nl;q=0.9"}
    assert "Set-Cookie" not in client.get("/nl/", headers=dutch).headers
    assert "Set-Cookie" in client.get("/en/", headers=dutch).headers  # chose English on a Dutch browser
    assert client.get("/", headers=dutch).headers["Location"].endswith("/en/")
    client.get("/nl/", headers=dutch)  # and back: a remembered choice follows the reader
    assert client.get("/", headers=dutch).headers["Location"].endswith("/nl/")
