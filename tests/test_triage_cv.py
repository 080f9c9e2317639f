"""bench/triage_cv.py: the cross-validation of a learned second opinion beside the triage rules.

The harness reads the tuning split only; its model trains the same way every time; and the
second opinion never touches a question with a server signal, nor turns a ticket away unless the
exploratory variant (never shipped) is asked for.
"""

import sys

from helpsite.config import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "bench"))
import triage_cv  # noqa: E402  (the benchmark script, reused)
from triage_model import LEARNERS, features  # noqa: E402

ROWS = [
    (features("how do i set up thunderbird imap".split()), "client_setup"),
    (features("outlook asks for my password again".split()), "client_setup"),
    (features("my php script gives a warning".split()), "script"),
    (features("htaccess rewrite rule for wordpress".split()), "script"),
    (features("where is my epp code".split()), "self_service"),
    (features("the server is down since this morning".split()), "ticket"),
    (features("my invoice is wrong".split()), "ticket"),
]


def test_training_is_deterministic():
    question = features("thunderbird php invoice".split())
    for learner in LEARNERS.values():
        assert learner().fit(ROWS).proba(question) == learner().fit(list(ROWS)).proba(question)


def test_the_harness_reads_the_tuning_split_only():
    questions = triage_cv.tuning_questions()
    assert questions and all(q["split"] == "tuning" for q in questions)
    assert len(questions) < len(triage_cv.load_questions())


def test_a_server_signal_is_never_second_guessed():
    row = {"verdict": "ticket", "step": "weak", "scores": {"script": 2, "technical": 0, "administrative": 0},
           "server": True}
    sure = {"client_setup": 0.0, "script": 1.0, "self_service": 0.0, "ticket": 0.0}
    for variant in triage_cv.VARIANTS:
        assert triage_cv.second_opinion(row, sure, variant, {"ticket": 0.4, "swap": 0.4, "away": 0.4}, 3) == "ticket"


def test_only_the_exploratory_variants_turn_a_ticket_away():
    row = {"verdict": "ticket", "step": "weak", "scores": {"script": 2, "technical": 0, "administrative": 0},
           "server": False}
    sure = {"client_setup": 0.0, "script": 1.0, "self_service": 0.0, "ticket": 0.0}
    thresholds = {"ticket": 0.4, "swap": 0.4, "away": 0.4}
    for variant in triage_cv.SHIPPABLE:
        assert triage_cv.second_opinion(row, sure, variant, thresholds, 3) == "ticket"
    assert triage_cv.second_opinion(row, sure, "away", thresholds, 3) == "script"


def test_the_harness_runs(capsys):
    assert triage_cv.main(["--learner", "nb", "--repeats", "1", "--folds", "3"]) == 0
    out = capsys.readouterr().out
    assert "rules alone" in out and "rules + model (both)" in out and "turned away" in out
