"""The real-question corpus (bench/questions) stays well-formed: what the relevance benchmark
and tests/test_relevance.py read must mean what bench/questions/README.md says it means."""

import hashlib
import json
from pathlib import Path

import pytest

from helpsite.content import CLIENT_IDS

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "bench" / "questions"
FIELDS = ["id", "lang", "text", "source_url", "source_title", "label", "applies_to", "technology",
          "ticket_kind", "articles", "notes"]
PROGRAMS = {program for programs in CLIENT_IDS.values() for program in programs}
LABELS = {"client_setup", "script", "self_service", "ticket"}
TECHNOLOGIES = {"htaccess", "php", "perl", "cron", "cms", "whmcs", "other"}
# Every ticket or script row is answered at least by its label's own article (README, re-annotation).
LABEL_DEFAULT = {"ticket": "support-tickets", "script": "hosting-scripts-not-supported"}


def rows(lang):
    lines = (QUESTIONS / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def article_ids():
    ids = set()
    for path in (ROOT / "content" / "articles").rglob("*.md"):
        head = path.read_text(encoding="utf-8").split("---")[1]
        ids |= {line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("id:")}
    return ids


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_row_has_the_fields_in_order_and_a_known_label(lang):
    known_articles = article_ids()
    for row in rows(lang):
        assert list(row) == FIELDS, row["id"]
        assert row["id"].startswith(f"{lang}-") and row["lang"] == lang
        assert row["text"].strip() and row["source_url"].startswith("http"), row["id"]
        assert row["label"] in LABELS, row["id"]
        if row["label"] == "client_setup":
            assert row["applies_to"] in PROGRAMS | {"general"}, row["id"]
        if row["label"] == "script":
            assert row["technology"] in TECHNOLOGIES, row["id"]
        if row["label"] == "ticket":
            assert row["ticket_kind"] in {"technical", "administrative"}, row["id"]
        assert set(row["articles"] or []) <= known_articles, row["id"]
        default = LABEL_DEFAULT.get(row["label"])
        if default:
            assert default in row["articles"], row["id"]


def test_ids_are_unique_and_the_corpus_keeps_its_size():
    all_rows = rows("nl") + rows("en")
    ids = [row["id"] for row in all_rows]
    assert len(ids) == len(set(ids))
    assert len(all_rows) >= 400 and len(rows("nl")) >= 120  # issue 8's minimum
    pairs = [(row["source_url"], row["text"]) for row in all_rows]
    assert len(pairs) == len(set(pairs)), "a question is in the corpus twice"


def test_the_split_is_the_frozen_rule():
    """The benchmark's split must stay sha1(source_url) mod 3 == 0: never chosen by hand."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("relevance", ROOT / "bench" / "relevance.py")
    relevance = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(relevance)
    for row in rows("nl") + rows("en"):
        expected = "test" if int(hashlib.sha1(row["source_url"].encode()).hexdigest(), 16) % 3 == 0 else "tuning"
        assert relevance.split_of(row) == expected
