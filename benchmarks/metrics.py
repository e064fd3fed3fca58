"""Per-tenant metrics (issue 19, "Cost"): what ``[metrics]`` adds to a
request over host dispatch, in process. Target: at most 1.5 µs.

Two gateways, alike but for ``[metrics].enabled``, each serving tenants by
Host (``t0.example.com`` ... ``t49.example.com``, a plain WSGI app each)
are timed side by side, in alternating order round after round; the figure
is the median over rounds of (on - off) per request, in CPU time of the
measuring thread (``time.thread_time``): on a shared machine, wall time
also counts the other processes' turns, which move by more than the cost
measured here. The cost of folding
the records (every 1024 requests, and at a scrape) is included, since the
requests pay for it; scrapes are not. ``--shared`` measures the
multiprocess mode instead (the records written to prometheus_client's files
at most every half second while busy, what ``gateway serve`` runs; no
target).

``--instructions`` counts instead what ``[metrics]`` adds per request in
machine instructions (valgrind's cachegrind, fixed hash seed; runs of N and
3N requests, start-up cancelled out): a figure that does not move with the
machine's load, for comparing two versions of the code.

Run: ``python benchmarks/metrics.py`` (about 30 s), ``--quick``,
``--instructions`` (about 2 min).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import typing as t
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, __file__.rsplit("/", 1)[0])

import time  # noqa: E402

from _util import Table, machine_instructions, paired, spread  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

TARGET_US = 1.5
TENANTS = 50


def hello(environ: dict[str, object], start_response: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"hello"]


def caller(gw: object) -> object:
    """A zero-argument GET through ``gw``, cycling over the tenants."""
    bases = [
        EnvironBuilder(headers={"Host": f"t{i}.example.com"}).get_environ()
        for i in range(TENANTS)
    ]
    for base in bases:
        base["REMOTE_ADDR"] = "127.0.0.1"
    state = {"i": 0}

    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        pass

    def call() -> None:
        i = state["i"] = (state["i"] + 1) % TENANTS
        result = gw(dict(bases[i]), start_response)  # type: ignore[operator]
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()

    return call


def per_call_us(fn: t.Callable[[], object], number: int) -> float:
    """CPU microseconds of this thread per call of ``fn``."""
    start = time.thread_time()
    for _ in range(number):
        fn()
    return (time.thread_time() - start) / number * 1e6


def make(enabled: bool) -> object:
    """The gateway measured, with ``[metrics]`` on or off."""
    from gateway.dispatch import Gateway
    from gateway.toml import MetricsConfig

    return Gateway(
        hello,
        base_domain="example.com",
        tenants=lambda key: hello,
        metrics=MetricsConfig(enabled=enabled),
    )


def child(enabled: bool, number: int) -> None:
    """Serve ``number`` requests after a warm-up (run under valgrind)."""
    call = caller(make(enabled))
    for _ in range(2 * 1024 + TENANTS):  # every tenant built, two folds done
        call()  # type: ignore[operator]
    for _ in range(number):
        call()  # type: ignore[operator]


def instructions(enabled: bool, number: int) -> int:
    """Machine instructions of one child run, counted by cachegrind."""
    mode = "on" if enabled else "off"
    return machine_instructions(
        [os.path.abspath(__file__), "--child", mode, str(number)]
    )


def count_instructions(number: int) -> None:
    """Print the instructions per request with metrics on, off, and added."""
    jobs = [(enabled, n) for enabled in (True, False) for n in (number, 3 * number)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        totals = dict(
            zip(jobs, pool.map(lambda job: instructions(*job), jobs), strict=True)
        )
    per = {
        enabled: (totals[enabled, 3 * number] - totals[enabled, number]) / (2 * number)
        for enabled in (True, False)
    }
    table = Table("[metrics] on vs off over host dispatch, cachegrind")
    table.add("instructions per request", per[False], per[True], "", ratio=None)
    table.print()
    print(f"added per request: {per[True] - per[False]:,.0f} instructions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--shared", action="store_true", help="multiprocess mode (files)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count machine instructions with valgrind instead of timing",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0] == "on", int(args.child[1]))
        return
    if args.instructions:
        count_instructions(10 * 1024)
        return
    if args.shared:
        from gateway.dispatch.multiprocess import prepare

        prepare(tempfile.mkdtemp(prefix="gateway-bench-metrics-"))

    on, off = caller(make(True)), caller(make(False))
    rounds = 7 if args.quick else 21
    number = 5_000 if args.quick else 20_000
    for fn in (on, off):  # build every tenant first
        per_call_us(fn, TENANTS)  # type: ignore[arg-type]
    values = paired(
        {
            "on": lambda: per_call_us(on, number),  # type: ignore[arg-type]
            "off": lambda: per_call_us(off, number),  # type: ignore[arg-type]
        },
        rounds,
    )
    added = [a - b for a, b in zip(values["on"], values["off"], strict=True)]
    mode = "multiprocess files" if args.shared else "one process"
    table = Table(f"[metrics] on vs off over host dispatch, {mode}")
    table.add(
        "time per request",
        statistics.median(values["off"]),
        statistics.median(values["on"]),
        "µs",
        target="" if args.shared else f"adds <= {TARGET_US} µs",
        ratio=statistics.median(
            [a / b for a, b in zip(values["on"], values["off"], strict=True)]
        ),
    )
    table.print()
    q = statistics.quantiles(added, n=4)
    verdict = (
        ""
        if args.shared
        else (
            " (meets the target)"
            if statistics.median(added) <= TARGET_US
            else " (MISSES)"
        )
    )
    print(
        f"added per request: median {statistics.median(added):.2f} µs,"
        f" quartiles {q[0]:.2f}-{q[2]:.2f}, {len(added)} rounds{verdict}"
    )
    ratios = [a / b for a, b in zip(values["on"], values["off"], strict=True)]
    print(f"on / off: {spread(ratios)}")


if __name__ == "__main__":
    main()
