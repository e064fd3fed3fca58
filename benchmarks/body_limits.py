"""Body limits (issue 18, point 5): what refusing an oversized body costs,
and what enforcing the limit adds to an ordinary request.

1. A 4 MiB urlencoded form to a ``gateway.App``: refused by the gateway's
   body limit (413, the body never read), against the same request with no
   limit (``[limits] max_body = 0``: the app reads and parses all of it, what
   happened before the limit existed).
2. The per-request cost of the limit on a small POST and on a GET: the
   gateway with its default limit against ``max_body = 0`` (no wrapper).

In process, no server: ``wsgi.input`` is an in-memory stream. Run:
``python benchmarks/body_limits.py`` (about 20 s) or ``--quick``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])

from _util import Table, paired, per_call_us, spread  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

import gateway  # noqa: E402
from gateway.dispatch import Gateway  # noqa: E402
from gateway.toml import LimitsConfig  # noqa: E402

FORM = "application/x-www-form-urlencoded"


def make_app() -> gateway.App:
    app = gateway.App("bench_body_limits")

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return str(len(gateway.request.form))

    return app


def caller(gw: Gateway, body: bytes | None) -> tuple[object, list[int]]:
    """A zero-argument request of ``body`` (None: a GET) through ``gw``."""
    base = EnvironBuilder(
        method="GET" if body is None else "POST",
        headers={"Host": "example.com"},
        content_type=FORM if body is not None else None,
    ).get_environ()
    statuses: list[int] = []

    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        statuses.append(int(status[:3]))

    def call() -> None:
        environ = dict(base)
        if body is not None:
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body)
        result = gw(environ, start_response)
        b"".join(result)  # type: ignore[arg-type]
        getattr(result, "close", lambda: None)()

    return call, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    rounds = 5 if quick else 15

    limited = Gateway(make_app(), limits=LimitsConfig(max_body=1 << 20))
    unlimited = Gateway(make_app(), limits=LimitsConfig(max_body=0))

    big = b"f=" + b"x" * ((4 << 20) - 2)
    refuse, refused = caller(limited, big)
    parse, parsed = caller(unlimited, big)
    number = 20 if quick else 50
    values = paired(
        {
            "413": lambda: per_call_us(refuse, number * 100),
            "parsed": lambda: per_call_us(parse, number),
        },
        rounds,
    )
    assert set(refused) == {413} and set(parsed) == {200}, (refused[:3], parsed[:3])
    table = Table(
        "A 4 MiB urlencoded form, 1 MiB limit (anchor: no limit, the form parsed)"
    )
    ratios = [r / p for r, p in zip(values["413"], values["parsed"], strict=True)]
    table.add(
        "time per request",
        statistics.median(values["parsed"]),
        statistics.median(values["413"]),
        "µs",
        target="413 before the body is read",
        ratio=statistics.median(ratios),
    )
    table.print()
    faster = [p / r for r, p in zip(values["413"], values["parsed"], strict=True)]
    print(f"parsed / refused: {spread(faster)}\n")

    small = b"a=1&b=2"
    n = 2000 if quick else 10000
    table = Table("What enforcing the limit adds (anchor: max_body = 0, no wrapper)")
    for name, body in (("POST of 7 bytes", small), ("GET", None)):
        with_limit, _ = caller(limited, body)
        without, _ = caller(unlimited, body)
        values = paired(
            {
                "on": lambda f=with_limit: per_call_us(f, n),
                "off": lambda f=without: per_call_us(f, n),
            },
            rounds,
        )
        ratios = [a / b for a, b in zip(values["on"], values["off"], strict=True)]
        table.add(
            name,
            statistics.median(values["off"]),
            statistics.median(values["on"]),
            "µs",
            ratio=statistics.median(ratios),
        )
    table.print()


if __name__ == "__main__":
    main()
