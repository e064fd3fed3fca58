"""AppRegistry: application instances created on first use and cached.

The read path for a cached key is a dict lookup plus two deque operations to
count the request in flight; no lock is taken (the GIL orders those steps,
see :meth:`AppRegistry.serve`). Creation is *single flight per
key*: the first request for a key runs the factory, concurrent requests for the
same key wait for that one result, and requests for other keys are never held
up by it (the registry lock only guards dict bookkeeping, never a factory).

The rest of an instance's life is in :mod:`.lifecycle` (retirement,
teardown, the ``lookup`` refresh) and its creation in :mod:`.creation`
(single flight, ``factory_timeout``, ``max_concurrent_factories``); the
entry kept for each instance is in :mod:`.instances`.
"""

from __future__ import annotations

import math
import threading
import time
import typing as t

from . import limits
from .creation import Creation, Factories, Factory
from .creation import FactoryFailed as FactoryFailed
from .creation import FactoryTimeout as FactoryTimeout
from .instances import UNKNOWN as UNKNOWN
from .instances import Counters, Tracked
from .instances import close_app as close_app
from .lifecycle import Lookup as Lookup

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class AppRegistry(Creation):
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

        self._entries = {}
        self._flights = {}
        self._negative = {}
        self._failed = {}
        self._draining = set()
        #: key -> version from the last successful poll that returned a
        #: mapping (None: no poll yet, or it returned plain keys).
        self._versions = None
        self._polled = False
        self._lock = threading.Lock()
        self._sweep_lock = threading.Lock()
        self._factories = Factories(
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
        self._counters = Counters()
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
        try:
            entry = self._entries[key]  # (see HostDispatcher.__call__)
        except KeyError:
            try:
                resolved = self._resolve(key)
            except FactoryFailed as e:
                return e.respond(environ, start_response)
            if resolved is None:
                return fallback(environ, start_response)
            entry = resolved
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
        # One flag for the two rare cases (checking both on every request
        # cost 325 instructions, 7% of what host dispatch adds); _retire
        # sets it after ``retired``, so what is said above still holds.
        if entry.guarded:  # retired, or with a limit: look which
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
        return Tracked(result, entry)

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
        away over an instance's ``max_concurrent``), negative_hits (requests
        answered "no such tenant" from the negative cache); and sizes:
        live, draining, pending (factories running), waiting (requests
        waiting for them), negative (remembered unknown keys)."""
        return {
            **self._counters.read(),
            "live": len(self._entries),
            "draining": len(self._draining),
            "pending": len(self._flights),
            "waiting": sum(f.waiters for f in list(self._flights.values())),
            "negative": len(self._negative),
        }

    def __repr__(self) -> str:
        return f"<AppRegistry {self.name!r} live={len(self._entries)}>"
