"""What dispatch adds to a gateway.App request, counted: bytecodes (traced)
and, by valgrind, machine instructions and cache misses.

Wall time on a shared VM moves by more than dispatch costs: the 8-thread
throughput ratio this replaces swung by 0.86-1.04 between runs. Cachegrind's
counts do not move: instructions and simulated L1 misses per request, with a
fixed hash seed and address layout. Each case runs twice (N and 3N requests,
N = 1,000 by default); the difference of the two runs divided by 2N is the
per-request figure, start-up cancelled out.

The row of the performance issue: the instructions each kind of dispatch
adds, as a share of a hello request's own (a one-route ``gateway.App``
called directly), target at most 6 %.

    python benchmarks/instructions.py   # the cachegrind part needs valgrind

In run.py as the ``instructions`` suite (a few minutes); without valgrind
only the bytecode counts are printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import Table  # noqa: E402

#: Simulated caches: 64 KiB L1i, 48 KiB L1d, 2 MiB L2, as on the CI machines.
CACHES = ["--I1=65536,8,64", "--D1=49152,12,64", "--LL=2097152,16,64"]
EVENTS = ("I   refs", "I1  misses", "D1  misses")
CASES = ("direct", "host", "path", "gateway")
#: The dispatching cases: a bare dispatcher of each kind, and the composed
#: Gateway by Host (trusted hosts, health path, limits: what gateway serve runs).
DISPATCH = CASES[1:]
#: What dispatch may add, as a share of a hello request's instructions.
TARGET_SHARE = 0.06


def _cases() -> dict[str, tuple[t.Any, dict[str, t.Any]]]:
    """Each case's WSGI callable and environ, every path warm and
    specialised, as in a server."""
    from dispatch import _environ_base, make_tenant, runner

    from gateway.dispatch import Gateway, HostDispatcher, PathDispatcher

    keys = [f"t{i}" for i in range(8)]
    apps = {key: make_tenant(key) for key in keys}
    host = HostDispatcher("example.com", lambda key: apps[key])
    path = PathDispatcher(None, lambda key: apps.get(key))
    gateway = Gateway(base_domain="example.com", tenants=lambda key: apps[key])

    base = _environ_base()
    cases = {
        "direct": (apps["t3"], {**base, "HTTP_HOST": "t3.example.com"}),
        "host": (host, {**base, "HTTP_HOST": "t3.example.com"}),
        "path": (path, {**base, "SCRIPT_NAME": "", "PATH_INFO": "/t3/"}),
        "gateway": (gateway, {**base, "HTTP_HOST": "t3.example.com"}),
    }
    for app, environ in cases.values():
        runner(app, environ, 50)()
    return cases


def child(case: str, number: int) -> None:
    """Serve ``number`` requests through ``case`` (after a warm-up)."""
    from dispatch import runner

    app, environ = _cases()[case]
    runner(app, environ, number)()


def bytecodes() -> dict[str, int]:
    """Bytecode instructions the interpreter runs for one request of each case
    (traced; the request loop's own are the same in every case). On these
    machines the wall time dispatch adds follows this count more closely than
    the machine instructions: each bytecode is a hard-to-predict jump."""
    from dispatch import runner

    executed = 0

    def tracer(frame: t.Any, event: str, arg: t.Any) -> t.Any:
        nonlocal executed
        frame.f_trace_opcodes = True
        if event == "opcode":
            executed += 1
        return tracer

    result = {}
    for name, (app, environ) in _cases().items():
        executed = 0
        sys.settrace(tracer)
        try:
            runner(app, environ, 1)()
        finally:
            sys.settrace(None)
        result[name] = executed
    return result


def counts(case: str, number: int) -> list[int]:
    """Cachegrind's totals for one child run."""
    # A virtual environment's python is a symlink whose own path tells the
    # interpreter where its site-packages are, so it is run as named; else
    # the resolved binary (sys.executable may be a pyenv shim script, which
    # valgrind cannot run).
    in_venv = sys.prefix != sys.base_prefix
    python = sys.executable if in_venv else os.path.realpath(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=yes",
            *CACHES,
            f"--cachegrind-out-file={tmp}/out",
            python,
            os.path.abspath(__file__),
            "--child",
            case,
            str(number),
        ]
        if shutil.which("setarch"):
            command = ["setarch", "-R", *command]  # the same layout every run
        run = subprocess.run(
            command,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
    values = []
    for event in EVENTS:
        found = re.search(re.escape(event) + r":\s+([\d,]+)", run.stderr)
        if found is None:
            raise RuntimeError(f"no {event!r} in valgrind's output:\n{run.stderr}")
        values.append(int(found.group(1).replace(",", "")))
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--child", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--requests", type=int, default=1000, help="N: runs of N and 3N requests"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    counted = bytecodes()
    table = Table("Per request, bytecodes run (sys.settrace)")
    table.add("bytecodes: direct app", None, counted["direct"], "")
    for case in DISPATCH:
        table.add(
            f"bytecodes: added by {case} dispatch",
            None,
            counted[case] - counted["direct"],
            "",
        )
    table.print()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 0
    low, high = args.requests, 3 * args.requests
    jobs = [(case, number) for case in CASES for number in (low, high)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: counts(*job), jobs), strict=True))
    per_request = {
        case: [
            (b - a) / (high - low)
            for a, b in zip(totals[case, low], totals[case, high], strict=True)
        ]
        for case in CASES
    }
    share = Table("Instructions added by dispatch / a hello request's own")
    hello = per_request["direct"][0]
    for case in DISPATCH:
        added = per_request[case][0] - hello
        share.add(
            f"{case} dispatch ({added / hello:.1%} of a hello request)",
            hello,
            added,
            "instr",
            # The target is the dispatcher's; the composed Gateway adds the
            # stages around it, shown for what they cost.
            f"<= {TARGET_SHARE:.2f}" if case != "gateway" else "",
        )
    table = Table("Per request, counted by valgrind (cachegrind)")
    direct = per_request["direct"]
    for index, label in enumerate(("instructions", "L1i misses", "L1d misses")):
        table.add(f"{label}: direct app", None, direct[index], "")
        for case in DISPATCH:
            added = per_request[case][index] - direct[index]
            table.add(f"{label}: added by {case} dispatch", None, added, "")
    table.print()
    share.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
