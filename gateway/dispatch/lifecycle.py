"""The lifecycle of the registry's instances: retirement, teardown, refresh.

Lifecycle of an instance: created -> live (served, last-use time recorded) ->
retired (by :meth:`~gateway.dispatch.AppRegistry.evict`, :meth:`~gateway.dispatch.AppRegistry.reload`, the LRU
bound, idle timeout or a ``lookup`` refresh) -> drained (the last in-flight
response was closed) -> ``on_evict(key, app)`` called exactly once, in the
thread that finished the last request (or the evicting one when idle).

In-flight requests are counted from the app call until the server calls the
response iterable's ``close()``, which PEP 3333 requires of every server; an
instance whose responses are never closed is torn down anyway after
``drain_timeout`` seconds, with a warning.

``lookup`` tells the registry which keys exist, for :meth:`~gateway.dispatch.AppRegistry.exists`
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
"""

from __future__ import annotations

import logging
import threading
import typing as t
from collections.abc import Mapping

from .failures import log_lookup_failure
from .instances import UNKNOWN, Counters, Entry

logger = logging.getLogger("gateway.dispatch")

#: ``lookup()``: the keys that exist, or a mapping of key to version.
Lookup = t.Callable[[], t.Iterable[t.Any] | Mapping[t.Any, t.Any]]


class Lifecycle:
    """Retiring, tearing down and refreshing instances (the base of
    :class:`~gateway.dispatch.registry.AppRegistry`).

    Needs from the class it is mixed into (declared below, set by
    ``AppRegistry.__init__``): the options, the clock, the tables of
    entries and records, the locks and the sweep's schedule.
    """

    name: str
    clock: t.Callable[[], float]
    on_evict: t.Callable[[t.Any, t.Any], None] | None
    lookup: Lookup | None
    idle_timeout: float
    refresh_interval: float
    drain_timeout: float
    _entries: dict[t.Any, Entry]
    _negative: dict[t.Any, float]
    _failed: dict[t.Any, float]
    _draining: set[Entry]
    _versions: dict[t.Any, t.Any] | None
    _polled: bool
    _lock: threading.Lock
    _sweep_lock: threading.Lock
    _sweep_every: float
    _next_sweep: float
    _next_refresh: float
    _counters: Counters

    def _retire(self, entry: Entry, now: float | None = None) -> None:
        entry.retired_at = self.clock() if now is None else now
        # In the set before it is marked: a request ending from here on may
        # tear it down, and the teardown takes it out of the set.
        self._draining.add(entry)
        entry.retired = True
        entry.guarded = True  # after retired (see AppRegistry.serve)
        next(self._counters.evictions)
        if not entry.active:
            self._finish(entry)

    def _finish(self, entry: Entry) -> None:
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
            victims: list[Entry] = []
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

    def _refresh(self) -> list[Entry]:
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
