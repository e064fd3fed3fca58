"""Creating the registry's instances: single flight, deadline, concurrency bound.

Creation is *single flight per key*: the first request for a key runs the
factory, concurrent requests for the same key wait for that one result, and
requests for other keys are never held up by it (the registry lock only
guards dict bookkeeping, never a factory). What a factory's outcome means
(None, an application, an exception) is :mod:`.failures`'.

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

import logging
import threading
import time
import typing as t

from ..unavailable import retry_after_value
from . import limits
from .failures import back_off, log_factory_failure
from .instances import Entry
from .lifecycle import Lifecycle
from .responses import respond

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Factory = t.Callable[[t.Any], t.Any]

logger = logging.getLogger("gateway.dispatch")


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


class Factories:
    """How factory calls run: the bound on calls at once (a semaphore, or
    None) and the deadline of a creation in seconds (0: none); and the
    requests an instance serves at once unless its application says
    otherwise (``max_concurrent``, 0: no limit; see :mod:`.limits`). In one
    object, not three registry attributes, to keep an :class:`AppRegistry`
    under CPython's attribute limit (see ``AppRegistry.__init__``)."""

    __slots__ = ("slots", "timeout", "max_concurrent")

    def __init__(self, concurrent: int, timeout: float, max_concurrent: int) -> None:
        self.slots = threading.BoundedSemaphore(concurrent) if concurrent else None
        # Beyond what a lock's wait accepts it is no deadline at all.
        self.timeout = timeout if timeout < threading.TIMEOUT_MAX else 0
        self.max_concurrent = max_concurrent


class Flight:
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
        self.entry: Entry | None = None
        self.failed: FactoryFailed | None = None
        self.deadline = deadline  # time.monotonic() value, None: no deadline

    def failure(self) -> FactoryFailed:
        """What a flight settled as failed raises in its requests."""
        assert self.failed is not None, "the flight did not fail"
        return self.failed


class Creation(Lifecycle):
    """Running factories and installing what they return (the creation half
    of :class:`~gateway.dispatch.registry.AppRegistry`, over its
    :class:`~.lifecycle.Lifecycle`, which retires what an install replaces).

    Needs from the class it is mixed into (declared below, set by
    ``AppRegistry.__init__``): the factory and its options, and the tables
    of flights in progress.
    """

    factory: Factory
    prepare: t.Callable[[t.Any, t.Any], t.Any] | None
    max_instances: int
    negative_ttl: float
    negative_limit: int
    retry_after: float
    _flights: dict[t.Any, Flight]
    _factories: Factories

    def _resolve(self, key: t.Any) -> Entry | None:
        """Slow path for a key that is not cached: negative cache, back-off,
        then join or lead the single flight that runs the factory."""
        next(self._counters.misses)
        now = self.clock()
        expires = self._negative.get(key)
        if expires is not None:
            if now < expires:
                next(self._counters.negative_hits)
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
                flight = self._flights[key] = Flight(
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

    def _abandon(self, key: t.Any, flight: Flight) -> None:
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
        self, key: t.Any, flight: Flight | None = None
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
    ) -> tuple[Entry | None, Entry | None, list[Entry]]:
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
        entry = self._entries[key] = Entry(key, app, served, now, self, version)
        victims: list[Entry] = []
        if self.max_instances and len(self._entries) > self.max_instances:
            victims = self._pop_lru(len(self._entries) - self.max_instances, entry)
        return entry, old, victims

    def _create(self, key: t.Any, flight: Flight) -> Entry | None:
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

    def _pop_lru(self, count: int, keep: Entry) -> list[Entry]:
        """Remove the ``count`` least recently used entries (lock held)."""
        candidates = sorted(
            (e for e in self._entries.values() if e is not keep), key=lambda e: e.last
        )[:count]
        for entry in candidates:
            del self._entries[entry.key]
        return candidates
