"""The triage's vocabularies taken from public lists: programs without a guide, script technologies."""

import pytest

from helpsite import triage
from helpsite.understanding import understand

from test_search import SHIPPED, another_worker
from test_triage import triage_eval


@pytest.fixture(scope="module")
def store():
    """Return the shipped articles, read without an app (as the benchmark does)."""
    return triage_eval.open_store()


@pytest.fixture(scope="module")
def index(shared_index_dir):
    """The session's search index of the shipped content."""
    return another_worker(SHIPPED, shared_index_dir, build=True)


def classify(store, text, lang="en"):
    return triage.classify(text, lang, store)


@pytest.mark.parametrize("lang, text, article_id", [
    ("en", "How do I set up my email account in Mailspring?", "email-settings"),
    ("nl", "Hoe stel ik mijn mailadres in in The Bat?", "email-settings"),
    ("en", "Which settings does the Transmit app need for my website?", "ftp-settings"),
    ("nl", "Welke gegevens vul ik in bij Total Commander?", "ftp-settings"),
])
def test_a_program_without_a_guide_takes_the_unnamed_program_path(store, lang, text, article_id):
    decision = classify(store, text, lang)
    assert decision.verdict == "client_setup", decision.evidence
    assert decision.topic is None  # no guide of its own: the settings every program needs
    assert article_id in [a.id for a in decision.articles]


def test_a_program_without_a_guide_is_not_a_program_id_for_search(store):
    rules = triage.load_rules(store.content_dir)
    understood = understand("Mailspring keeps asking for my password", rules, "en")
    assert understood.programs == []
    assert understood.leading() == "client_setup"


@pytest.mark.parametrize("text", [
    "Spark email keeps asking for my password",
    "I use the Spark app on my phone and it cannot connect",
])
def test_ambiguous_program_names_count_with_context(store, text):
    assert classify(store, text).verdict == "client_setup"


def test_ambiguous_program_names_alone_are_ordinary_words(store):
    rules = triage.load_rules(store.content_dir)
    for text in ("The evolution of our site since 2019", "A spark of hope: nine out of ten pages load",
                 "Please transmit the invoice to our office"):
        assert not understand(text, rules, "en").evidence.matches.get("client"), text


@pytest.mark.parametrize("lang, text, technology", [
    ("en", "Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes)", "php"),
    ("en", "RewriteEngine On and RewriteBase / do nothing on my site", "htaccess"),
    ("nl", "Mijn TYPO3 site geeft een wit scherm na de update van een extensie", "cms"),
    ("en", "My Django app gives ModuleNotFoundError: No module named 'requests'", "python"),
    ("en", "bundle install fails for my Ruby on Rails app", "ruby"),
    ("en", "npm install fails for my Next.js project", "javascript"),
    ("en", "Yoast SEO sitemap gives a 404", "wordpress"),
    ("en", "How do I write the crontab line for my Laravel scheduler?", "php"),
    ("en", "Blesta's invoice module throws an error", "whmcs"),
])
def test_script_technologies_from_public_lists(store, lang, text, technology):
    decision = classify(store, text, lang)
    assert decision.verdict == "script", decision.evidence
    rules = triage.load_rules(store.content_dir)
    assert technology in understand(text, rules, lang).technologies



def test_an_article_tagged_with_a_program_without_a_guide_leads_the_search(index):
    # KMail has no guide of its own; the Linux article is tagged with it and comes before the general settings.
    assert [hit.id for hit in index.search("KMail instellen", "nl").hits][:1] == ["email-linux"]
    assert [hit.id for hit in index.search("How do I set up Mailspring?", "en").hits][:1] == ["email-settings"]
