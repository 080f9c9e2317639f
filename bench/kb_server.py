"""The WSGI app the knowledge-base benchmark serves: gunicorn 'kb_server:create()'.

One server answers both sides of the comparison, so that the article page and the bare
endpoint share the workers, the process model and the machine's load in the same run:

- /bench/bare         a bare Flask app that returns "ok" (the reference);
- /bench/bare-in-app  the same "ok" as a route of the help site, so it pays the help site's
                      request hooks (language, session, security headers) but no page;
- everything else     the help site, on the content folder the benchmark generated.
"""

import os
from pathlib import Path

from flask import Flask

BARE_PATH = "/bench/bare"
BARE_IN_APP_PATH = "/bench/bare-in-app"


def bench_config(work_dir: Path, search_cache_size: int | None = 0, page_cache: bool = True,
                 watch: bool = False) -> dict:
    """Return the help site's settings for a benchmark work folder.

    search_cache_size 0 turns the search result cache off, so that every query is computed;
    None leaves the site's default. page_cache False turns the page cache off (every page
    rendered); watch True runs the content watcher, as deployed.
    """
    config = {
        "SECRET_KEY": "benchmark-only",
        "CONTENT_DIR": str(work_dir / "content"),
        "SEARCH_INDEX_DIR": str(work_dir / "search-index"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work_dir / 'bench.db'}",
        "RATELIMIT_ENABLED": False,
        # The content watcher (a background thread) only when a phase changes content.
        "CONTENT_RELOAD_INTERVAL": 5.0 if watch else None,
        # The benchmark builds (and times) the index itself before it starts the server; a worker
        # must not rebuild it, or "worker start" would time a build (for example when someone
        # edits helpsite/search.py during a run and the schema version changes).
        "SEARCH_BUILD_ON_START": False,
    }
    if search_cache_size is not None:
        config["SEARCH_CACHE_SIZE"] = search_cache_size
    if not page_cache:
        config["PAGE_CACHE_BYTES"] = 0
    return config


def bare_app() -> Flask:
    """Return a Flask app with one endpoint that answers "ok"."""
    app = Flask("bare")

    @app.route(BARE_PATH)
    def bare():
        """Answer "ok"."""
        return "ok"

    return app


def create():
    """Return the WSGI app for gunicorn; BENCH_WORK_DIR and BENCH_SEARCH_CACHE_SIZE configure it."""
    work_dir = Path(os.environ["BENCH_WORK_DIR"])
    if os.environ.get("BENCH_BARE_ONLY") == "1":  # the memory reference: Flask and gunicorn, no site
        (work_dir / f"ready-{os.getpid()}").write_text("ok")
        return bare_app()
    from helpsite import create_app  # here: the bare-only worker (the memory reference) must not load the site

    cache_size = os.environ.get("BENCH_SEARCH_CACHE_SIZE", "0")
    site = create_app(bench_config(work_dir, None if cache_size == "default" else int(cache_size),
                                   page_cache=os.environ.get("BENCH_PAGE_CACHE", "1") == "1",
                                   watch=os.environ.get("BENCH_WATCH") == "1"))
    site.add_url_rule(BARE_IN_APP_PATH, "bench_bare_in_app", lambda: "ok")
    bare = bare_app()

    def dispatch(environ, start_response):
        target = bare if environ.get("PATH_INFO") == BARE_PATH else site
        return target(environ, start_response)

    # Tell the benchmark this worker has loaded the content and can serve.
    (work_dir / f"ready-{os.getpid()}").write_text("ok")
    return dispatch
