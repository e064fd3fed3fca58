"""Concurrency limits: one application may not take every worker thread.

A tenant (or a mount) whose pages are slow would otherwise hold all the
threads of a process while its requests pile up, and every other tenant
would wait behind it. With a limit, a request that would make one
application serve more than ``limit`` requests at once in this process is
answered at once with a 503 and ``Retry-After`` (:func:`busy`), without
calling the application, and the other applications keep their threads.

The default limit is derived from the server's threads per process
(:func:`default_limit`: half of them, at least one), so the other
applications always keep the other half. ``[tenants].max_concurrent`` and
``[[mounts]].max_concurrent`` set it in ``gateway.toml`` (0 = unlimited), and
a tenant factory overrides it for one tenant on the application it returns
(:func:`limit_of`: ``app.config["GATEWAY_MAX_CONCURRENT"]`` or an attribute
``gateway_max_concurrent``). A request counts from the application call until
the server closes its response, so a streamed response holds its place until
its last byte is sent.

The counting itself, for tenants, is in the registry's request path
(:meth:`gateway.dispatch.registry.AppRegistry.serve`); :class:`Limited`
counts the same way around one application (a mount).
"""

from __future__ import annotations

import sys
import typing as t
from collections import deque

from .responses import respond

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: The ``Retry-After`` of a busy answer, in seconds: a slot frees as soon as
#: one of the application's requests ends, so the client may retry soon.
RETRY_AFTER = 1

#: The key of an application's ``config`` that overrides its limit.
CONFIG_KEY = "GATEWAY_MAX_CONCURRENT"

#: The attribute of any WSGI application that overrides its limit.
ATTRIBUTE = "gateway_max_concurrent"

#: What the request path compares with for "no limit" (0): no count reaches
#: it, so the check needs no branch of its own.
UNLIMITED = sys.maxsize

_BUSY_TEXT = (
    "Service Unavailable: this application is serving as many requests as it"
    " may at once; try again shortly.\n"
)


def default_limit(threads: int) -> int:
    """The limit an application gets unless told otherwise: half of the
    server's ``threads`` per process, at least 1.

    The other half is always left to the other applications, whatever one
    of them does. With one thread per process nothing can be left: the
    limit is then 1 and protects nothing.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return max(1, threads // 2)


def check_limit(value: object, where: str) -> int:
    """``value`` as a limit (an integer >= 0; 0 = unlimited), or a
    :class:`ValueError` that names ``where`` it came from and what to write."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{where} must be an integer >= 0 (0 = unlimited), got {value!r}"
        )
    return value


def resolve_limit(value: int | None, threads: int) -> int:
    """A configured limit: ``None`` (not set) is :func:`default_limit` of
    ``threads``; otherwise the value itself, checked."""
    if value is None:
        return default_limit(threads)
    return check_limit(value, "max_concurrent")


def limit_of(app: object, default: int) -> int:
    """The limit of ``app``: its own override, else ``default``.

    The override is ``app.config["GATEWAY_MAX_CONCURRENT"]`` (an application
    with a ``config`` mapping, such as a :class:`gateway.App`), else the
    attribute ``app.gateway_max_concurrent`` (any WSGI callable). ``None``
    in either means "not set". Raises :class:`ValueError` for anything but
    an integer >= 0.
    """
    config = getattr(app, "config", None)
    if isinstance(config, t.Mapping):
        value = config.get(CONFIG_KEY)
        if value is not None:
            return check_limit(value, f'app.config["{CONFIG_KEY}"]')
    value = getattr(app, ATTRIBUTE, None)
    if value is not None:
        return check_limit(value, f"app.{ATTRIBUTE}")
    return default


def ceiling(limit: int) -> int:
    """What the request path compares the count with: the limit, or
    :data:`UNLIMITED` for 0."""
    return limit or UNLIMITED


def busy(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    """The answer to a request over its application's limit: 503 with
    ``Retry-After``."""
    return respond(
        environ,
        start_response,
        503,
        _BUSY_TEXT,
        [("Retry-After", str(RETRY_AFTER))],
    )


class _Counted:
    """A response of :class:`Limited`: iteration goes to the application's
    iterable; ``close()`` closes it and frees the request's place."""

    __slots__ = ("_result", "_active")

    def __init__(self, result: t.Iterable[bytes], active: deque[None]) -> None:
        self._result = result
        self._active: deque[None] | None = active

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        active = self._active
        if active is None:
            return
        self._active = None
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            active.pop()


class Limited:
    """``app`` serving at most ``limit`` requests at once; more get
    :func:`busy`. ``limit`` 0 is no limit (use :func:`limited` to skip the
    wrapper then).

    Counted without a lock as the registry counts (see
    :meth:`~gateway.dispatch.registry.AppRegistry.serve`): a request adds
    itself, then reads the count, which includes every request being served,
    so no more than ``limit`` are ever served at once. Two requests arriving
    together for the last place may both be turned away.
    """

    __slots__ = ("__wrapped__", "limit", "active", "_ceiling")

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self.__wrapped__ = app
        self.limit = check_limit(limit, "limit")
        self._ceiling = ceiling(self.limit)
        #: One item per request in flight (its length is the count).
        self.active: deque[None] = deque()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        active = self.active
        active.append(None)
        if len(active) > self._ceiling:
            active.pop()
            return busy(environ, start_response)
        try:
            app = self.__wrapped__
            result = app(environ, start_response)
        except BaseException:
            active.pop()
            raise
        if type(result) is list:  # complete: the application is done
            active.pop()
            return result
        return _Counted(result, active)

    def __repr__(self) -> str:
        return f"<Limited {self.limit} {self.__wrapped__!r}>"


def limited(app: WSGIApplication, limit: int) -> WSGIApplication:
    """``app`` behind a :class:`Limited` of ``limit``; ``app`` itself for 0."""
    if check_limit(limit, "limit") == 0:
        return app
    return Limited(app, limit)
