"""Requests per second over real sockets on 127.0.0.1, measured with wrk.

Rows: the same hello application on Flask and on gateway under gunicorn's
sync and gthread workers, and gateway's gevent adapter (``gateway serve
--adapter gevent``) against a stock ``gevent.pywsgi.WSGIServer``. Servers
alternate (anchor, gateway, anchor, ...) and the median of the rounds is kept.

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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import Table  # noqa: E402

APPS = {
    "flask_app.py": """
        import flask
        app = flask.Flask(__name__)

        @app.route("/")
        def hello():
            return "Hello, World!"
    """,
    "gateway_app.py": """
        import gateway
        app = gateway.App(__name__)

        @app.route("/")
        def hello():
            return "Hello, World!"
    """,
    "stock_gevent.py": """
        from gevent import monkey
        monkey.patch_all()
        import sys
        from gevent.pywsgi import WSGIServer
        from gateway_app import app
        WSGIServer(("127.0.0.1", int(sys.argv[1])), app).serve_forever()
    """,
    "gateway.toml": """
        [gateway]
        name = "bench"
        default_app = "gateway_app:app"
        trusted_hosts = ["127.0.0.1"]
    """,
}


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


def wrk(port: int, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    if "Non-2xx" in out:
        raise RuntimeError(f"the server answered errors:\n{out}")
    return float(match.group(1))


def measure(argv: list[str], port: int, workdir: str, seconds: int) -> float:
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
        wrk(port, 1)  # warm-up: workers booted, code paths hot
        return wrk(port, seconds)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def gunicorn(module: str, worker: str, port: int) -> list[str]:
    argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", worker]
    if worker == "gthread":
        argv += ["--threads", "4"]
    return [*argv, "-b", f"127.0.0.1:{port}", "--no-control-socket", f"{module}:app"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/sockets.py needs wrk: apt-get install wrk")

    with tempfile.TemporaryDirectory() as workdir:
        for name, text in APPS.items():
            Path(workdir, name).write_text(textwrap.dedent(text))
        rows = {
            "gunicorn sync, hello": (
                lambda p: gunicorn("flask_app", "sync", p),
                lambda p: gunicorn("gateway_app", "sync", p),
                ">= 1.15",
            ),
            "gunicorn gthread, hello": (
                lambda p: gunicorn("flask_app", "gthread", p),
                lambda p: gunicorn("gateway_app", "gthread", p),
                ">= 1.15",
            ),
            "gevent: adapter vs stock pywsgi": (
                lambda p: [sys.executable, "stock_gevent.py", str(p)],
                lambda p: [
                    sys.executable,
                    "-m",
                    "gateway",
                    "serve",
                    "gateway.toml",
                    "--adapter",
                    "gevent",
                    "--bind",
                    f"127.0.0.1:{p}",
                ],
                ">= 5",
            ),
        }
        table = Table(f"Over sockets, wrk -t2 -c32 -d{args.seconds}s (req/s)")
        for what, (anchor, ours, target) in rows.items():
            results: dict[str, list[float]] = {"anchor": [], "gateway": []}
            for _ in range(args.rounds):
                for label, make in (("anchor", anchor), ("gateway", ours)):
                    port = free_port()
                    results[label].append(
                        measure(make(port), port, workdir, args.seconds)
                    )
            table.add(
                what,
                statistics.median(results["anchor"]),
                statistics.median(results["gateway"]),
                "req/s",
                target,
            )
        table.print()


if __name__ == "__main__":
    main()
