"""Fixes to Whoosh (whoosh-reloaded 2.7.5), applied on import: what a segment costs to write and to read.

Patched in place, pinned to the version in pyproject.toml; none changes what is written
or read, only how: the index digests and search results at 1,000 articles per language are
the same with and without them (compared by the performance work of 2026-12-01, see the README).
"""

from __future__ import annotations

import os

from whoosh.codec import whoosh3
from whoosh.filedb import compound, structfile


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
    """BufferFile.__init__ without copying the buffer: see _StreamWhenRead."""
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


class _StreamWhenRead:
    """BufferFile.file, made when something first reads the part as a stream.

    Whoosh opens a compound segment by mapping the file and giving each part (postings,
    stored fields, columns) a BufferFile, which copied the part into a BytesIO at once, in
    every worker: at 10,000 articles per language about 240 MiB per worker after a few
    searches. The mapping's pages are shared by the workers and belong to the OS's cache.
    A non-data descriptor: once made, the stream sits in the instance and costs no call.
    """

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        stream = instance.__dict__["file"] = _MappedStream(instance._buf)
        return stream


def _buffer_file_close(self):
    if self.is_closed:
        raise Exception("This file is already closed")
    if self.onclose:
        self.onclose(self)
    stream = self.__dict__.pop("file", None)
    if stream is not None:
        stream.close()
    self.is_closed = True


class _FileDescriptor:
    """A duplicate of a segment file's descriptor, closed with the storage or when dropped."""

    __slots__ = ("fd",)

    def __init__(self, fd: int):
        self.fd = fd

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    __del__ = close


class _ReadWhenAsked(structfile.BufferFile):
    """The stored-fields part of a mapped segment, read with pread() instead of through the mapping.

    Each search reads the stored fields (title, body, sections) of its hits, scattered over a
    part of about 19 MiB per language at 10,000 articles. Read through the mapping, every
    such read maps the whole page-cache folio around it into the worker (the kernel maps large
    folios at once: one byte read every 256 KiB mapped the whole of a 64 MiB test file), so the
    stored part alone added 17-20 MiB to each worker's resident set after the benchmark's
    warm-up. A pread() copies just the bytes asked for; the file's pages stay in the OS's cache,
    shared, as before. The postings and the term index stay mapped: they are read in many small
    pieces where a system call each would cost time.
    """

    def __init__(self, buf, descriptor: _FileDescriptor, base: int, name=None):
        _buffer_file_init(self, buf, name=name)
        self._descriptor = descriptor
        self._base = base

    def get(self, position, length):
        data = os.pread(self._descriptor.fd, length, self._base + position)
        if len(data) != length:  # a segment file never shrinks; a short read means it is not what we opened
            raise OSError(f"short read from {self._name}: {len(data)} of {length} bytes at {position}")
        return data


_compound_init = compound.CompoundStorage.__init__
_compound_open_file = compound.CompoundStorage.open_file
_compound_close = compound.CompoundStorage.close


def _compound_storage_init(self, dbfile, use_mmap=True, basepos=0):
    descriptor = None
    fileno = getattr(dbfile, "fileno", None)
    if use_mmap and fileno is not None:
        descriptor = _FileDescriptor(os.dup(fileno()))  # Whoosh closes dbfile once the file is mapped
    try:
        _compound_init(self, dbfile, use_mmap, basepos)
    except BaseException:
        if descriptor is not None:
            descriptor.close()
        raise
    if descriptor is not None and not self._source:  # not mapped: Whoosh reads the file itself
        descriptor.close()
        descriptor = None
    self._pread_descriptor = descriptor


def _compound_storage_open_file(self, name, *args, **kwargs):
    descriptor = getattr(self, "_pread_descriptor", None)
    if descriptor is None or not name.endswith("._stored.col") or self.is_closed:
        return _compound_open_file(self, name, *args, **kwargs)
    offset, length = self.range(name)
    return _ReadWhenAsked(compound.memoryview_(self._source, offset, length), descriptor, offset, name=name)


def _compound_storage_close(self):
    _compound_close(self)
    descriptor = getattr(self, "_pread_descriptor", None)
    if descriptor is not None:
        descriptor.close()


whoosh3.W3PerDocReader._cached_reader = _cached_reader
structfile.BufferFile.__init__ = _buffer_file_init
structfile.BufferFile.file = _StreamWhenRead()
structfile.BufferFile.close = _buffer_file_close
compound.CompoundStorage.__init__ = _compound_storage_init
compound.CompoundStorage.open_file = _compound_storage_open_file
compound.CompoundStorage.close = _compound_storage_close
