"""Request body limits, enforced before an application reads a byte.

Each application the gateway composes gets the limits of ``[limits]``
(overridden per ``[[mounts]]`` entry or for ``[tenants]``) as its config
defaults, ``MAX_CONTENT_LENGTH``, ``MAX_FORM_MEMORY_SIZE`` and
``MAX_FORM_PARTS``, where its factory left Flask's defaults; a value the
application set itself wins. The body limit that results is then enforced
around the application by :class:`BodyLimit`:

- a ``Content-Length`` above it is answered 413 without calling the
  application and without reading the body;
- a body without a length (chunked) is read through :class:`CappedInput`,
  which raises werkzeug's :exc:`~werkzeug.exceptions.RequestEntityTooLarge`
  (a 413) once it would deliver more than the limit.

The rule (:func:`body_verdict`) is pure; :class:`BodyLimit` is its WSGI
shell.
"""

from __future__ import annotations

import enum
import typing as t

from werkzeug.exceptions import RequestEntityTooLarge

from ..toml import LimitsConfig
from .responses import respond

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class Verdict(enum.Enum):
    """What :class:`BodyLimit` does with a request."""

    #: Call the application with the body as it is.
    PASS = "pass"
    #: Answer 413 without reading the body.
    REJECT = "reject"
    #: Call the application with the body read through :class:`CappedInput`.
    CAP = "cap"


def body_verdict(
    content_length: str | None, transfer_encoding: str | None, limit: int | None
) -> Verdict:
    """Decide from the request's ``CONTENT_LENGTH`` and ``Transfer-Encoding``
    and the body limit (None or 0: none).

    A ``Transfer-Encoding`` wins over a length (RFC 9112, 6.3), so such a
    body is capped as it is read; a request with neither has no body. A
    length that is not a number is left to the application, whose request
    answers it.
    """
    if not limit:
        return Verdict.PASS
    if transfer_encoding:
        return Verdict.CAP
    if content_length is None or content_length == "":
        return Verdict.PASS
    content_length = content_length.strip()
    if not content_length.isdigit():
        return Verdict.PASS
    return Verdict.REJECT if int(content_length) > limit else Verdict.PASS


class CappedInput:
    """A ``wsgi.input`` that delivers at most ``limit`` bytes, and raises
    :exc:`~werkzeug.exceptions.RequestEntityTooLarge` as soon as the body is
    known to hold more.

    A body of exactly ``limit`` bytes reads to its end normally. When a read
    reaches the limit, one more byte is read ahead: werkzeug's
    ``LimitedStream(is_max=True)``, which the application's request wraps
    around this stream, stops asking at its own limit and would otherwise
    hand the application a body silently cut there.
    """

    def __init__(self, stream: t.Any, limit: int) -> None:
        self._stream = stream
        self.limit = limit
        self._pos = 0

    def _take(self, data: bytes) -> bytes:
        self._pos += len(data)
        if self._pos == self.limit and data:
            self._pos += len(self._stream.read(1))
        if self._pos > self.limit:
            raise RequestEntityTooLarge(
                f"The request body is larger than the limit of {self.limit} bytes."
            )
        return data

    def read(self, size: int | None = -1) -> bytes:
        # One byte past the limit is enough to know the body is too large.
        room = self.limit - self._pos + 1
        if size is not None and size >= 0:
            return self._take(self._stream.read(min(size, room)))
        parts: list[bytes] = []
        while True:
            data = self._take(self._stream.read(self.limit - self._pos + 1))
            if not data:
                return b"".join(parts)
            parts.append(data)

    def readline(self, size: int | None = -1) -> bytes:
        room = self.limit - self._pos + 1
        if size is None or size < 0 or size > room:
            size = room
        return self._take(self._stream.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        for line in self:
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> t.Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


#: The body of the 413 dispatch answers itself.
TOO_LARGE = "Request Entity Too Large: the body is larger than {limit} bytes\n"


class BodyLimit:
    """Enforce ``limit`` bytes of request body around ``app`` (see the module
    docs). What happens to a body left unread after the 413 is the server's
    business, as for any application that answers without reading: gevent
    and gunicorn read it to keep the connection, uWSGI's HTTP socket closes
    it (a WSGI application may not send ``Connection``)."""

    __slots__ = ("__wrapped__", "limit")

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self.__wrapped__ = app
        self.limit = limit

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        verdict = body_verdict(
            environ.get("CONTENT_LENGTH"),
            environ.get("HTTP_TRANSFER_ENCODING"),
            self.limit,
        )
        if verdict is Verdict.PASS:
            return self.__wrapped__(environ, start_response)
        if verdict is Verdict.REJECT:
            return too_large(environ, start_response, self.limit)
        environ["wsgi.input"] = CappedInput(environ["wsgi.input"], self.limit)
        try:
            return self.__wrapped__(environ, start_response)
        except RequestEntityTooLarge:
            # An application that is not a gateway.App (which answers 413
            # itself) read past the limit before it started its response.
            return too_large(environ, start_response, self.limit)

    def __repr__(self) -> str:
        return f"<BodyLimit {self.limit} {self.__wrapped__!r}>"


def too_large(
    environ: WSGIEnvironment, start_response: StartResponse, limit: int
) -> list[bytes]:
    """The 413 answer to a body above ``limit`` bytes."""
    return respond(environ, start_response, 413, TOO_LARGE.format(limit=limit))


def apply_limits(app: t.Any, limits: LimitsConfig) -> int | None:
    """Give ``app`` the limits as config defaults, and return the body limit
    that applies to it (None: none).

    An app with a ``config`` mapping keeps every value it set itself: a key
    still at the default of its class (``App.default_config``, Flask's
    defaults) or absent takes the limit. Its ``MAX_CONTENT_LENGTH`` is then
    the body limit. An app without ``config`` (plain WSGI) has
    ``limits.max_body``.
    """
    wanted = limits.app_config()
    config = getattr(app, "config", None)
    if not isinstance(config, t.MutableMapping):
        return wanted["MAX_CONTENT_LENGTH"]
    defaults = getattr(type(app), "default_config", None) or {}
    for config_key, value in wanted.items():
        if config_key not in config or (
            config_key in defaults and config[config_key] == defaults[config_key]
        ):
            config[config_key] = value
    limit = config.get("MAX_CONTENT_LENGTH")
    return limit if isinstance(limit, int) and limit > 0 else None


def limit_body(app: WSGIApplication, limits: LimitsConfig) -> WSGIApplication:
    """``app`` with ``limits`` applied (:func:`apply_limits`), wrapped in a
    :class:`BodyLimit` when a body limit applies to it."""
    limit = apply_limits(app, limits)
    return BodyLimit(app, limit) if limit else app
