"""Writing one language's index in a build, in this process or in a second one.

The two languages' indexes are independent, so a full build writes them side by side: the
other language in a spawned process that reads the content folder itself, this one here.
Each index is written exactly as a one-process build writes it (same documents, same order,
one writer, one optimized segment), so the parallel build changes only how long it takes.
"""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.filedb import structfile

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


def _cached_reader(self, fieldname, column):
    """W3PerDocReader._cached_reader that also remembers a column the segment does not have.

    Whoosh asks for the length of every posting when it writes a segment, and for a field
    without lengths (id, category, words: not scored) it looked for the column file on disk
    each time: a stat() per posting, a sixth of a build. Segment files never change once
    written, so the answer can be kept.
    """
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


def _buffer_file_init(self, buf, name=None, onclose=None):
    """BufferFile.__init__ without copying the buffer: see _buffer_file_stream."""
    self._buf = buf
    self._name = name
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


class _MappedStream:
    """A read-only stream over a memoryview that copies only what is read (BytesIO copies it all)."""

    __slots__ = ("_buf", "_pos")

    def __init__(self, buf):
        self._buf = buf
        self._pos = 0

    def read(self, size=-1):
        start = self._pos
        end = len(self._buf) if size is None or size < 0 else min(start + size, len(self._buf))
        self._pos = max(start, end)
        return bytes(self._buf[start:end])

    def readline(self, size=-1):  # pickle.load asks for it
        end = len(self._buf)
        for index in range(self._pos, end):
            if self._buf[index] == 10:
                end = index + 1
                break
        if size is not None and size >= 0:
            end = min(end, self._pos + size)
        return self.read(end - self._pos)

    def seek(self, offset, whence=0):
        self._pos = offset if whence == 0 else self._pos + offset if whence == 1 else len(self._buf) + offset
        return self._pos

    def tell(self):
        return self._pos

    def close(self):
        self._buf = b""


def _buffer_file_stream(self):
    """The stream of a BufferFile, made when something first reads it as a stream.

    Whoosh opens a compound segment by mapping the file and giving each part (postings,
    stored fields, columns) a BufferFile, which copied the part into a BytesIO at once, in
    every worker: at 10,000 articles per language about 240 MiB per worker after a few
    searches. The mapping's pages are shared by the workers and belong to the OS's cache.
    """
    stream = self.__dict__.get("_stream")
    if stream is None:
        stream = self.__dict__["_stream"] = _MappedStream(self._buf)
    return stream


def _buffer_file_close(self):
    if self.is_closed:
        raise Exception("This file is already closed")
    if self.onclose:
        self.onclose(self)
    stream = self.__dict__.pop("_stream", None)
    if stream is not None:
        stream.close()
    self.is_closed = True


whoosh3.W3PerDocReader._cached_reader = _cached_reader
structfile.BufferFile.__init__ = _buffer_file_init
structfile.BufferFile.file = property(_buffer_file_stream)
structfile.BufferFile.close = _buffer_file_close
