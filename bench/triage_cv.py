"""Does a small learned model, as a second opinion beside the rules, route unseen questions better?

Run: .venv/bin/python bench/triage_cv.py [--folds 5] [--repeats 5] [--learner nb|lr|both] [--grid] [--fresh]
     [--with-cases]     (figures and what they show: bench/triage_cv.md)

TUNING SPLIT ONLY. The test split of bench/questions/ is never loaded into the rows used here (a row
of the test split makes the script stop). The rules stay as they are: their decision on every tuning
question is computed once; the model is trained on k-1 folds (grouped by source_url, so questions
from one page stay together) and consulted on the held-out fold, where it may change the rules'
decision only as a variant allows:

    ticket   a rule answer (step "answer") on weak evidence (the answer's score below twice
             settings.min_score, the bar step_server_problem calls "clearly") becomes a ticket when the
             model's first choice is a ticket with probability >= t: it can only turn a question
             *towards* a ticket
    swap     such a weak script answer becomes client_setup, or the reverse, when the model's first
             choice is the other one with probability >= t
    both     ticket and swap, one threshold each
    away     EXPLORATORY, never to ship: a ticket the rules made for weak evidence (step "weak", no
             server signal) becomes script or client_setup when the model says so with probability >= t;
             every mistake it makes turns a ticket away
    away0    EXPLORATORY too: away, only for a ticket with no evidence for a ticket at all (technical and
             administrative scores 0: the rules' "does not clearly match a subject" ticket)

The model never sees a question with a server signal: the steps server_problem, always_ticket,
blocked and several decide before it, as in the app.

Thresholds are chosen by nested cross-validation: within each outer training part, an inner k-fold
gives every training question an out-of-fold probability; the threshold that gains most there without
turning away one more ticket is applied to the outer held-out fold (ties: the higher threshold; no
gain: the variant stays off). The outer folds' results, summed, are the figures. --grid adds the
whole threshold grid on the outer folds, for reading only (choosing from it would be optimistic).

--fresh also runs the rules and code as they were before the rules written from the second, third,
fifth and sixth collections (git archive of that commit) on those collections' tuning-split questions, beside a model
trained on the other tuning questions: how the model does next to rules that have not seen a question.

Repeats use other fold assignments (sha1 of "cv<r>:" + source_url); the first repeat's tables are
printed in full, the others summarised.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(BENCH_DIR))

from relevance import LABELS, load_questions  # noqa: E402
from triage_model import LEARNERS, features  # noqa: E402

THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
VARIANTS = ("ticket", "swap", "both", "away", "away0")
SHIPPABLE = ("ticket", "swap", "both")
OTHER = {"script": "client_setup", "client_setup": "script"}
EXTRA: list[tuple[list[str], str]] = []  # more training rows for every model (--with-cases: the team's own set)


def tuning_questions() -> list[dict]:
    questions = [q for q in load_questions() if q["split"] == "tuning"]
    assert all(q["split"] == "tuning" for q in questions)
    return sorted(questions, key=lambda q: q["id"])


def rules_reading(questions: list[dict], content_dir: Path) -> tuple[list[dict], int]:
    """Return, per question, the rules' decision and the words the model reads; and settings.min_score."""
    from helpsite.triage import classify, load_rules
    from helpsite.triage.rules import rules_folder
    from triage_eval import open_store

    store = open_store(content_dir)
    rules = load_rules(rules_folder(store))
    rows = []
    for q in questions:
        decision = classify(q["text"], q["lang"], store)
        rows.append({
            "id": q["id"], "label": q["label"], "source_url": q["source_url"],
            "verdict": decision.verdict, "step": decision.step, "scores": dict(decision.scores),
            "server": bool(decision.evidence.get("server_problem")),
            "feats": features([t.text for t in rules.document(q["text"]).tokens]),
        })
    return rows, rules.min_score


OLD_READER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/bench")
from helpsite.triage import classify
from triage_eval import open_store
from pathlib import Path
store = open_store(Path(sys.argv[1]) / "content")
out = []
for q in json.load(sys.stdin):
    d = classify(q["text"], q["lang"], store)
    out.append({"verdict": d.verdict, "step": d.step, "scores": dict(d.scores),
                "server": bool(d.evidence.get("server_problem"))})
json.dump(out, sys.stdout)
"""


def rules_reading_at(commit: str, rows: list[dict], questions: list[dict]) -> list[dict]:
    """Return copies of rows with the decisions of the rules (and code) as they were at a commit."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(PROJECT_DIR), "archive", commit], capture_output=True, text=False,
                                 check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        result = subprocess.run([sys.executable, "-c", OLD_READER, tmp], capture_output=True, text=True, check=True,
                                input=json.dumps([{"text": q["text"], "lang": q["lang"]} for q in questions]))
    return [{**row, **old} for row, old in zip(rows, json.loads(result.stdout))]


def team_cases(content_dir: Path) -> list[tuple[list[str], str]]:
    """Return the team's own labelled questions (tests/triage_cases.yaml) as training rows."""
    from helpsite.triage import load_rules
    from helpsite.triage.rules import rules_folder
    from triage_eval import load_cases, open_store

    rules = load_rules(rules_folder(open_store(content_dir)))
    return [(features([t.text for t in rules.document(c["text"]).tokens]), c["verdict"]) for c in load_cases()]


def fold_of(row: dict, folds: int, repeat: int) -> int:
    return int(hashlib.sha1(f"cv{repeat}:{row['source_url']}".encode()).hexdigest(), 16) % folds


def second_opinion(row: dict, probs: dict[str, float], variant: str, thresholds: dict[str, float | None],
                   min_score: int) -> str:
    """Return the verdict with the model consulted as the variant allows (thresholds: per move, None = off)."""
    verdict, step = row["verdict"], row["step"]
    top = max(probs, key=lambda c: (probs[c], c))
    if row["server"]:
        return verdict
    if step == "answer" and row["scores"].get(verdict, 0) < 2 * min_score:
        t = thresholds.get("ticket")
        if variant in ("ticket", "both") and t is not None and top == "ticket" and probs["ticket"] >= t:
            return "ticket"
        t = thresholds.get("swap")
        if variant in ("swap", "both") and t is not None and verdict in OTHER and top == OTHER[verdict] \
                and probs[top] >= t:
            return top
    no_ticket_evidence = not (row["scores"].get("technical") or row["scores"].get("administrative"))
    if (variant == "away" or variant == "away0" and no_ticket_evidence) and step == "weak":
        t = thresholds.get("away")
        if t is not None and top in OTHER and probs[top] >= t:
            return top
    return verdict


def moves(variant: str) -> tuple[str, ...]:
    return {"ticket": ("ticket",), "swap": ("swap",), "both": ("ticket", "swap"), "away": ("away",),
            "away0": ("away",)}[variant]


def outcome(rows, probs, variant, thresholds, min_score) -> tuple[int, int]:
    """Return (routed right, tickets turned away) of the rows with the model consulted."""
    right = away = 0
    for row, p in zip(rows, probs):
        verdict = second_opinion(row, p, variant, thresholds, min_score)
        right += verdict == row["label"]
        away += row["label"] == "ticket" and verdict != "ticket"
    return right, away


def ceiling(rows, min_score) -> dict[str, int]:
    """Return per variant how many of the rules' misses a perfect model could fix (and none break)."""
    fixable = {}
    for variant in VARIANTS:
        thresholds = {m: 0.0 for m in moves(variant)}
        fixable[variant] = sum(
            row["verdict"] != row["label"]
            and second_opinion(row, {c: float(c == row["label"]) for c in LABELS}, variant, thresholds, min_score)
            == row["label"] for row in rows)
    return fixable


def choose(rows, probs, variant, min_score) -> dict[str, float | None]:
    """Return the thresholds that gain most on these rows without turning away one more ticket."""
    chosen: dict[str, float | None] = {m: None for m in moves(variant)}
    base_right, base_away = outcome(rows, probs, variant, chosen, min_score)
    for move in moves(variant):  # one move at a time, the others as chosen so far
        best = (base_right, None)
        for t in sorted(THRESHOLDS, reverse=True):
            right, away = outcome(rows, probs, variant, {**chosen, move: t}, min_score)
            if away <= base_away and right > best[0]:
                best = (right, t)
        chosen[move] = best[1]
        base_right = best[0]
    return chosen


def out_of_fold(rows, learner, folds, repeat) -> list[dict[str, float]]:
    """Return every row's probabilities from a model trained on the other folds."""
    probs = [None] * len(rows)
    for k in range(folds):
        train = [(r["feats"], r["label"]) for r in rows if fold_of(r, folds, repeat) != k]
        model = LEARNERS[learner]().fit(train + EXTRA)
        for i, r in enumerate(rows):
            if fold_of(r, folds, repeat) == k:
                probs[i] = model.proba(r["feats"])
    return probs


def cross_validate(rows, min_score, learner, folds, repeat, grid=False) -> dict:
    """Return the verdicts of the rules alone, the model alone and each variant, on held-out folds."""
    verdicts = {"rules": [r["verdict"] for r in rows], "model": [None] * len(rows)}
    verdicts.update({v: [None] * len(rows) for v in VARIANTS})
    grid_verdicts = {}
    chosen_log = {v: [] for v in VARIANTS}
    for k in range(folds):
        inside = [i for i, r in enumerate(rows) if fold_of(r, folds, repeat) != k]
        held = [i for i, r in enumerate(rows) if fold_of(r, folds, repeat) == k]
        train_rows = [rows[i] for i in inside]
        model = LEARNERS[learner]().fit([(r["feats"], r["label"]) for r in train_rows] + EXTRA)
        # The inner cross-validation, on the training part only, chooses the thresholds.
        inner = out_of_fold(train_rows, learner, folds, repeat + 1000)
        for variant in VARIANTS:
            thresholds = choose(train_rows, inner, variant, min_score)
            chosen_log[variant].append(thresholds)
            for i in held:
                p = model.proba(rows[i]["feats"])
                verdicts[variant][i] = second_opinion(rows[i], p, variant, thresholds, min_score)
        for i in held:
            p = model.proba(rows[i]["feats"])
            verdicts["model"][i] = max(p, key=lambda c: (p[c], c))
            if grid:
                for variant in VARIANTS:
                    for t in THRESHOLDS:
                        key = f"{variant} t={t}"
                        grid_verdicts.setdefault(key, [None] * len(rows))[i] = second_opinion(
                            rows[i], p, variant, {m: t for m in moves(variant)}, min_score)
    return {"verdicts": verdicts, "grid": grid_verdicts, "chosen": chosen_log}


def summary(rows, verdicts) -> dict:
    per = Counter()
    n = Counter(r["label"] for r in rows)
    away = 0
    for r, v in zip(rows, verdicts):
        per[r["label"]] += v == r["label"]
        away += r["label"] == "ticket" and v != "ticket"
    right = sum(per.values())
    return {"right": right, "n": len(rows), "per": {c: (per[c], n[c]) for c in LABELS}, "away": away,
            "tickets": n["ticket"]}


def table(rows, results: dict[str, list[str]], baseline: list[str]) -> str:
    lines = ["| | routed right | client_setup | script | self_service | ticket | tickets turned away | "
             "changed: fixed / broken |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, verdicts in results.items():
        s = summary(rows, verdicts)
        per = " | ".join(f"{s['per'][c][0] / s['per'][c][1]:.2f} ({s['per'][c][0]})" if s["per"][c][1] else "–"
                         for c in LABELS)
        fixed = sum(b != r["label"] and v == r["label"] for r, v, b in zip(rows, verdicts, baseline))
        broken = sum(b == r["label"] and v != r["label"] for r, v, b in zip(rows, verdicts, baseline))
        changed = "–" if name == "rules alone" else f"{fixed} / {broken}"
        lines.append(f"| {name} | {s['right'] / s['n']:.3f} ({s['right']} of {s['n']}) | {per} | "
                     f"{s['away']} of {s['tickets']} | {changed} |")
    return "\n".join(lines)


# Questions collected after the rules of their day, and the commit whose rules had not seen them yet
# (the merge of the collection, before the rules written from its tuning-split misses).
FRESH = (
    ("second collection", "9f5e0d0", lambda i: "en-0303" <= i <= "en-0344" or "nl-0066" <= i <= "nl-0069"),
    ("third collection", "c488c51", lambda i: "nl-0070" <= i <= "nl-0106"),
    ("fifth collection", "5d8268f^", lambda i: "nl-0132" <= i <= "nl-0152" or "en-0345" <= i <= "en-0391"),
    ("sixth collection", "c6080d5^", lambda i: "en-0392" <= i <= "en-0449"),
)
DECLARED = 0.8  # the threshold fixed before the fresh questions were run, for every move


def fresh(rows, questions, min_score, learner) -> str:
    """Return tables of the rules as they were before a collection, alone and with the model, on its questions.

    The rules of today were fitted to every tuning question, so cross-validation shows the model
    beside rules that already know the held-out fold. Here the rules had not seen the questions
    yet, as with a customer's next question; the model is trained on the other tuning questions.
    """
    lines = []
    for name, commit, chosen in FRESH:
        held = [i for i, r in enumerate(rows) if chosen(r["id"])]
        if not held:
            continue
        try:
            old = rules_reading_at(commit, [rows[i] for i in held], [questions[i] for i in held])
        except subprocess.CalledProcessError as exc:  # a shallow clone lacks the commit
            why = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or str(exc)
            lines += [f"### {name}: rules at {commit} not available ({why.strip()[:200]})", ""]
            continue
        model = LEARNERS[learner]().fit([(r["feats"], r["label"]) for r in rows if not chosen(r["id"])] + EXTRA)
        probs = [model.proba(r["feats"]) for r in old]
        results = {"rules alone": [r["verdict"] for r in old],
                   "model alone": [max(p, key=lambda c: (p[c], c)) for p in probs]}
        for variant in VARIANTS:
            for t in THRESHOLDS:
                label = f"rules + model ({variant}, t={t})" + (" declared" if t == DECLARED else "")
                results[label] = [second_opinion(r, p, variant, {m: t for m in moves(variant)}, min_score)
                                  for r, p in zip(old, probs)]
        misses = sum(r["verdict"] != r["label"] for r in old)
        lines += [f"### {name}: {len(held)} tuning-split questions, rules at {commit}, learner {learner}", "",
                  f"The rules of then miss {misses}; a perfect model could fix at most: " + ", ".join(
                      f"{variant} {n}" for variant, n in ceiling(old, min_score).items()) + ".", "",
                  table(old, results, results["rules alone"]), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--learner", choices=("nb", "lr", "both"), default="both")
    parser.add_argument("--grid", action="store_true", help="also print every threshold on the outer folds")
    parser.add_argument("--fresh", action="store_true",
                        help="also run the rules of before the 2nd, 3rd, 5th and 6th collections on those questions")
    parser.add_argument("--with-cases", action="store_true",
                        help="add tests/triage_cases.yaml (the team's own questions) to every training set")
    parser.add_argument("--content", default=str(PROJECT_DIR / "content"))
    args = parser.parse_args(argv)

    started = time.time()
    questions = tuning_questions()
    rows, min_score = rules_reading(questions, Path(args.content))
    if args.with_cases:
        EXTRA.extend(team_cases(Path(args.content)))
    print(f"Training rows added to every model: {len(EXTRA)} (tests/triage_cases.yaml).\n" if EXTRA else "", end="")
    print(f"Tuning split only: {len(rows)} questions; {args.folds}-fold cross-validation grouped by source_url, "
          f"{args.repeats} repeat(s); thresholds by nested {args.folds}-fold CV inside each training part.\n")
    misses = sum(r["verdict"] != r["label"] for r in rows)
    print(f"The rules miss {misses}; a perfect model could fix at most: " + ", ".join(
        f"{variant} {n}" for variant, n in ceiling(rows, min_score).items()) + ".\n")
    learners = ("nb", "lr") if args.learner == "both" else (args.learner,)
    for learner in learners:
        totals = {name: Counter() for name in ("rules", "model", *VARIANTS)}
        for repeat in range(args.repeats):
            result = cross_validate(rows, min_score, learner, args.folds, repeat, grid=args.grid and repeat == 0)
            verdicts = result["verdicts"]
            for name, v in verdicts.items():
                s = summary(rows, v)
                totals[name]["right"] += s["right"]
                totals[name]["away"] += s["away"]
                totals[name]["fixed"] += sum(b != r["label"] and x == r["label"]
                                             for r, x, b in zip(rows, v, verdicts["rules"]))
                totals[name]["broken"] += sum(b == r["label"] and x != r["label"]
                                              for r, x, b in zip(rows, v, verdicts["rules"]))
            if repeat == 0:
                print(f"## Learner {learner}, repeat 0 (held-out folds summed)\n")
                print(table(rows, {"rules alone": verdicts["rules"], "model alone": verdicts["model"],
                                   **{f"rules + model ({v})" + (" EXPLORATORY" if v not in SHIPPABLE else ""):
                                      verdicts[v] for v in VARIANTS}}, verdicts["rules"]))
                print("\nThresholds chosen per outer fold (inner CV): " + "; ".join(
                    f"{v}: " + ", ".join("/".join(f"{m}={t}" for m, t in c.items()) for c in result["chosen"][v])
                    for v in VARIANTS) + "\n")
                if args.grid:
                    print("Whole grid on the outer folds (for reading only; choosing from it is optimistic):\n")
                    print(table(rows, {"rules alone": verdicts["rules"], **result["grid"]}, verdicts["rules"]))
                    print()
        n = args.repeats
        print(f"## Learner {learner}, mean over {n} repeat(s)\n")
        print("| | routed right | tickets turned away | fixed / broken per repeat |\n| --- | ---: | ---: | ---: |")
        for name, t in totals.items():
            print(f"| {name} | {t['right'] / n / len(rows):.3f} ({t['right'] / n:.1f}) | {t['away'] / n:.1f} | "
                  f"{t['fixed'] / n:.1f} / {t['broken'] / n:.1f} |")
        print()
        if args.fresh:
            print(f"## Fresh questions: the rules before they saw them, learner {learner}\n")
            print(fresh(rows, questions, min_score, learner))
    print(f"({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
