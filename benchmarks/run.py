"""Run every benchmark and print its table: the one command of the
performance issue. Each figure is a ratio against an anchor (Flask, Werkzeug
or stock servers) measured side by side in the same run.

Run: ``python benchmarks/run.py`` (about 8 minutes), ``--quick`` for a short
pass, or name some of: core templates dispatch instructions tenants imports
sockets compat metrics access_log. ``instructions`` counts what dispatch adds to a request in
instructions (valgrind; without it only bytecodes), which do not drift.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

#: name -> (script, normal arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "core": ("core.py", [], ["--quick"]),
    "templates": ("templates.py", [], []),
    "dispatch": ("dispatch.py", [], ["--quick"]),
    "instructions": ("instructions.py", [], ["--requests", "200"]),
    "tenants": ("tenants.py", [], ["--tenants", "1000"]),
    "imports": ("imports.py", [], ["--runs", "5"]),
    "sockets": ("sockets.py", [], ["--seconds", "2", "--rounds", "1"]),
    "compat": ("compat.py", [], ["--quick"]),
    "metrics": ("metrics.py", [], ["--quick"]),
    "access_log": ("access_log.py", [], ["--quick"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], default=[])
    args = parser.parse_args()
    try:
        import flask  # noqa: F401
    except ImportError:
        sys.exit("the benchmarks need Flask: pip install -e '.[bench]'")
    failed = []
    for name in args.names or BENCHMARKS:
        script, normal, quick = BENCHMARKS[name]
        print(f"\n# {name} ({script})", flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, str(HERE / script), *(quick if args.quick else normal)]
        )
        print(f"  [{name}: {time.monotonic() - started:.0f} s]", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
