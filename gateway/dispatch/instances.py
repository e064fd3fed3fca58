"""What the registry keeps for each instance, and the small objects around it.

An :class:`Entry` is a live (or retired, draining) instance with its
in-flight count; :class:`Tracked` is the response iterable that ends a
request's count when the server closes it; :class:`Counters` are the
registry's event counts. :func:`unwrap_call` finds the plain function a
served callable runs, which the request path calls directly.
"""

from __future__ import annotations

import itertools
import operator
import sys
import typing as t
from collections import deque
from types import FunctionType, MethodType

from . import limits

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .creation import Creation

#: The version of an instance built while no poll of ``lookup`` listed its key.
UNKNOWN: t.Final = object()


def close_app(key: t.Hashable, app: t.Any) -> None:
    """The default ``on_evict``: call ``app.close()`` when the app defines one.

    A tenant app that holds resources (pools, files, threads) exposes
    ``close()`` and gets it called once its last request finished.
    """
    close = getattr(app, "close", None)
    if callable(close):
        close()


def unwrap_call(served: t.Any) -> tuple[t.Any, t.Any] | None:
    """``(function, target)`` with ``function(target, environ, start_response)``
    the very call ``served(environ, start_response)`` makes, or None.

    That holds for an instance whose class defines ``__call__`` as a plain
    Python function (a ``gateway.App``, most middleware) and for a bound
    method. Calling the function itself lets CPython run it as a Python-to-
    Python call, skipping the C-level slot call and the fresh interpreter
    loop that calling the object costs: about 2,100 instructions a request
    for a ``gateway.App`` tenant, half of what host dispatch adds (and 680,
    6%, for the wrapper of a dynamic path segment). The class's ``__call__``
    is read when the instance is built; replacing it on a live class is not
    seen. ``tests/dispatch/test_registry_calls.py`` checks the two calls
    agree for every kind of callable.
    """
    if type(served) is MethodType:
        function = served.__func__
        return (function, served.__self__) if type(function) is FunctionType else None
    for klass in type(served).__mro__:
        if "__call__" in vars(klass):
            function = vars(klass)["__call__"]  # not a staticmethod, not a slot
            return (function, served) if type(function) is FunctionType else None
    return None


class Counters:
    """The registry's event counts, for :meth:`~gateway.dispatch.AppRegistry.stats`.

    Any thread counts an event with ``next(counters.hits)`` (and so on),
    without a lock: each count is an ``itertools.repeat(None, START)`` that
    ``next()`` steps down by one in a single C call, which the GIL makes
    atomic. The count is ``START`` minus what is left (its length hint).
    Unlike ``itertools.count``, which makes an int for every event past
    256, stepping a ``repeat`` allocates nothing: 160 instructions less a
    request counted as a hit (host dispatch of a plain WSGI app, as
    ``benchmarks/dispatch.py`` times it: 7,560 -> 7,400). At a billion
    events a second, ``START`` lasts 292 years. Reads need no lock.
    """

    #: The counts, in the order :meth:`read` reports them.
    NAMES = (
        "hits",
        "misses",
        "creations",
        "failures",
        "timeouts",
        "evictions",
        "busy",
        "negative_hits",
    )
    START: t.Final = sys.maxsize
    __slots__ = NAMES

    def __init__(self) -> None:
        self.hits = itertools.repeat(None, self.START)
        self.misses = itertools.repeat(None, self.START)
        self.creations = itertools.repeat(None, self.START)
        self.failures = itertools.repeat(None, self.START)
        self.timeouts = itertools.repeat(None, self.START)
        self.evictions = itertools.repeat(None, self.START)
        self.busy = itertools.repeat(None, self.START)
        #: Requests answered "no such tenant" from the negative cache.
        self.negative_hits = itertools.repeat(None, self.START)

    def read(self) -> dict[str, int]:
        """Each count by name."""
        return {
            name: self.START - operator.length_hint(getattr(self, name))
            for name in self.NAMES
        }


class Entry:
    """A live (or retired, draining) instance."""

    __slots__ = (
        "key",
        "app",
        "served",
        "call",
        "target",
        "version",
        "last",
        "active",
        "ceiling",
        "retired",
        "guarded",
        "retired_at",
        "torn_down",
        "registry",
    )

    # From unwrap_call: the function served(environ, sr) runs and its first
    # argument, or None and None.
    call: t.Callable[[t.Any, WSGIEnvironment, StartResponse], t.Iterable[bytes]] | None
    target: t.Any

    def __init__(
        self,
        key: t.Hashable,
        app: t.Any,
        served: t.Any,
        now: float,
        registry: Creation,
        version: t.Any = UNKNOWN,
    ) -> None:
        self.key = key
        self.registry = registry
        self.app = app  # what the factory returned
        self.served = served  # what requests call (app, possibly wrapped)
        # served(environ, sr) is call(target, environ, sr) when call is not None
        self.call, self.target = unwrap_call(served) or (None, None)
        self.version = version  # the key's version in the poll before the build
        self.last = now
        # One item per request in flight. A deque, not a list: appending to
        # an empty list allocates and popping its last item frees, while an
        # empty deque keeps its block (a list costs about 390 instructions a
        # request, 8% of what host dispatch adds). Its append and pop are
        # thread-safe without a lock.
        self.active: deque[None] = deque()
        # Serve while the count (this request included) is at most this:
        # the application's limit, checked by _build (see .limits).
        self.ceiling = limits.ceiling(
            limits.limit_of(app, registry._factories.max_concurrent)
        )
        self.retired = False
        # Whether a request must look at ``retired`` and ``ceiling``: the
        # entry has a limit, or is retired (set by the retirement).
        self.guarded = self.ceiling != limits.UNLIMITED
        self.retired_at = 0.0
        self.torn_down = False  # set, under the registry lock, by the teardown

    def release(self) -> None:
        """One request left this instance (its response was closed)."""
        active = self.active
        active.pop()
        if self.retired and not active:
            self.registry._finish(self)

    def __repr__(self) -> str:
        state = "retired" if self.retired else "live"
        return f"<entry {self.key!r} {state} in_flight={len(self.active)}>"


class Tracked:
    """The response iterable of a tracked request: iteration goes straight to
    the app's iterable; ``close()`` closes it and ends the in-flight count."""

    __slots__ = ("_result", "_entry")

    def __init__(self, result: t.Iterable[bytes], entry: Entry) -> None:
        self._result = result
        self._entry: Entry | None = entry

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        entry = self._entry
        if entry is None:
            return
        self._entry = None
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            entry.release()
