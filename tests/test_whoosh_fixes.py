"""The stored fields of a mapped segment are read with pread(): the same fields, no descriptor left open."""

import gc
import os

import pytest
from flask import Flask
from whoosh import index as whoosh_index
from whoosh.filedb import compound

from helpsite.config import PROJECT_DIR
from helpsite.content import LANGUAGES, ArticleStore
from helpsite.search import SearchIndex
from helpsite.search import whoosh_fixes

SHIPPED = PROJECT_DIR / "content"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    app = Flask("builder")
    app.config.update(CONTENT_DIR=str(SHIPPED), SEARCH_INDEX_DIR=str(tmp_path_factory.mktemp("index")),
                      CONTENT_RELOAD_INTERVAL=None, SEARCH_BUILD_ON_START=False, SEARCH_BUILD_PROCESSES=1)
    ArticleStore(app)
    built = SearchIndex(app)
    built.build()
    return built


def stored(index: SearchIndex, lang: str) -> list[dict]:
    with whoosh_index.open_dir(str(index.current_link / lang)).reader() as reader:
        return [reader.stored_fields(n) for n in range(reader.doc_count_all())]


def open_descriptors() -> int:
    gc.collect()  # Whoosh leaves a closed segment's mapping (and its descriptor) to the garbage collector
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_stored_fields_read_with_pread_are_the_ones_whoosh_reads_from_the_mapping(index, lang, monkeypatch):
    reads = []
    original_get = whoosh_fixes._ReadWhenAsked.get
    monkeypatch.setattr(whoosh_fixes._ReadWhenAsked, "get",
                        lambda self, position, length: reads.append(length) or original_get(self, position, length))
    with_pread = stored(index, lang)
    assert with_pread and reads  # the stored part was read with pread, not through the mapping
    monkeypatch.setattr(compound.CompoundStorage, "open_file", whoosh_fixes._compound_open_file)
    assert stored(index, lang) == with_pread


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open descriptors in /proc")
def test_a_closed_or_dropped_searcher_leaves_no_descriptor_open(index):
    with whoosh_index.open_dir(str(index.current_link / "nl")).searcher() as searcher:
        searcher.stored_fields(0)  # Whoosh itself keeps the last segment's mapping until the next one
    before = open_descriptors()
    for _ in range(5):
        with whoosh_index.open_dir(str(index.current_link / "nl")).searcher() as searcher:
            searcher.stored_fields(0)
    assert open_descriptors() == before
    dropped = whoosh_index.open_dir(str(index.current_link / "en")).searcher()
    dropped.stored_fields(0)
    del dropped  # a thread's searcher dropped without close(): the duplicate descriptor goes with it
    assert open_descriptors() == before


def test_pread_reads_exactly_what_was_asked(tmp_path):
    path = tmp_path / "part"
    path.write_bytes(bytes(range(256)) * 4)
    descriptor = whoosh_fixes._FileDescriptor(os.open(path, os.O_RDONLY))
    part = whoosh_fixes._ReadWhenAsked(memoryview(b""), descriptor, base=256, name="part")
    assert part.get(0, 4) == bytes([0, 1, 2, 3])
    assert part.get_int(4) == int.from_bytes(bytes([4, 5, 6, 7]), "big")
    with pytest.raises(OSError):
        part.get(1000, 64)  # beyond the end of the file: a short read is an error, never short data
    descriptor.close()
    descriptor.close()  # closing twice is harmless
    with pytest.raises(OSError):
        part.get(0, 4)


@pytest.mark.parametrize("lang,words", [("nl", ["wachtwoord", "mail", "server", "instellen"]),
                                        ("en", ["password", "mail", "server", "outlook"])])
def test_weighted_terms_score_exactly_as_boosted_terms(index, lang, words):
    from whoosh import query as Q
    from whoosh.scoring import BM25F

    from helpsite.search.analysis import FIELD_WEIGHTS
    from helpsite.search.terms import UnionOr, WeightedTerm

    def scored(term_class):
        query = UnionOr([term_class(name, word, boost=weight) for word in words for name, weight in FIELD_WEIGHTS.items()])
        with whoosh_index.open_dir(str(index.current_link / lang)).searcher(weighting=BM25F(B=0.75, K1=1.2)) as searcher:
            return [(hit.docnum, hit.score) for hit in searcher.search(query, limit=None)]

    boosted = scored(Q.Term)
    assert boosted and scored(WeightedTerm) == boosted  # the same documents, order and scores, to the last bit


# -- QuickUnionMatcher: Whoosh's union, remembering where it stands ------------------------------

def _random_index(seed: int):
    """A RAM index of 600 documents of random words in three fields (several posting blocks per word)."""
    import random

    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import RamStorage

    rnd = random.Random(seed)
    words = ["mail", "server", "poort", "wachtwoord", "outlook", "ftp", "imap", "smtp"]
    schema = Schema(id=ID(stored=True), title=TEXT, summary=TEXT, body=TEXT)
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        for number in range(600):
            writer.add_document(id=str(number), **{
                name: " ".join(rnd.choice(words) for _ in range(rnd.randint(0, size)))
                for name, size in (("title", 3), ("summary", 6), ("body", 40))})
    return ix, words


def _union_trees(searcher, words, quick: bool):
    """The same weighted tree of unions over the same postings, of Whoosh's class or ours."""
    from whoosh.matching import NullMatcher, UnionMatcher
    from whoosh.util import make_weighted_tree

    from helpsite.search.terms import QuickUnionMatcher

    leaves = []
    for word in words:
        for name in ("title", "summary", "body"):
            if (name, word) in searcher.reader():
                postings = searcher.postings(name, word, weighting=searcher.weighting)
                leaves.append((searcher.reader().doc_frequency(name, word), postings))
            else:
                leaves.append((0, NullMatcher()))
    return make_weighted_tree(QuickUnionMatcher if quick else UnionMatcher, leaves)


def _state(matcher):
    if not matcher.is_active():
        return None
    return matcher.id(), matcher.score()


@pytest.mark.parametrize("seed", range(6))
def test_quick_unions_move_and_score_exactly_as_whoosh_unions(seed):
    import random

    from whoosh.scoring import BM25F

    ix, words = _random_index(seed)
    rnd = random.Random(seed)
    with ix.searcher(weighting=BM25F(B=0.75, K1=1.2)) as searcher:
        for _attempt in range(20):
            chosen = rnd.sample(words, rnd.randint(1, 4))
            stock, quick = _union_trees(searcher, chosen, False), _union_trees(searcher, chosen, True)
            assert _state(quick) == _state(stock)
            while stock.is_active():
                step = rnd.random()
                if step < 0.6:
                    assert bool(quick.next()) == bool(stock.next())
                elif step < 0.9:  # a target behind, at or ahead of the current document
                    target = stock.id() + rnd.randint(-3, 40)
                    assert bool(quick.skip_to(target)) == bool(stock.skip_to(target))
                else:
                    minimum = rnd.uniform(0, stock.block_quality() * 1.5)
                    assert quick.skip_to_quality(minimum) == stock.skip_to_quality(minimum)
                    if not stock.is_active():
                        break
                    stock, quick = stock.replace(minimum), quick.replace(minimum)
                assert _state(quick) == _state(stock)  # the same document and score, to the last bit
            assert not quick.is_active()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_searches_with_quick_unions_find_and_score_exactly_as_with_whoosh_unions(index, lang, monkeypatch):
    from whoosh import query as Q

    from helpsite.search import query as search_query
    from helpsite.search.terms import UnionOr

    queries = {
        "nl": ["e-mail instellen outlook", "thunderbrid", "wachtwoord vergeten", "smtp poort 587", "imap of pop3",
               "e-mail blijft in postvak uit", "ftp verbinding time-out", "uitgaande server", "instelingen android",
               "mijn mail komt niet aan en ik krijg een foutmelding over de server bij het versturen"],
        "en": ["set up email outlook", "pasword reset", "outgoing server", "smtp port 587", "mail stuck in outbox",
               "ftp connection timed out", "setings android", "e-mail configuration windows mail",
               "my mail does not arrive and thunderbird says the certificate of the server is not trusted"],
    }[lang]
    runs = []
    run = search_query.IndexSearcher._run

    def recorded(self, searcher, *args):
        results, highlight = run(self, searcher, *args)
        runs.append([(hit.docnum, hit.score) for hit in results])
        return results, highlight

    monkeypatch.setattr(search_query.IndexSearcher, "_run", recorded)
    index.cache_size = 0

    def searched():
        runs.clear()
        for limit in (10, 50):
            for text in queries:
                index.search(text, lang, limit=limit)
        return list(runs)

    quick = searched()
    monkeypatch.setattr(UnionOr, "_matcher", Q.Or._matcher)  # Whoosh's own DefaultOr and UnionMatcher
    assert quick and searched() == quick  # the same documents, order and scores, to the last bit
