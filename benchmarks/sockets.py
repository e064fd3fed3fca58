"""Requests per second over real sockets on 127.0.0.1, measured with wrk.

Two workloads, each served by what a user would pick instead and by gateway,
every server with 2 worker processes of 4 threads where it has them:

- hello: one route answering "Hello, World!";
- 50 tenants: requests spread over 50 hosts (a wrk script rotates the Host
  header), each host its own application: Flask apps behind a host map in
  the style of Werkzeug's DispatcherMiddleware (the documented Flask
  pattern), and gateway's host dispatch creating ``gateway.App`` tenants
  from a factory.

An empty WSGI callable on Granian (three lines, no framework) is measured
too: what any application served by Granian can reach on this machine, the
ceiling of the "gateway on Granian vs gunicorn + Flask" row.

Each round starts every server in turn (the order reversed every other
round), loads it with wrk after a one-second warm-up, and stops it; the
medians of the rounds are compared. wrk runs one thread (-t1) with 50
connections: on a 2-core machine a second wrk thread competes with the
server for the same cores and makes rounds swing more.

Run: ``python benchmarks/sockets.py [--seconds 5] [--rounds 3]``. Needs wrk
(``apt-get install wrk``) and the ``servers`` and ``bench`` extras.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import Table  # noqa: E402

TENANTS = 50
WORKERS, THREADS = 2, 4
WRK = ["wrk", "-t1", "-c50"]

FILES = {
    "flask_app.py": """
        import flask
        app = flask.Flask(__name__)

        @app.route("/")
        def hello():
            return "Hello, World!"
    """,
    "bare_app.py": """
        def app(environ, start_response):
            start_response(
                "200 OK",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")],
            )
            return [b"Hello, World!"]
    """,
    "gateway_app.py": """
        import gateway
        app = gateway.App(__name__)

        @app.route("/")
        def hello():
            return "Hello, World!"
    """,
    "flask_tenants.py": f"""
        import flask
        from werkzeug.exceptions import NotFound


        def make(name):
            app = flask.Flask(name)

            @app.route("/")
            def hello():
                return "Hello from " + name

            return app


        class HostMap:
            # DispatcherMiddleware's idea keyed by host: an exact-host dict.
            def __init__(self, apps):
                self.apps = apps

            def __call__(self, environ, start_response):
                host = environ.get("HTTP_HOST", "").partition(":")[0]
                app = self.apps.get(host) or NotFound()
                return app(environ, start_response)


        app = HostMap({{f"t{{i}}.bench.test": make(f"t{{i}}") for i in range({TENANTS})}})
    """,
    "gateway_tenants.py": """
        import gateway


        def create_tenant(key):
            app = gateway.App(key)

            @app.route("/")
            def hello():
                return "Hello from " + key

            return app
    """,
    "hello.toml": f"""
        [gateway]
        name = "bench"
        default_app = "gateway_app:app"
        trusted_hosts = ["127.0.0.1"]

        [server]
        workers = {WORKERS}
        threads = {THREADS}
    """,
    "tenants.toml": f"""
        [gateway]
        name = "bench"
        base_domain = "bench.test"
        default_app = "gateway_app:app"

        [tenants]
        factory = "gateway_tenants:create_tenant"

        [server]
        workers = {WORKERS}
        threads = {THREADS}
    """,
    "tenants.lua": f"""
        -- wrk may send its static request once per connection: give it a tenant.
        wrk.headers["Host"] = "t1.bench.test"
        local i = 0
        request = function()
          i = (i + 1) % {TENANTS}  -- t0 ... t{TENANTS - 1}
          return wrk.format("GET", "/", {{["Host"] = "t" .. i .. ".bench.test"}})
        end
    """,
    "stock_gevent.py": """
        from gevent import monkey
        monkey.patch_all()
        import sys
        from gevent.pywsgi import WSGIServer
        from gateway_app import app
        WSGIServer(("127.0.0.1", int(sys.argv[1])), app).serve_forever()
    """,
}

Argv = t.Callable[[int], list[str]]


def gunicorn(module: str, worker: str = "gthread") -> Argv:
    def argv(port: int) -> list[str]:
        threads = ["--threads", str(THREADS)] if worker == "gthread" else []
        return [
            *(sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-k", worker),
            *threads,
            *("-b", f"127.0.0.1:{port}", "--no-control-socket", f"{module}:app"),
        ]

    return argv


def granian(module: str) -> Argv:
    def argv(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "granian", "--interface", "wsgi"),
            # Granian's default backpressure, as gateway's adapter keeps it
            # (gateway/adapters/granian.py): tied to the threads it held
            # Granian + Flask to 8,400 req/s against 11,300 with the default.
            *("--workers", str(WORKERS), "--blocking-threads", str(THREADS)),
            *("--no-ws", "--log-level", "warning"),
            *("--host", "127.0.0.1", "--port", str(port), f"{module}:app"),
        ]

    return argv


def gateway_serve(toml: str, adapter: str) -> Argv:
    def argv(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "gateway", "serve", toml, "--adapter", adapter),
            *("--bind", f"127.0.0.1:{port}"),
        ]

    return argv


#: name -> (argv, workload: "hello" or "tenants")
SERVERS: dict[str, tuple[Argv, str]] = {
    "gunicorn sync + Flask": (gunicorn("flask_app", "sync"), "hello"),
    "gunicorn sync + gateway.App": (gunicorn("gateway_app", "sync"), "hello"),
    "gunicorn gthread + Flask": (gunicorn("flask_app"), "hello"),
    "gunicorn gthread + gateway.App": (gunicorn("gateway_app"), "hello"),
    "stock gevent pywsgi + gateway.App": (
        lambda p: [sys.executable, "stock_gevent.py", str(p)],
        "hello",
    ),
    "Granian + Flask": (granian("flask_app"), "hello"),
    "Granian + an empty WSGI callable": (granian("bare_app"), "hello"),
    "gateway on Granian": (gateway_serve("hello.toml", "granian"), "hello"),
    "gateway on its gevent adapter": (gateway_serve("hello.toml", "gevent"), "hello"),
    "Granian + Flask tenants (host map)": (granian("flask_tenants"), "tenants"),
    "gateway tenants on Granian": (gateway_serve("tenants.toml", "granian"), "tenants"),
    "gateway tenants on gevent adapter": (
        gateway_serve("tenants.toml", "gevent"),
        "tenants",
    ),
}

#: (what, anchor server, gateway server, target)
ROWS = [
    (
        "hello, gunicorn sync",
        "gunicorn sync + Flask",
        "gunicorn sync + gateway.App",
        ">= 1.15",
    ),
    (
        "hello, gunicorn gthread",
        "gunicorn gthread + Flask",
        "gunicorn gthread + gateway.App",
        ">= 1.15",
    ),
    (
        "gevent: adapter vs stock pywsgi",
        "stock gevent pywsgi + gateway.App",
        "gateway on its gevent adapter",
        ">= 5",
    ),
    (
        "hello: gateway on Granian vs gunicorn + Flask",
        "gunicorn gthread + Flask",
        "gateway on Granian",
        ">= 6",
    ),
    (
        "ceiling: an empty WSGI callable on Granian vs gunicorn + Flask",
        "gunicorn gthread + Flask",
        "Granian + an empty WSGI callable",
        "-",
    ),
    (
        "hello: gateway on Granian vs Granian + Flask",
        "Granian + Flask",
        "gateway on Granian",
        ">= 1.8",
    ),
    (
        "hello: gateway on gevent vs Granian + Flask",
        "Granian + Flask",
        "gateway on its gevent adapter",
        "-",
    ),
    (
        f"{TENANTS} tenants: gateway on Granian vs Granian + Flask",
        "Granian + Flask tenants (host map)",
        "gateway tenants on Granian",
        ">= 1.5",
    ),
    (
        f"{TENANTS} tenants: gateway on gevent vs Granian + Flask",
        "Granian + Flask tenants (host map)",
        "gateway tenants on gevent adapter",
        "-",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # type: ignore[no-any-return]


def wait_ready(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} not ready")


def wrk(port: int, seconds: int, workload: str, workdir: str) -> float:
    script = ["-s", str(Path(workdir, "tenants.lua"))] if workload == "tenants" else []
    out = subprocess.run(
        [*WRK, f"-d{seconds}s", *script, f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"the server answered errors:\n{out}")
    return float(match.group(1))


class Load(t.NamedTuple):
    """What one timed wrk run measured."""

    #: Requests per second, as wrk reports them.
    rate: float
    #: CPU time (user and system) of the server's processes per request, in
    #: microseconds: what a feature costs a server, read off by load on the
    #: machine much less than the rate is.
    cpu_us: float


def group_cpu(pgid: int) -> float:
    """CPU seconds the live processes of process group ``pgid`` have used."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                # After the command's ")": state, ppid, pgrp, ... utime, stime.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def load(argv: list[str], port: int, workdir: str, seconds: int, workload: str) -> Load:
    """Start a server, load it with wrk, stop it (its whole process group)."""
    proc = subprocess.Popen(
        argv,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": workdir},
    )
    try:
        wait_ready(port, proc, time.monotonic() + 30)
        wrk(port, 1, workload, workdir)  # warm-up: workers booted, tenants built
        before = group_cpu(proc.pid)
        rate = wrk(port, seconds, workload, workdir)
        cpu = group_cpu(proc.pid) - before
        return Load(rate, cpu / (rate * seconds) * 1e6)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(
    argv: list[str], port: int, workdir: str, seconds: int, workload: str
) -> float:
    """Requests per second of a server under wrk (see :func:`load`)."""
    return load(argv, port, workdir, seconds, workload).rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/sockets.py needs wrk: apt-get install wrk")

    with tempfile.TemporaryDirectory() as workdir:
        for name, text in FILES.items():
            Path(workdir, name).write_text(textwrap.dedent(text))
        results: dict[str, list[float]] = {name: [] for name in SERVERS}
        names = list(SERVERS)
        for round_no in range(args.rounds):
            for name in names if round_no % 2 == 0 else reversed(names):
                make, workload = SERVERS[name]
                port = free_port()
                try:
                    rate = measure(make(port), port, workdir, args.seconds, workload)
                except RuntimeError as e:
                    raise SystemExit(f"{name}: {e}") from None
                results[name].append(rate)
        medians = {name: statistics.median(values) for name, values in results.items()}

        print(
            f"\n## Servers, {' '.join(WRK)} -d{args.seconds}s, {WORKERS} workers x"
            f" {THREADS} threads where they have them (req/s: median, rounds)"
        )
        for name, values in results.items():
            rounds = ", ".join(f"{v:,.0f}" for v in values)
            print(f"  {name:<40} {medians[name]:>10,.0f}   [{rounds}]")
        table = Table(f"Over sockets, {args.rounds} rounds (req/s, higher is better)")
        for what, anchor, ours, target in ROWS:
            table.add(what, medians[anchor], medians[ours], "req/s", target)
        table.print()


if __name__ == "__main__":
    main()
