"""Writing one language's index in a build, in this process or in a second one.

The two languages' indexes are independent, so a full build writes them side by side: the
other language in a spawned process that reads the content folder itself, this one here.
Each index is written exactly as a one-process build writes it (same documents, same order,
one writer, one optimized segment), so the parallel build changes only how long it takes.
"""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index

from . import whoosh_fixes  # noqa: F401  (the writer's and readers' fixes, applied on import)
from .analysis import Vocabulary, load_vocabularies, make_schema

# Fewer articles than this in the other language are written here: starting a process and
# reading the content folder again costs more than it saves.
PARALLEL_WRITE_MIN = 400
# Whoosh sorts the postings in memory up to this size and beyond it writes sorted runs to
# temporary files and merges them (pickled tuples: slow in Python). Its estimate is about 170
# bytes a posting; 10,000 articles of one language are about 4.6 million postings.
WRITER_LIMIT_MB = 1024


def write_language(folder: Path, lang: str, articles, vocabulary: Vocabulary, progress=None) -> int:
    """Write one language's index into folder (which must exist); return the number of documents."""
    from .build import documents  # build imports this module

    ix = whoosh_index.create_in(str(folder), make_schema(lang, vocabulary.compound_parts))
    writer = ix.writer(limitmb=WRITER_LIMIT_MB)
    analyzer = ix.schema["body"].analyzer
    for done, article in enumerate(articles, 1):
        writer.add_document(**documents(article, vocabulary, analyzer))
        if progress:
            progress(done)
    writer.commit(optimize=True)
    return len(articles)


def write_language_from_files(content_dir: str, render_cache: str | None, folder: str, lang: str) -> int:
    """What the second process of a build runs: read the content, write one language's index.

    The render cache was filled by the parent just before (prerender), so the articles are
    read, not rendered; a store without one renders as it goes, with the same result.
    """
    from ..content import ArticleStore
    from ..render_cache import RenderCache

    store = ArticleStore()
    store.content_dir = Path(content_dir)
    store.renders = RenderCache(Path(render_cache) if render_cache else None)
    store.reload()
    vocabulary = load_vocabularies(store.content_dir)[lang]
    return write_language(Path(folder), lang, store.in_language(lang, include_drafts=True), vocabulary)
