"""In-process request benchmark: gateway's framework core against Flask.

The same small application is built twice, once on ``gateway.App`` and once on
``flask.Flask``, and driven through its WSGI callable with prebuilt environs
(no sockets, no test client), so the figures measure the framework's request
path: routing, contexts, hooks, response conversion, sessions.

Scenarios: hello (str), JSON (dict), 404, URL parameters with converters, POST
of a JSON body, a signed-cookie session read and rewritten, and routing into
the last of 50 blueprints (each with its own before_request hook).

Method: for each scenario, both frameworks are timed in alternating order over
several rounds (so drift in machine load hits both alike); each round runs a
calibrated batch of requests; the median per-request time across rounds is
reported, with the ratio gateway / flask (below 1.0 means gateway is faster).

Run: ``python benchmarks/core.py`` (about 30-60 s); ``--quick`` for a smoke
run; ``--json`` to print machine-readable results. Needs the ``bench`` extra
(Flask).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
import typing as t
from dataclasses import dataclass

from werkzeug.test import EnvironBuilder

import gateway

try:
    import flask
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("benchmarks/core.py needs Flask: pip install -e '.[bench]'")

BLUEPRINT_COUNT = 50


def build_app(fw: t.Any, app_class: type) -> t.Any:
    """The benchmark application, on framework module ``fw``."""
    app = app_class("bench_app", static_folder=None)
    app.config["SECRET_KEY"] = "benchmark secret"
    request, session = fw.request, fw.session

    @app.route("/")
    def hello():
        return "Hello, World!"

    @app.route("/json")
    def data():
        return {"message": "hello", "items": [1, 2, 3], "nested": {"ok": True}}

    @app.route("/user/<int:user_id>/post/<slug>")
    def param(user_id, slug):
        return f"user {user_id} post {slug}"

    @app.post("/echo")
    def echo():
        payload = request.get_json()
        return {"received": payload, "count": len(payload)}

    @app.route("/session")
    def counter():
        session["count"] = session.get("count", 0) + 1
        return f"count {session['count']}"

    for i in range(BLUEPRINT_COUNT):
        bp = fw.Blueprint(f"bp{i}", __name__, url_prefix=f"/section{i}")
        bp.add_url_rule("/", "index", lambda i=i: f"section {i}")
        bp.add_url_rule("/item/<int:n>", "item", lambda n, i=i: f"section {i} item {n}")
        bp.before_request(lambda: None)
        app.register_blueprint(bp)
    return app


@dataclass
class Scenario:
    """One kind of request: how to build its environ and what to expect."""

    name: str
    path: str
    method: str = "GET"
    json_body: t.Any = None
    status: int = 200
    needs_session: bool = False


#: The ratio (gateway / Flask) each scenario should reach, where one is set.
TARGETS = {"404": 0.4, "session": 0.5}

SCENARIOS = [
    Scenario("hello", "/"),
    Scenario("json", "/json"),
    Scenario("404", "/missing/page", status=404),
    Scenario("param", "/user/42/post/hello-world"),
    Scenario("post_json", "/echo", "POST", json_body={"a": 1, "b": [1, 2, 3]}),
    Scenario("session", "/session", needs_session=True),
    Scenario("50_blueprints", f"/section{BLUEPRINT_COUNT - 1}/item/7"),
]


class Driver:
    """Calls one app's WSGI callable with fresh copies of a prebuilt environ."""

    def __init__(self, app: t.Any, scenario: Scenario) -> None:
        self.app = app
        headers = {}
        if scenario.needs_session:
            headers["Cookie"] = self._session_cookie(app)
        builder = EnvironBuilder(
            path=scenario.path,
            method=scenario.method,
            json=scenario.json_body,
            headers=headers,
        )
        try:
            self.environ = builder.get_environ()
        finally:
            builder.close()
        self.body = self.environ["wsgi.input"].read()
        self.status = ""

    @staticmethod
    def _session_cookie(app: t.Any) -> str:
        client = app.test_client()
        client.get("/session")
        cookie = client.get_cookie("session")
        if cookie is None:
            raise RuntimeError("the session route did not set a cookie")
        return f"session={cookie.value}"

    def _start_response(self, status: str, headers: t.Any, exc_info: t.Any = None):
        self.status = status
        return None

    def request(self) -> bytes:
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO(self.body)
        iterable = self.app(environ, self._start_response)
        try:
            return b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    def run(self, count: int) -> float:
        """Seconds taken by ``count`` requests."""
        request = self.request
        start = time.perf_counter()
        for _ in range(count):
            request()
        return time.perf_counter() - start


def check(scenario: Scenario, drivers: dict[str, Driver]) -> None:
    """Both apps must answer alike, or the comparison means nothing."""
    bodies = {}
    for name, driver in drivers.items():
        body = driver.request()
        code = int(driver.status.split()[0])
        if code != scenario.status:
            raise RuntimeError(f"{scenario.name}: {name} answered {driver.status}")
        bodies[name] = body
    if scenario.status == 200 and bodies["gateway"] != bodies["flask"]:
        raise RuntimeError(f"{scenario.name}: bodies differ: {bodies!r}")


def calibrate(driver: Driver, batch_seconds: float) -> int:
    """Number of requests that takes about ``batch_seconds``."""
    count = 10
    while True:
        elapsed = driver.run(count)
        if elapsed >= batch_seconds / 4 or count >= 1_000_000:
            return max(10, int(count * batch_seconds / max(elapsed, 1e-9)))
        count *= 4


def measure(
    scenario: Scenario, apps: dict[str, t.Any], rounds: int, batch_seconds: float
) -> dict[str, float]:
    """Median per-request microseconds for each framework."""
    drivers = {name: Driver(app, scenario) for name, app in apps.items()}
    check(scenario, drivers)
    counts = {name: calibrate(d, batch_seconds) for name, d in drivers.items()}
    samples: dict[str, list[float]] = {name: [] for name in drivers}
    order = list(drivers)
    for round_no in range(rounds):
        for name in order if round_no % 2 == 0 else reversed(order):
            elapsed = drivers[name].run(counts[name])
            samples[name].append(elapsed / counts[name] * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=float, default=0.2, help="seconds per batch")
    parser.add_argument("--json", action="store_true", help="print JSON results")
    parser.add_argument("scenarios", nargs="*", help="subset of scenario names")
    args = parser.parse_args(argv)
    rounds, batch = (3, 0.03) if args.quick else (args.rounds, args.batch)

    selected = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios]
    unknown = set(args.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(
            f"unknown scenarios {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}"
        )

    apps = {
        "gateway": build_app(gateway, gateway.App),
        "flask": build_app(flask, flask.Flask),
    }
    results = {}
    if not args.json:
        print(
            f"{'scenario':<16}{'gateway µs':>12}{'flask µs':>12}{'ratio':>9}"
            f"{'target':>9}"
        )
    for scenario in selected:
        timing = measure(scenario, apps, rounds, batch)
        ratio = timing["gateway"] / timing["flask"]
        results[scenario.name] = {**timing, "ratio": ratio}
        if not args.json:
            target = TARGETS.get(scenario.name)
            print(
                f"{scenario.name:<16}{timing['gateway']:>12.1f}"
                f"{timing['flask']:>12.1f}{ratio:>9.2f}"
                + (f"{'<= ' + format(target, '.2f'):>9}" if target else "")
            )
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
