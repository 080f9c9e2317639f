"""Relevance on real customers' questions (bench/questions/): the issue's targets, gated on the TUNING split.

The test split is never looked at here: it is reported by bench/relevance.py and in the README.
"""

import sys

import pytest

from helpsite.config import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "bench"))
import relevance  # noqa: E402  (the benchmark script, reused)


@pytest.fixture(scope="module")
def tuning(tmp_path_factory):
    index = relevance.open_index(PROJECT_DIR / "content", tmp_path_factory.mktemp("relevance") / "index")
    questions = [q for q in relevance.load_questions() if q["split"] == "tuning"]
    return relevance.figures(relevance.evaluate(questions, index, relevance.Peer(index.store)))


def test_the_corpus_is_real_labelled_and_split_by_its_source():
    questions = relevance.load_questions()
    assert len(questions) >= 350
    assert all(q["source_url"].startswith("http") for q in questions)
    assert len({q["text"] for q in questions}) == len(questions)
    assert {q["label"] for q in questions} == set(relevance.LABELS)
    tests = [q for q in questions if q["split"] == "test"]
    assert 0.25 <= len(tests) / len(questions) <= 0.40  # a third, by sha1(source_url) mod 3


def test_search_beats_the_plain_bm25_peer_by_the_issues_margin(tuning):
    assert tuning["search_hit3_client"] >= tuning["peer_hit3_client"] + 0.25
    assert tuning["search_hit3"]["en"] > tuning["peer_hit3"]["en"]


def test_the_clients_own_guide_is_among_the_first_three(tuning):
    assert tuning["own_guide"] >= 0.90


# The issue's other targets, reached on the tuning split (they were strict xfails until then).


def test_search_finds_the_client_guide_in_the_top_three(tuning):
    assert tuning["search_hit3_client"] >= 0.90


def test_search_hit_at_3_in_each_language(tuning):
    assert all(value >= 0.85 for value in tuning["search_hit3"].values() if value is not None)


def test_triage_routes_right(tuning):
    assert tuning["routed_right"] >= 0.92


def test_triage_turns_away_few_ticket_worthy_questions(tuning):
    assert tuning["turned_away"] <= 0.02


def test_the_benchmark_prints_both_splits_and_the_peer(capsys):
    assert relevance.main(["--split", "tuning"]) == 0
    out = capsys.readouterr().out
    assert "BM25 peer" in out and "routed right" in out and "turned away" in out
