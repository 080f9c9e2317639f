"""Measure the triage on the labelled questions in tests/triage_cases.yaml.

Run: .venv/bin/python bench/triage_eval.py [--errors] [--set dev|holdout|all]

Prints per-class precision, recall, F1 and support (classes: client_setup, script, self_service,
ticket/technical, ticket/administrative), the overall accuracy (verdict and, for tickets, the kind
right), and the share of server and administrative questions (every ticket-labelled question) that
the triage turned away. The held-out cases were kept aside while the rules were written; the "late"
and "fresh" cases were written after the first and second version of the rules and then used to fix
them; the "unseen" cases were written after the final rules and never used to change them: the
honest estimate for questions the rules have not seen.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from helpsite.content import ArticleStore  # noqa: E402
from helpsite.triage import classify  # noqa: E402

CASES_FILE = PROJECT_DIR / "tests" / "triage_cases.yaml"
CLASSES = ("client_setup", "script", "self_service", "ticket/technical", "ticket/administrative")


def load_cases(path: Path = CASES_FILE) -> list[dict]:
    """Return the labelled questions."""
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def label(verdict: str, kind: str | None) -> str:
    return f"ticket/{kind}" if verdict == "ticket" else verdict


def open_store(content_dir: Path = PROJECT_DIR / "content") -> ArticleStore:
    """Return an article store of the content folder, without an app."""
    store = ArticleStore()
    store.content_dir = Path(content_dir)
    store.reload_interval = None
    store.reload()
    return store


def evaluate(cases: list[dict], store: ArticleStore) -> dict:
    """Classify every case; return the confusion counts, accuracy and turned-away share."""
    rows = []
    for case in cases:
        decision = classify(case["text"], case["lang"], store)
        rows.append((case, label(case["verdict"], case.get("kind")), label(decision.verdict, decision.ticket_kind),
                     decision))
    stats = {}
    for cls in CLASSES:
        tp = sum(1 for _, want, got, _d in rows if want == cls and got == cls)
        fp = sum(1 for _, want, got, _d in rows if want != cls and got == cls)
        fn = sum(1 for _, want, got, _d in rows if want == cls and got != cls)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        stats[cls] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    correct = sum(1 for _, want, got, _d in rows if want == got)
    verdict_correct = sum(1 for case, _w, _g, d in rows if case["verdict"] == d.verdict)
    tickets = [(case, d) for case, _w, _g, d in rows if case["verdict"] == "ticket"]
    turned_away = [(case, d) for case, d in tickets if d.verdict != "ticket"]
    topic_cases = [(case, d) for case, _w, _g, d in rows if case.get("topic") and case["verdict"] == d.verdict]
    topic_right = sum(1 for case, d in topic_cases
                      if d.topic in (case["topic"] if isinstance(case["topic"], list) else [case["topic"]]))
    return {
        "rows": rows,
        "classes": stats,
        "total": len(rows),
        "accuracy": correct / len(rows) if rows else 0.0,
        "verdict_accuracy": verdict_correct / len(rows) if rows else 0.0,
        "tickets": len(tickets),
        "turned_away": turned_away,
        "turned_away_share": len(turned_away) / len(tickets) if tickets else 0.0,
        "topic_total": len(topic_cases),
        "topic_right": topic_right,
        "confusion": Counter((want, got) for _, want, got, _d in rows),
    }


def print_report(name: str, result: dict) -> None:
    print(f"\n{name}: {result['total']} questions")
    print(f"{'class':<24}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>9}")
    for cls, s in result["classes"].items():
        print(f"{cls:<24}{s['precision']:>10.2f}{s['recall']:>10.2f}{s['f1']:>8.2f}{s['support']:>9}")
    print(f"overall accuracy (verdict and ticket kind): {result['accuracy']:.1%}")
    print(f"verdict accuracy (ticket or not, and which): {result['verdict_accuracy']:.1%}")
    print(f"server/administrative questions turned away: {len(result['turned_away'])} of {result['tickets']} "
          f"({result['turned_away_share']:.1%})")
    if result["topic_total"]:
        print(f"topic right where labelled and verdict right: {result['topic_right']} of {result['topic_total']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true",
                        help="list the questions routed wrongly (of the development set, unless --set says)")
    parser.add_argument("--set", choices=("dev", "holdout", "late", "fresh", "unseen", "all"), default="all",
                        help="which cases to report (default: all, then each set separately)")
    args = parser.parse_args(argv)
    store = open_store()
    cases = load_cases()
    sets = {
        "dev": [c for c in cases if not (c.get("holdout") or c.get("late") or c.get("fresh") or c.get("unseen"))],
        "holdout": [c for c in cases if c.get("holdout")],
        "late": [c for c in cases if c.get("late")],
        "fresh": [c for c in cases if c.get("fresh")],
        "unseen": [c for c in cases if c.get("unseen")],
        "all": cases,
    }
    names = ["all", "dev", "holdout", "late", "fresh", "unseen"] if args.set == "all" else [args.set]
    for name in names:
        result = evaluate(sets[name], store)
        print_report({"all": "All labelled questions", "dev": "Development set (rules written against it)",
                      "holdout": "Held-out set (kept aside while writing the rules)",
                      "late": "Second round (written after the first rules; then used to fix them)",
                      "fresh": "Third round (written after the second rules; then used to fix them)",
                      "unseen": "Fourth round (written after the final rules, never used to change them)"}[name],
                     result)
        # with --set all, the errors listed are the development set's: the held-out set stays unread
        if args.errors and name == ("dev" if args.set == "all" else args.set):
            wrong = [(c, w, g, d) for c, w, g, d in result["rows"] if w != g]
            if wrong:
                print("\nrouted wrongly:")
            for case, want, got, decision in wrong:
                print(f"  [{case['lang']}] want {want}, got {got} {decision.scores}: {case['text']}")
                print(f"        evidence: {decision.evidence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
