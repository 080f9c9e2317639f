"""The interface catalogs: extract, update and compile them (flask translate ...).

English is the source language of the interface strings; the English catalog is kept
complete by copying each message to its translation, so a test can demand that both
catalogs translate every message.
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from .config import PROJECT_DIR

TRANSLATIONS_DIR = PROJECT_DIR / "translations"
TEMPLATE = TRANSLATIONS_DIR / "messages.pot"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=PROJECT_DIR)


def extract() -> None:
    """Collect the marked strings into messages.pot."""
    TRANSLATIONS_DIR.mkdir(exist_ok=True)
    pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location",
            "--sort-output", "-o", str(TEMPLATE), "helpsite")


def catalog_path(lang: str) -> Path:
    return TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po"


def update() -> None:
    """Merge new strings into the catalogs; fill the English one from the source strings."""
    extract()
    for lang in ("nl", "en"):
        if catalog_path(lang).exists():
            pybabel("update", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS_DIR), "-l", lang, "--no-fuzzy-matching",
                    "--ignore-obsolete")
        else:
            pybabel("init", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS_DIR), "-l", lang)
    fill_source_catalog()


def fill_source_catalog() -> None:
    """Give every English message its own text as translation."""
    path = catalog_path("en")
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(message.id)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True, ignore_obsolete=True)


def compile_catalogs() -> None:
    """Compile the .po catalogs to the .mo files Flask-Babel reads."""
    pybabel("compile", "-d", str(TRANSLATIONS_DIR), "--statistics")


def untranslated(lang: str, reference=None) -> list[str]:
    """Return the messages of a catalog that are missing, empty or fuzzy.

    reference is the catalog of messages to check for: messages.pot unless given (the tests
    pass a fresh extraction from the code).
    """
    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    if reference is None:
        with TEMPLATE.open("rb") as fh:
            reference = read_po(fh)
    problems = []
    for message in reference:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        if found is None:
            problems.append(f"missing (run flask translate update): {message.id!r}")
        elif found.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not found.string or (isinstance(found.string, tuple) and not all(found.string)):
            problems.append(f"untranslated: {message.id!r}")
    return problems
