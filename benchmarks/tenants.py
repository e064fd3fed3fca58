"""What a tenant costs: creating one from a factory (time and memory, against
Flask building the same app), and 10,000 live tenants in one process served
through the gateway (RSS, and what evicting them gives back).

Run: ``python benchmarks/tenants.py [--tenants 10000]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import subprocess
import sys
import tracemalloc
import types

sys.path.insert(0, __file__.rsplit("/", 1)[0])

from _util import Table, interleave, per_call_us  # noqa: E402

# The tenants' module: apps need an import name that resolves to a file.
_mod = types.ModuleType("bench_tenant_site")
_mod.__file__ = __file__
sys.modules["bench_tenant_site"] = _mod


def make_factory(App: type, Blueprint: type):  # type: ignore[no-untyped-def]
    """A realistic factory: one app, one blueprint of ten routes."""

    def factory(key: str):  # type: ignore[no-untyped-def]
        app = App("bench_tenant_site")
        app.config["SECRET_KEY"] = f"secret-{key}"
        bp = Blueprint("pages", "bench_tenant_site")
        for i in range(10):
            bp.add_url_rule(
                f"/page{i}/<int:item>", f"page{i}", lambda item, i=i: f"{i}:{item}"
            )
        app.register_blueprint(bp)
        return app

    return factory


def memory_per_app_kib(factory, count: int = 200) -> float:  # type: ignore[no-untyped-def]
    factory("warm-up")
    gc.collect()
    tracemalloc.start()
    keep = [factory(str(i)) for i in range(count)]
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del keep
    return current / count / 1024


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() // 1024


def environ(host: str, path: str) -> dict:  # type: ignore[type-arg]
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }


def many_tenants(count: int) -> None:
    """Run in a child process: create ``count`` tenants through the gateway,
    serve one request each, then evict them all; print RSS at each step."""
    import gateway
    from gateway.dispatch import Gateway

    factory = make_factory(gateway.App, gateway.Blueprint)
    gw = Gateway(
        base_domain="example.test",
        tenants=factory,
        health=False,
        max_instances=count,
        idle_timeout=0,
    )
    status: list[str] = []

    def start_response(s, h, e=None):  # type: ignore[no-untyped-def]
        status.append(s)

    gc.collect()
    base = rss_kib()
    for i in range(count):
        result = gw(environ(f"t{i}.example.test", "/page3/7"), start_response)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        if body != b"3:7":
            raise SystemExit(f"tenant t{i} answered {body!r} {status[-1]}")
    gc.collect()
    full = rss_kib()
    stats = gw.registry.stats()  # type: ignore[union-attr]
    for key in list(gw.registry.keys()):  # type: ignore[union-attr]
        gw.registry.evict(key)  # type: ignore[union-attr]
    gw.registry.sweep()  # type: ignore[union-attr]
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    after = rss_kib()
    # Freed memory goes back to Python's allocator; a second generation of
    # tenants should reuse it rather than grow the process.
    for i in range(count):
        result = gw(environ(f"n{i}.example.test", "/page3/7"), start_response)
        b"".join(result)
        if hasattr(result, "close"):
            result.close()
    gc.collect()
    again = rss_kib()
    print(f"{base} {full} {after} {again} {stats['live']} {stats['creations']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        many_tenants(args.child)
        return

    import flask

    import gateway

    ff = make_factory(flask.Flask, flask.Blueprint)
    gf = make_factory(gateway.App, gateway.Blueprint)
    counter = iter(range(10**9))
    times = interleave(
        {
            "flask": lambda: per_call_us(lambda: ff(str(next(counter))), 200),
            "gateway": lambda: per_call_us(lambda: gf(str(next(counter))), 200),
        }
    )
    mems = {"flask": memory_per_app_kib(ff), "gateway": memory_per_app_kib(gf)}

    table = Table("Tenants: creation from a factory (1 blueprint x 10 routes)")
    table.add(
        "create one tenant app",
        times["flask"] / 1000,
        times["gateway"] / 1000,
        "ms",
        "<= 0.25",
    )
    table.add(
        "memory of one tenant app", mems["flask"], mems["gateway"], "KiB", "<= 0.5"
    )

    table.print()
    for label, env in (
        ("pymalloc (default)", {}),
        ("PYTHONMALLOC=malloc + malloc_trim", {"PYTHONMALLOC": "malloc"}),
    ):
        live_tenants(args.tenants, label, env)


def live_tenants(count: int, label: str, env: dict[str, str]) -> None:
    import os

    out = subprocess.run(
        [sys.executable, __file__, "--child", str(count)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
    )
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        raise SystemExit(out.returncode)
    args = argparse.Namespace(tenants=count)
    table = Table(f"{count:,} live tenants in one process, {label}")
    base, full, after, again, live, created = map(int, out.stdout.split())
    per = (full - base) / args.tenants
    table.add(
        f"{args.tenants:,} tenants live: RSS growth", None, (full - base) / 1024, "MiB"
    )
    table.add("  per tenant", None, per, "KiB", "<= 30")
    table.add(
        "  after evicting all: RSS above start", None, (after - base) / 1024, "MiB"
    )
    table.add(
        f"  then {args.tenants:,} new tenants: RSS growth",
        None,
        (again - after) / 1024,
        "MiB",
    )
    table.print()
    print(f"  (live={live} created={created}; RSS at start {base / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
