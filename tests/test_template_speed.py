"""What makes an uncached page cheaper must not change a byte of it: quick template calls, URL and header helpers."""

import re

import pytest
from jinja2 import Environment, pass_context, pass_environment, pass_eval_context
from jinja2.runtime import Context

from helpsite.extensions import articles
from helpsite.template_context import QuickCallContext

from conftest import login

# What differs between two renderings of the same page on purpose: the CSRF token (signed with the
# time) and a search's own analytics token in its result links.
TOKEN = re.compile(rb'(name="csrf_token"[^>]*value="|from_search=)[A-Za-z0-9_.-]+')


def masked(body: bytes) -> bytes:
    return TOKEN.sub(rb"\1TOKEN", body)


def test_the_site_renders_with_quick_calls(app):
    assert app.jinja_env.context_class is QuickCallContext


@pytest.mark.parametrize("reader", [None, "anna@klant.nl", "editor@webxtra.nl"])
def test_every_page_is_the_same_with_jinjas_own_context(app, users, reader):
    """Every article in both languages, home, categories, search: QuickCallContext against Jinja's Context."""
    client = app.test_client()
    if reader:
        login(client, reader)
        client.get("/nl/")  # shows "You are logged in" once
    with app.test_request_context():
        paths = [f"/{lang}/" for lang in ("nl", "en")] + ["/nl/zoeken?q=outlook", "/en/search?q=%3Cb%3Epassword"]
        for lang in ("nl", "en"):
            for article in articles.in_language(lang):
                paths += [f"/{lang}/{'artikel' if lang == 'nl' else 'article'}/{article.slug}"]
            paths += [f"/{lang}/{'categorie' if lang == 'nl' else 'category'}/{c['id']}" for c in articles.categories]
        paths.append("/nl/artikel/email-instellen-thunderbird?address=info%40klant.nl")
    assert len(paths) > 60

    def pages():
        return {path: (r.status_code, masked(r.get_data())) for path in paths for r in [client.get(path)]}

    quick = pages()
    app.jinja_env.context_class = Context
    try:
        assert pages() == quick
    finally:
        app.jinja_env.context_class = QuickCallContext


class Marked:
    """A callable object that asks for the context through its __call__."""

    @pass_context
    def __call__(self, context, name):
        return f"object sees {context.get(name)}"


@pass_context
def sees_context(context, name):
    return f"sees {context.get(name)}"


@pass_eval_context
def sees_escaping(eval_ctx, text):
    return f"{text} escaped={eval_ctx.autoescape}"


@pass_environment
def sees_environment(environment):
    return type(environment).__name__


def stops():
    raise StopIteration


def keywords(**values):
    return ",".join(sorted(values))


TEMPLATE = """{% set outer = 'set' %}{% for item in ['x'] %}{% set looped = item %}{{ plain('a') }}|{{ sees_context('looped') }}|\
{{ sees_context('outer') }}|{{ sees_escaping('<b>') }}|{{ sees_environment() }}|{{ marked('item') }}|\
[{{ stops() }}]|{{ keywords(self=1, a=2) }}|{{ len([1, 2]) }}|{{ method() }}{% endfor %}\
{% block part %}{% set inner = 'block' %}{{ sees_context('inner') }}|{{ sees_escaping('<i>') }}{% endblock %}"""


@pytest.mark.parametrize("autoescape", [True, False])
def test_quick_calls_pass_what_jinja_passes(autoescape):
    values = {"plain": lambda text: text * 2, "sees_context": sees_context, "sees_escaping": sees_escaping,
              "sees_environment": sees_environment, "marked": Marked(), "stops": stops, "keywords": keywords,
              "len": len, "method": "abc".upper}
    theirs = Environment(autoescape=autoescape)
    ours = Environment(autoescape=autoescape)
    ours.context_class = QuickCallContext
    expected = theirs.from_string(TEMPLATE).render(**values)
    assert "sees x" in expected and "sees block" in expected and "[]" in expected  # what the template tries
    assert ours.from_string(TEMPLATE).render(**values) == expected


def test_a_view_keeps_a_security_header_it_set_and_the_rest_come_in_order(app):
    @app.route("/test-own-frame-policy")
    def own_frame_policy():
        return "ok", 200, {"X-Frame-Options": "SAMEORIGIN"}

    response = app.test_client().get("/test-own-frame-policy")
    names = [name for name, _value in response.headers]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert names.count("X-Frame-Options") == 1
    added = ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy",
             "Cross-Origin-Opener-Policy"]
    assert [name for name in names if name in added] == added
    assert "Strict-Transport-Security" not in response.headers


def test_https_sites_get_strict_transport_security_once(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)

    @app.route("/test-own-hsts")
    def own_hsts():
        return "ok", 200, {"Strict-Transport-Security": "max-age=60"}

    client = app.test_client()
    assert client.get("/nl/").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    own = client.get("/test-own-hsts").headers
    assert own.getlist("Strict-Transport-Security") == ["max-age=60"]
