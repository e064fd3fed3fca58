"""An unmodified Flask application on gateway (the compatibility switch)
against the same application on Flask, and against a ported one.

The switch changes what ``import flask`` means for a whole process, so every
variant runs in a worker process of its own, driven from here over a pipe:

- ``flask``: the apps of benchmarks/compat_app.py on the real Flask;
- ``switch``: the same file with ``GATEWAY_FLASK_COMPAT=1`` (gateway's core);
- ``ported``: the hello view on ``gateway.App``, imports changed by hand.

Rows: hello (all three) and a Flask-SQLAlchemy + Flask-Login page (a logged-in
user's notes from SQLite; flask and switch: the extensions import ``flask``,
so there is no hand-ported variant). Each row is timed in paired rounds, the
workers' order reversed every other round, and reports the median of the
per-round ratios. A last row tells what the switch costs when it is off: the
one line of gateway's ``.pth`` file that every interpreter start runs, against
the start of an interpreter.

Run: ``python benchmarks/compat.py`` (about a minute); ``--quick`` for a
smoke run. Needs the ``bench`` extra (Flask, Flask-SQLAlchemy, Flask-Login).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import Table, paired, spread  # noqa: E402

#: scenario -> (app, path, needs a logged-in session cookie)
SCENARIOS = {"hello": ("hello", "/", False), "sqla+login": ("sqla", "/notes", True)}


# -- the worker: one variant of the app, requests on command ------------------


def build(variant: str) -> dict[str, t.Any]:
    """The apps of a worker, by name."""
    if variant == "ported":
        import gateway

        app = gateway.App("compat_bench_ported")

        @app.route("/")
        def hello() -> str:
            return "Hello, World!"

        return {"hello": app}
    from compat_app import create_app, create_hello_app

    return {"hello": create_hello_app(), "sqla": create_app()}


def worker(variant: str) -> None:
    """Serve commands from stdin: ``check APP PATH COOKIE`` prints status and
    body; ``run APP PATH COOKIE N`` prints the seconds N requests took."""
    from werkzeug.test import Client, EnvironBuilder

    apps = build(variant)
    cookie = ""
    if "sqla" in apps:
        client = Client(apps["sqla"])
        client.get("/login/demo")
        found = client.get_cookie("session")
        cookie = f"session={found.value}" if found else ""
    import flask

    print(f"ready {getattr(flask, '__file__', '')}", flush=True)
    status: list[str] = []

    def request(app: t.Any, environ: dict[str, t.Any]) -> bytes:
        body = app(environ.copy(), start_response)
        try:
            return b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def start_response(s: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        status[:] = [s]

    for line in sys.stdin:
        command, name, path, logged_in, *rest = line.split()
        app = apps[name]
        builder = EnvironBuilder(path=path, base_url="http://localhost/")
        environ = builder.get_environ()
        if logged_in == "1":
            environ["HTTP_COOKIE"] = cookie

        if command == "check":
            body = request(app, environ)
            print(f"{status[0]}|{body!r}", flush=True)
        else:
            count = int(rest[0])
            started = time.perf_counter()
            for _ in range(count):
                request(app, environ)
            print(time.perf_counter() - started, flush=True)


# -- the driver ------------------------------------------------------------------


class Worker:
    """A worker process of one variant."""

    def __init__(self, variant: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "GATEWAY_FLASK_COMPAT"}
        if variant == "switch":
            env["GATEWAY_FLASK_COMPAT"] = "1"
        self.variant = variant
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", variant],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=HERE,
        )
        ready = self._read()
        if not ready.startswith("ready"):
            raise RuntimeError(f"worker {variant} did not start: {ready!r}")
        self.flask_file = ready.split(" ", 1)[1] if " " in ready else ""

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.variant} exited")
        return line.strip()

    def ask(self, *words: object) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(" ".join(map(str, words)) + "\n")
        self.process.stdin.flush()
        return self._read()

    def check(self, scenario: str) -> str:
        name, path, logged_in = SCENARIOS[scenario]
        return self.ask("check", name, path, int(logged_in))

    def run(self, scenario: str, count: int) -> float:
        name, path, logged_in = SCENARIOS[scenario]
        return float(self.ask("run", name, path, int(logged_in), count))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def calibrate(worker: Worker, scenario: str, seconds: float) -> int:
    """Requests that take about ``seconds`` on ``worker``."""
    count = 10
    while True:
        elapsed = worker.run(scenario, count)
        if elapsed >= seconds / 4 or count >= 1_000_000:
            return max(10, int(count * seconds / max(elapsed, 1e-9)))
        count *= 4


def switch_off_cost(runs: int) -> tuple[float, float]:
    """(µs the .pth line takes with the variable unset, µs an interpreter
    start takes), both measured here."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    pth = site_packages / "gateway-flask-compat.pth"
    if not pth.is_file():
        raise RuntimeError(f"{pth} is missing: is gateway installed here?")
    line = pth.read_text().strip()
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_FLASK_COMPAT"}
    saved = os.environ.pop("GATEWAY_FLASK_COMPAT", None)
    try:
        code = compile(line, str(pth), "exec")
        number = 20_000
        started = time.perf_counter()
        for _ in range(number):
            exec(code, {})
        line_us = (time.perf_counter() - started) / number * 1e6
    finally:
        if saved is not None:
            os.environ["GATEWAY_FLASK_COMPAT"] = saved
    starts = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        starts.append((time.perf_counter() - started) * 1e6)
    return line_us, statistics.median(starts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=float, default=0.25, help="seconds per batch")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    rounds, batch = (3, 0.05) if args.quick else (args.rounds, args.batch)

    workers = {v: Worker(v) for v in ("flask", "switch", "ported")}
    try:
        if "gateway" not in workers["switch"].flask_file:
            raise RuntimeError("the switch worker imported the real Flask")
        if "gateway" in workers["flask"].flask_file:
            raise RuntimeError("the flask worker imported gateway")
        table = Table("an unmodified Flask app on gateway (µs per request)")
        for scenario in SCENARIOS:
            variants = ["flask", "switch"] + (["ported"] if scenario == "hello" else [])
            answers = {v: workers[v].check(scenario) for v in variants}
            if len(set(answers.values())) != 1 or not answers["flask"].startswith(
                "200"
            ):
                raise RuntimeError(
                    f"{scenario}: the variants answer differently: {answers}"
                )
            count = calibrate(workers["flask"], scenario, batch)
            values = paired(
                {
                    v: (lambda v=v, s=scenario, n=count: workers[v].run(s, n))
                    for v in variants
                },
                rounds,
            )
            us = {v: statistics.median(values[v]) / count * 1e6 for v in variants}
            ratios = [
                s / f for s, f in zip(values["switch"], values["flask"], strict=True)
            ]
            table.add(
                f"{scenario}: switch / Flask",
                us["flask"],
                us["switch"],
                "µs",
                ratio=statistics.median(ratios),
            )
            print(f"  {scenario} switch / Flask: {spread(ratios)}", flush=True)
            if "ported" in variants:
                ratios = [
                    s / p
                    for s, p in zip(values["switch"], values["ported"], strict=True)
                ]
                table.add(
                    f"{scenario}: switch / ported to gateway.App",
                    us["ported"],
                    us["switch"],
                    "µs",
                    target="about 1.0",
                    ratio=statistics.median(ratios),
                )
                print(f"  {scenario} switch / ported: {spread(ratios)}", flush=True)
    finally:
        for w in workers.values():
            w.close()
    line_us, start_us = switch_off_cost(5 if args.quick else 20)
    table.add(
        "switch off: the .pth line / an interpreter start",
        start_us,
        line_us,
        "µs",
        target="nothing measurable",
    )
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
