"""What this process last learned from the store about every tenant's version.

``[tenants].lookup`` (:func:`hosting.factory.tenant_versions`) is polled by
the gateway every ``refresh_interval`` seconds; the registry uses the keys to
evict removed tenants, and the poll also records the ``(row id, version)`` of
every tenant here. A tenant instance compares the version it was built from
with the latest record (:func:`is_stale`) and, once a newer poll shows a
different one, retires itself from the registry so that its next request
gets an instance built from the new row. So an edit made through any process
reaches every process within one poll, without a restart or shared memory.
"""

from __future__ import annotations

import threading
import time
import typing as t

Version = tuple[int, int]

_seen: dict[str, tuple[float, dict[str, Version]]] = {}
_lock = threading.Lock()


def record(store_url: str, versions: t.Mapping[str, Version]) -> None:
    """Remember a poll's result for the store at ``store_url``."""
    with _lock:
        _seen[store_url] = (time.monotonic(), dict(versions))


def is_stale(store_url: str, slug: str, built_from: Version, built_at: float) -> bool:
    """Whether a poll made after ``built_at`` (monotonic seconds) saw tenant
    ``slug`` at another ``(id, version)`` than the one the instance was built
    from. A tenant missing from the poll is not "stale": the registry evicts
    removed tenants itself."""
    taken, versions = _seen.get(store_url, (0.0, {}))
    if taken <= built_at:
        return False
    current = versions.get(slug)
    return current is not None and current != built_from
