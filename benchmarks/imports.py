"""Importing gateway against importing Flask, in fresh interpreters.

The row of the performance issue is what an application runs first:
``from gateway import App`` against ``from flask import Flask``, each timed
around that one statement in a new interpreter. ``import gateway`` alone is
shown too: it defers its application classes (and ``werkzeug.routing``) to
first use, which code that only reads the context (an extension, a CLI
command) gains, while ``import flask`` loads them at once. Runs alternate
between the two packages, median of the runs; both are byte-compiled first so
neither pays for compilation.

Run: ``python benchmarks/imports.py [--runs 15]``.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import Table  # noqa: E402


def import_us(statement: str) -> int:
    """Microseconds ``statement`` (an import) takes in a new interpreter."""
    code = (
        "import time; start = time.perf_counter(); "
        f"{statement}; print(round((time.perf_counter() - start) * 1e6))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


#: (row, gateway's statement, Flask's statement, target)
ROWS = [
    (
        "from gateway import App / from flask import Flask",
        "from gateway import App",
        "from flask import Flask",
        "<= 0.6",
    ),
    ("import gateway / import flask", "import gateway", "import flask", ""),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import flask

    import gateway

    for package in (gateway, flask):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    table = Table("Import time in a fresh interpreter")
    for row, ours, theirs, target in ROWS:
        times: dict[str, list[int]] = {ours: [], theirs: []}
        for _ in range(args.runs):
            for statement in times:
                times[statement].append(import_us(statement))
        table.add(
            row,
            statistics.median(times[theirs]) / 1000,
            statistics.median(times[ours]) / 1000,
            "ms",
            target,
        )
    table.print()


if __name__ == "__main__":
    main()
