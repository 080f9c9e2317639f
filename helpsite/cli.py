"""Command-line tools: content checks, the search index, users and demo data."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from . import translations
from .content import check_content
from .extensions import articles, search_index

content_cli = AppGroup("content", help="Check and inspect the articles.")
search_cli = AppGroup("search", help="Build and inspect the search index.")
translate_cli = AppGroup("translate", help="Keep the interface catalogs (translations/) in step.")


@content_cli.command("check")
@click.option("--strict", is_flag=True, help="Treat warnings (missing translations) as errors.")
def content_check(strict):
    """Validate all articles: front matter, ids, slugs, links, translations, images."""
    problems = check_content(current_app.config["CONTENT_DIR"])
    for problem in problems:
        click.echo(str(problem), err=not problem.warning)
    errors = [p for p in problems if strict or not p.warning]
    count = sum(len(a) for a in articles.by_lang.values())
    click.echo(f"{count} articles checked: {len(errors)} error(s), {len(problems) - len(errors)} warning(s).")
    sys.exit(1 if errors else 0)


@search_cli.command("build")
def search_build():
    """Rebuild the search index from the content, with a progress bar."""
    with click.progressbar(length=1, label="Indexing articles", show_pos=True) as bar:
        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)
        target = search_index.build(progress=progress)
    stats = search_index.stats()
    click.echo(f"Indexed {stats.get('articles')} articles in {stats.get('seconds')} s into {target}.")


@search_cli.command("status")
def search_status():
    """Say whether the index is built and current."""
    stats = search_index.stats()
    if not stats["built"]:
        click.echo("No search index yet: run flask search build.")
        sys.exit(1)
    state = "current" if stats["current"] else "out of date"
    click.echo(f"{stats['articles']} articles, built in {stats['seconds']} s, {state}.")


@translate_cli.command("update")
def translate_update():
    """Extract the marked strings and merge them into the nl and en catalogs."""
    translations.update()


@translate_cli.command("compile")
def translate_compile():
    """Compile the catalogs for Flask-Babel."""
    translations.compile_catalogs()


@translate_cli.command("check")
def translate_check():
    """List messages that are untranslated or fuzzy; exit non-zero when there are any."""
    problems = [f"{lang}: {p}" for lang in ("nl", "en") for p in translations.untranslated(lang)]
    for problem in problems:
        click.echo(problem)
    click.echo(f"{len(problems)} problem(s).")
    sys.exit(1 if problems else 0)


def init_app(app):
    """Register the command groups."""
    app.cli.add_command(content_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(translate_cli)
