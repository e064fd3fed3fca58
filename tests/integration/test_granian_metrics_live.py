"""In-flight gauges of a granian worker that dies (issue 19): ``gateway serve
--adapter granian --workers 2`` with ``[metrics]`` on. A request is parked
in one worker, which a scrape shows in flight; the worker gets SIGKILL and
granian starts another. Granian has no hook that tells the gateway a worker
ended, so every scrape marks dead the processes of the multiprocess
directory that no longer run: once the new worker is up, no scrape,
whichever worker answers it, counts the dead worker's request in flight,
and the requests counted before stay counted.
"""

from __future__ import annotations

import os
import signal
import threading
import typing as t
from pathlib import Path

import pytest
from server_harness import (
    eventually,
    free_port,
    http_ready,
    http_request,
    require_module,
    scrape_metrics,
)
from site_deployments import BASE_DOMAIN, DIRECT_PROXY, gateway_serve, write_site
from test_worker_death import children

pytest.importorskip("prometheus_client")

from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

pytestmark = pytest.mark.integration

#: Requests counted before the kill.
N = 10
#: Scrapes after the respawn (each may reach either worker).
SCRAPES = 6


def in_flight_by_pid(directory: Path) -> dict[int, float]:
    """Requests in flight of tenant alpha per worker, read from each
    worker's gauge file (the sum a scrape shows, split by process)."""
    out: dict[int, float] = {}
    for path in directory.glob("gauge_livesum_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        try:
            families = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
        except FileNotFoundError:  # the process was marked dead meanwhile
            continue
        for family in families:
            for sample in family.samples:
                if (
                    sample.name == "gateway_tenant_requests_in_flight"
                    and sample.labels.get("tenant") == "alpha"
                ):
                    out[pid] = out.get(pid, 0) + sample.value
    return out


def test_a_killed_granian_worker_stops_counting_in_flight(server_dir: Path) -> None:
    require_module("granian")
    port = free_port()
    metrics = server_dir / "metrics"
    toml = write_site(
        server_dir, {"adapter": "granian", "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
    )
    with toml.open("a") as f:
        f.write(f'\n[metrics]\nenabled = true\ndirectory = "{metrics}"\n')
    process = gateway_serve(toml, server_dir, "granian", "--workers", "2")
    parked: list[BaseException] = []
    try:
        process.wait_ready(http_ready(port, host=f"{BASE_DOMAIN}:{port}"))
        assert eventually(lambda: len(children(process.pid)) == 2, timeout=20)
        workers = children(process.pid)
        host = f"alpha.{BASE_DOMAIN}:{port}"

        def scrape() -> dict[str, t.Any]:
            return scrape_metrics(port, f"{BASE_DOMAIN}:{port}")

        for _ in range(N):
            result = http_request(port, "/", host=host, headers={"Connection": "close"})
            assert result.status == 200, result.text[:300]
        # Written to the shared files within FLUSH_AFTER (before the kill,
        # which would lose what a worker has not written yet).
        assert eventually(lambda: scrape()["alpha"].requests == N, timeout=10)

        def park() -> None:
            try:
                http_request(port, "/slow?seconds=60", host=host, timeout=90)
            except BaseException as e:  # the worker dies under it: expected
                parked.append(e)

        client = threading.Thread(target=park, daemon=True)
        client.start()
        assert eventually(lambda: scrape()["alpha"].in_flight == 1, timeout=10), (
            process.logs()
        )
        busy = [pid for pid, n in in_flight_by_pid(metrics).items() if n == 1]
        assert len(busy) == 1 and busy[0] in workers, (busy, workers)
        victim = busy[0]

        os.kill(victim, signal.SIGKILL)
        assert eventually(
            lambda: (
                victim not in children(process.pid) and len(children(process.pid)) == 2
            ),
            timeout=20,
        ), process.logs()
        replacement = children(process.pid) - workers
        assert len(replacement) == 1, (workers, children(process.pid))
        result = http_request(port, "/", host=host, headers={"Connection": "close"})
        assert result.status == 200, result.text[:300]
        assert eventually(lambda: scrape()["alpha"].requests == N + 1, timeout=10)
        for _ in range(SCRAPES):
            alpha = scrape()["alpha"]
            assert alpha.in_flight == 0, process.logs()
            # N before, one more after the respawn; the killed request was
            # never answered, so it is not counted.
            assert alpha.requests == N + 1
        assert victim not in in_flight_by_pid(metrics)
        client.join(timeout=5)
    finally:
        process.stop()
