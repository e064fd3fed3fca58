"""The noisy neighbour (issue 18, point 8), measured on real servers.

One tenant (``alpha``) gets ``--slow-count`` concurrent requests to a page
that sleeps ``--slow`` seconds (``time.sleep``: under gevent the adapter
monkey-patches it, so it yields as a real slow page waiting on I/O would);
while they are in flight, another tenant (``beta``) and the bare domain
each get ``--quick-count`` requests to a quick page from a few client
threads. Printed per server: the quick requests' success rate and latency
percentiles, and what became of the slow tenant's requests (200s, fast
503s with Retry-After, anything else, no answer). The issue's target: the
other tenant's success >= 99 %, p99 < 500 ms, and every slow request
answered.

The servers are the integration tests' site (tests/integration/site) under
``gateway serve``, started as the integration tests start them, on
127.0.0.1 with free ports, and stopped by process group afterwards.

Run: ``.venv/bin/python benchmarks/neighbour.py [--slow 5] [--unlimited]
[SERVER ...]`` (servers: gunicorn, gevent, uwsgi, gunicorn+nginx,
uwsgi+nginx;
``--unlimited`` sets ``[tenants].max_concurrent = 0``, the behaviour before
the limit). tests/integration/test_noisy_neighbour.py runs the same
measurement with a 2 s slow page and asserts the target.
"""

from __future__ import annotations

import argparse
import http.client
import math
import shutil
import sys
import tempfile
import threading
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _where in (ROOT / "tests", ROOT / "tests" / "integration"):
    if str(_where) not in sys.path:
        sys.path.insert(0, str(_where))

#: Client threads sending the quick requests, per host.
QUICK_CLIENTS = 4
#: Seconds a quick request may take before it counts as failed.
QUICK_TIMEOUT = 5.0
#: The issue's target for the other tenant.
TARGET_SUCCESS = 0.99
TARGET_P99 = 0.5


@dataclass
class Outcome:
    """One request: its status (0: no answer), seconds, Retry-After."""

    status: int
    seconds: float
    retry_after: str | None = None
    error: str = ""


@dataclass
class Figures:
    """What one run measured."""

    server: str
    slow_seconds: float
    slow: list[Outcome] = field(default_factory=list)
    quick: dict[str, list[Outcome]] = field(default_factory=dict)
    #: Seconds from the first slow request to the end of the quick phase.
    quick_done_at: float = 0.0

    def success(self, host: str) -> float:
        outcomes = self.quick[host]
        return sum(o.status == 200 for o in outcomes) / len(outcomes)

    def percentile(self, host: str, p: float) -> float:
        """Latency percentile of every quick request to ``host`` (a failed
        one counts with the time it took to fail)."""
        values = sorted(o.seconds for o in self.quick[host])
        rank = max(0, math.ceil(p / 100 * len(values)) - 1)
        return values[rank]

    def slow_counts(self) -> dict[str, int]:
        busy = [o for o in self.slow if o.status == 503]
        return {
            "200": sum(o.status == 200 for o in self.slow),
            "503": len(busy),
            "503 with Retry-After": sum(o.retry_after is not None for o in busy),
            "other": sum(o.status not in (0, 200, 503) for o in self.slow),
            "no answer": sum(o.status == 0 for o in self.slow),
        }

    def slowest_busy(self) -> float:
        """Seconds the slowest 503 took (0 without any)."""
        return max((o.seconds for o in self.slow if o.status == 503), default=0.0)

    def meets_target(self, host: str) -> bool:
        return (
            self.success(host) >= TARGET_SUCCESS
            and self.percentile(host, 99) < TARGET_P99
        )

    def report(self) -> str:
        lines = [f"{self.server} (slow page {self.slow_seconds:g} s):"]
        for host in self.quick:
            ok = "meets" if self.meets_target(host) else "MISSES"
            lines.append(
                f"  {host:<22} {len(self.quick[host])} quick requests:"
                f" success {self.success(host):.1%},"
                f" p50 {self.percentile(host, 50) * 1000:.0f} ms,"
                f" p99 {self.percentile(host, 99) * 1000:.0f} ms,"
                f" max {self.percentile(host, 100) * 1000:.0f} ms ({ok} the target)"
            )
        counts = ", ".join(f"{k}: {v}" for k, v in self.slow_counts().items())
        lines.append(
            f"  slow tenant, {len(self.slow)} requests: {counts};"
            f" slowest 503 {self.slowest_busy() * 1000:.0f} ms"
        )
        lines.append(
            f"  quick phase over {self.quick_done_at:.2f} s after the slow"
            " requests started"
        )
        return "\n".join(lines)


def request(
    port: int, host: str, path: str, timeout: float, address: str = "127.0.0.1"
) -> Outcome:
    """One GET on a fresh connection, timed; never raises."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host, "Connection": "close"})
        response = connection.getresponse()
        response.read()
        return Outcome(
            response.status,
            time.monotonic() - started,
            response.getheader("Retry-After"),
        )
    except (OSError, http.client.HTTPException) as e:
        return Outcome(0, time.monotonic() - started, None, f"{type(e).__name__}: {e}")
    finally:
        connection.close()


def measure(
    server: str,
    port: int,
    slow_host: str,
    quick_hosts: t.Sequence[str],
    *,
    prefix: str = "",
    slow_seconds: float = 5.0,
    slow_count: int = 40,
    quick_count: int = 200,
) -> Figures:
    """Send the slow requests, then, while they are in flight, the quick
    ones; wait for all of them (each with a deadline) and return the
    figures."""
    figures = Figures(server, slow_seconds)
    slow_path = f"{prefix}/slow?seconds={slow_seconds:g}"
    slow_timeout = slow_seconds + 30.0
    lock = threading.Lock()

    def slow_one() -> None:
        outcome = request(port, slow_host, slow_path, slow_timeout)
        with lock:
            figures.slow.append(outcome)

    slow_threads = [threading.Thread(target=slow_one) for _ in range(slow_count)]
    started = time.monotonic()
    for thread in slow_threads:
        thread.start()
    # Let the slow requests take their places before the quick ones come.
    time.sleep(min(0.5, slow_seconds / 4))

    def quick_client(host: str, count: int) -> None:
        for _ in range(count):
            outcome = request(port, host, f"{prefix}/", QUICK_TIMEOUT)
            with lock:
                figures.quick[host].append(outcome)

    quick_threads = []
    for host in quick_hosts:
        figures.quick[host] = []
        share, extra = divmod(quick_count, QUICK_CLIENTS)
        for index in range(QUICK_CLIENTS):
            count = share + (1 if index < extra else 0)
            quick_threads.append(
                threading.Thread(target=quick_client, args=(host, count))
            )
    for thread in quick_threads:
        thread.start()
    for thread in quick_threads:
        thread.join(quick_count * QUICK_TIMEOUT + 10)
    figures.quick_done_at = time.monotonic() - started
    for thread in slow_threads:
        thread.join(slow_timeout + 10)
    return figures


# -- the servers ---------------------------------------------------------------------

#: Server name -> (adapter, extra ``gateway serve`` arguments, Python module
#: or program it needs, behind the generated nginx).
SERVERS: dict[str, tuple[str, tuple[str, ...], str, bool]] = {
    "gunicorn": ("gunicorn", ("--workers", "2", "--threads", "4"), "gunicorn", False),
    "gevent": ("gevent", ("--threads", "4"), "gevent", False),
    "uwsgi": ("uwsgi", ("--http", "--workers", "2", "--threads", "4"), "uwsgi", False),
    "gunicorn+nginx": (
        "gunicorn",
        ("--workers", "2", "--threads", "4"),
        "gunicorn",
        True,
    ),
    "uwsgi+nginx": ("uwsgi", ("--workers", "2", "--threads", "4"), "uwsgi", True),
}


def run_server(
    name: str,
    workdir: Path,
    *,
    slow_seconds: float,
    unlimited: bool = False,
    slow_count: int = 40,
    quick_count: int = 200,
) -> Figures:
    """Start ``name`` on the integration site in ``workdir``, measure, stop."""
    from server_harness import (
        free_port,
        http_ready,
        require_module,
        require_program,
        tcp_ready,
        unix_ready,
    )
    from site_deployments import (
        BASE_DOMAIN,
        DIRECT_PROXY,
        gateway_serve,
        start_nginx,
        write_site,
    )

    adapter, args, needs, behind_nginx = SERVERS[name]
    if needs == "uwsgi":
        require_program("uwsgi")
    else:
        require_module(needs)
    backend = free_port()
    server_table = {"adapter": adapter, "bind": f"127.0.0.1:{backend}"}
    socket = workdir / f"{adapter}.sock"
    if behind_nginx and adapter == "uwsgi":  # uwsgi_pass to a unix socket
        server_table["socket"] = str(socket)
    toml = write_site(workdir, server_table, DIRECT_PROXY)
    if unlimited:
        text = toml.read_text().replace(
            "[tenants]\n", "[tenants]\nmax_concurrent = 0\n"
        )
        toml.write_text(text)
    processes = []
    try:
        server = gateway_serve(toml, workdir, adapter, *args)
        processes.append(server)
        port = backend
        if behind_nginx:
            server.wait_ready(
                unix_ready(socket)
                if "socket" in server_table
                else tcp_ready("127.0.0.1", backend)
            )
            port = free_port()
            nginx = start_nginx(toml, workdir, port)
            processes.append(nginx)
            nginx.wait_ready(http_ready(port, host=f"{BASE_DOMAIN}:{port}"))
        else:
            server.wait_ready(http_ready(port, host=f"{BASE_DOMAIN}:{port}"))
        return measure(
            name + (" (unlimited)" if unlimited else ""),
            port,
            f"alpha.{BASE_DOMAIN}:{port}",
            [f"beta.{BASE_DOMAIN}:{port}", f"{BASE_DOMAIN}:{port}"],
            slow_seconds=slow_seconds,
            slow_count=slow_count,
            quick_count=quick_count,
        )
    finally:
        for process in reversed(processes):
            process.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("servers", nargs="*", choices=[*SERVERS, []], default=[])
    parser.add_argument("--slow", type=float, default=5.0, help="seconds")
    parser.add_argument("--slow-count", type=int, default=40)
    parser.add_argument("--quick-count", type=int, default=200)
    parser.add_argument("--unlimited", action="store_true")
    options = parser.parse_args(argv)
    missed = 0
    for name in options.servers or list(SERVERS):
        workdir = Path(tempfile.mkdtemp(prefix="gateway-neighbour-"))
        workdir.chmod(0o755)
        try:
            figures = run_server(
                name,
                workdir,
                slow_seconds=options.slow,
                unlimited=options.unlimited,
                slow_count=options.slow_count,
                quick_count=options.quick_count,
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        print(figures.report(), flush=True)
        missed += not all(figures.meets_target(h) for h in figures.quick)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
