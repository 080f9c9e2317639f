"""Benchmark the knowledge base: index build, search API latency and article page throughput.

Run from the project folder:

    .venv/bin/python bench/kb_bench.py [--sizes 100,1000,10000] [--requests N]

A size counts articles per language: size 10,000 means 10,000 Dutch and 10,000 English
articles (20,000 files), so each language's search index holds 10,000 documents. The
shipped articles are part of the count; the rest are generated (see ArticleGenerator).

Everything runs on this machine over loopback: gunicorn (2 sync workers) serves the help
site and a bare Flask endpoint from the same workers (bench/kb_server.py), and this script
drives the load with a bounded number of requests. The figures are compared as ratios
within one run, because the machine is shared and its absolute speed varies.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import math
import os
import platform
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_DIR), str(BENCH_DIR)]

import yaml  # noqa: E402  (after the path set-up above, so the script runs from anywhere)

from helpsite import create_app  # noqa: E402
from helpsite.content import LANGUAGES, parse_article  # noqa: E402
from helpsite.extensions import db, search_index  # noqa: E402
from kb_server import BARE_IN_APP_PATH, BARE_PATH, bench_config  # noqa: E402

WORK_DIR = BENCH_DIR / ".work"
RESULTS_DIR = BENCH_DIR / "results"
SEED = 20261120
WORKERS = 2
CLIENT_THREADS = 4
PAGE_SAMPLE = 60  # article pages per size that the throughput test cycles through
PHASE_TIME_LIMIT = 60.0  # seconds; a throughput phase stops here even if requests remain
SERVER_START_LIMIT = 900.0  # seconds for both workers to load the content
TARGET_SEARCH_P95_MS = 20.0
TARGET_PAGE_RATIO = 0.5

# What customers type: plain questions, typos, Dutch compounds and synonyms, in both languages.
QUERIES = {
    "nl": [
        "e-mail instellen outlook", "thunderbrid", "wachtwoord vergeten", "wachtwoordherstel",
        "mailinstellingen", "uitgaande server", "smtp poort 587", "imap of pop3",
        "iphone mail instellen", "certificaat waarschuwing", "e-mail blijft in postvak uit",
        "poort 25 geblokkeerd", "authenticatie mislukt", "filezilla passieve modus",
        "530 login incorrect", "ftp verbinding time-out", "sftp winscp", "epp code opvragen",
        "dienst opzeggen", "openingstijden helpdesk", "reactietijd ticket", "htaccess php",
        "mailbox vol", "cyberduk", "instelingen android",
    ],
    "en": [
        "set up email outlook", "thunderbrid", "forgot password", "pasword reset",
        "outgoing server", "smtp port 587", "imap or pop3", "iphone email setup",
        "certificate warning", "mail stuck in outbox", "port 25 blocked",
        "authentication failed", "filezilla passive mode", "530 login incorrect",
        "ftp connection timed out", "sftp winscp", "request epp code", "cancel service",
        "support hours", "ticket response time", "htaccess php not supported", "mailbox full",
        "cyberduk", "setings android", "e-mail configuration windows mail",
    ],
}

FIXED_SECTIONS = {
    "nl": {"settings": "Instellingen", "troubleshooting": "Problemen oplossen", "related": "Zie ook"},
    "en": {"settings": "Settings", "troubleshooting": "Troubleshooting", "related": "See also"},
}
SETTINGS_TABLES = {
    ("nl", "email"): [
        "| Soort | Server | Poort | Beveiliging |", "| --- | --- | --- | --- |",
        "| Inkomend: IMAP | {{imap_host}} | {{imap_port}} | SSL/TLS |",
        "| Inkomend: POP3 | {{pop3_host}} | {{pop3_port}} | SSL/TLS |",
        "| Uitgaand: SMTP | {{smtp_host}} | {{smtp_port_ssl}} | SSL/TLS |",
        "| Uitgaand: SMTP (alternatief) | {{smtp_host}} | {{smtp_port_starttls}} | STARTTLS |",
    ],
    ("en", "email"): [
        "| Type | Server | Port | Security |", "| --- | --- | --- | --- |",
        "| Incoming: IMAP | {{imap_host}} | {{imap_port}} | SSL/TLS |",
        "| Incoming: POP3 | {{pop3_host}} | {{pop3_port}} | SSL/TLS |",
        "| Outgoing: SMTP | {{smtp_host}} | {{smtp_port_ssl}} | SSL/TLS |",
        "| Outgoing: SMTP (alternative) | {{smtp_host}} | {{smtp_port_starttls}} | STARTTLS |",
    ],
    ("nl", "ftp"): [
        "| Instelling | FTPS | SFTP |", "| --- | --- | --- |",
        "| Server | {{ftp_host}} | {{ftp_host}} |", "| Poort | {{ftp_port}} | {{sftp_port}} |",
        "| Gebruikersnaam | {{ftp_user}} | {{ftp_user}} |",
        "| Overdrachtsmodus | Passief ({{passive_ports}}) | n.v.t. |",
    ],
    ("en", "ftp"): [
        "| Setting | FTPS | SFTP |", "| --- | --- | --- |",
        "| Server | {{ftp_host}} | {{ftp_host}} |", "| Port | {{ftp_port}} | {{sftp_port}} |",
        "| User name | {{ftp_user}} | {{ftp_user}} |",
        "| Transfer mode | Passive ({{passive_ports}}) | n/a |",
    ],
}


# -- generating content ---------------------------------------------------------------


def slugify(text: str) -> str:
    """Return lowercase ASCII words joined by hyphens."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", folded))


def plain_sentences(markdown_body: str) -> list[list[str]]:
    """Return the prose sentences of a markdown body as word lists (no tables, headings, markup)."""
    sentences = []
    for line in markdown_body.split("\n"):
        line = line.strip()
        if not line or line.startswith(("|", "#", "```", "<")):
            continue
        line = re.sub(r"^(\d+\.|[-*])\s+", "", line)
        line = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line)  # links and images: their text
        line = re.sub(r"\{#[^}]*\}", "", line).replace("**", "").replace("`", "")
        line = re.sub(r"(?<!\w)\*|\*(?!\w)", "", line)
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            words = sentence.split()
            if len(words) >= 4:
                sentences.append(words)
    return sentences


@dataclass
class LanguageModel:
    """What generated articles in one language are made of, learnt from the shipped ones."""

    chain: dict = field(default_factory=lambda: defaultdict(list))  # (w1, w2) -> next words
    headings: dict[str, str] = field(default_factory=dict)  # anchor -> text of the ## headings
    subheadings: dict[str, str] = field(default_factory=dict)  # anchor -> text of the ### headings
    tags: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # category -> tags
    applies_to: dict[str, list[list[str]]] = field(default_factory=lambda: defaultdict(list))
    shipped: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))  # (id, title)
    categories: list[str] = field(default_factory=list)  # one entry per shipped article
    compound_parts: list[str] = field(default_factory=list)


class ArticleGenerator:
    """Write realistic articles: front matter, sections with anchors, a settings table, links.

    The prose comes from a word-pair Markov chain trained on the shipped articles of the same
    language, so word frequencies follow the real ones. In Dutch a few words become compounds
    with a part from search.yaml ("mail" + "instellingen"), which grows the vocabulary with
    the corpus the way real Dutch text does; English prose reuses the shipped vocabulary only.
    """

    def __init__(self, content_dir: Path, seed: int = SEED):
        self.random = random.Random(seed)
        search_yaml = yaml.safe_load((content_dir / "search.yaml").read_text(encoding="utf-8")) or {}
        self.models: dict[str, LanguageModel] = {}
        for lang in LANGUAGES:
            model = LanguageModel()
            model.compound_parts = [p for p in (search_yaml.get("compound_parts") or {}).get(lang, []) if len(p) >= 3]
            for path in sorted((content_dir / "articles" / lang).glob("*.md")):
                article = parse_article(path, lang)
                model.shipped[article.category].append((article.id, article.title))
                model.categories.append(article.category)
                model.tags[article.category].extend(article.tags)
                model.applies_to[article.category].append(article.applies_to)
                for level, text, anchor in re.findall(r"^(#{2,3}) (.+?) \{#([a-z0-9-]+)\}$", article.body, re.M):
                    (model.headings if level == "##" else model.subheadings).setdefault(anchor, text)
                for words in plain_sentences(article.body):
                    sequence = ["", ""] + words + [None]
                    for i in range(len(sequence) - 2):
                        model.chain[(sequence[i], sequence[i + 1])].append(sequence[i + 2])
            self.models[lang] = model

    def sentence(self, lang: str, max_words: int = 32) -> str:
        """Return one sentence of generated prose."""
        model, rnd = self.models[lang], self.random
        w1, w2, words = "", "", []
        while len(words) < max_words:
            following = model.chain.get((w1, w2))
            if not following:
                break
            word = rnd.choice(following)
            if word is None:
                break
            if lang == "nl" and model.compound_parts and rnd.random() < 0.03 and word.isalpha() and word.islower() and len(word) >= 4:
                word = rnd.choice(model.compound_parts) + word
            words.append(word)
            w1, w2 = w2, word
        text = " ".join(words)
        return text if text.endswith((".", "!", "?", ":")) else text.rstrip(",;") + "."

    def paragraph(self, lang: str, low: int = 2, high: int = 5) -> str:
        return " ".join(self.sentence(lang) for _ in range(self.random.randint(low, high)))

    def title(self, lang: str) -> str:
        words = self.sentence(lang, max_words=self.random.randint(4, 8)).rstrip(".!?:,;").split()
        words = [w.strip("\"'()[]{}") for w in words if not w.startswith("{{")] or ["Artikel"]
        title = " ".join(w for w in words if w)
        return title[:1].upper() + title[1:]

    def article(self, lang: str, number: int, article_id: str) -> tuple[str, str]:
        """Return (slug, file text) of one generated article."""
        model, rnd = self.models[lang], self.random
        category = rnd.choice(model.categories)
        title = self.title(lang)
        slug = f"{slugify(title)[:60].strip('-')}-{number}"
        tags = sorted(set(rnd.sample(model.tags[category], min(len(model.tags[category]), rnd.randint(3, 8)))))
        front = {
            "id": article_id,
            "title": title,
            "summary": self.sentence(lang, max_words=30),
            "category": category,
            "tags": tags,
            "applies_to": rnd.choice(model.applies_to[category]),
            "updated": (dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(1000))).isoformat(),
        }
        fixed = FIXED_SECTIONS[lang]
        free = sorted((text, anchor) for anchor, text in model.headings.items() if anchor not in fixed)
        sections = rnd.sample(free, min(len(free), rnd.randint(2, 4)))
        links = rnd.sample(model.shipped[category], min(3, len(model.shipped[category])))

        lines = ["---", *(f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in front.items()), "---", ""]
        lines += [self.paragraph(lang), ""]
        for index, (text, anchor) in enumerate(sections):
            lines += [f"## {text} {{#{anchor}}}", "", self.paragraph(lang), ""]
            if index == 0:
                lines += [f"{n}. {self.sentence(lang, 20)}" for n in range(1, rnd.randint(3, 7))] + [""]
            if index == 1:
                table = SETTINGS_TABLES[(lang, "ftp" if category == "ftp" else "email")]
                lines += [f"## {fixed['settings']} {{#settings}}", "", self.sentence(lang), "", *table, ""]
        lines += [f"## {fixed['troubleshooting']} {{#troubleshooting}}", ""]
        taken = {anchor for _, anchor in sections} | set(fixed)
        subsections = sorted(anchor for anchor in model.subheadings if anchor not in taken)
        for anchor in rnd.sample(subsections, min(len(subsections), rnd.randint(2, 3))):
            lines += [f"### {model.subheadings[anchor]} {{#{anchor}}}", "", self.paragraph(lang, 1, 3), ""]
            lines += [f"- {self.sentence(lang, 18)}" for _ in range(rnd.randint(2, 4))] + [""]
        lines += [f"## {fixed['related']} {{#related}}", ""]
        lines += [f"- [{link_title}](a:{link_id})" for link_id, link_title in links] + [""]
        return slug, "\n".join(lines)


def prepare_content(size: int, target: Path) -> dict:
    """Copy the shipped content to target and add generated articles until each language has size."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    content = PROJECT_DIR / "content"
    for name in ("provider.yaml", "categories.yaml", "search.yaml"):
        shutil.copy2(content / name, target / name)
    shutil.copytree(content / "articles", target / "articles")
    generator = ArticleGenerator(content)
    counts = {}
    for lang in LANGUAGES:
        folder = target / "articles" / lang
        shipped = len(list(folder.glob("*.md")))
        for number in range(1, max(0, size - shipped) + 1):
            slug, text = generator.article(lang, number, f"gen-{number:05d}")
            (folder / f"{slug}.md").write_text(text, encoding="utf-8")
        counts[lang] = len(list(folder.glob("*.md")))
    return counts


# -- serving and driving load ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with WORKERS sync workers on a loopback port, started and stopped by us."""

    def __init__(self, work_dir: Path, search_cache_size: str = "0", page_cache: bool = True, watch: bool = False,
                 bare_only: bool = False):
        self.work_dir = work_dir
        self.search_cache_size = search_cache_size  # "0": off, "default": the site's own setting
        self.env = {"BENCH_PAGE_CACHE": "1" if page_cache else "0", "BENCH_WATCH": "1" if watch else "0",
                    "BENCH_BARE_ONLY": "1" if bare_only else "0"}
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = work_dir / "gunicorn.log"
        self.access_log = work_dir / f"access-{self.port}.log"

    def start(self) -> float:
        """Start gunicorn and wait until every worker has loaded the content; return seconds."""
        for marker in self.work_dir.glob("ready-*"):
            marker.unlink()
        env = {**os.environ, "BENCH_WORK_DIR": str(self.work_dir), "BENCH_SEARCH_CACHE_SIZE": self.search_cache_size,
               **self.env}
        command = [
            str(Path(sys.executable).parent / "gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{self.port}",
            "--timeout", str(int(SERVER_START_LIMIT)), "--graceful-timeout", "5",
            "--pythonpath", f"{PROJECT_DIR},{BENCH_DIR}", "--error-logfile", str(self.log),
            "--control-socket", str(self.work_dir / "gunicorn.ctl"),  # not the shared ~/.gunicorn
            # Server-side time of every request in microseconds (%(D)s), for the search latency.
            "--access-logfile", str(self.access_log), "--access-logformat", "%(U)s %(D)s",
            "kb_server:create()",
        ]
        started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, cwd=PROJECT_DIR, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while len(list(self.work_dir.glob("ready-*"))) < WORKERS:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            if time.perf_counter() - started > SERVER_START_LIMIT:
                raise RuntimeError(f"workers not ready after {SERVER_START_LIMIT:.0f} s; see {self.log}")
            time.sleep(0.1)
        return time.perf_counter() - started

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def worker_rss_mib(self) -> list[float]:
        """Return the resident memory of each worker in MiB."""
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return sizes

    def server_times(self, prefix: str, since: int) -> list[float]:
        """Return the server-side times (ms) of requests to paths starting with prefix logged after byte since."""
        with self.access_log.open("rb") as fh:
            fh.seek(since)
            lines = fh.read().decode(errors="replace").splitlines()
        return [int(line.rsplit(" ", 1)[1]) / 1000 for line in lines
                if line.startswith(prefix) and line.rsplit(" ", 1)[-1].isdigit()]

    def access_log_size(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def worker_cpu_seconds(self) -> float:
        """Return the user + system CPU time the workers have used so far."""
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop gunicorn (the process we started) and wait for it."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Client:
    """One HTTP/1.1 client connection; http.client reconnects when the server closes it."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def search_paths() -> list[tuple[str, str]]:
    """Return (lang, API path) for every benchmark query."""
    from urllib.parse import urlencode

    return [(lang, "/api/search?" + urlencode({"q": q, "lang": lang, "limit": 10}))
            for lang in LANGUAGES for q in QUERIES[lang]]


def measure_search(port: int, requests: int, deadline: float) -> dict:
    """Send the queries one at a time over HTTP and return latency percentiles in ms."""
    client, latencies, per_query, errors = Client(port), [], defaultdict(list), 0
    paths = search_paths()
    for i in range(requests):
        if time.perf_counter() > deadline:
            break
        lang, path = paths[i % len(paths)]
        started = time.perf_counter()
        status, body = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or b'"results"' not in body:
            errors += 1
        latencies.append(elapsed)
        per_query[path].append(elapsed)
    client.close()
    slowest = sorted(((statistics.median(v), p) for p, v in per_query.items()), reverse=True)[:3]
    return {
        "n": len(latencies), "errors": errors,
        "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95), "p99": percentile(latencies, 0.99),
        "slowest": [(round(ms, 1), path) for ms, path in slowest],
    }


def measure_throughput(server: Server, paths: list[str], requests: int) -> dict:
    """Send requests to paths from CLIENT_THREADS threads and return requests/s and CPU figures."""
    lock, counter, done, errors = threading.Lock(), iter(range(requests)), [0], [0]
    deadline = time.perf_counter() + PHASE_TIME_LIMIT
    start = threading.Barrier(CLIENT_THREADS + 1)

    def work():
        client = Client(server.port)
        start.wait()
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            status, _ = client.get(paths[i % len(paths)])
            with lock:
                done[0] += 1
                errors[0] += status != 200
        client.close()

    threads = [threading.Thread(target=work) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    cpu_before, client_before = server.worker_cpu_seconds(), time.process_time()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = server.worker_cpu_seconds() - cpu_before
    return {
        "rps": done[0] / elapsed, "n": done[0], "errors": errors[0],
        "cpu_ms_per_request": cpu * 1000 / max(1, done[0]),
        "client_cpu": (time.process_time() - client_before) / elapsed,
    }


# -- one size -------------------------------------------------------------------------


def warm_up(port: int, paths: list[str]) -> None:
    """Request every path once, in order; stop the run if one fails."""
    client = Client(port)
    for path in paths:
        status, _ = client.get(path)
        if status != 200:
            raise RuntimeError(f"warm-up: {path} answered {status}")
    client.close()


def page_sample(app, size: int) -> list[str]:
    """Return PAGE_SAMPLE article paths, shipped and generated, in both languages."""
    store = app.extensions["articles"]
    rnd, paths = random.Random(SEED + size), []
    for lang in LANGUAGES:
        chosen = rnd.sample(store.in_language(lang), min(PAGE_SAMPLE // len(LANGUAGES), len(store.in_language(lang))))
        paths += [store.article_url(article) for article in chosen]
    rnd.shuffle(paths)
    return paths


def short_path(filename: str) -> str:
    """Return a file name relative to the project or to site-packages, for the profile tables."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if filename.startswith(str(PROJECT_DIR)):
        return os.path.relpath(filename, PROJECT_DIR)
    return filename


def profile(app, pages: list[str], size: int, out: Path) -> str:
    """Profile the article page and the search API in-process with cProfile; return markdown tables."""
    client = app.test_client(use_cookies=False)  # like the load test: no session cookie comes back
    for path in pages:  # render once, as the warmed-up server has
        client.get(path)
    report = io.StringIO()
    for name, action in (
        ("article page", lambda: [client.get(p) for p in pages * 5]),
        ("search API", lambda: [client.get(p) for _, p in search_paths() * 2]),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        action()
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = stats.total_tt
        rows = stats.stats.items()
        report.write(f"\n### Profile: {name}, {size:,} articles per language ({total:.2f} s under cProfile)\n\n")
        report.write("| share (cumulative) | share (own) | function |\n| ---: | ---: | --- |\n")
        for (filename, line, function), (_, _, own, cumulative, _) in sorted(rows, key=lambda r: r[1][3], reverse=True)[:30]:
            report.write(f"| {cumulative / total:.0%} | {own / total:.0%} | {short_path(filename)}:{line} {function} |\n")
        report.write("\n| share (own) | function |\n| ---: | --- |\n")
        for (filename, line, function), (_, _, own, _, _) in sorted(rows, key=lambda r: r[1][2], reverse=True)[:12]:
            report.write(f"| {own / total:.0%} | {short_path(filename)}:{line} {function} |\n")
    out.write_text(report.getvalue())
    return report.getvalue()


def search_timings(app, run, repeat: int = 3) -> dict:
    """Time run(lang, query) for every benchmark query in-process; return {query: median ms} and percentiles."""
    per_query, timings = {}, []
    with app.app_context():
        for lang in LANGUAGES:
            for query in QUERIES[lang]:
                mine = []
                for attempt in range(repeat + 1):
                    started = time.perf_counter()
                    run(lang, query)
                    if attempt:  # the first run opens searchers and fills the OS cache
                        mine.append((time.perf_counter() - started) * 1000)
                per_query[(lang, query)] = statistics.median(mine)
                timings += mine
    return {"p50": percentile(timings, 0.5), "p95": percentile(timings, 0.95), "per_query": per_query,
            "total": sum(per_query.values())}


def in_process_search(app, repeat: int = 3) -> dict:
    """Time search_index.search directly (no HTTP), the way the API calls it, in ms."""
    with app.app_context():
        first, again = (search_index.search("wachtwoord", "nl", limit=10) for _ in range(2))
        if first is again:
            raise RuntimeError("search answers come from the result cache although SEARCH_CACHE_SIZE is 0: "
                               "update bench_config() in bench/kb_server.py")

    def run(lang, query):
        if not search_index.search(query, lang, limit=10).hits:
            search_index.search(query, "en" if lang == "nl" else "nl", limit=10, suggest=False)

    return search_timings(app, run, repeat)


def plain_whoosh_search(app, repeat: int = 3) -> dict:
    """The baseline: Whoosh's own query parser on the same index, fields and weighting, no synonyms or typos."""
    from whoosh import index as whoosh_index
    from whoosh.qparser import MultifieldParser, OrGroup
    from whoosh.scoring import BM25F

    searchers, parsers = {}, {}
    index = app.extensions["search"]
    for lang in LANGUAGES:
        ix = whoosh_index.open_dir(str(index.current_link / lang))
        searchers[lang] = ix.searcher(weighting=BM25F(B=0.75, K1=1.2))
        parsers[lang] = MultifieldParser(["title", "tags", "summary", "body"], ix.schema,
                                         fieldboosts={"title": 4.0, "tags": 3.0, "summary": 2.0}, group=OrGroup)

    def run(lang, query):
        results = searchers[lang].search(parsers[lang].parse(query), limit=10)
        return [(hit["id"], hit["title"], hit["summary"]) for hit in results]

    try:
        return search_timings(app, run, repeat)
    finally:
        for searcher in searchers.values():
            searcher.close()


def fts5_search(app, repeat: int = 3) -> dict:
    """The other baseline: SQLite FTS5 (bm25, snippets) over the same articles' text and the same queries."""
    import sqlite3

    store = app.extensions["articles"]
    connection = sqlite3.connect(":memory:")
    started = time.perf_counter()
    for lang in LANGUAGES:
        stemmer = "porter unicode61 remove_diacritics 2" if lang == "en" else "unicode61 remove_diacritics 2"
        connection.execute(f"CREATE VIRTUAL TABLE docs_{lang} USING fts5(id UNINDEXED, title, tags, summary, body, "
                           f"tokenize='{stemmer}')")
        with app.app_context():
            connection.executemany(
                f"INSERT INTO docs_{lang} VALUES (?, ?, ?, ?, ?)",
                [(a.id, a.title, " ".join(a.tags), a.summary, a.plain_text) for a in store.in_language(lang, True)])
    build_seconds = time.perf_counter() - started

    def run(lang, query):
        words = re.findall(r"\w+", query.lower())
        match = " OR ".join(f'"{w}"' for w in words)
        return connection.execute(
            f"SELECT id, title, summary, snippet(docs_{lang}, 4, '<mark>', '</mark>', '…', 24) FROM docs_{lang} "
            f"WHERE docs_{lang} MATCH ? ORDER BY bm25(docs_{lang}, 0, 4.0, 3.0, 2.0, 1.0) LIMIT 10", (match,)).fetchall()

    result = search_timings(app, run, repeat)
    result["build_s"] = build_seconds
    connection.close()
    return result


def change_latency(work: Path, tries: int = 3) -> dict:
    """Time one changed article until it is found, in-process with the content watcher running.

    "end to end" is from writing the file to the first search that finds it; "work" is what
    the watcher spent (re-reading that file, re-indexing that article).
    """
    app = create_app(bench_config(work, watch=True))
    watcher = app.extensions["content_sync"]
    store = app.extensions["articles"]
    ends, works = [], []
    try:
        candidates = [a for a in store.in_language("en") if a.id.startswith("gen-")] or store.in_language("en")
        for attempt in range(tries):
            article = candidates[(attempt * 7) % len(candidates)]
            word = f"zebraquokka{attempt}x{time.monotonic_ns()}"
            applied = watcher.applied
            text = article.path.read_text(encoding="utf-8")
            started = time.perf_counter()
            article.path.write_text(text.rstrip("\n") + f"\n\nNew: {word}.\n", encoding="utf-8")
            deadline = started + 30
            with app.app_context():
                while time.perf_counter() < deadline:
                    if search_index.search(word, "en", limit=3, suggest=False).hits:
                        break
                    time.sleep(0.002)
            ends.append(time.perf_counter() - started)
            while watcher.applied == applied and time.perf_counter() < deadline:
                time.sleep(0.01)
            works.append(watcher.last.get("seconds", float("nan")))
    finally:
        watcher.stop()
    return {"end_s": statistics.median(ends), "work_s": statistics.median(works), "ends": ends, "works": works}


def http_change_latency(server: "Server", work: Path) -> float:
    """Seconds from writing a changed article to every worker finding it over HTTP (the watcher in each)."""
    from urllib.parse import urlencode

    content = work / "content" / "articles" / "en"
    path = sorted(content.glob("*.md"))[-1]
    word = f"wombatquokka{time.monotonic_ns()}"
    client = Client(server.port)
    started = time.perf_counter()
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + f"\n\nNew: {word}.\n", encoding="utf-8")
    found = 0
    url = "/api/search?" + urlencode({"q": word, "lang": "en", "limit": 3})
    while found < 2 * WORKERS and time.perf_counter() - started < 30:
        status, body = client.get(url)
        found = found + 1 if status == 200 and b'"id"' in body else 0
        if not found:
            time.sleep(0.005)
    client.close()
    return time.perf_counter() - started


def page_paths() -> dict[str, list[str]]:
    """Return the home and search page paths of both languages."""
    from urllib.parse import urlencode

    search_word = {"nl": "zoeken", "en": "search"}
    return {
        "home": ["/nl/", "/en/"],
        "search_page": [f"/{lang}/{search_word[lang]}?" + urlencode({"q": q}) for lang in LANGUAGES
                        for q in QUERIES[lang][:10]],
    }


def measure_pages(server: "Server", phases: dict[str, list[str]], requests: int, rounds: int, size: int, label: str) -> dict:
    """Run the throughput phases interleaved for rounds rounds; return the medians per phase."""
    measured = defaultdict(list)
    for round_number in range(rounds):  # interleaved, so that drift in the machine's load hits all alike
        for name, paths in phases.items():
            measured[name].append(measure_throughput(server, paths, requests))
        print(f"[{size}] {label} round {round_number + 1}: " + ", ".join(
            f"{name} {measured[name][-1]['rps']:.0f}/s {measured[name][-1]['cpu_ms_per_request']:.2f} ms CPU"
            for name in phases), flush=True)
    result = {name: {key: statistics.median(m[key] for m in runs) for key in ("rps", "cpu_ms_per_request")}
              for name, runs in measured.items()}
    result["_errors"] = sum(m["errors"] for runs in measured.values() for m in runs)
    result["_client_cpu"] = max(m["client_cpu"] for runs in measured.values() for m in runs)
    return result


def run_size(size: int, requests: int, rounds: int, want_profile: bool, keep: bool) -> dict:
    """Generate content for one size, build the index, serve it and measure every figure of the report."""
    work = WORK_DIR / f"size-{size}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    started = time.perf_counter()
    counts = prepare_content(size, work / "content")
    generate_seconds = time.perf_counter() - started
    print(f"[{size}] content: {counts} articles ({generate_seconds:.1f} s to generate)", flush=True)

    app = create_app(bench_config(work))
    with app.app_context():
        db.create_all()  # the site's tables, as deployed: every page reads the incident banner
        started = time.perf_counter()
        search_index.build()  # a cold render cache: every article rendered
        build_seconds = time.perf_counter() - started
        print(f"[{size}] index build: {build_seconds:.1f} s", flush=True)
        started = time.perf_counter()
        search_index.build()  # what `flask search build` costs when few articles changed
        rebuild_seconds = time.perf_counter() - started
    print(f"[{size}] rebuild with the render cache: {rebuild_seconds:.1f} s", flush=True)
    app = create_app(bench_config(work))  # a fresh app: no article rendered in memory
    repeat = 3 if size < 10000 else 1  # at 10,000 one computed search takes seconds
    inproc = in_process_search(app, repeat)
    whoosh = plain_whoosh_search(app, repeat)
    fts5 = fts5_search(app, repeat)
    print(f"[{size}] in-process p95: app {inproc['p95']:.1f} ms, plain Whoosh {whoosh['p95']:.1f} ms, "
          f"FTS5 {fts5['p95']:.2f} ms", flush=True)
    change = change_latency(work)
    print(f"[{size}] one changed article: found after {change['end_s'] * 1000:.0f} ms, "
          f"work {change['work_s'] * 1000:.0f} ms", flush=True)
    pages = page_sample(app, size)
    extra = page_paths()

    bare = Server(work, bare_only=True)
    try:
        bare.start()
        warm_up(bare.port, [BARE_PATH] * 200)
        bare_rss = statistics.median(bare.worker_rss_mib())
    finally:
        bare.stop()

    # 1. Everything computed: the search result cache and the page cache off.
    server = Server(work, search_cache_size="0", page_cache=False)
    try:
        start_seconds = server.start()
        print(f"[{size}] server (caches off) ready in {start_seconds:.1f} s (port {server.port})", flush=True)
        warm_up(server.port, pages * 2 + [p for _, p in search_paths()] * 2 + extra["home"] * 4
                + extra["search_page"] + [BARE_PATH, BARE_IN_APP_PATH] * 20)
        mark = server.access_log_size()
        search = measure_search(server.port, requests, time.perf_counter() + PHASE_TIME_LIMIT * 2)
        server_side = server.server_times("/api/search", mark)
        search["server_p50"], search["server_p95"] = percentile(server_side, 0.5), percentile(server_side, 0.95)
        print(f"[{size}] search p95 {search['p95']:.1f} ms (server-side {search['server_p95']:.1f} ms)", flush=True)
        uncached = measure_pages(server, {"bare": [BARE_PATH], "article": pages, "home": extra["home"],
                                          "search_page": extra["search_page"]}, requests, rounds, size, "caches off")
    finally:
        server.stop()

    # 2. The page cache off but the search result cache on: what a search page costs a reader
    #    whose page is not cached (logged in) when the query is a common one.
    server = Server(work, search_cache_size="default", page_cache=False)
    try:
        server.start()
        warm_up(server.port, extra["search_page"] * 2 + [BARE_PATH] * 20)
        result_cached = measure_pages(server, {"bare": [BARE_PATH], "search_page": extra["search_page"]},
                                      requests, rounds, size, "page cache off, result cache on")
    finally:
        server.stop()

    # 3. As deployed: result cache and page cache on, the content watcher running.
    server = Server(work, search_cache_size="default", page_cache=True, watch=True)
    try:
        server.start()
        warm_up(server.port, pages * 6 + [p for _, p in search_paths()] * 4 + extra["home"] * 10
                + extra["search_page"] * 4 + [BARE_PATH, BARE_IN_APP_PATH] * 20)
        cached = measure_search(server.port, requests, time.perf_counter() + PHASE_TIME_LIMIT)
        print(f"[{size}] search with the result cache: p50 {cached['p50']:.1f} ms, p95 {cached['p95']:.1f} ms", flush=True)
        deployed = measure_pages(server, {"bare": [BARE_PATH], "bare_in_app": [BARE_IN_APP_PATH], "article": pages,
                                          "home": extra["home"], "search_page": extra["search_page"]},
                                 requests, rounds, size, "caches on")
        rss = server.worker_rss_mib()
        http_change = http_change_latency(server, work)
        print(f"[{size}] RSS per worker {', '.join(f'{r:.0f}' for r in rss)} MiB; changed article found over HTTP "
              f"after {http_change * 1000:.0f} ms", flush=True)
    finally:
        server.stop()

    def cpu_ratio(measured, name):
        return measured["bare"]["cpu_ms_per_request"] / measured[name]["cpu_ms_per_request"]

    result = {
        "size": size, "counts": counts, "generate_s": generate_seconds, "build_s": build_seconds,
        "rebuild_s": rebuild_seconds, "start_s": start_seconds, "search": search, "cached": cached,
        "inproc": inproc, "whoosh": whoosh, "fts5": fts5, "change": change, "http_change_s": http_change,
        "rss": rss, "bare_rss": bare_rss, "uncached": uncached, "deployed": deployed,
        "ratios_on": {name: cpu_ratio(deployed, name) for name in ("article", "home", "search_page", "bare_in_app")},
        "ratios_off": {name: cpu_ratio(uncached, name) for name in ("article", "home", "search_page")},
        "search_page_result_cached": cpu_ratio(result_cached, "search_page"),
        "errors": search["errors"] + cached["errors"] + deployed["_errors"] + uncached["_errors"],
        "client_cpu": max(deployed["_client_cpu"], uncached["_client_cpu"]),
    }
    if want_profile:
        RESULTS_DIR.mkdir(exist_ok=True)
        result["profile"] = profile(app, pages, size, RESULTS_DIR / f"kb-profile-{size}.md")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


# -- report ---------------------------------------------------------------------------


def code_version() -> str:
    """Return the commit the code is at, and whether helpsite/ has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True).stdout.strip()

    if os.environ.get("BENCH_CODE_VERSION"):  # a run from an exported copy of a commit
        return os.environ["BENCH_CODE_VERSION"]
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes in helpsite/" if git("status", "--porcelain", "helpsite") else "")


def report(results: list[dict], command: str, version: str) -> str:
    """Return the figures as markdown: one row per figure of issue 12, one column per size."""
    sizes = [r["size"] for r in results]
    lines = [
        f"Knowledge-base benchmark, {dt.date.today().isoformat()}, code at {version}: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs (shared), Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}; gunicorn {WORKERS} sync workers on loopback, {CLIENT_THREADS} client threads on the "
        "same machine. Sizes count articles per language (shipped + generated). Page figures are the bare Flask "
        "endpoint's worker CPU per request divided by the page's (higher is better; 100% = as cheap as bare Flask).",
        "",
        "| figure | " + " | ".join(f"{s:,}" for s in sizes) + " | target |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " | --- |",
    ]

    def row(label, cell, target=""):
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + f" | {target} |")

    row("`/api/search`, caches off, server-side p50 / p95",
        lambda r: f"{r['search']['server_p50']:.1f} / {r['search']['server_p95']:.1f} ms",
        "p95 ≤ 5 ms at 1,000, ≤ 20 ms at 10,000")
    row("`/api/search`, caches off, client-side p50 / p95 / p99",
        lambda r: f"{r['search']['p50']:.1f} / {r['search']['p95']:.1f} / {r['search']['p99']:.1f} ms")
    row("search in-process p95: app / plain Whoosh / SQLite FTS5",
        lambda r: f"{r['inproc']['p95']:.1f} / {r['whoosh']['p95']:.1f} / {r['fts5']['p95']:.2f} ms")
    row("app search / plain Whoosh, same index, in-process (p95; all queries)",
        lambda r: f"×{r['inproc']['p95'] / r['whoosh']['p95']:.1f}; ×{r['inproc']['total'] / r['whoosh']['total']:.1f}",
        "≤ ×1.5")
    row("app search / SQLite FTS5, same text, in-process (p95; all queries)",
        lambda r: f"×{r['inproc']['p95'] / r['fts5']['p95']:.0f}; ×{r['inproc']['total'] / r['fts5']['total']:.0f}")
    for name, label in (("article", "article page"), ("home", "home page"), ("search_page", "search page")):
        row(f"{label} / bare Flask, worker CPU per request, page cache on (anonymous)",
            lambda r, n=name: f"{r['ratios_on'][n]:.0%}", "≥ 50%")
        row(f"{label} / bare Flask, worker CPU per request, caches off",
            lambda r, n=name: f"{r['ratios_off'][n]:.0%}", "≥ 25%")
        if name == "search_page":
            row("search page / bare Flask, page cache off, search result cache on",
                lambda r: f"{r['search_page_result_cached']:.0%}", "≥ 25%")
    row("bare endpoint inside the site (request hooks only) / bare Flask", lambda r: f"{r['ratios_on']['bare_in_app']:.0%}")
    row("RSS per worker after the load (bare Flask worker)",
        lambda r: f"{max(r['rss']):.0f} MiB ({r['bare_rss']:.0f})", "≤ 150 MiB at 10,000")
    row("one changed article searchable, in-process: end to end / watcher's work",
        lambda r: f"{r['change']['end_s'] * 1000:.0f} / {r['change']['work_s'] * 1000:.0f} ms",
        "≤ 1 s / ≤ 200 ms at 10,000")
    row("one changed article found by every worker, over HTTP", lambda r: f"{r['http_change_s'] * 1000:.0f} ms")
    row("full index build (cold render cache) / rebuild (warm render cache)",
        lambda r: f"{r['build_s']:.1f} / {r['rebuild_s']:.1f} s", "< 90 s at 10,000")
    row("SQLite FTS5 build of the same text (baseline)", lambda r: f"{r['fts5']['build_s']:.1f} s")
    row("cached search p50 / p95 (result cache on, same 50 queries)",
        lambda r: f"{r['cached']['p50']:.1f} / {r['cached']['p95']:.1f} ms")
    row("article page throughput, page cache on / bare Flask",
        lambda r: f"{r['deployed']['article']['rps']:.0f} / {r['deployed']['bare']['rps']:.0f} req/s")
    lines += ["", "Targets of issue 12, per size measured:", ""]
    for r in results:
        checks = []
        size = r["size"]
        if size >= 1000:
            limit = TARGET_SEARCH_P95_MS if size >= 10000 else 5.0
            checks.append(("search p95 server-side", r["search"]["server_p95"] <= limit,
                           f"{r['search']['server_p95']:.1f} ms vs {limit:.0f} ms"))
        checks.append(("app / plain Whoosh", r["inproc"]["p95"] <= 1.5 * r["whoosh"]["p95"],
                       f"×{r['inproc']['p95'] / r['whoosh']['p95']:.1f} vs ×1.5"))
        for name in ("article", "home", "search_page"):
            checks.append((f"{name} cache on", r["ratios_on"][name] >= TARGET_PAGE_RATIO, f"{r['ratios_on'][name]:.0%}"))
            checks.append((f"{name} caches off", r["ratios_off"][name] >= 0.25, f"{r['ratios_off'][name]:.0%}"))
        checks.append(("search_page page cache off, result cache on", r["search_page_result_cached"] >= 0.25,
                       f"{r['search_page_result_cached']:.0%}"))
        if size >= 10000:
            checks.append(("RSS", max(r["rss"]) <= 150, f"{max(r['rss']):.0f} MiB"))
            checks.append(("build", r["build_s"] < 90, f"{r['build_s']:.0f} s"))
        checks.append(("changed article", r["change"]["end_s"] <= 1 and r["change"]["work_s"] <= 0.2,
                       f"{r['change']['end_s'] * 1000:.0f} / {r['change']['work_s'] * 1000:.0f} ms"))
        met = [f"{name} ({detail})" for name, ok, detail in checks if ok]
        missed = [f"{name} ({detail})" for name, ok, detail in checks if not ok]
        lines.append(f"- {size:,}: met: {', '.join(met) or 'none'}; **missed: {', '.join(missed) or 'none'}**. "
                     f"{r['search']['n']} search requests, errors {r['errors']}, client CPU up to "
                     f"{r['client_cpu']:.0%} of a core; slowest queries (median ms): "
                     + "; ".join(f"{ms} {path}" for ms, path in r["search"]["slowest"]) + ".")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="35,1000,10000",
                        help="articles per language, comma-separated (35: the shipped articles only)")
    parser.add_argument("--requests", type=int, default=500,
                        help="search requests per size, and requests per throughput phase and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds per size")
    parser.add_argument("--profile", action="store_true", help="also profile article page and search with cProfile")
    parser.add_argument("--keep-work", action="store_true", help="keep bench/.work/size-N (content and index)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    command = ".venv/bin/python bench/kb_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    version = code_version()  # at the start: the workers import the code as it is then
    results = [run_size(size, args.requests, args.rounds, args.profile, args.keep_work) for size in sizes]
    text = report(results, command.strip(), version)
    RESULTS_DIR.mkdir(exist_ok=True)
    # A quick run at other sizes must not overwrite the day's full run.
    suffix = "" if sizes == [35, 1000, 10000] else "-" + "-".join(map(str, sizes))
    out = RESULTS_DIR / f"kb-{dt.date.today().isoformat()}{suffix}.md"
    out.write_text(text + "".join(r.get("profile", "") for r in results))
    print()
    print(text)
    if args.profile:
        print("".join(r["profile"] for r in results))
    print(f"Written to {os.path.relpath(out, PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
