"""AppRegistry: application instances created on first use and cached.

The read path for a cached key is a dict lookup plus two deque operations to
count the request in flight; no lock is taken (the GIL orders those steps,
see :meth:`AppRegistry.serve`). Creation is *single flight per
key*: the first request for a key runs the factory, concurrent requests for the
same key wait for that one result, and requests for other keys are never held
up by it (the registry lock only guards dict bookkeeping, never a factory).

Lifecycle of an instance: created -> live (served, last-use time recorded) ->
retired (by :meth:`~AppRegistry.evict`, :meth:`~AppRegistry.reload`, the LRU
bound, idle timeout or a ``lookup`` refresh) -> drained (the last in-flight
response was closed) -> ``on_evict(key, app)`` called exactly once, in the
thread that finished the last request (or the evicting one when idle).

In-flight requests are counted from the app call until the server calls the
response iterable's ``close()``, which PEP 3333 requires of every server; an
instance whose responses are never closed is torn down anyway after
``drain_timeout`` seconds, with a warning.

``lookup`` tells the registry which keys exist, for :meth:`~AppRegistry.exists`
and for the refresh polled every ``refresh_interval`` seconds. It returns
either an iterable of keys (the refresh retires instances whose key is gone)
or a mapping of key to *version* (any value compared with ``==``: a counter,
a timestamp, a row hash). With a mapping, the refresh also retires instances
whose version changed, which reloads them: the next request builds a fresh
instance while requests inside the old one finish there, and its
``on_evict`` runs after them. An instance records the version the last poll
gave its key *before* its factory ran, so it is never marked newer than what
the factory read; one built before any poll listed its key (a tenant added
since) is rebuilt once at the next poll, because its version is unknown.
That is how several processes sharing a database notice an edited row
within ``refresh_interval`` seconds, without shared memory. A key a poll
lists also loses its remembered "no application" (``negative_ttl``) record.

A factory that hangs does not hold its key hostage: a creation has
``factory_timeout`` seconds (real time, :func:`time.monotonic`, whatever
``clock`` is; waiting for a ``max_concurrent_factories`` slot included).
Past them, every request waiting for it, and every request arriving for
the key, gets the 503 of a failing factory (:class:`FactoryTimeout`, with
``Retry-After``), the registry logs it once, naming the key and the
deadline, and the key is in its ``retry_after`` back-off; the first request
after it starts a new creation. A thread cannot be killed, so the hung call
goes on in the thread (or greenlet) of the request that started it, which
waits with it. If it ever returns, its result is discarded: an application
is torn down with ``on_evict`` (without a request ever reaching it), a
raised exception is logged, and that request too gets the 503, so a late
result never races with the new creation or replaces what it installed.
It keeps its ``max_concurrent_factories`` slot until it returns: the bound
counts the calls really running. A creation is given up only by a request
that waited for it (or came for its key) past the deadline: a slow call
that no request gave up on is installed as usual when it returns.
``factory_timeout = 0`` waits forever.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
import typing as t
from collections import deque
from collections.abc import Mapping
from types import FunctionType, MethodType

from ..unavailable import retry_after_value
from . import limits
from .failures import back_off, log_factory_failure, log_lookup_failure
from .responses import respond

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Factory = t.Callable[[t.Any], t.Any]
#: ``lookup()``: the keys that exist, or a mapping of key to version.
Lookup = t.Callable[[], t.Iterable[t.Any] | Mapping[t.Any, t.Any]]

logger = logging.getLogger("gateway.dispatch")

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


def _unwrap_call(served: t.Any) -> tuple[t.Any, t.Any] | None:
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


class _Counters:
    """The registry's event counts, for :meth:`AppRegistry.stats`.

    Any thread counts an event with ``next(counters.hits)`` (and so on),
    without a lock: ``next()`` on an ``itertools.count`` is one C call, which
    the GIL makes atomic. An ``itertools.count`` has no getter, so
    :meth:`read` takes one more number from each count and subtracts the
    numbers that earlier reads took.
    """

    __slots__ = (
        "hits",
        "misses",
        "creations",
        "failures",
        "timeouts",
        "evictions",
        "busy",
        "_reads",
    )
    NAMES = (
        "hits",
        "misses",
        "creations",
        "failures",
        "timeouts",
        "evictions",
        "busy",
    )

    def __init__(self) -> None:
        self.hits = itertools.count()
        self.misses = itertools.count()
        self.creations = itertools.count()
        self.failures = itertools.count()
        self.timeouts = itertools.count()
        self.evictions = itertools.count()
        self.busy = itertools.count()
        self._reads = 0

    def read(self) -> dict[str, int]:
        """Each count by name; the caller serialises reads (holds a lock)."""
        taken = self._reads
        self._reads += 1
        return {name: next(getattr(self, name)) - taken for name in self.NAMES}


class FactoryFailed(Exception):
    """The factory for ``key`` raised; it is retried after ``retry_after`` s
    (see :mod:`.failures` for what a factory's outcome means)."""

    def __init__(self, key: t.Hashable, retry_after: float) -> None:
        super().__init__(f"the application for {key!r} failed to load")
        self.key = key
        self.retry_after = retry_after

    def respond(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes]:
        """A 503 with ``Retry-After`` (whole seconds, at least 1)."""
        return respond(
            environ,
            start_response,
            503,
            "Service Unavailable: the application is starting or failed to"
            " start; try again shortly.\n",
            [("Retry-After", retry_after_value(self.retry_after))],
        )


class FactoryTimeout(FactoryFailed):
    """The creation for ``key`` overran ``factory_timeout`` s and was
    abandoned; it is retried after ``retry_after`` s (the same 503)."""

    def __init__(self, key: t.Hashable, retry_after: float, timeout: float) -> None:
        super().__init__(key, retry_after)
        self.args = (f"the application for {key!r} did not load within {timeout:g}s",)
        self.timeout = timeout


class _Factories:
    """How factory calls run: the bound on calls at once (a semaphore, or
    None) and the deadline of a creation in seconds (0: none); and the
    requests an instance serves at once unless its application says
    otherwise (``max_concurrent``, 0: no limit; see :mod:`.limits`). In one
    object, not three registry attributes, to keep an :class:`AppRegistry`
    under CPython's attribute limit (see ``_Counters`` below)."""

    __slots__ = ("slots", "timeout", "max_concurrent")

    def __init__(self, concurrent: int, timeout: float, max_concurrent: int) -> None:
        self.slots = threading.BoundedSemaphore(concurrent) if concurrent else None
        # Beyond what a lock's wait accepts it is no deadline at all.
        self.timeout = timeout if timeout < threading.TIMEOUT_MAX else 0
        self.max_concurrent = max_concurrent


class _Entry:
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
        "retired_at",
        "torn_down",
        "registry",
    )

    # From _unwrap_call: the function served(environ, sr) runs and its first
    # argument, or None and None.
    call: t.Callable[[t.Any, WSGIEnvironment, StartResponse], t.Iterable[bytes]] | None
    target: t.Any

    def __init__(
        self,
        key: t.Hashable,
        app: t.Any,
        served: t.Any,
        now: float,
        registry: AppRegistry,
        version: t.Any = UNKNOWN,
    ) -> None:
        self.key = key
        self.registry = registry
        self.app = app  # what the factory returned
        self.served = served  # what requests call (app, possibly wrapped)
        # served(environ, sr) is call(target, environ, sr) when call is not None
        self.call, self.target = _unwrap_call(served) or (None, None)
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


class _Flight:
    """One factory call in progress, which other requests for the key wait on.

    It is settled once, under the registry lock, by whoever takes it out of
    the registry's flights: the request running the factory when the call
    ends, or one past the deadline (which abandons it). ``entry`` or
    ``failed`` is filled in under that lock too, and ``done`` set after it:
    a waiter past the deadline takes the lock to abandon the flight and then
    reads its outcome, whoever settled it, without waiting on ``done``
    again. (gevent's Event can miss the wake-up of a greenlet that waits on
    it again after a timed-out wait, if the event was set meanwhile.)
    """

    __slots__ = ("done", "entry", "failed", "waiters", "deadline")

    def __init__(self, deadline: float | None) -> None:
        self.waiters = 0
        self.done = threading.Event()
        self.entry: _Entry | None = None
        self.failed: FactoryFailed | None = None
        self.deadline = deadline  # time.monotonic() value, None: no deadline

    def failure(self) -> FactoryFailed:
        """What a flight settled as failed raises in its requests."""
        assert self.failed is not None, "the flight did not fail"
        return self.failed


class _Tracked:
    """The response iterable of a tracked request: iteration goes straight to
    the app's iterable; ``close()`` closes it and ends the in-flight count."""

    __slots__ = ("_result", "_entry")

    def __init__(self, result: t.Iterable[bytes], entry: _Entry) -> None:
        self._result = result
        self._entry: _Entry | None = entry

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


class AppRegistry:
    """Cache of applications keyed by tenant (or prefix), built by ``factory``.

    :param factory: ``factory(key) -> app | None``; None means "no such
        application" and is remembered for ``negative_ttl`` seconds; raising
        means "unavailable for now": 503, retried after the back-off, never
        remembered as missing (:mod:`.failures`).
    :param max_instances: LRU bound on live instances (0 = unbounded).
    :param idle_timeout: evict an instance unused this many seconds (0 = never).
    :param negative_ttl: seconds a None result is remembered.
    :param retry_after: seconds of back-off after the factory raised (the
        key answers 503 with ``Retry-After`` meanwhile).
    :param max_concurrent_factories: bound on factories running at once
        (0 = unbounded); waiting for a slot only delays that key's creation.
    :param factory_timeout: seconds a creation may take (0 = no deadline);
        past them the key answers 503 and is retried after ``retry_after``
        (see the module docs).
    :param max_concurrent: requests one instance serves at once in this
        process (0 = no limit); one more is answered 503 with
        ``Retry-After`` without reaching it. The application the factory
        returns may set its own (:func:`gateway.dispatch.limits.limit_of`).
    :param prepare: ``prepare(key, app) -> served`` wraps a new instance (for
        per-tenant defaults and mounts) before it is served.
    :param on_evict: ``on_evict(key, app)`` after a retired instance drained;
        default :func:`close_app`; None disables.
    :param lookup: ``lookup() -> iterable of keys`` or ``-> mapping of key to
        version``: the keys that exist. Polled every ``refresh_interval``
        seconds to retire instances whose key is gone or, with a mapping,
        whose version changed (see the module docs), and asked by
        :meth:`exists`.
    :param clock: monotonic clock in seconds (tests inject a fake one).
    """

    def __init__(
        self,
        factory: Factory,
        *,
        max_instances: int = 0,
        idle_timeout: float = 0,
        negative_ttl: float = 10,
        retry_after: float = 5,
        max_concurrent_factories: int = 0,
        factory_timeout: float = 30,
        max_concurrent: int = 0,
        prepare: t.Callable[[t.Any, t.Any], t.Any] | None = None,
        on_evict: t.Callable[[t.Any, t.Any], None] | None = close_app,
        lookup: Lookup | None = None,
        refresh_interval: float = 0,
        drain_timeout: float = 300,
        negative_limit: int = 10_000,
        clock: t.Callable[[], float] = time.monotonic,
        name: str = "app",
    ) -> None:
        if not callable(factory):
            raise TypeError(f"factory must be callable, got {factory!r}")
        value: float  # the counts below, then the durations
        for label, value in (
            ("max_instances", max_instances),
            ("max_concurrent_factories", max_concurrent_factories),
            ("max_concurrent", max_concurrent),
        ):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{label} must be an integer >= 0, got {value!r}")
        for label, value in (
            ("idle_timeout", idle_timeout),
            ("negative_ttl", negative_ttl),
            ("retry_after", retry_after),
            ("factory_timeout", factory_timeout),
            ("refresh_interval", refresh_interval),
            ("drain_timeout", drain_timeout),
        ):
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(
                    f"{label} must be a number of seconds >= 0, got {value!r}"
                )
        if refresh_interval and lookup is None:
            raise ValueError("refresh_interval needs a lookup callable to poll")
        self.factory = factory
        self.max_instances = max_instances
        self.idle_timeout = idle_timeout
        self.negative_ttl = negative_ttl
        self.retry_after = retry_after
        self.prepare = prepare
        self.on_evict = on_evict
        self.lookup = lookup
        self.refresh_interval = refresh_interval
        self.drain_timeout = drain_timeout
        self.negative_limit = negative_limit
        self.clock = clock
        self.name = name

        self._entries: dict[t.Any, _Entry] = {}
        self._flights: dict[t.Any, _Flight] = {}
        self._negative: dict[t.Any, float] = {}
        self._failed: dict[t.Any, float] = {}
        self._draining: set[_Entry] = set()
        #: key -> version from the last successful poll that returned a
        #: mapping (None: no poll yet, or it returned plain keys).
        self._versions: dict[t.Any, t.Any] | None = None
        self._polled = False
        self._lock = threading.Lock()
        self._sweep_lock = threading.Lock()
        self._factories = _Factories(
            max_concurrent_factories, factory_timeout, max_concurrent
        )
        intervals = [
            v for v in (idle_timeout / 4, refresh_interval, drain_timeout / 4) if v
        ]
        self._sweep_every = max(0.01, min(intervals)) if intervals else math.inf
        # Whether requests read the clock: last use feeds the LRU bound and
        # the idle timeout, and the sweep runs refreshes (and drain deadlines,
        # while anything drains). Without them a request skips the clock.
        self._timed = bool(max_instances or idle_timeout or refresh_interval)
        self._next_sweep = clock() + self._sweep_every
        self._next_refresh = (
            clock() + refresh_interval if refresh_interval else math.inf
        )
        # Event counts for stats(), in one object so an instance keeps under
        # CPython's limit of 30 attributes with shared, specialisable keys:
        # past it every attribute read on the request path becomes a dict
        # lookup (with five count attributes, 32 in all: about 320
        # instructions a request, 7% of what host dispatch adds). Pinned by
        # tests/dispatch/test_registry_rules.py.
        self._counters = _Counters()
        self._hits = self._counters.hits  # the request path's, held directly

    @property
    def factory_timeout(self) -> float:
        """Seconds a creation may take before its key answers 503 (0: none)."""
        return self._factories.timeout

    @property
    def max_concurrent(self) -> int:
        """Requests an instance serves at once unless its application sets
        its own limit (0: no limit)."""
        return self._factories.max_concurrent

    # -- the request path --------------------------------------------------

    def serve(
        self,
        key: t.Any,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        fallback: WSGIApplication,
    ) -> t.Iterable[bytes]:
        """Serve a request with the instance for ``key``.

        A key without an application goes to ``fallback``; a failing factory
        answers 503. The response is tracked until the server closes it.
        """
        entry = self._entries.get(key)
        if entry is None:
            try:
                entry = self._resolve(key)
            except FactoryFailed as e:
                return e.respond(environ, start_response)
            if entry is None:
                return fallback(environ, start_response)
        if self._timed or self._draining:
            now = self.clock()
            entry.last = now
            if now >= self._next_sweep:
                self.sweep(now)
        # Counted in flight without a lock, which relies on the GIL: each of
        # these steps, and the retirement's (mark retired, then look at the
        # count), runs whole and in one order that every thread sees. So an
        # entry retired after the lookup is seen here, or sees this request.
        # A lock around them costs about 4,100 instructions a request, nearly
        # doubling what host dispatch adds. tests/dispatch/test_registry_rules.py
        # fails on an interpreter without the GIL.
        active = entry.active
        active.append(None)
        if entry.retired:  # evicted between the lookup and here: go again
            entry.release()
            return self.serve(key, environ, start_response, fallback)
        if len(active) > entry.ceiling:  # over its limit (see .limits)
            entry.release()
            next(self._counters.busy)
            return limits.busy(environ, start_response)
        next(self._hits)
        call = entry.call
        try:
            if call is not None:
                result = call(entry.target, environ, start_response)
            else:
                # Read into a local before the call: CPython specialises a
                # plain attribute read but not a method lookup that finds a
                # slot (entry.served(...) costs about 4.5% of what host
                # dispatch adds, in paired wall-clock runs; 93 instructions).
                served = entry.served
                result = served(environ, start_response)
        except BaseException:
            entry.release()
            raise
        if type(result) is list:
            # A list body is complete: the app is done with this request.
            # entry.release() inlined (calling it costs about 610 instructions
            # a request, 13% of what host dispatch adds); keep the two alike.
            active.pop()
            if entry.retired and not active:
                self._finish(entry)
            return result
        return _Tracked(result, entry)

    def get(self, key: t.Any) -> t.Any:
        """The application for ``key`` (creating it), or None if there is none.

        Raises :class:`FactoryFailed` while the key is in its back-off.
        """
        entry = self._entries.get(key)
        if entry is None:
            entry = self._resolve(key)
            if entry is None:
                return None
        else:
            next(self._hits)
        entry.last = self.clock()
        return entry.app

    def peek(self, key: t.Any) -> t.Any:
        """The live application for ``key`` without creating one, or None."""
        entry = self._entries.get(key)
        return entry.app if entry is not None else None

    def exists(self, key: t.Any) -> bool:
        """Whether ``key`` has an application: live, listed by ``lookup``, or
        created now by the factory (so a TLS front end can ask before issuing
        a certificate). A failing factory counts as existing; a failing
        ``lookup`` is logged and the factory asked instead."""
        if key in self._entries:
            return True
        if self.lookup is not None:
            keys = self._poll()
            if keys is not None:
                return key in keys
        try:
            return self._resolve(key) is not None
        except FactoryFailed:
            return True

    # -- creation ----------------------------------------------------------

    def _resolve(self, key: t.Any) -> _Entry | None:
        """Slow path for a key that is not cached: negative cache, back-off,
        then join or lead the single flight that runs the factory."""
        next(self._counters.misses)
        now = self.clock()
        expires = self._negative.get(key)
        if expires is not None:
            if now < expires:
                return None
            self._negative.pop(key, None)
        until = self._failed.get(key)
        if until is not None:
            if now < until:
                raise FactoryFailed(key, until - now)
            self._failed.pop(key, None)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                timeout = self._factories.timeout
                flight = self._flights[key] = _Flight(
                    time.monotonic() + timeout if timeout else None
                )
            else:
                flight.waiters += 1
        if not leader:
            done, deadline = flight.done, flight.deadline
            if deadline is None:
                done.wait()
            elif not (
                done.is_set() or done.wait(max(0.0, deadline - time.monotonic()))
            ):
                # Past the deadline (a request arriving late gets here at
                # once): abandon the creation, unless it was settled already.
                # Either way it is settled when the lock is let go.
                self._abandon(key, flight)
            if flight.failed is not None:
                raise flight.failed
            return flight.entry
        return self._create(key, flight)

    def _abandon(self, key: t.Any, flight: _Flight) -> None:
        """Settle an overdue flight as failed: its waiters get a 503, the key
        its back-off, and the call's late result is discarded (by
        :meth:`_create`). Does nothing if the flight is settled already."""
        timeout = self._factories.timeout
        with self._lock:
            if self._flights.get(key) is not flight:
                return
            del self._flights[key]
            if self.retry_after:
                self._failed[key] = self.clock() + self.retry_after
                self._bound(self._failed)
            flight.failed = FactoryTimeout(key, self.retry_after, timeout)
        next(self._counters.timeouts)
        logger.error(
            "%s factory for %r still running after its %gs deadline"
            " (factory_timeout); answering 503 and retrying in %gs",
            self.name,
            key,
            timeout,
            self.retry_after,
        )
        flight.done.set()

    def _build(
        self, key: t.Any, flight: _Flight | None = None
    ) -> tuple[t.Any, t.Any, t.Any]:
        """Run the factory (inside the concurrency bound) and ``prepare``.

        Returns ``(app, served, version)``; the version is read before the
        factory runs (see the module docs). For a creation (``flight``),
        waiting for a slot ends at its deadline: then the flight is
        abandoned and its failure raised.
        """
        version = self._version_of(key)
        slots = self._factories.slots
        if slots is not None:
            if flight is None or flight.deadline is None:
                slots.acquire()
            elif not slots.acquire(
                timeout=max(0.0, flight.deadline - time.monotonic())
            ):
                self._abandon(key, flight)
                raise flight.failure()
        try:
            if flight is not None and flight.failed is not None:
                raise flight.failure()  # abandoned while waiting for the slot
            app = self.factory(key)
            served = app
            if app is not None:
                # A bad per-application limit fails the creation, loudly.
                limits.limit_of(app, 0)
                if self.prepare is not None:
                    served = self.prepare(key, app)
            return app, served, version
        finally:
            if slots is not None:
                slots.release()

    def _install(
        self, key: t.Any, app: t.Any, served: t.Any, version: t.Any, now: float
    ) -> tuple[_Entry | None, _Entry | None, list[_Entry]]:
        """Record a factory result (lock held): a new live entry, or a
        negative record for None. Returns ``(new entry, replaced entry, LRU
        victims)``; the caller retires the last two outside the lock."""
        old = self._entries.pop(key, None)
        if app is None:
            if self.negative_ttl:
                self._negative[key] = now + self.negative_ttl
                self._bound(self._negative)
            return None, old, []
        next(self._counters.creations)
        entry = self._entries[key] = _Entry(key, app, served, now, self, version)
        victims: list[_Entry] = []
        if self.max_instances and len(self._entries) > self.max_instances:
            victims = self._pop_lru(len(self._entries) - self.max_instances, entry)
        return entry, old, victims

    def _create(self, key: t.Any, flight: _Flight) -> _Entry | None:
        try:
            app, served, version = self._build(key, flight)
        except Exception as exc:
            if exc is flight.failed:
                raise  # abandoned before the factory ran
            retry = back_off(exc, self.retry_after)  # never a negative record
            failed = FactoryFailed(key, retry)
            failed.__cause__ = exc  # waiters see the cause too
            with self._lock:
                current = self._flights.get(key) is flight
                if current:
                    if retry:
                        self._failed[key] = self.clock() + retry
                        self._bound(self._failed)
                    del self._flights[key]
                    flight.failed = failed
            if not current:  # abandoned at its deadline: answered already
                logger.warning(
                    "%s factory for %r raised after its %gs deadline",
                    self.name,
                    key,
                    self._factories.timeout,
                    exc_info=True,
                )
                raise flight.failure() from exc
            next(self._counters.failures)
            log_factory_failure(self.name, key, exc, retry)
            flight.done.set()
            raise failed from exc
        except BaseException:
            # Interrupted (KeyboardInterrupt, GreenletExit): nothing cached, and
            # waiters retry on their own instead of hanging.
            with self._lock:
                current = self._flights.get(key) is flight
                if current:
                    del self._flights[key]
                    flight.failed = FactoryFailed(key, 0)
            if current:
                flight.done.set()
            raise
        now = self.clock()
        with self._lock:
            current = self._flights.get(key) is flight
            if current:
                entry, old, victims = self._install(key, app, served, version, now)
                del self._flights[key]
                flight.entry = entry
        if not current:
            self._discard(key, app)
            raise flight.failure()
        flight.done.set()
        if old is not None:  # a concurrent reload() installed one meanwhile
            victims.append(old)
        for victim in victims:
            self._retire(victim, now)
        return entry

    def _discard(self, key: t.Any, app: t.Any) -> None:
        """Drop what a factory returned after its creation was abandoned: a
        new creation may have started since, so it is never installed; an
        application is torn down like a retired one."""
        logger.warning(
            "%s factory for %r returned after its %gs deadline; result discarded",
            self.name,
            key,
            self._factories.timeout,
        )
        if app is None or self.on_evict is None:
            return
        try:
            self.on_evict(key, app)
        except Exception:
            logger.error("on_evict failed for %s %r", self.name, key, exc_info=True)

    def _bound(self, table: dict[t.Any, float]) -> None:
        """Keep a key -> deadline table under ``negative_limit`` (lock held)."""
        if len(table) <= self.negative_limit:
            return
        now = self.clock()
        for key in [k for k, v in table.items() if v <= now]:
            del table[key]
        while len(table) > self.negative_limit:
            del table[next(iter(table))]  # oldest first: dicts keep order

    def _pop_lru(self, count: int, keep: _Entry) -> list[_Entry]:
        """Remove the ``count`` least recently used entries (lock held)."""
        candidates = sorted(
            (e for e in self._entries.values() if e is not keep), key=lambda e: e.last
        )[:count]
        for entry in candidates:
            del self._entries[entry.key]
        return candidates

    # -- retirement --------------------------------------------------------

    def _retire(self, entry: _Entry, now: float | None = None) -> None:
        entry.retired_at = self.clock() if now is None else now
        # In the set before it is marked: a request ending from here on may
        # tear it down, and the teardown takes it out of the set.
        self._draining.add(entry)
        entry.retired = True
        next(self._counters.evictions)
        if not entry.active:
            self._finish(entry)

    def _finish(self, entry: _Entry) -> None:
        """Tear down a retired, drained entry; exactly once.

        The retirement and the end of the last request can both get here for
        one entry, in two threads; the lock lets the first one through.
        """
        with self._lock:
            if entry.torn_down:
                return
            entry.torn_down = True
        self._draining.discard(entry)
        if self.on_evict is None:
            return
        try:
            self.on_evict(entry.key, entry.app)
        except Exception:
            logger.error(
                "on_evict failed for %s %r", self.name, entry.key, exc_info=True
            )

    def evict(self, key: t.Any) -> bool:
        """Retire the instance for ``key`` (teardown after it drains) and forget
        any negative or failure record. Returns whether one was live."""
        with self._lock:
            entry = self._entries.pop(key, None)
            self._negative.pop(key, None)
            self._failed.pop(key, None)
        if entry is None:
            return False
        self._retire(entry)
        return True

    def reload(self, key: t.Any) -> t.Any:
        """Build a fresh instance and swap it in for new requests; requests in
        the old one finish there and its teardown runs after them.

        If the factory raises, the old instance stays and the exception
        propagates; if it returns None the old instance is evicted. Returns the
        new application (or None).
        """
        if key not in self._entries:
            self.evict(key)
            return self.get(key)
        app, served, version = self._build(key)
        now = self.clock()
        with self._lock:
            _, old, victims = self._install(key, app, served, version, now)
        if old is not None:
            victims.append(old)
        for victim in victims:
            self._retire(victim, now)
        return app

    def clear(self) -> None:
        """Retire every instance (for shutdown and tests)."""
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
            self._negative.clear()
            self._failed.clear()
        for entry in entries:
            self._retire(entry)

    def sweep(self, now: float | None = None) -> None:
        """Evict idle instances, poll ``lookup`` when due (retiring removed
        keys and changed versions) and force the teardown of instances that
        overran ``drain_timeout``. Runs on the
        request path at most every few seconds; one thread at a time."""
        if not self._sweep_lock.acquire(blocking=False):
            return
        try:
            now = self.clock() if now is None else now
            self._next_sweep = now + self._sweep_every
            victims: list[_Entry] = []
            if self.idle_timeout:
                deadline = now - self.idle_timeout
                with self._lock:
                    for entry in [
                        e for e in self._entries.values() if e.last <= deadline
                    ]:
                        if not entry.active:
                            del self._entries[entry.key]
                            victims.append(entry)
            if now >= self._next_refresh and self.lookup is not None:
                self._next_refresh = now + self.refresh_interval
                victims.extend(self._refresh())
            for entry in victims:
                self._retire(entry, now)
            if self.drain_timeout:
                for entry in list(self._draining):
                    if entry.active and now - entry.retired_at >= self.drain_timeout:
                        logger.warning(
                            "%s %r: %d response(s) never closed after %gs;"
                            " tearing down anyway",
                            self.name,
                            entry.key,
                            len(entry.active),
                            self.drain_timeout,
                        )
                        self._finish(entry)
        finally:
            self._sweep_lock.release()

    def _version_of(self, key: t.Any) -> t.Any:
        """The version the last poll gave ``key`` (:data:`UNKNOWN` if none).

        The first build of a refreshing registry polls ``lookup`` once, so
        instances built before the first periodic refresh know their version
        too (instead of all being rebuilt by it).
        """
        if not self._polled and self.refresh_interval:
            if self._sweep_lock.acquire(blocking=False):
                try:
                    if not self._polled:
                        self._poll()
                finally:
                    self._sweep_lock.release()
        versions = self._versions
        return UNKNOWN if versions is None else versions.get(key, UNKNOWN)

    def _poll(self) -> t.Container[t.Any] | None:
        """Call ``lookup`` and record its versions. Returns the listed keys,
        or None when it failed (logged; the caller keeps what it has)."""
        self._polled = True
        try:
            listed = self.lookup()  # type: ignore[misc]
            if isinstance(listed, Mapping):
                versions: dict[t.Any, t.Any] | None = dict(listed)
                keys: t.Container[t.Any] = versions  # type: ignore[assignment]
            else:
                versions, keys = None, set(listed)
        except Exception as exc:  # unknown for now: retire nothing
            log_lookup_failure(self.name, exc)
            return None
        self._versions = versions
        return keys

    def _refresh(self) -> list[_Entry]:
        """Poll ``lookup``: remove (and return, to be retired) the entries
        whose key is gone or whose version changed, and forget "no such key"
        records of listed keys (lock taken here)."""
        keys = self._poll()
        if keys is None:
            return []
        versions = self._versions
        with self._lock:
            stale = [
                entry
                for key, entry in self._entries.items()
                if key not in keys
                or (
                    versions is not None
                    and (entry.version is UNKNOWN or entry.version != versions[key])
                )
            ]
            for entry in stale:
                del self._entries[entry.key]
            for key in [k for k in self._negative if k in keys]:
                del self._negative[key]
        return stale

    # -- introspection -----------------------------------------------------

    def keys(self) -> list[t.Any]:
        """Keys of the live instances."""
        return list(self._entries)

    def in_flight(self) -> dict[t.Any, int]:
        """Requests in flight per live key that has any (for metrics)."""
        return {k: len(e.active) for k, e in list(self._entries.items()) if e.active}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict[str, int]:
        """Counters: hits, misses, creations, failures, timeouts (creations
        abandoned at ``factory_timeout``), evictions, busy (requests turned
        away over an instance's ``max_concurrent``); and sizes:
        live, draining, pending (factories running), waiting (requests
        waiting for them), negative (remembered unknown keys)."""
        with self._lock:
            counts = self._counters.read()
        return {
            **counts,
            "live": len(self._entries),
            "draining": len(self._draining),
            "pending": len(self._flights),
            "waiting": sum(f.waiters for f in list(self._flights.values())),
            "negative": len(self._negative),
        }

    def __repr__(self) -> str:
        return f"<AppRegistry {self.name!r} live={len(self._entries)}>"
