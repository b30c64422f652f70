"""A gzip decompressor that hands out bounded chunks and watches the compression ratio as it goes.

`tarfile`'s own gzip layer inflates each MiB read from the source in one call (no output bound)
and copies what it did not hand out at every read: a 4 MiB bomb became gigabytes in memory and
minutes of copying before any limit could speak. Here the inflater never produces more than
asked for, input is pulled in small chunks, and `on_progress` is told after each chunk, so a
limit stops the read within one chunk of being crossed."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import IO

_INPUT_CHUNK = 64 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip header and trailer, checked by zlib itself

Progress = Callable[[int, int], None]  # (bytes produced so far, compressed bytes consumed so far)


class GunzipStream:
    """Read-only file object over the decompressed content of a (possibly multi-member) gzip."""

    def __init__(self, source: IO[bytes], *, on_progress: Progress) -> None:
        self._source = source
        self._on_progress = on_progress
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._pending = b""  # compressed bytes read from the source, not yet given to zlib
        self._ended = False
        self.consumed = 0  # compressed bytes zlib has used, not merely what was read ahead
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        wanted = size if size > 0 else _INPUT_CHUNK
        out: list[bytes] = []
        got = 0
        while got < wanted and not self._ended:
            chunk = self._inflate(wanted - got)
            got += len(chunk)
            out.append(chunk)
        return b"".join(out)

    def _inflate(self, limit: int) -> bytes:
        data = self._next_input()
        if not data:
            if not self._inflater.eof:
                raise EOFError("compressed stream ended before its end-of-stream marker")
            self._ended = True
            return b""
        inflater = self._inflater
        chunk = inflater.decompress(data, limit)
        if inflater.eof:  # zlib may leave a stale unconsumed_tail beside unused_data here
            self._pending = inflater.unused_data  # the start of a further gzip member, if any
            self.consumed += len(data) - len(inflater.unused_data)
        else:
            self.consumed += len(data) - len(inflater.unconsumed_tail)
        self.produced += len(chunk)
        self._on_progress(self.produced, self.consumed)
        return chunk

    def _next_input(self) -> bytes:
        if not self._inflater.eof and self._inflater.unconsumed_tail:
            return self._inflater.unconsumed_tail
        data, self._pending = self._pending or self._read_source(), b""
        if data and self._inflater.eof:
            self._inflater = zlib.decompressobj(_GZIP_WBITS)
        return data

    def _read_source(self) -> bytes:
        return self._source.read(_INPUT_CHUNK)
