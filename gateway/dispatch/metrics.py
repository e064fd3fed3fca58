"""Per-tenant metrics: what a request is counted under, and the counts.

The request path (:mod:`.metrics_wsgi`) does as little as it can: it appends
one record per request to a list (a single C call, atomic under the GIL).
:meth:`Recorder.fold` turns the records into counts under a lock, when a
scrape reads them and every :data:`BATCH` records, so the label work and the
arithmetic are paid in bulk.

Across processes (``PROMETHEUS_MULTIPROC_DIR`` set, see :mod:`.multiprocess`)
the records are folded into prometheus_client's shared files, so a scrape
answered by any worker reports the sum over all of them, exactly, once the
last request is :data:`FLUSH_AFTER` old: a request folds at once when the
last fold is that old (a quiet worker writes each request as it ends), and
a busy worker's records wait for its flusher thread, which folds them
within :data:`FLUSH_AFTER`. Writing the shared files costs several times a
request's own work; folding per request halved the throughput of a busy
server. A worker writes what waits when it exits.

Cardinality is bounded whatever the traffic: a tenant gets series of its own
while it holds one of ``max_tenants`` slots, taken by the first live tenants
to be served; the others are counted under ``tenant="_other"``. In one
process a slot is freed (and the tenant's series removed) once the registry
no longer holds the tenant, so evicted tenants leave nothing behind. Methods
outside :data:`METHODS` count as ``"other"``, statuses by class (``"2xx"``),
and mounts by their declared prefix.

:data:`METRICS` names every metric once: the exporters, the docs page
(``docs/metrics.md``, :func:`reference`) and ``gateway config prometheus``
read it.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import typing as t
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import compress
from operator import sub

from .logsinks import finalize_in_this_process

#: Upper bounds (seconds) of the request and factory duration histograms:
#: prometheus_client's defaults.
BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
#: The tenant label of every tenant without a slot of its own.
OTHER = "_other"
#: Request methods counted under their own name; the others are "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Records folded in one go by the request that fills the batch (one process).
BATCH = 1024
#: Seconds between two copies of the registry's state into the shared files
#: (multiprocess mode; a single process reads it at scrape time).
SYNC_INTERVAL = 1.0
#: Multiprocess: the longest a record waits to be written to the shared
#: files (a request ending this long after the last write writes at once).
FLUSH_AFTER = 0.5

#: Where a request went: tenant key (None: no tenant), SCRIPT_NAME after
#: dispatch, the gateway's root SCRIPT_NAME (None: dispatch never ran),
#: method, status line (None: the application raised).
Route = tuple[str | None, str, str | None, str, str | None]
#: One request: its route, CONTENT_LENGTH as received, response bytes,
#: duration in seconds.
Record = tuple[Route, str | None, int, float]
#: Routes whose labels are remembered before the memory is cleared.
ROUTES = 4096


@dataclass(frozen=True)
class Metric:
    """One exported metric: its name (counters without ``_total``), kind,
    labels and meaning."""

    name: str
    kind: str  # "counter", "gauge" or "histogram"
    labels: tuple[str, ...]
    doc: str


#: Every metric the gateway exports, besides prometheus_client's process,
#: platform and garbage-collector collectors.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "gateway_requests",
            "counter",
            ("tenant", "mount", "method", "status"),
            "requests answered, by method and status class (2xx ... 5xx)",
        ),
        Metric(
            "gateway_request_duration_seconds",
            "histogram",
            ("tenant", "mount"),
            "from the call into the gateway to the response's close()",
        ),
        Metric(
            "gateway_request_bytes",
            "counter",
            ("tenant", "mount"),
            "request body bytes announced by Content-Length",
        ),
        Metric(
            "gateway_response_bytes",
            "counter",
            ("tenant", "mount"),
            "response body bytes sent",
        ),
        Metric(
            "gateway_tenant_requests_in_flight",
            "gauge",
            ("tenant",),
            "requests inside a tenant's application now (its registry count)",
        ),
        Metric(
            "gateway_mount_requests_in_flight",
            "gauge",
            ("mount",),
            "requests inside a mounted application now (mounts with a limit)",
        ),
        Metric(
            "gateway_registry_instances",
            "gauge",
            (),
            "live tenant applications",
        ),
        Metric(
            "gateway_registry_draining",
            "gauge",
            (),
            "retired tenant applications still finishing requests",
        ),
        Metric(
            "gateway_registry_negative_entries",
            "gauge",
            (),
            'keys remembered as "no such tenant" (negative cache)',
        ),
        Metric(
            "gateway_registry_negative_hits",
            "counter",
            (),
            'requests answered "no such tenant" from the negative cache',
        ),
        Metric(
            "gateway_registry_creations",
            "counter",
            (),
            "tenant applications built by the factory",
        ),
        Metric(
            "gateway_registry_evictions",
            "counter",
            (),
            "tenant applications retired (LRU, idle, reload, refresh)",
        ),
        Metric(
            "gateway_registry_factory_failures",
            "counter",
            (),
            "factory calls that raised (the tenant answers 503 meanwhile)",
        ),
        Metric(
            "gateway_registry_factory_timeouts",
            "counter",
            (),
            "creations abandoned at [tenants].factory_timeout (503)",
        ),
        Metric(
            "gateway_registry_busy",
            "counter",
            (),
            "requests answered 503 over a tenant's max_concurrent",
        ),
        Metric(
            "gateway_registry_factory_duration_seconds",
            "histogram",
            (),
            "time the tenant factory took",
        ),
    )
}

#: gateway_registry_* counters -> the AppRegistry.stats() key they report.
REGISTRY_COUNTERS: dict[str, str] = {
    "gateway_registry_creations": "creations",
    "gateway_registry_evictions": "evictions",
    "gateway_registry_factory_failures": "failures",
    "gateway_registry_factory_timeouts": "timeouts",
    "gateway_registry_busy": "busy",
    "gateway_registry_negative_hits": "negative_hits",
}
#: gateway_registry_* gauges -> the AppRegistry.stats() key they report.
REGISTRY_GAUGES: dict[str, str] = {
    "gateway_registry_instances": "live",
    "gateway_registry_draining": "draining",
    "gateway_registry_negative_entries": "negative",
}


def status_class(status: str | None) -> str:
    """``"404 Not Found"`` -> ``"4xx"``; no status (the application raised,
    the server answers 500) -> ``"5xx"``; anything malformed -> ``"other"``."""
    if status is None:
        return "5xx"
    first = status[:1]
    if first in ("1", "2", "3", "4", "5") and status[1:3].isdigit():
        return first + "xx"
    return "other"


def method_label(method: str) -> str:
    """The method label: the method itself if in :data:`METHODS`."""
    return method if method in METHODS else "other"


def content_length(value: str | None) -> int:
    """Request bytes from a CONTENT_LENGTH value (0 when absent or bad)."""
    if not value:
        return 0
    try:
        n = int(value)
    except ValueError:
        return 0
    return n if n > 0 else 0


def mount_label(script_name: str, root: str | None, prefixes: t.Container[str]) -> str:
    """The mount a request went to: the part of ``SCRIPT_NAME`` that dispatch
    added after ``root``, when it is a declared mount prefix; else ``""``."""
    if root is None or not script_name.startswith(root):
        return ""
    added = script_name[len(root) :]
    return added if added in prefixes else ""


class TenantLabels:
    """Which ``tenant`` label a tenant key is counted under.

    A key takes one of ``max_tenants`` slots the first time it is counted if
    one is free and ``exists(key)`` (a live tenant: unknown hosts never take
    one); without a slot it is :data:`OTHER`. No key is ``""``.
    """

    def __init__(
        self, max_tenants: int, exists: t.Callable[[str], bool] | None = None
    ) -> None:
        if isinstance(max_tenants, bool) or not isinstance(max_tenants, int):
            raise TypeError(f"max_tenants must be an integer, got {max_tenants!r}")
        if max_tenants < 1:
            raise ValueError(
                f"max_tenants must be at least 1, got {max_tenants}"
                " (set [metrics].max_tenants)"
            )
        self.max_tenants = max_tenants
        self.exists = exists
        self.named: set[str] = set()

    def label(self, key: str | None) -> str:
        """The label of ``key``, taking a free slot for it if it may."""
        if key is None:
            return ""
        named = self.named
        if key in named:
            return key
        if len(named) < self.max_tenants and (self.exists is None or self.exists(key)):
            named.add(key)
            return key
        return OTHER

    def peek(self, key: str) -> str:
        """The label ``key`` is counted under now, taking no slot."""
        return key if key in self.named else OTHER

    def release(self, live: t.Container[str]) -> set[str]:
        """Free the slots of keys not in ``live``; returns them."""
        gone = {key for key in self.named if key not in live}
        self.named -= gone
        return gone


class Histogram:
    """Counts per bucket of :data:`BUCKETS` (cumulated on export), and sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        """``[(le, count), ...]`` as Prometheus buckets, ``+Inf`` last."""
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


class Series:
    """The counts of one ``(tenant, mount)`` in this process."""

    __slots__ = ("requests", "duration", "bytes_in", "bytes_out")

    def __init__(self) -> None:
        #: (method, status) -> [count] (a list: the fold adds to it in place).
        self.requests: dict[tuple[str, str], list[int]] = {}
        self.duration = Histogram()
        self.bytes_in = 0
        self.bytes_out = 0


#: A route's labels, ``(tenant, mount)`` and ``(method, status)``, with the
#: Series and the request count they go to.
_Labelled = tuple[tuple[str, str], tuple[str, str], Series, list[int]]


class Recorder:
    """The records of one gateway, folded into counts.

    :param max_tenants: tenants with series of their own (see the module).
    :param registry: the tenants' :class:`~.registry.AppRegistry` (None: no
        tenants); its keys decide who takes and keeps a slot, its stats and
        in-flight counts are exported.
    :param prefixes: returns the mount prefixes, read at every fold (mounts
        may be added while serving).
    :param in_flight_mounts: returns ``(prefix, in_flight)`` of the mounts
        that count their requests.
    :param shared: fold every record at once into prometheus_client's
        multiprocess files (:class:`SharedSink`) instead of local counts.
    """

    def __init__(
        self,
        max_tenants: int,
        *,
        registry: t.Any = None,
        prefixes: t.Callable[[], t.Collection[str]] = frozenset,
        in_flight_mounts: t.Callable[[], t.Iterable[tuple[str, int]]] = tuple,
        shared: bool = False,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.labels = TenantLabels(
            max_tenants, registry.__contains__ if registry is not None else None
        )
        self.prefixes = prefixes
        self.in_flight_mounts = in_flight_mounts
        #: Records not folded yet: requests append to it (one C call, atomic
        #: under the GIL), a fold takes them from the front.
        self.pending: list[Record] = []
        #: Multiprocess: a request also folds when the last fold is
        #: FLUSH_AFTER old (``last_fold``, a perf_counter reading).
        self.shared = shared
        self.last_fold = -FLUSH_AFTER
        self._dirty: set[tuple[str, str]] = set()
        self._flusher = 0  # the pid whose flusher thread runs (multiprocess)
        self.series: dict[tuple[str, str], Series] = {}
        self.factory_duration = Histogram()
        self.sink: SharedSink | None = SharedSink() if shared else None
        # route -> (tenant, mount), (method, status), their Series and count:
        # worked out once per route (forgotten when a slot is freed).
        self._labels: dict[Route, _Labelled] = {}
        self.clock = clock
        self._next_sync = 0.0
        self._lock = threading.Lock()

    def fold(self) -> None:
        """Count every pending record (any thread; one at a time)."""
        self.last_fold = time.perf_counter()
        with self._lock:
            if self.sink is not None and self._flusher != os.getpid():
                self._start_flusher()
            pending = self.pending
            if not pending:
                return
            prefixes: t.Collection[str] | None = None
            known = self._labels
            sink = self.sink
            dirty = self._dirty
            # Taken by count, in two C calls (list appends stay atomic
            # around them): requests may append meanwhile.
            n = len(pending)
            records = pending[:n]
            del pending[:n]
            first = BUCKETS[0]
            for route, length, sent, took in records:
                labels = known.get(route)
                if labels is None:
                    if prefixes is None:
                        prefixes = self.prefixes()
                    labels = self._label(route, prefixes)
                where, what, counts, count = labels
                if sink is not None:
                    dirty.add(where)
                count[0] += 1
                duration = counts.duration  # its observe(), inlined
                # The requests under the first bound, those whose cost
                # matters, take one comparison: a bisect call costs a quarter
                # of a record's fold (~750 instructions).
                i = 0 if took <= first else bisect_left(BUCKETS, took)
                duration.counts[i] += 1
                duration.total += took
                if length:
                    counts.bytes_in += content_length(length)
                counts.bytes_out += sent
            if sink is not None:
                sink.write(self.series, self._dirty)
                self._dirty.clear()
            if sink is not None and self.clock() >= self._next_sync:
                self._next_sync = self.clock() + SYNC_INTERVAL
                self._sync(sink)

    def _start_flusher(self) -> None:
        """Multiprocess: a daemon thread of this process writes what is
        pending every :data:`FLUSH_AFTER` seconds, and the process writes it
        when it exits (lock held; a forked worker starts its own)."""
        self._flusher = os.getpid()
        atexit.register(self.fold)
        finalize_in_this_process(self.fold)

        def flush() -> None:
            while True:
                time.sleep(FLUSH_AFTER)
                if self.pending:
                    self.fold()

        threading.Thread(target=flush, name="gateway-metrics", daemon=True).start()

    def _label(self, route: Route, prefixes: t.Collection[str]) -> _Labelled:
        """The labels of a route and where its counts go, remembered (lock
        held)."""
        tenant, script, root, method, status = route
        where = (self.labels.label(tenant), mount_label(script, root, prefixes))
        what = (method_label(method), status_class(status))
        counts = self.series.get(where)
        if counts is None:
            counts = self.series[where] = Series()
        labels = (where, what, counts, counts.requests.setdefault(what, [0]))
        if len(self._labels) >= ROUTES:
            self._labels.clear()
        self._labels[route] = labels
        return labels

    def observe_factory(self, seconds: float) -> None:
        """One factory call took ``seconds``."""
        if self.sink is not None:
            self.sink.observe_factory(seconds)
        else:
            with self._lock:
                self.factory_duration.observe(seconds)

    def release(self) -> None:
        """One process: free the slots of tenants the registry dropped and
        remove their series (a scrape calls it)."""
        if self.registry is None or self.sink is not None:
            return
        with self._lock:
            gone = self.labels.release(set(self.registry.keys()))
            if gone:
                self._labels.clear()
            for where in [w for w in self.series if w[0] in gone]:
                del self.series[where]

    def _tenants_in_flight(self) -> dict[str, int]:
        """Requests in flight by tenant label (lock held: a live tenant may
        take a free slot)."""
        out: dict[str, int] = {}
        if self.registry is not None:
            for key, count in self.registry.in_flight().items():
                name = self.labels.label(key)
                out[name] = out.get(name, 0) + count
        return out

    def sync(self) -> None:
        """Copy the registry's state into the shared files now."""
        if self.sink is not None:
            with self._lock:
                self._sync(self.sink)

    def _sync(self, sink: SharedSink) -> None:
        stats = self.registry.stats() if self.registry is not None else None
        sink.sync(stats, self._tenants_in_flight(), dict(self.in_flight_mounts()))

    # -- export (one process) ----------------------------------------------

    def families(self) -> t.Iterator[t.Any]:
        """The metric families of this process's counts (prometheus_client
        ``*MetricFamily`` objects), after folding what is pending."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        self.release()
        self.fold()
        made: dict[str, t.Any] = {}
        for m in METRICS.values():
            family = {
                "counter": CounterMetricFamily,
                "gauge": GaugeMetricFamily,
                "histogram": HistogramMetricFamily,
            }[m.kind]
            made[m.name] = family(m.name, m.doc, labels=m.labels)
        with self._lock:
            for (tenant, mount), counts in self.series.items():
                for (method, status), (n,) in counts.requests.items():
                    made["gateway_requests"].add_metric(
                        [tenant, mount, method, status], n
                    )
                made["gateway_request_duration_seconds"].add_metric(
                    [tenant, mount],
                    counts.duration.cumulative(),
                    counts.duration.total,
                )
                made["gateway_request_bytes"].add_metric(
                    [tenant, mount], counts.bytes_in
                )
                made["gateway_response_bytes"].add_metric(
                    [tenant, mount], counts.bytes_out
                )
            factory = self.factory_duration
            factory_buckets, factory_sum = factory.cumulative(), factory.total
            in_flight = self._tenants_in_flight()
        for tenant, n in in_flight.items():
            made["gateway_tenant_requests_in_flight"].add_metric([tenant], n)
        for mount, n in self.in_flight_mounts():
            made["gateway_mount_requests_in_flight"].add_metric([mount], n)
        if self.registry is not None:
            stats = self.registry.stats()
            for name, stat in {**REGISTRY_COUNTERS, **REGISTRY_GAUGES}.items():
                made[name].add_metric([], stats[stat])
            made["gateway_registry_factory_duration_seconds"].add_metric(
                [], factory_buckets, factory_sum
            )
        yield from made.values()


class SharedSink:
    """Counts written through prometheus_client's metric objects, which in
    multiprocess mode live in one file per process that every scrape sums.
    prometheus_client must have been imported with ``PROMETHEUS_MULTIPROC_DIR``
    set (:mod:`.multiprocess` does it)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, metrics

        def make(name: str) -> metrics.MetricWrapperBase:
            m = METRICS[name]
            registry = None  # exported by MultiProcessCollector, not a registry
            if m.kind == "counter":
                return Counter(name, m.doc, m.labels, registry=registry)
            if m.kind == "histogram":
                return Histogram(
                    name, m.doc, m.labels, registry=registry, buckets=BUCKETS
                )
            return Gauge(
                name, m.doc, m.labels, registry=registry, multiprocess_mode="livesum"
            )

        self.metrics = {name: make(name) for name in METRICS}
        self._children: dict[tuple[str, t.Any], t.Any] = {}
        self._written: dict[tuple[str, str], Series] = {}
        self._seen_stats: dict[str, int] = {}
        self._in_flight: dict[tuple[str, str], int] = {}

    def _child(self, name: str, labels: tuple[str, ...]) -> t.Any:
        key = (name, labels)
        child = self._children.get(key)
        if child is None:
            metric = self.metrics[name]
            child = self._children[key] = metric.labels(*labels) if labels else metric
        return child

    def write(
        self, series: dict[tuple[str, str], Series], dirty: t.Iterable[tuple[str, str]]
    ) -> None:
        """Add to the files what the ``dirty`` series gained since the last
        write: one write per changed value, however many requests."""
        written = self._written
        for where in dirty:
            now = series[where]
            last = written.get(where)
            if last is None:
                last = written[where] = Series()
            for what, (n,) in now.requests.items():
                seen = last.requests.setdefault(what, [0])
                if n > seen[0]:
                    self._child("gateway_requests", where + what).inc(n - seen[0])
                    seen[0] = n
            child = self._child("gateway_request_duration_seconds", where)
            # prometheus_client's Histogram child keeps its sum and one value
            # per bucket (not cumulative, as Histogram.counts); observe()
            # takes one value at a time, so the batch is added to them.
            grew = now.duration.total - last.duration.total
            if grew:
                child._sum.inc(grew)
                last.duration.total = now.duration.total
            # The buckets that grew, found in C: a write usually follows one
            # request, which changed one bucket of sixteen.
            grown = list(map(sub, now.duration.counts, last.duration.counts))
            for i in compress(range(len(grown)), grown):
                child._buckets[i].inc(grown[i])
            last.duration.counts[:] = now.duration.counts
            for name, attr in (
                ("gateway_request_bytes", "bytes_in"),
                ("gateway_response_bytes", "bytes_out"),
            ):
                grew_bytes = getattr(now, attr) - getattr(last, attr)
                if grew_bytes > 0:
                    self._child(name, where).inc(grew_bytes)
                    setattr(last, attr, getattr(now, attr))

    def observe_factory(self, seconds: float) -> None:
        self._child("gateway_registry_factory_duration_seconds", ()).observe(seconds)

    def sync(
        self,
        stats: dict[str, int] | None,
        tenants: dict[str, int],
        mounts: dict[str, int],
    ) -> None:
        """Write this process's registry state: counters by their increase
        since the last sync, gauges as they are."""
        if stats is not None:
            for name, stat in REGISTRY_COUNTERS.items():
                grown = stats[stat] - self._seen_stats.get(stat, 0)
                if grown > 0:
                    self._child(name, ()).inc(grown)
                self._seen_stats[stat] = stats[stat]
            for name, stat in REGISTRY_GAUGES.items():
                self._child(name, ()).set(stats[stat])
        for name, now in (
            ("gateway_tenant_requests_in_flight", tenants),
            ("gateway_mount_requests_in_flight", mounts),
        ):
            for label in {k for (n, k) in self._in_flight if n == name} | set(now):
                value = now.get(label, 0)
                if self._in_flight.get((name, label), 0) != value:
                    self._child(name, (label,)).set(value)
                    self._in_flight[(name, label)] = value


#: The markers of the generated table in docs/metrics.md.
BEGIN = (
    "<!-- metrics: generated from gateway/dispatch/metrics.py by"
    " `python -m gateway.dispatch.metrics docs/metrics.md`; do not edit -->"
)
END = "<!-- end of metrics -->"


def reference() -> str:
    """The Markdown table of every metric (docs/metrics.md embeds it)."""
    lines = ["| metric | type | labels | what it counts |", "|---|---|---|---|"]
    for m in METRICS.values():
        name = m.name + ("_total" if m.kind == "counter" else "")
        labels = ", ".join(f"`{label}`" for label in m.labels) or "-"
        lines.append(f"| `{name}` | {m.kind} | {labels} | {m.doc} |")
    return "\n".join(lines) + "\n"


def rewrite(path: str) -> None:
    """Replace the table between :data:`BEGIN` and :data:`END` in ``path``."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end == -1:
        raise SystemExit(f"{path}: no {BEGIN!r} ... {END!r} block to rewrite")
    text = text[:start] + BEGIN + "\n" + reference() + text[end:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":  # pragma: no cover
    import sys

    rewrite(sys.argv[1])


@dataclass
class TenantTotals:
    """One tenant's totals in a scrape (every mount and method together)."""

    requests: float = 0
    errors: float = 0  # status 5xx
    in_flight: float = 0
    #: Cumulative duration buckets: upper bound -> requests at most that long.
    buckets: dict[float, float] = field(default_factory=dict)


def tenant_totals(text: str) -> dict[str, TenantTotals]:
    """Per-tenant totals from the Prometheus text of a scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, TenantTotals] = {}

    def of(labels: dict[str, str]) -> TenantTotals:
        tenant = labels.get("tenant", "")
        totals = out.get(tenant)
        if totals is None:
            totals = out[tenant] = TenantTotals()
        return totals

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "gateway_requests_total":
                totals = of(labels)
                totals.requests += value
                if labels.get("status") == "5xx":
                    totals.errors += value
            elif name == "gateway_request_duration_seconds_bucket":
                buckets = of(labels).buckets
                bound = float(labels["le"])
                buckets[bound] = buckets.get(bound, 0) + value
            elif name == "gateway_tenant_requests_in_flight":
                of(labels).in_flight += value
    return out
