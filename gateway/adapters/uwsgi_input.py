"""A chunked request body under uWSGI, read through its chunked-input API.

uWSGI's ``--http-socket`` hands the application a ``wsgi.input`` that reads
``CONTENT_LENGTH`` bytes; a request sent with ``Transfer-Encoding: chunked``
has no length, so the application read an empty body and the client's data
was lost. (``--http-chunked-input`` is an option of the ``--http`` router
only, and it leaves the decoding to the same API.) :class:`DecodeChunked`
gives such a request a ``wsgi.input`` that decodes the body chunk by chunk
with ``uwsgi.chunked_read()``, marked ``wsgi.input_terminated`` so that
Werkzeug reads it to its end (and still applies ``MAX_CONTENT_LENGTH``).
Nothing is buffered beyond the chunk being read.

A body uWSGI cannot decode (a size line with other characters than letters
and digits, a lost connection, a client that stalls past
``--chunked-input-timeout``) makes ``chunked_read`` raise :exc:`OSError`,
which a gateway application answers with 400 (``UnreadableBody``). uWSGI's
parser (``core/chunked.c``, 2.0.31) is lenient in two ways nothing above it
can see: a size line is read with ``strtoul(..., 16)``, so ``zz`` reads as 0
(the end of the body), and the two bytes after a chunk's data are skipped
without checking that they are CRLF. Such bodies reach the application
shortened instead of answered with 400; put nginx in front (it decodes
chunked bodies strictly and passes ``CONTENT_LENGTH``) where that matters.
"""

from __future__ import annotations

import sys
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: ``read_chunk() -> bytes``: the next decoded chunk, ``b""`` at the end;
#: raises :exc:`OSError` when the body cannot be decoded.
ReadChunk = t.Callable[[], bytes]


class ChunkedInput:
    """A ``wsgi.input`` over ``read_chunk``: ``read``, ``readline``,
    ``readlines`` and iteration, as PEP 3333 asks, without a length."""

    def __init__(self, read_chunk: ReadChunk) -> None:
        self._read_chunk = read_chunk
        self._buffer = bytearray()
        self._done = False

    def _fill(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the body."""
        if self._done:
            return False
        chunk = self._read_chunk()
        if not chunk:
            self._done = True
            return False
        self._buffer += chunk
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative or None)."""
        if size is None or size < 0:
            while self._fill():
                pass
            return self._take(len(self._buffer))
        while len(self._buffer) < size and self._fill():
            pass
        return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        """One line with its ``\\n`` (or what is left), at most ``size`` bytes."""
        limit = None if size is None or size < 0 else size
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                end += 1
                break
            if limit is not None and len(self._buffer) >= limit:
                end = limit
                break
            if not self._fill():
                end = len(self._buffer)
                break
        return self._take(end if limit is None else min(end, limit))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> t.Iterator[bytes]:
        while line := self.readline():
            yield line


def is_chunked_without_length(environ: WSGIEnvironment) -> bool:
    """Whether the request's body is chunked and the server gave no length."""
    if environ.get("CONTENT_LENGTH", "").strip():
        return False
    codings = environ.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return "chunked" in (c.strip() for c in codings)


class DecodeChunked:
    """WSGI middleware: a chunked request body without a length gets a
    :class:`ChunkedInput` over ``read_chunk`` (``uwsgi.chunked_read``)."""

    def __init__(self, app: WSGIApplication, read_chunk: ReadChunk) -> None:
        self.app = app
        self.read_chunk = read_chunk

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if is_chunked_without_length(environ):
            environ["wsgi.input"] = ChunkedInput(self.read_chunk)
            environ["wsgi.input_terminated"] = True
        return self.app(environ, start_response)


def decode_chunked_under_uwsgi(app: WSGIApplication) -> WSGIApplication:
    """``app`` wrapped in :class:`DecodeChunked` when running inside uWSGI
    (whose API is the module ``uwsgi``), else ``app`` itself."""
    read_chunk = getattr(sys.modules.get("uwsgi"), "chunked_read", None)
    return DecodeChunked(app, read_chunk) if callable(read_chunk) else app
