"""The access log (issue 19, "Cost"): what one line per request adds.

A Gateway with host dispatch (tenants by sub-domain, a hello WSGI app per
tenant) is called in process, no server, with ``[logging].access`` off and
on side by side: to a file (text and JSON), and to /dev/null (the same code
without the disk, so the write's own share shows). Rounds alternate the
order of the cases; each round's cost is ``on - off`` of that round, and the
median over rounds is printed against the issue's target: a file adds
<= 3 µs per request.

Times are CPU seconds of this process (``time.process_time``, which
counts the kernel's share of the ``write`` too), not wall time: on a machine
shared with other work, waiting for a core is not what the log costs. The
bytecodes one request runs are counted too (traced, deterministic), the
figure to compare across machines and loads.

``--sockets`` also measures hello over real sockets with wrk (the servers
and settings of benchmarks/sockets.py: gateway on Granian and on its gevent
adapter, 2 workers x 4 threads): nothing on, the access log to a file, and
the access log with ``[metrics]``, rounds alternating; the issue's target
for metrics and the access log together is a drop of at most 5 %. The
server's CPU time per request is printed for the same runs: what the
features add to a request there, which load on the machine moves less than
the rate.

Run: ``.venv/bin/python benchmarks/access_log.py [--sockets]`` (2 to 3
minutes, plus 5 with ``--sockets``) or ``--quick``. The log file is written
to a temporary directory (``--dir`` for another file system), and removed
afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import typing as t
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])

from _util import Table, paired  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from gateway.dispatch import Gateway  # noqa: E402
from gateway.dispatch.accesslog import AccessLog  # noqa: E402
from gateway.toml import LoggingConfig  # noqa: E402

#: The issue's target: µs a request may gain with the access log to a file.
TARGET_US = 3.0
TENANTS = 50


def hello(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def make_gateway(logging: LoggingConfig) -> Gateway:
    return Gateway(
        base_domain="example.com", tenants=lambda key: hello, logging=logging
    )


def flush(gw: Gateway) -> None:
    """Write the lines ``gw``'s access log still gathers (before its file
    is counted and removed)."""
    stage: t.Any = gw._app
    while stage is not None:
        stage = getattr(stage, "__self__", stage)  # a stage's bound __call__
        if isinstance(stage, AccessLog):
            stage.flush()
        stage = getattr(stage, "app", None)


def caller(gw: Gateway) -> t.Callable[[], None]:
    """One request to one of the tenants, round robin, as a server makes it:
    start_response, iterate, close."""
    bases = [
        EnvironBuilder(
            path="/page", query_string="a=1", headers={"Host": f"t{i}.example.com"}
        ).get_environ()
        for i in range(TENANTS)
    ]
    state = [0]

    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        pass

    def call() -> None:
        i = state[0] = (state[0] + 1) % TENANTS
        result = gw(dict(bases[i]), start_response)
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()

    for _ in range(TENANTS):  # create every tenant before measuring
        call()
    return call


def cpu_us(fn: t.Callable[[], object], number: int) -> float:
    """CPU microseconds of this process per call of ``fn``."""
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number * 1e6


def bytecodes(fn: t.Callable[[], object]) -> int:
    """Bytecode instructions one call of ``fn`` runs (traced)."""
    executed = 0

    def tracer(frame: t.Any, event: str, arg: t.Any) -> t.Any:
        nonlocal executed
        frame.f_trace_opcodes = True
        if event == "opcode":
            executed += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return executed


def over_sockets(rounds: int, seconds: int) -> None:
    """Hello over sockets per server: nothing on, the access log to a file,
    and the access log with ``[metrics]`` (the issue's target: a drop of at
    most 5 % with both)."""
    import shutil
    import textwrap

    import sockets

    if shutil.which("wrk") is None:
        sys.exit("--sockets needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as workdir:
        for name, text in sockets.FILES.items():
            Path(workdir, name).write_text(textwrap.dedent(text))
        hello_toml = Path(workdir, "hello.toml").read_text()
        log = Path(workdir, "access.log")
        logging_table = f'\n[logging]\naccess = "{log}"\n'
        metrics_table = "\n[metrics]\nenabled = true\n"
        Path(workdir, "logged.toml").write_text(hello_toml + logging_table)
        Path(workdir, "both.toml").write_text(
            hello_toml + logging_table + metrics_table
        )
        states = {
            "off": "hello.toml",
            "access log": "logged.toml",
            "access log and metrics": "both.toml",
        }
        adapters = ("granian", "gevent")
        cases = {
            f"{adapter}, {state}": sockets.gateway_serve(toml, adapter)
            for adapter in adapters
            for state, toml in states.items()
        }

        def run(make: t.Callable[[int], list[str]]) -> sockets.Load:
            port = sockets.free_port()
            return sockets.load(make(port), port, workdir, seconds, "hello")

        loads = paired(
            {name: lambda make=make: run(make) for name, make in cases.items()},
            rounds,
        )
        lines = len(log.read_text().splitlines())
    values = {name: [load.rate for load in runs] for name, runs in loads.items()}
    cpu = {name: [load.cpu_us for load in runs] for name, runs in loads.items()}
    table = Table(
        f"Hello over sockets, wrk {' '.join(sockets.WRK[1:])} -d{seconds}s,"
        f" {rounds} rounds (req/s, higher is better; anchor: both off)"
    )
    for adapter in adapters:
        for state in list(states)[1:]:
            off, on = values[f"{adapter}, off"], values[f"{adapter}, {state}"]
            ratios = [b / a for a, b in zip(off, on, strict=True)]
            table.add(
                f"{adapter}: {state}",
                statistics.median(off),
                statistics.median(on),
                "req/s",
                target=">= 0.95" if "metrics" in state else "",
                ratio=statistics.median(ratios),
            )
    table.print()
    table = Table(
        "Server CPU per request over sockets, the same runs (µs of user and"
        " system time of the server's processes; anchor: both off)"
    )
    for adapter in adapters:
        for state in list(states)[1:]:
            off, on = cpu[f"{adapter}, off"], cpu[f"{adapter}, {state}"]
            added = statistics.median(b - a for a, b in zip(off, on, strict=True))
            table.add(
                f"{adapter}: {state}, adds {added:.1f} µs",
                statistics.median(off),
                statistics.median(on),
                "µs",
                ratio=statistics.median(b / a for a, b in zip(off, on, strict=True)),
            )
    table.print()
    print(f"\n{lines:,} lines written by the logged servers.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sockets", action="store_true", help="also over sockets")
    parser.add_argument("--dir", help="where the log file goes (default: a temp dir)")
    args = parser.parse_args()
    rounds = 7 if args.quick else 21
    number = 5000 if args.quick else 20000

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        log = Path(tmp) / "access.log"
        cases = {
            "off": make_gateway(LoggingConfig()),
            "file, text": make_gateway(LoggingConfig(access=str(log))),
            "file, json": make_gateway(LoggingConfig(access=str(log), format="json")),
            "/dev/null, text": make_gateway(LoggingConfig(access="/dev/null")),
        }
        calls = {name: caller(gw) for name, gw in cases.items()}
        values = paired(
            {name: lambda f=f: cpu_us(f, number) for name, f in calls.items()},
            rounds,
        )
        codes = {name: bytecodes(f) for name, f in calls.items()}
        for gw in cases.values():
            flush(gw)
        lines = len(log.read_text().splitlines())
    table = Table(
        f"Access log on vs off, host dispatch over {TENANTS} tenants, in process"
        " (anchor: off; µs per request, medians of paired rounds)"
    )
    off = values["off"]
    for name in cases:
        if name == "off":
            continue
        added = [on - o for on, o in zip(values[name], off, strict=True)]
        ratios = [on / o for on, o in zip(values[name], off, strict=True)]
        cost = statistics.median(added)
        table.add(
            f"{name}: adds {cost:.2f} µs, {codes[name] - codes['off']} bytecodes",
            statistics.median(off),
            statistics.median(values[name]),
            "µs",
            target=f"<= {TARGET_US:g} µs" if name.startswith("file") else "",
            ratio=statistics.median(ratios),
        )
    table.print()
    print(
        f"\n{lines:,} lines written to the file; {rounds} rounds of {number:,};"
        f" off: {codes['off']} bytecodes a request."
    )
    if args.sockets:
        over_sockets(3 if args.quick else 5, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
