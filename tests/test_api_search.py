"""GET /api/search: a public contract. Its shape, order, limits, languages and refusals."""

from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from helpsite.search import MAX_LIMIT, MAX_QUERY_LENGTH

RESULT_KEYS = {"id", "lang", "title", "url", "summary", "category", "applies_to", "snippet"}
# Fields added by issue 8 (the contract allows additions): the best section, and "only common words matched".
ADDED_RESULT_KEYS = {"section"}
ADDED_KEYS = {"common_only", "unmatched"}
APPLIES_TO = {"outlook", "thunderbird", "apple_mail", "ios_mail", "android", "windows_mail", "em_client",
              "thunderbird_android", "outlook_mobile", "filezilla", "winscp", "cyberduck", "general"}


def api(client, headers=None, **params):
    return client.get("/api/search", query_string=params, headers=headers or {})


def message(app, locale, text, **values):
    with app.test_request_context(), force_locale(locale):
        return _(text, **values)


def assert_json_error(response, status=400) -> str:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"error"}
    assert isinstance(data["error"], str) and data["error"]
    return data["error"]


@pytest.mark.parametrize("lang, query", [("nl", "outlook"), ("en", "outlook"), ("nl", "wachtwoord vergeten"),
                                         ("en", "passive mode")])
def test_the_response_has_exactly_the_promised_shape(app, client, lang, query):
    response = api(client, q=query, lang=lang)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"query", "lang", "suggestion", "results"} | ADDED_KEYS
    assert data["common_only"] == [] and data["unmatched"] == []
    assert data["query"] == query
    assert data["lang"] == lang
    assert data["suggestion"] is None
    assert isinstance(data["results"], list) and data["results"]
    categories = {c["id"] for c in app.extensions["articles"].categories}
    for result in data["results"]:
        assert set(result) == RESULT_KEYS | ADDED_RESULT_KEYS
        assert result["section"] is None or set(result["section"]) == {"id", "title", "url"}
        for key in RESULT_KEYS - {"applies_to"}:
            assert isinstance(result[key], str), key
        assert isinstance(result["applies_to"], list)
        assert result["applies_to"] and set(result["applies_to"]) <= APPLIES_TO
        assert result["lang"] == lang
        assert result["category"] in categories
        article = app.extensions["articles"].get(lang, result["id"])
        assert result["title"] == article.title
        assert result["summary"] == article.summary
        url = urlsplit(result["url"])
        assert url.scheme == "http" and url.netloc == "help.test"  # absolute: support tools paste it
        assert url.path == {"nl": "/nl/artikel/", "en": "/en/article/"}[lang] + article.slug
        assert not url.query
    assert '<mark class="match' in data["results"][0]["snippet"]


def test_every_result_url_opens_its_article(client):
    for lang in ("nl", "en"):
        for result in api(client, q="ftp", lang=lang, limit=MAX_LIMIT).get_json()["results"]:
            assert client.get(urlsplit(result["url"]).path).status_code == 200


@pytest.mark.parametrize("lang, query", [("nl", "wachtwoord"), ("en", "password"), ("nl", "filezilla")])
def test_results_come_best_first_in_the_order_of_the_search_module(app, client, lang, query):
    expected = [hit.id for hit in app.extensions["search"].search(query, lang, limit=10).hits]
    assert [r["id"] for r in api(client, q=query, lang=lang).get_json()["results"]] == expected
    assert [r["id"] for r in api(client, q="outlook", lang=lang).get_json()["results"]][0] == "email-outlook"


@pytest.mark.parametrize("limit", [1, 3, 10, MAX_LIMIT])
def test_limit_caps_the_number_of_results(client, limit):
    results = api(client, q="e-mail", lang="nl", limit=limit).get_json()["results"]
    everything = api(client, q="e-mail", lang="nl", limit=MAX_LIMIT).get_json()["results"]
    assert len(everything) >= 25  # at least 25 Dutch articles mention e-mail (more as articles are added)
    assert len(results) == min(limit, len(everything))
    assert len({r["id"] for r in results}) == len(results)


def test_the_default_limit_is_ten(client):
    assert len(api(client, q="e-mail", lang="en").get_json()["results"]) == 10


def test_lang_chooses_the_articles_language(client):
    nl = api(client, q="outlook", lang="nl").get_json()
    en = api(client, q="outlook", lang="en").get_json()
    assert nl["results"][0]["url"] == "http://help.test/nl/artikel/e-mail-instellen-outlook"
    assert en["results"][0]["url"] == "http://help.test/en/article/set-up-email-outlook"
    assert nl["results"][0]["title"] != en["results"][0]["title"]


@pytest.mark.parametrize("accept_language, lang", [("en-US,en;q=0.9", "en"), ("nl-NL", "nl"), (None, "nl")])
def test_without_lang_the_callers_language_is_used(client, accept_language, lang):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    data = api(client, headers, q="outlook").get_json()
    assert data["lang"] == lang
    assert {r["lang"] for r in data["results"]} == {lang}


def test_a_typo_gets_a_suggestion_and_the_corrected_results(client):
    data = api(client, q="thunderbrid", lang="en").get_json()
    assert data["suggestion"] == "thunderbird"
    assert data["query"] == "thunderbrid"
    assert data["results"][0]["id"] == "email-thunderbird"


def test_without_results_in_one_language_the_others_come_labelled(client):
    data = api(client, q="wachtwoord", lang="en").get_json()
    assert data["lang"] == "en"
    assert data["results"]
    assert {r["lang"] for r in data["results"]} == {"nl"}
    assert all(urlsplit(r["url"]).path.startswith("/nl/artikel/") for r in data["results"])
    data = api(client, q="public holidays", lang="nl").get_json()
    assert [(r["lang"], r["id"]) for r in data["results"]] == [("en", "support-hours")]


def test_nothing_found_anywhere_is_an_empty_list_not_an_error(client):
    data = api(client, q="xylofoonpijp", lang="nl").get_json()
    assert data == {"query": "xylofoonpijp", "lang": "nl", "suggestion": None, "results": [],
                    "common_only": [], "unmatched": []}


def test_a_query_whose_only_match_is_a_common_word_says_so(client):
    data = api(client, q="kubernetes instellen", lang="nl").get_json()  # a word no article uses
    assert data["results"] == []
    assert data["common_only"] == ["instellen"] and data["unmatched"] == ["kubernetes"]


def test_a_pasted_question_is_answered_and_links_to_its_section(client):
    question = ("Hallo, sinds gisteren kan ik geen mail meer versturen vanuit Thunderbird op mijn laptop. "
                "Ik krijg de melding dat het verzenden mislukt is. " * 12)[:1990]
    data = api(client, q=question, lang="nl").get_json()
    assert data["results"][0]["id"] == "email-thunderbird"
    sections = [r["section"] for r in data["results"] if r["section"]]
    assert sections and all("/a/" in s["url"] and "#" in s["url"] for s in sections)


def test_the_query_is_echoed_cleaned_up(client):
    assert api(client, q="  outlook \t instellen  ", lang="nl").get_json()["query"] == "outlook instellen"


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("params, text", [
    ({}, "Parameter q is required: the text to search for."),
    ({"q": ""}, "Parameter q is required: the text to search for."),
    ({"q": "   \t "}, "Parameter q is required: the text to search for."),
    ({"q": "\x00\x01\x7f"}, "Parameter q is required: the text to search for."),
    ({"q": "x" * (MAX_QUERY_LENGTH + 1)}, "q is too long: use at most 2,000 characters."),
    ({"q": "wachtwoord " * 1000}, "q is too long: use at most 2,000 characters."),
    ({"q": "?!#%&*()"}, "q contains no words to search for."),
])
def test_unusable_queries_get_a_400_with_a_message_in_the_callers_language(app, client, lang, params, text):
    error = assert_json_error(api(client, lang=lang, **params))
    assert error == message(app, lang, text)


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_LIMIT + 1), "abc", "", "1.5", "1e3", "10abc", " ",
                                   "99999999999999999999999999", "0x10", "NaN"])
def test_a_bad_limit_gets_a_400(app, client, limit):
    error = assert_json_error(api(client, q="outlook", lang="en", limit=limit))
    assert error == message(app, "en", "limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT)


@pytest.mark.parametrize("lang", ["de", "EN", "nl-NL", "english", "<script>", "x" * 500, "nl\x00"])
def test_an_unknown_lang_gets_a_400_that_names_the_choices(client, lang):
    response = api(client, q="outlook", lang=lang)
    error = assert_json_error(response)
    assert "nl" in error and "en" in error
    assert len(error) < 100  # the echoed value is cut short
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # echoed markup is never HTML


def test_an_unknown_lang_is_explained_in_the_callers_language(app, client):
    error = assert_json_error(api(client, {"Accept-Language": "nl"}, q="outlook", lang="fr"))
    assert error == message(app, "nl", "Unknown language %(lang)s: use nl or en.", lang="fr")
    error = assert_json_error(api(client, {"Accept-Language": "en"}, q="outlook", lang="fr"))
    assert error == message(app, "en", "Unknown language %(lang)s: use nl or en.", lang="fr")


@pytest.mark.parametrize("query_string", [
    "q=%ff%fe%00&lang=nl",
    "q=%ED%A0%80&lang=en",  # an encoded UTF-16 surrogate
    "q=outlook&q=thunderbird&lang=nl&lang=en&limit=2&limit=x",
    "q=" + "%20" * 5000 + "outlook",
    "q=title%3Aoutlook+OR+*%3A*&lang=nl",
    "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&lang=en",
    "q=%27%3B+DROP+TABLE+search_event%3B+--&lang=nl",
    "q=%F0%9F%99%82+outlook&lang=en",
    "q[]=outlook&lang[]=nl",
    "lang=nl&limit=5",
    "&&&=&=&q",
])
def test_never_a_500_whatever_the_query_string(client, query_string):
    response = client.get(f"/api/search?{query_string}")
    assert response.status_code in (200, 400)
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert ("error" in data) if response.status_code == 400 else ("results" in data)


def test_the_api_answers_only_get(client):
    response = client.post("/api/search", data={"q": "outlook"})
    assert_json_error(response, 405)


def test_an_unknown_api_path_is_a_json_404(client):
    assert_json_error(client.get("/api/zoeken?q=outlook"), 404)


def test_a_missing_index_is_a_503_not_a_500(make_app, tmp_path):
    app = make_app(SEARCH_INDEX_DIR=str(tmp_path / "empty-index"), SEARCH_BUILD_ON_START=False)
    client = app.test_client()
    error = assert_json_error(api(client, q="outlook", lang="en"), 503)
    assert error == message(app, "en", "The search index is being built. Try again in a minute.")
    page = client.get("/en/search", query_string={"q": "outlook"})
    assert page.status_code == 200
    assert "Search is being prepared" in page.get_data(as_text=True)


def test_too_many_calls_get_a_json_429(make_app):
    app = make_app(API_SEARCH_RATE_LIMIT="3/minute")
    client = app.test_client()
    for _ in range(3):
        assert api(client, q="outlook", lang="en").status_code == 200
    error = assert_json_error(api(client, q="outlook", lang="en"), 429)
    assert error == message(app, "en", "Too many attempts. Please wait a moment and try again.")
