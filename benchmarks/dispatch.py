"""Dispatch overhead, side by side with the anchors it replaces.

1. Per-request cost of dispatching to a cached app: path dispatch against
   Werkzeug's ``DispatcherMiddleware``, host dispatch against the documented
   ``SubdomainDispatcher`` (copied below from the reference documentation, as
   the anchor), each minus a direct call of the same app ("added").
2. Latency of requests to cached tenants while another tenant's factory takes
   2 s: the gateway (per-key creation) against the documented pattern (one
   global lock held while a factory runs).

What dispatch adds to a ``gateway.App`` request, as a share of that request,
is counted in instructions by ``instructions.py`` (the ``instructions`` suite
of run.py): the wall-clock ratio of 8 threads over 8 tenants it replaces was
GIL-bound and swung by 0.86-1.04 between runs on these machines.

Run: ``python benchmarks/dispatch.py`` (about 40 s) or ``--quick``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import types
import typing as t
from threading import Lock

sys.path.insert(0, __file__.rsplit("/", 1)[0])

from _util import Table, interleave  # noqa: E402
from werkzeug.middleware.dispatcher import DispatcherMiddleware as WerkzeugDispatcher  # noqa: E402

import gateway  # noqa: E402
from gateway.dispatch import (  # noqa: E402
    DispatcherMiddleware,
    Gateway,
    HostDispatcher,
    Mount,
    PathDispatcher,
)

_mod = types.ModuleType("bench_dispatch_site")
_mod.__file__ = __file__
sys.modules["bench_dispatch_site"] = _mod


class DocumentedSubdomainDispatcher:
    """The "Dispatch by Subdomain" pattern of the reference documentation,
    as written there (the anchor; its defects are the point of issue 6)."""

    def __init__(self, domain, create_app):  # type: ignore[no-untyped-def]
        self.domain = domain
        self.create_app = create_app
        self.lock = Lock()
        self.instances = {}

    def get_application(self, host):  # type: ignore[no-untyped-def]
        host = host.split(":")[0]
        assert host.endswith(self.domain), "Configuration error"
        subdomain = host[: -len(self.domain)].rstrip(".")
        with self.lock:
            app = self.instances.get(subdomain)
            if app is None:
                app = self.create_app(subdomain)
                self.instances[subdomain] = app
            return app

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        app = self.get_application(environ["HTTP_HOST"])
        return app(environ, start_response)


def wsgi_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def start_response(
    status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
) -> None:
    return None


def runner(
    app: t.Callable[..., t.Any], base: dict[str, t.Any], number: int
) -> t.Callable[[], float]:
    """A case for ``interleave``: microseconds per request, as a server runs
    it (a fresh environ, iterate the body, close it)."""

    def case() -> float:
        started = time.perf_counter()
        for _ in range(number):
            result = app(dict(base), start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return (time.perf_counter() - started) / number * 1e6

    return case


def overhead_cases() -> dict[str, tuple[t.Callable[..., t.Any], dict[str, t.Any]]]:
    """The cases of the per-request table: each one's WSGI callable and
    environ, its app cached (``instructions.py --profile`` counts them)."""
    path_env = {
        "PATH_INFO": "/backend/users/42",
        "SCRIPT_NAME": "",
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": "example.com",
    }
    host_env = {
        "PATH_INFO": "/users/42",
        "SCRIPT_NAME": "",
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": "acme.example.com",
    }
    mounts = {"/backend": wsgi_app, "/api": wsgi_app, "/admin": wsgi_app}
    cases: dict[str, tuple[t.Callable[..., t.Any], dict[str, t.Any]]] = {
        "direct": (wsgi_app, host_env),
        "werkzeug": (WerkzeugDispatcher(wsgi_app, mounts), path_env),
        "path": (
            PathDispatcher(wsgi_app, mounts=[Mount(p, a) for p, a in mounts.items()]),
            path_env,
        ),
        "path-face": (DispatcherMiddleware(wsgi_app, mounts), path_env),
        # a dynamic first segment, served by the registry
        "path-dynamic": (PathDispatcher(None, lambda segment: wsgi_app), path_env),
        "documented": (
            DocumentedSubdomainDispatcher("example.com", lambda key: wsgi_app),
            host_env,
        ),
        "host": (HostDispatcher("example.com", lambda key: wsgi_app), host_env),
        "gateway": (
            Gateway(
                base_domain="example.com", tenants=lambda key: wsgi_app, health=False
            ),
            host_env,
        ),
    }
    for app, environ in cases.values():  # cached before timing
        runner(app, environ, 1)()
    return cases


def overhead(number: int, repeats: int) -> None:
    cases = {
        name: runner(app, environ, number)
        for name, (app, environ) in overhead_cases().items()
    }
    m = {name: us * 1000 for name, us in interleave(cases, repeats).items()}  # ns
    direct = m["direct"]
    table = Table("Per-request cost over a cached app (median of interleaved runs)")
    table.add(
        "path dispatch vs DispatcherMiddleware",
        m["werkzeug"],
        m["path"],
        "ns",
        "<= 0.80",
    )
    table.add(
        "DispatcherMiddleware face vs Werkzeug's",
        m["werkzeug"],
        m["path-face"],
        "ns",
        "<= 1.00",
    )
    table.add(
        "host dispatch vs DispatcherMiddleware",
        m["werkzeug"],
        m["host"],
        "ns",
        "<= 0.60",
    )
    table.add(
        "host dispatch vs documented SubdomainDispatcher",
        m["documented"],
        m["host"],
        "ns",
        "<= 1.00",
    )
    table.add(
        "composed Gateway (trusted hosts + host) vs documented",
        m["documented"],
        m["gateway"],
        "ns",
    )
    table.add(
        "added by path dispatch (vs Werkzeug's added)",
        m["werkzeug"] - direct,
        m["path"] - direct,
        "ns",
        "<= 1000 ns",
    )
    table.add(
        "added by host dispatch (vs documented's added)",
        m["documented"] - direct,
        m["host"] - direct,
        "ns",
        "<= 1000 ns",
    )
    table.add(
        "added by path dispatch, dynamic segment",
        None,
        m["path-dynamic"] - direct,
        "ns",
    )
    table.add("added by composed Gateway", None, m["gateway"] - direct, "ns")
    table.print()


def make_tenant(key: str, app_class: type[t.Any] = gateway.App) -> t.Any:
    """A one-route tenant; ``app_class=flask.Flask`` builds the same tenant
    as a Flask app (the speed of app the issue's figures describe)."""
    app = app_class("bench_dispatch_site")
    app.config["SECRET_KEY"] = f"secret-{key}"

    @app.route("/")
    def index() -> str:
        return key

    return app


def _environ_base() -> dict[str, t.Any]:
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder("/").get_environ()
    return environ


def head_of_line(seconds: float) -> None:
    def slow_aware(key: str) -> t.Any:
        if key == "slow":
            time.sleep(seconds)
        return wsgi_app

    def latencies(app: t.Callable[..., t.Any]) -> list[float]:
        for key in ("a", "b", "c"):
            runner(app, {**_environ_base(), "HTTP_HOST": f"{key}.example.com"}, 1)()
        slow = threading.Thread(
            target=runner(app, {**_environ_base(), "HTTP_HOST": "slow.example.com"}, 1)
        )
        slow.start()
        time.sleep(0.05)  # let the slow factory start
        samples: list[float] = []
        bases = [
            {**_environ_base(), "HTTP_HOST": f"{k}.example.com"}
            for k in ("a", "b", "c")
        ]
        while slow.is_alive():
            for base in bases:
                started = time.perf_counter()
                result = app(dict(base), start_response)
                b"".join(result)
                samples.append((time.perf_counter() - started) * 1e6)
            time.sleep(0.001)
        slow.join()
        return sorted(samples)

    ours = latencies(HostDispatcher("example.com", slow_aware))
    theirs = latencies(DocumentedSubdomainDispatcher("example.com", slow_aware))

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    table = Table(
        f"Cached tenants while another tenant's factory sleeps {seconds:g} s (latency)"
    )
    table.add("p50", pct(theirs, 0.5), pct(ours, 0.5), "us")
    table.add("p99", pct(theirs, 0.99), pct(ours, 0.99), "us")
    table.add("max", theirs[-1], ours[-1], "us", "no stall")
    table.add("requests served meanwhile", len(theirs), len(ours), "", "", True)
    table.print()
    print(
        f"  median {statistics.median(ours):.1f} us over {len(ours)} requests (gateway)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    args = parser.parse_args()
    number, repeats = (20_000, 5) if args.quick else (100_000, 9)
    started = time.monotonic()
    overhead(number, repeats)
    head_of_line(1.0 if args.quick else 2.0)
    print(f"\n  [dispatch benchmark: {time.monotonic() - started:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
