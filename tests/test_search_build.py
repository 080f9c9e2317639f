"""A full index build: the languages written side by side give the same index as one after the other."""

from flask import Flask
from whoosh import index as whoosh_index

from helpsite.config import PROJECT_DIR
from helpsite.content import LANGUAGES, ArticleStore
from helpsite.search import SearchIndex
from helpsite.search import build as search_build

SHIPPED = PROJECT_DIR / "content"


def built_index(index_dir, processes: int) -> SearchIndex:
    app = Flask("builder")
    app.config.update(CONTENT_DIR=str(SHIPPED), SEARCH_INDEX_DIR=str(index_dir), CONTENT_RELOAD_INTERVAL=None,
                      SEARCH_BUILD_ON_START=False, SEARCH_BUILD_PROCESSES=processes)
    ArticleStore(app)
    index = SearchIndex(app)
    index.build()
    return index


def contents(index: SearchIndex, lang: str) -> tuple[list, list]:
    """Return every stored document and every term with its postings, in index order."""
    with whoosh_index.open_dir(str(index.current_link / lang)).reader() as reader:
        stored = [reader.stored_fields(n) for n in range(reader.doc_count_all())]
        terms = [(field, term, list(reader.postings(field, term).items_as("weight")))
                 for field, term in reader.all_terms()]
    return stored, terms


def test_a_parallel_build_writes_the_same_index_as_a_serial_one(tmp_path, monkeypatch):
    serial = built_index(tmp_path / "serial", processes=1)
    monkeypatch.setattr(search_build, "PARALLEL_WRITE_MIN", 1)  # the shipped articles are fewer than a pool pays for
    parallel = built_index(tmp_path / "parallel", processes=2)
    assert parallel.stats()["articles"] == serial.stats()["articles"] > 0
    for lang in LANGUAGES:
        stored, terms = contents(parallel, lang)
        assert stored and terms
        assert (stored, terms) == contents(serial, lang)
    assert parallel.search("wachtwoord", "nl").hits == serial.search("wachtwoord", "nl").hits
