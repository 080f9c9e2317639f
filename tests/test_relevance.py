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


def test_search_beats_the_plain_bm25_peer_on_the_tuning_split(tuning):
    assert tuning["search_hit3_client"] >= tuning["peer_hit3_client"] + 0.2
    assert tuning["search_hit3"]["en"] > tuning["peer_hit3"]["en"]


@pytest.mark.xfail(strict=True, reason="issue 8's targets are not reached yet (see the README's Triage quality): "
                                       "when they are, this xfail fails and must be removed")
def test_the_issue_targets_on_the_tuning_split(tuning):
    assert tuning["search_hit3_client"] >= 0.90
    assert all(value >= 0.85 for value in tuning["search_hit3"].values() if value is not None)
    assert tuning["routed_right"] >= 0.92
    assert tuning["turned_away"] <= 0.02
    assert tuning["own_guide"] >= 0.90


def test_the_benchmark_prints_both_splits_and_the_peer(capsys):
    assert relevance.main(["--split", "tuning"]) == 0
    out = capsys.readouterr().out
    assert "BM25 peer" in out and "routed right" in out and "turned away" in out
