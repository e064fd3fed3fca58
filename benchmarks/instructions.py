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

``--profile`` shows where the per-request cost of ``dispatch.py``'s table
goes, gateway's dispatch beside the anchors (Werkzeug's
``DispatcherMiddleware``, the documented ``SubdomainDispatcher``): the
bytecodes each source line runs, and the machine instructions each C
function of the interpreter adds over a direct call of the same app.
"""

from __future__ import annotations

import argparse
import linecache
import os
import re
import shutil
import sys
import tempfile
import typing as t
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _util  # noqa: E402
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
#: The cases of dispatch.py's per-request table that --profile shows.
PROFILED = ("direct", "werkzeug", "path", "documented", "host")


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

    # One Host header for every case, which path dispatch ignores: the app
    # caches what it derives from the header, and a different one in one
    # case would count the difference as dispatch.
    base = {**_environ_base(), "HTTP_HOST": "t3.example.com"}
    cases = {
        "direct": (apps["t3"], base),
        "host": (host, base),
        "path": (path, {**base, "SCRIPT_NAME": "", "PATH_INFO": "/t3/"}),
        "gateway": (gateway, base),
    }
    for app, environ in cases.values():
        runner(app, environ, 50)()
    return cases


def child(case: str, number: int, profiled: bool = False) -> None:
    """Serve ``number`` requests through ``case`` (after a warm-up); of
    dispatch.py's table when ``profiled``."""
    from dispatch import overhead_cases, runner

    app, environ = (overhead_cases() if profiled else _cases())[case]
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


def by_line(
    app: t.Any, environ: dict[str, t.Any]
) -> dict[tuple[str, str], Counter[int]]:
    """Bytecodes one request runs, by (file, function) and line (traced)."""
    from dispatch import runner

    counted: dict[tuple[str, str], Counter[int]] = {}

    def tracer(frame: t.Any, event: str, arg: t.Any) -> t.Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            lines = counted.setdefault((code.co_filename, code.co_name), Counter())
            lines[frame.f_lineno] += 1
        return tracer

    sys.settrace(tracer)
    try:
        runner(app, environ, 1)()
    finally:
        sys.settrace(None)
    return counted


def cachegrind(args: list[str], out: str, simulate: bool = True) -> str:
    """Run this script's ``args`` under cachegrind, its counts written to
    ``out``; return valgrind's report (stderr)."""
    options = ["--cache-sim=yes", *CACHES] if simulate else ["--cache-sim=no"]
    return _util.cachegrind([os.path.abspath(__file__), *args], out, options)


def counts(case: str, number: int) -> list[int]:
    """Cachegrind's totals for one child run."""
    with tempfile.TemporaryDirectory() as tmp:
        report = cachegrind(["--child", case, str(number)], f"{tmp}/out")
    values = []
    for event in EVENTS:
        found = re.search(re.escape(event) + r":\s+([\d,]+)", report)
        if found is None:
            raise RuntimeError(f"no {event!r} in valgrind's output:\n{report}")
        values.append(int(found.group(1).replace(",", "")))
    return values


def per_function(out: str) -> Counter[str]:
    """Instructions by C function in a cachegrind output file."""
    totals: Counter[str] = Counter()
    name = ""
    with open(out) as file:
        for line in file:
            if line.startswith("fn="):
                name = line[3:].strip()
            elif line[:1].isdigit():  # "<line> <instructions>"
                totals[name] += int(line.split()[1])
    return totals


def _shown(filename: str) -> str:
    """A source file's name relative to the project or site-packages."""
    installed = filename.rpartition("site-packages" + os.sep)[2]
    if installed != filename:
        return installed
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.relpath(filename, here)


def profile(number: int, top: int = 16) -> None:
    """Where a request of dispatch.py's table goes: bytecodes by line, then
    the instructions each C function adds over a direct call."""
    from dispatch import overhead_cases

    cases = overhead_cases()
    traced = {case: by_line(*cases[case]) for case in PROFILED}
    harness = set(traced["direct"])  # the request loop and the app itself
    direct_total = sum(sum(lines.values()) for lines in traced["direct"].values())
    print("\n## Per request, bytecodes by function and line (sys.settrace)")
    print(f"direct: {direct_total} (the request loop and the app, in every case)")
    for case in PROFILED[1:]:
        functions = {k: v for k, v in traced[case].items() if k not in harness}
        more = sum(sum(lines.values()) for lines in functions.values())
        print(f"\n{case}: {more} more than direct")
        for (filename, function), lines in functions.items():
            print(f"  {sum(lines.values()):4d}  {_shown(filename)}:{function}")
            for line, executed in sorted(lines.items(), key=lambda item: item[0] or 0):
                if line is None:  # the frame's start, before its first line
                    print(f"  {executed:10d}  (entry)")
                    continue
                source = linecache.getline(filename, line).strip()
                print(f"  {executed:10d}  {line}: {source}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return
    jobs = [(case, n) for case in PROFILED for n in (number, 3 * number)]

    def run(job: tuple[str, int]) -> Counter[str]:
        case, n = job
        with tempfile.TemporaryDirectory() as tmp:
            args = ["--profile", "--child", case, str(n)]
            cachegrind(args, f"{tmp}/out", simulate=False)
            return per_function(f"{tmp}/out")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = dict(zip(jobs, pool.map(run, jobs), strict=True))
    per_request = {}
    for case in PROFILED:
        low, high = runs[case, number], runs[case, 3 * number]
        per_request[case] = {
            name: (high[name] - low[name]) / (2 * number) for name in high | low
        }
    direct = per_request["direct"]
    added = {
        case: {
            name: per_request[case].get(name, 0) - direct.get(name, 0)
            for name in per_request[case].keys() | direct.keys()
        }
        for case in PROFILED[1:]
    }
    names = sorted(
        {name for values in added.values() for name in values},
        key=lambda name: -max(abs(values.get(name, 0)) for values in added.values()),
    )
    print(
        "\n## Per request, instructions added over direct, by C function (cachegrind)"
    )
    print(f"{'':32}" + "".join(f"{case:>12}" for case in added))
    base = sum(direct.values())
    print(
        f"{'per request (direct: ' + format(base, ',.0f') + ')':32}"
        + "".join(f"{base + sum(v.values()):>12,.0f}" for v in added.values())
    )
    print(
        f"{'added':32}"
        + "".join(f"{sum(values.values()):>12,.0f}" for values in added.values())
    )
    for name in names[:top]:
        print(
            f"{name[:32]:32}"
            + "".join(f"{values.get(name, 0):>12,.0f}" for values in added.values())
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--child", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--requests", type=int, default=1000, help="N: runs of N and 3N requests"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="where a request of dispatch.py's table goes, by line and C function",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.profile)
        return 0
    if args.profile:
        profile(args.requests)
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
