"""The WSGI side of :mod:`.metrics`: time and count every request, and answer
``[metrics].path`` in the Prometheus text format.

The endpoint is answered before tenant resolution, like the health endpoint,
to the same clients (``[health].allow``); others get a 404 as if it did not
exist. A request is recorded when its response is closed (or at once for a
list body): tenant from ``environ["gateway.tenant"]``, mount from what
dispatch added to ``SCRIPT_NAME``.
"""

from __future__ import annotations

import typing as t
from time import perf_counter

from ..toml import HealthConfig, MetricsConfig
from .forwarded import TrustedNetworks
from .metrics import BATCH, FLUSH_AFTER, Recorder
from .multiprocess import shared_directory, sweep_dead
from .responses import respond

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def require_client() -> None:
    """Fail with the fix when prometheus_client is missing."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        from ..config import ConfigError

        raise ConfigError(
            "[metrics].enabled needs prometheus_client:"
            " pip install 'gateway[metrics]' (or set enabled = false)"
        ) from None


class _Measured:
    """A streamed response: recorded when the server closes it, with the
    status line its application gave by then."""

    __slots__ = ("_result", "_metrics", "_environ", "_start", "_status", "_sent")

    def __init__(
        self,
        result: t.Iterable[bytes],
        metrics: Metrics,
        environ: WSGIEnvironment,
        start: float,
        status: t.Callable[[], str | None],
    ) -> None:
        self._result = result
        self._metrics: Metrics | None = metrics
        self._environ = environ
        self._start = start
        self._status = status
        self._sent = 0

    def __iter__(self) -> t.Iterator[bytes]:
        for chunk in self._result:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        metrics = self._metrics
        if metrics is None:
            return
        self._metrics = None
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            metrics.record(self._environ, self._status(), self._sent, self._start)


class Metrics:
    """Record every request of ``app`` into ``recorder``; answer ``path``.

    :param allow: CIDRs of the clients that may scrape (``[health].allow``).
    """

    def __init__(
        self,
        app: WSGIApplication,
        recorder: Recorder,
        path: str = MetricsConfig.path,
        allow: t.Iterable[str] = HealthConfig.allow,
    ) -> None:
        self.app = app
        self.recorder = recorder
        self.path = path.rstrip("/") or "/"
        self.allow = TrustedNetworks(list(allow))
        # The recorder's, kept here: a request reads one attribute, not two.
        self.pending = recorder.pending
        self.shared = recorder.shared

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if environ.get("PATH_INFO") == self.path:
            return self.scrape(environ, start_response)
        start = perf_counter()
        status: str | None = None  # the status line, once given

        def record_status(
            line: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], object]:
            nonlocal status
            status = line
            return start_response(line, headers, exc_info)

        try:
            result = self.app(environ, record_status)
        except BaseException:
            self.record(environ, None, 0, start)
            raise
        if type(result) is not list:
            return _Measured(result, self, environ, start, lambda: status)
        # A list is sent whole: recorded now, by record() inlined (calling
        # it adds ~570 instructions a request, 5 % of what metrics add; see
        # benchmarks/metrics.py --instructions). A loop over the (usually
        # one) chunks costs half of sum(map(len, result)); environ.get()
        # called on the dict each time beats a local alias of it.
        sent = 0
        for chunk in result:
            sent += len(chunk)
        pending = self.pending
        end = perf_counter()
        pending.append(
            (
                (
                    environ.get("gateway.tenant"),
                    environ.get("SCRIPT_NAME", ""),
                    environ.get("gateway.root"),
                    environ.get("REQUEST_METHOD", ""),
                    status,
                ),
                environ.get("CONTENT_LENGTH"),
                sent,
                end - start,
            )
        )
        if len(pending) >= BATCH or (
            self.shared and end - self.recorder.last_fold >= FLUSH_AFTER
        ):
            self.recorder.fold()
        return result

    def record(
        self,
        environ: WSGIEnvironment,
        status: str | None,
        sent: int,
        start: float,
    ) -> None:
        """Record a finished request that started at ``start``."""
        pending = self.pending
        end = perf_counter()
        pending.append(
            (
                (
                    environ.get("gateway.tenant"),
                    environ.get("SCRIPT_NAME", ""),
                    environ.get("gateway.root"),
                    environ.get("REQUEST_METHOD", ""),
                    status,
                ),
                environ.get("CONTENT_LENGTH"),
                sent,
                end - start,
            )
        )
        if len(pending) >= BATCH or (
            self.shared and end - self.recorder.last_fold >= FLUSH_AFTER
        ):
            self.recorder.fold()

    def scrape(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        """The Prometheus text of every metric (404 outside ``allow``)."""
        if environ.get("REMOTE_ADDR") not in self.allow:
            return respond(environ, start_response, 404, "Not Found\n")
        return respond(
            environ,
            start_response,
            200,
            exposition(self.recorder),
            [("Cache-Control", "no-store")],
            CONTENT_TYPE,
        )

    def __repr__(self) -> str:
        return f"<Metrics {self.path!r} allow={self.allow!r}>"


class _Local:
    """A prometheus_client collector of one process's :class:`Recorder`."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def collect(self) -> t.Iterator[t.Any]:
        return self.recorder.families()


def exposition(recorder: Recorder) -> str:
    """What a scrape answers: this gateway's metrics (summed over every
    process in multiprocess mode) and this process's standard collectors."""
    from prometheus_client import (
        GC_COLLECTOR,
        PLATFORM_COLLECTOR,
        PROCESS_COLLECTOR,
        CollectorRegistry,
        generate_latest,
    )

    registry = CollectorRegistry(auto_describe=False)
    directory = shared_directory()
    if recorder.sink is not None and directory:
        from prometheus_client.multiprocess import MultiProcessCollector

        recorder.fold()
        recorder.sync()
        sweep_dead(directory)  # servers that do not report a worker's exit
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Local(recorder))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return generate_latest(registry).decode("utf-8")


def recorder_for(gateway: t.Any) -> Recorder:
    """A :class:`Recorder` over a Gateway's registry and mounts (shared when
    a multiprocess directory is set)."""
    require_client()

    def prefixes() -> frozenset[str]:
        return frozenset(m.wsgi_prefix for m in gateway.mounts)

    def mounts_in_flight() -> list[tuple[str, int]]:
        out = []
        for mount in gateway._served_mounts.values():  # what requests call
            active = getattr(mount.served, "active", None)
            if active is not None:
                out.append((mount.prefix, len(active)))
        return out

    recorder = Recorder(
        gateway.metrics.max_tenants,
        registry=gateway.registry,
        prefixes=prefixes,
        in_flight_mounts=mounts_in_flight,
        shared=bool(shared_directory()),
    )
    registry = gateway.registry
    if registry is not None:
        registry.factory = timed(registry.factory, recorder.observe_factory)
    return recorder


def timed(
    factory: t.Callable[[t.Any], t.Any], observe: t.Callable[[float], None]
) -> t.Callable[[t.Any], t.Any]:
    """``factory`` reporting how long each call took (raising or not)."""

    def timed_factory(key: t.Any) -> t.Any:
        start = perf_counter()
        try:
            return factory(key)
        finally:
            observe(perf_counter() - start)

    timed_factory.__wrapped__ = factory  # type: ignore[attr-defined]
    return timed_factory


def scrape_text(gateway: t.Any) -> str | None:
    """What ``gateway``'s metrics endpoint would answer now (summed over
    every process in multiprocess mode), or None without ``[metrics]``: for
    pages such as an admin's that show the figures themselves."""
    recorder = getattr(gateway, "_recorder", None)
    return exposition(recorder) if recorder is not None else None
