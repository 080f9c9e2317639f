"""The page phase of kb_bench.py alone (caches off), for several code versions one after the other.

    .venv/bin/python bench/kb_pages.py --size 10000 [--requests 400] [--rounds 2] [--alternations 1]
        [--code /path/to/other/checkout,.] [--phases bare,article,home,search_page] [--work DIR]

A full kb_bench.py run at 10,000 articles per language does not fit in a session; this runs only
its step 7 (pages, caches off) with kb_bench's own Server, page sample and measure_pages. The
content and index are made once in --work (kb_bench's prepare_content and a cold build, which
take minutes at 10,000) and reused. Each code version (a checkout or an exported copy: its own
helpsite and bench/kb_server.py) serves the same content and index in turn, and the versions
alternate, so that their ratios to bare Flask come from the same stretch of the machine's load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

import kb_bench  # noqa: E402  (after the path set-up above)
from kb_server import BARE_IN_APP_PATH, BARE_PATH, bench_config  # noqa: E402

from helpsite import create_app  # noqa: E402
from helpsite.extensions import db, search_index  # noqa: E402


def prepared(size: int, work: Path):
    """Return an app on work's content and index, generating and building them the first time."""
    if not (work / "search-index").exists():
        print(f"[{size}] content: {kb_bench.prepare_content(size, work / 'content')}", flush=True)
        app = create_app(bench_config(work))
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            search_index.build()
            print(f"[{size}] index build: {time.perf_counter() - started:.1f} s", flush=True)
    return create_app(bench_config(work))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, required=True, help="articles per language")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--alternations", type=int, default=1)
    parser.add_argument("--code", default=".", help="comma-separated checkouts to serve in turn")
    parser.add_argument("--phases", default="bare,article,home,search_page")
    parser.add_argument("--work", default=None, help="content and index folder (default bench/.work/pages-SIZE)")
    args = parser.parse_args(argv)

    work = Path(args.work or kb_bench.WORK_DIR / f"pages-{args.size}")
    work.mkdir(parents=True, exist_ok=True)
    app = prepared(args.size, work)
    pages, extra = kb_bench.page_sample(app, args.size), kb_bench.page_paths()
    every = {"bare": [BARE_PATH], "bare_in_app": [BARE_IN_APP_PATH], "article": pages, "home": extra["home"],
             "search_page": extra["search_page"]}
    phases = {name: every[name] for name in args.phases.split(",")}
    if "bare" not in phases:
        parser.error("--phases needs bare: every figure is a ratio to it")
    for _ in range(args.alternations):
        for code in [Path(c).resolve() for c in args.code.split(",")]:
            # kb_bench's Server starts gunicorn on PROJECT_DIR's code (its --pythonpath and cwd).
            kb_bench.PROJECT_DIR, kb_bench.BENCH_DIR = code, code / "bench"
            server = kb_bench.Server(work, search_cache_size="0", page_cache=False)
            try:
                started = server.start()
                kb_bench.warm_up(server.port, pages * 2 + extra["home"] * 4 + extra["search_page"]
                                 + [BARE_PATH, BARE_IN_APP_PATH] * 20)
                measured = kb_bench.measure_pages(server, phases, args.requests, args.rounds, args.size,
                                                  f"{code.name} caches off")
            finally:
                server.stop()
            bare = measured["bare"]["cpu_ms_per_request"]
            print(f"{time.strftime('%H:%M:%S', time.gmtime())} UTC {code} (workers ready in {started:.0f} s), "
                  f"load {os.getloadavg()[0]:.1f}: " + ", ".join(
                      f"{name} {measured[name]['cpu_ms_per_request']:.3f} ms" + (
                          "" if name == "bare" else f" ({bare / measured[name]['cpu_ms_per_request']:.0%})")
                      for name in phases), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
