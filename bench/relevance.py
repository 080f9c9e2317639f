"""Relevance on real questions: search and triage, with a plain BM25 peer in the same run.

Run: .venv/bin/python bench/relevance.py [--split test|tuning|both] [--misses] [--latency] [--write]

The questions are bench/questions/{nl,en}.jsonl (see bench/questions/README.md): questions real
people wrote in public forums and trackers, labelled as our help desk would route them. A question
is in the TEST split when int(sha1(source_url).hexdigest(), 16) % 3 == 0; rules, weights, synonyms
and aliases are tuned on the TUNING split only.

Per split and language it reports:
  search   hit@3 and MRR@10 of the app's search (the SearchIndex of the shipped content, in-process)
           and of a peer: SQLite FTS5 BM25 over the same articles (title, summary, tags, body; no
           stemming, no synonyms; the question's words OR-ed). Relevant articles: for a client_setup
           question about program X, the guide whose front matter applies_to is exactly [X]; for
           general client questions and all others, the question's `articles` field (skipped when empty).
  triage   routed right per class (the verdict; for tickets also the kind), the share of ticket-worthy
           questions turned away, and for client questions sent to a guide whether the program's own
           guide is among the first three articles offered.
--latency  in-process search time per question (p50/p95), cache off, of the app's search and of a
           plain Whoosh OR query of the question's words on the same index.
--write    writes bench/relevance.md (the tables the README shows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("HELPSITE_CODE") or Path(__file__).resolve().parent.parent)
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(PROJECT_DIR))

from flask import Flask  # noqa: E402

from helpsite import search as search_module  # noqa: E402
from helpsite.content import ArticleStore  # noqa: E402
from helpsite.search import QueryError, SearchIndex  # noqa: E402
from helpsite.triage import classify  # noqa: E402

QUESTIONS_DIR = BENCH_DIR / "questions"
LANGS = ("nl", "en")
LABELS = ("client_setup", "script", "self_service", "ticket")
WORDS = re.compile(r"\w+", re.UNICODE)


def split_of(question: dict) -> str:
    """Return "test" or "tuning": frozen by the data, never chosen."""
    return "test" if int(hashlib.sha1(question["source_url"].encode()).hexdigest(), 16) % 3 == 0 else "tuning"


def load_questions(directory: Path = QUESTIONS_DIR) -> list[dict]:
    questions = []
    for lang in LANGS:
        path = directory / f"{lang}.jsonl"
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    question = json.loads(line)
                    question["split"] = split_of(question)
                    questions.append(question)
    return questions


def open_index(content_dir: Path, index_dir: Path) -> SearchIndex:
    """Return the app's search index of a content folder, built in index_dir, cache off."""
    app = Flask("relevance")
    app.config.update(CONTENT_DIR=str(content_dir), SEARCH_INDEX_DIR=str(index_dir), CONTENT_RELOAD_INTERVAL=None,
                      SEARCH_BUILD_ON_START=True, SEARCH_CACHE_SIZE=0)
    ArticleStore(app)
    index = SearchIndex(app)
    index.app = app
    return index


def relevant(question: dict, store: ArticleStore) -> set[str]:
    """Return the ids of the articles that answer a question (empty: not scored for search)."""
    program = question.get("applies_to")
    if question["label"] == "client_setup" and program and program != "general":
        # The program's own guide, as the search finds it: the article for it alone, else the one naming it.
        articles = store.in_language("en") + store.in_language("nl")
        own = {a.id for a in articles if a.applies_to == [program]}
        naming = {a.id for a in articles if program in a.applies_to}
        return own or (naming if len(naming) == 1 else set())
    return set(question.get("articles") or [])


class Peer:
    """SQLite FTS5 BM25 over the same articles: no stemming, no synonyms."""

    def __init__(self, store: ArticleStore):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE doc USING fts5(id UNINDEXED, lang UNINDEXED, title, summary, tags, body)")
        for lang in LANGS:
            for article in store.in_language(lang):
                self.db.execute("INSERT INTO doc VALUES (?, ?, ?, ?, ?, ?)", (
                    article.id, lang, article.title, article.summary, " ".join(article.tags), article.plain_text))

    def search(self, text: str, lang: str, limit: int = 10) -> list[str]:
        words = list(dict.fromkeys(w.lower() for w in WORDS.findall(text[:search_module.MAX_QUERY_LENGTH])))
        if not words:
            return []
        match = " OR ".join('"%s"' % w.replace('"', '""') for w in words)
        rows = self.db.execute("SELECT id FROM doc WHERE doc MATCH ? AND lang = ? ORDER BY bm25(doc) LIMIT ?",
                               (match, lang, limit)).fetchall()
        return [row[0] for row in rows]


def app_search(index: SearchIndex, text: str, lang: str, limit: int = 10) -> list[str]:
    try:
        return [hit.id for hit in index.search(text[:search_module.MAX_QUERY_LENGTH], lang, limit=limit).hits]
    except QueryError:
        return []


def ranks(found: list[str], wanted: set[str]) -> tuple[float, float]:
    """Return (hit@3, reciprocal rank within 10)."""
    for position, article_id in enumerate(found[:10], 1):
        if article_id in wanted:
            return (1.0 if position <= 3 else 0.0), 1.0 / position
    return 0.0, 0.0


def evaluate(questions: list[dict], index: SearchIndex, peer: Peer | None = None) -> dict:
    """Score search (app and peer) and triage on the questions; return figures and misses."""
    store = index.store
    out = {"search": defaultdict(lambda: {"n": 0, "hit3": 0.0, "mrr": 0.0, "peer_hit3": 0.0, "peer_mrr": 0.0}),
           "triage": defaultdict(lambda: {"n": 0, "right": 0, "kind_right": 0}),
           "tickets": 0, "turned_away": [], "guide": {"n": 0, "right": 0}, "search_misses": [],
           "triage_misses": [], "guide_misses": [], "questions": len(questions)}
    if True:  # no app context: classify and search run without one, as the triage benchmark does
        for q in questions:
            wanted = relevant(q, store)
            if wanted:
                found = app_search(index, q["text"], q["lang"])
                hit3, rr = ranks(found, wanted)
                groups = [q["lang"], f"{q['lang']}/{q['label']}", "all", f"all/{q['label']}"]
                peer_hit3, peer_rr = ranks(peer.search(q["text"], q["lang"]), wanted) if peer else (0.0, 0.0)
                for group in groups:
                    row = out["search"][group]
                    row["n"] += 1
                    row["hit3"] += hit3
                    row["mrr"] += rr
                    row["peer_hit3"] += peer_hit3
                    row["peer_mrr"] += peer_rr
                if not hit3:
                    out["search_misses"].append((q, found[:3], sorted(wanted)))
            decision = classify(q["text"], q["lang"], store, index)
            right = decision.verdict == q["label"]
            kind_right = right and (q["label"] != "ticket" or decision.ticket_kind == q.get("ticket_kind"))
            for group in (q["label"], f"{q['lang']}/{q['label']}", "all", q["lang"]):
                row = out["triage"][group]
                row["n"] += 1
                row["right"] += right
                row["kind_right"] += kind_right
            if not right:
                out["triage_misses"].append((q, decision))
            if q["label"] == "ticket":
                out["tickets"] += 1
                if decision.verdict != "ticket":
                    out["turned_away"].append((q, decision))
            program = q.get("applies_to")
            if q["label"] == "client_setup" and decision.verdict == "client_setup" and program and program != "general":
                out["guide"]["n"] += 1
                offered = [a.id for a in decision.articles[:3]]
                if wanted & set(offered):
                    out["guide"]["right"] += 1
                else:
                    out["guide_misses"].append((q, offered))
    return out


def figures(result: dict) -> dict:
    """Return the headline figures of one evaluation (None where nothing was measured)."""
    def share(row, key):
        return row[key] / row["n"] if row["n"] else None

    search, triage = result["search"], result["triage"]
    return {
        "search_hit3_client": share(search["all/client_setup"], "hit3"),
        "peer_hit3_client": share(search["all/client_setup"], "peer_hit3"),
        "search_hit3": {lang: share(search[lang], "hit3") for lang in LANGS},
        "search_mrr": {lang: share(search[lang], "mrr") for lang in LANGS},
        "peer_hit3": {lang: share(search[lang], "peer_hit3") for lang in LANGS},
        "peer_mrr": {lang: share(search[lang], "peer_mrr") for lang in LANGS},
        "routed_right": share(triage["all"], "right"),
        "turned_away": len(result["turned_away"]) / result["tickets"] if result["tickets"] else None,
        "own_guide": result["guide"]["right"] / result["guide"]["n"] if result["guide"]["n"] else None,
    }


def fmt(value, digits=2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def tables(results: dict[str, dict]) -> str:
    """Return the markdown tables of the splits' results."""
    lines = []
    for split, result in results.items():
        search, triage = result["search"], result["triage"]
        lines += [f"**{split} split** ({result['questions']} questions)", "",
                  "| search | questions | hit@3 app | hit@3 BM25 peer | MRR@10 app | MRR@10 BM25 peer |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for group in ("nl", "en", "all/client_setup", "nl/client_setup", "en/client_setup", "en/script",
                      "en/self_service", "en/ticket", "all"):
            row = search.get(group)
            if not row or not row["n"]:
                continue
            n = row["n"]
            lines.append(f"| {group} | {n} | {fmt(row['hit3'] / n)} | {fmt(row['peer_hit3'] / n)} | "
                         f"{fmt(row['mrr'] / n)} | {fmt(row['peer_mrr'] / n)} |")
        lines += ["", "| triage, class | questions | routed right | kind right too |", "| --- | ---: | ---: | ---: |"]
        for group in (*LABELS, "nl", "en", "all"):
            row = triage.get(group)
            if not row or not row["n"]:
                continue
            n = row["n"]
            lines.append(f"| {group} | {n} | {fmt(row['right'] / n)} ({row['right']}) | {fmt(row['kind_right'] / n)} |")
        f = figures(result)
        lines += ["", f"Ticket-worthy questions turned away: {len(result['turned_away'])} of {result['tickets']} "
                      f"({fmt(f['turned_away'] * 100 if f['turned_away'] is not None else None, 1)}%). "
                      f"Own guide among the first three articles offered: {result['guide']['right']} of "
                      f"{result['guide']['n']} client questions sent to a guide ({fmt(f['own_guide'])}).", ""]
    return "\n".join(lines)


def misses(result: dict) -> str:
    lines = []
    for q, top, wanted in result["search_misses"]:
        lines.append(f"- search {q['id']} ({q['label']}/{q.get('applies_to') or q.get('technology') or ''}): "
                     f"wanted {', '.join(wanted)}; got {', '.join(top) or 'nothing'} — {q['text'][:90]!r}")
    for q, decision in result["triage_misses"]:
        lines.append(f"- triage {q['id']}: {q['label']}{'/' + q['ticket_kind'] if q.get('ticket_kind') else ''} "
                     f"routed {decision.verdict}{'/' + decision.ticket_kind if decision.ticket_kind else ''} "
                     f"(step {decision.step}) — {q['text'][:90]!r}")
    for q, offered in result["guide_misses"]:
        lines.append(f"- guide {q['id']} ({q['applies_to']}): offered {', '.join(offered) or 'nothing'}")
    return "\n".join(lines)


def latency(questions: list[dict], index: SearchIndex, chars: int | None = None) -> dict:
    """Return p50/p95 in milliseconds of the app's search and of a plain Whoosh OR query, cache off."""
    from whoosh import qparser

    app_times, plain_times = [], []
    if True:
        for lang in LANGS:  # warm up: open the searchers, load the rules
            app_search(index, "outlook", lang)
        for q in questions:
            text = q["text"][:min(chars or search_module.MAX_QUERY_LENGTH, search_module.MAX_QUERY_LENGTH)]
            start = time.perf_counter()
            app_search(index, text, q["lang"])
            app_times.append((time.perf_counter() - start) * 1000)
            searcher = index.searcher(q["lang"])
            parser = qparser.MultifieldParser(["title", "tags", "summary", "body"], searcher.schema,
                                              group=qparser.OrGroup)
            words = " ".join(dict.fromkeys(w.lower() for w in WORDS.findall(text)))
            start = time.perf_counter()
            searcher.search(parser.parse(words), limit=10)
            plain_times.append((time.perf_counter() - start) * 1000)

    def pct(times, p):
        return statistics.quantiles(times, n=100)[p - 1] if len(times) > 1 else (times[0] if times else 0.0)

    return {"app": (pct(app_times, 50), pct(app_times, 95)), "plain": (pct(plain_times, 50), pct(plain_times, 95)),
            "queries": len(app_times), "max_query": min(chars or search_module.MAX_QUERY_LENGTH,
                                                        search_module.MAX_QUERY_LENGTH)}


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "tuning", "both"), default="both")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--latency", action="store_true", help="measure search latency too")
    parser.add_argument("--latency-chars", type=int, default=None,
                        help="cut questions to this many characters for the latency run (compare with older code)")
    parser.add_argument("--write", action="store_true", help="write bench/relevance.md")
    parser.add_argument("--content", default=str(PROJECT_DIR / "content"))
    args = parser.parse_args(argv)

    questions = load_questions()
    with tempfile.TemporaryDirectory() as tmp:
        index = open_index(Path(args.content), Path(tmp) / "index")
        peer = Peer(index.store)
        splits = ("test", "tuning") if args.split == "both" else (args.split,)
        results = {split: evaluate([q for q in questions if q["split"] == split], index, peer) for split in splits}
        header = (f"Measured {dt.date.today().isoformat()} at commit {commit()} on "
                  f"{len(questions)} questions ({sum(q['lang'] == 'nl' for q in questions)} Dutch).")
        report = header + "\n\n" + tables(results)
        if args.latency:
            timing = latency(questions, index, args.latency_chars)
            report += (f"\nSearch latency in-process over {timing['queries']} questions (cache off, q up to "
                       f"{timing['max_query']} characters): app p50 {timing['app'][0]:.1f} ms, p95 "
                       f"{timing['app'][1]:.1f} ms; plain Whoosh OR query on the same index p50 "
                       f"{timing['plain'][0]:.1f} ms, p95 {timing['plain'][1]:.1f} ms.\n")
        print(report)
        if args.misses:
            for split, result in results.items():
                print(f"\n## Misses, {split} split\n")
                print(misses(result))
        if args.write:
            text = report
            if "test" in results:
                text += "\nMisses on the test split (never used to change a rule, weight, synonym or alias):\n\n"
                text += misses(results["test"]) + "\n"
            (BENCH_DIR / "relevance.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
