"""The admin's traffic page: per tenant, over the last minutes, requests a
second, p95 latency, error rate and requests in flight, with a small chart.

The figures come from the gateway's metrics (``[metrics]`` in gateway.toml),
which under ``gateway serve`` with several workers are already summed over
every worker process, so whichever worker renders the page shows the same
traffic. Each process samples them every ``MULTITENANT_TRAFFIC_SAMPLE``
seconds (default 5) in a daemon thread started by the first view, and keeps
the last :data:`WINDOW` seconds; the table is the difference between the
newest sample and the one :data:`RECENT` seconds older.

The pure parts (rates, quantile, the SVG) are tested with plain tables in
tests/examples/test_site_traffic.py.
"""

from __future__ import annotations

import math
import os
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass, field

from markupsafe import Markup, escape

SAMPLE_ENV = "MULTITENANT_TRAFFIC_SAMPLE"
#: Seconds of history kept (and charted).
WINDOW = 600.0
#: Seconds the table's figures are computed over.
RECENT = 60.0


@dataclass
class Totals:
    """One tenant's counts in one sample (from the gateway's metrics)."""

    requests: float = 0
    errors: float = 0
    in_flight: float = 0
    buckets: dict[float, float] = field(default_factory=dict)


Sample = tuple[float, dict[str, Totals]]


@dataclass
class Row:
    """One tenant's line of the table."""

    tenant: str
    rate: float  # requests a second
    p95: float | None  # seconds; None without requests
    error_rate: float | None  # 0..1; None without requests
    in_flight: float
    series: list[float]  # requests a second, sample after sample


def quantile(
    q: float, older: dict[float, float], newer: dict[float, float]
) -> float | None:
    """The ``q`` quantile (0..1) of the requests between two samples of a
    cumulative histogram (upper bound -> count), interpolated within the
    bucket as Prometheus's ``histogram_quantile`` does; None without any."""
    bounds = sorted(newer)
    counts = [newer[b] - older.get(b, 0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the largest finite bucket
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0)
        lower, below = bound, count
    return lower


def rows(samples: t.Sequence[Sample], recent: float = RECENT) -> list[Row]:
    """The table from the samples (oldest first): busiest tenant first."""
    if len(samples) < 2:
        return []
    newest_time, newest = samples[-1]
    base_time, base = samples[0]
    for when, totals in samples:
        if when >= newest_time - recent:
            base_time, base = when, totals
            break
    if base_time == newest_time:
        base_time, base = samples[-2]
    span = newest_time - base_time
    out = []
    for tenant, now in newest.items():
        before = base.get(tenant, Totals())
        done = now.requests - before.requests
        series = []
        for (t0, a), (t1, b) in zip(samples, samples[1:], strict=False):
            grew = b.get(tenant, Totals()).requests - a.get(tenant, Totals()).requests
            series.append(max(grew, 0) / (t1 - t0) if t1 > t0 else 0.0)
        out.append(
            Row(
                tenant=tenant,
                rate=max(done, 0) / span if span > 0 else 0.0,
                p95=quantile(0.95, before.buckets, now.buckets),
                error_rate=(now.errors - before.errors) / done if done > 0 else None,
                in_flight=now.in_flight,
                series=series,
            )
        )
    out.sort(key=lambda r: (-r.rate, -sum(r.series), r.tenant))
    return out


def sparkline(values: t.Sequence[float], width: int = 180, height: int = 36) -> Markup:
    """A small SVG chart of ``values`` (an area under a line), scaled to its
    own maximum; a flat line for no traffic."""
    top = max(values, default=0) or 1.0
    n = len(values)
    if n == 0:
        points = [(0.0, float(height - 1)), (float(width), float(height - 1))]
    else:
        step = width / max(n - 1, 1)
        points = [
            (i * step, (height - 2) - (v / top) * (height - 4) + 1)
            for i, v in enumerate(values)
        ]
        if n == 1:
            points.append((float(width), points[0][1]))
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    area = f"0,{height} {line} {width},{height}"
    label = escape(f"peak {max(values, default=0):.2f} requests/s")
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<polygon points="{area}" fill="rgba(99,102,241,.15)"/>'
        f'<polyline points="{line}" fill="none" stroke="#6366f1" stroke-width="1.5"/>'
        "</svg>"
    )


def totals_of(text: str) -> dict[str, Totals]:
    """A sample from the Prometheus text of the gateway's metrics."""
    from gateway.dispatch.metrics import tenant_totals

    return {
        tenant: Totals(x.requests, x.errors, x.in_flight, dict(x.buckets))
        for tenant, x in tenant_totals(text).items()
        if tenant  # requests outside any tenant are not a tenant's
    }


class Sampler:
    """Samples ``read()`` every ``interval`` seconds in a daemon thread and
    keeps :data:`WINDOW` seconds of samples."""

    def __init__(self, read: t.Callable[[], str | None], interval: float) -> None:
        self.read = read
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=max(2, int(WINDOW / interval) + 1))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        text = self.read()
        if text is not None:
            with self._lock:
                self.samples.append((time.monotonic(), totals_of(text)))

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="traffic-sampler", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a bad scrape must not end the sampling
                pass
            time.sleep(self.interval)

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)


_samplers: dict[tuple[int, int], Sampler] = {}


def sample_interval(value: str) -> float:
    """``MULTITENANT_TRAFFIC_SAMPLE``: seconds > 0 (default 5)."""
    if not value:
        return 5.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < math.inf:
        raise ValueError(
            f"{SAMPLE_ENV}={value!r}: give a number of seconds > 0, e.g. 5"
        )
    return seconds


def sampler_for(gateway: t.Any) -> Sampler | None:
    """This process's sampler of ``gateway`` (started on first use), or None
    when the gateway has no metrics."""
    from gateway.dispatch.metrics_wsgi import scrape_text

    if gateway is None or scrape_text(gateway) is None:
        return None
    key = (os.getpid(), id(gateway))  # a forked worker starts its own
    sampler = _samplers.get(key)
    if sampler is None:
        interval = sample_interval(os.environ.get(SAMPLE_ENV, ""))
        sampler = _samplers.setdefault(
            key, Sampler(lambda: scrape_text(gateway), interval)
        )
        sampler.sample()  # the page has a first point at once
        sampler.start()
    return sampler
