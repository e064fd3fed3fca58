"""Importing gateway against importing Flask, in fresh interpreters.

The row of the performance issue is what an application runs first:
``from gateway import App`` against ``from flask import Flask``, each timed
around that one statement in a new interpreter. ``import gateway`` alone is
shown too: it defers its application classes (and ``werkzeug.routing``) to
first use, which code that only reads the context (an extension, a CLI
command) gains, while ``import flask`` loads them at once. The third row
adds creating the app (``App(__name__)``), where gateway defers what an app
uses only later: the CLI (click) until ``app.cli``, Jinja until the first
template, itsdangerous and the session interface until the first session.
Runs alternate between the two packages, median of the runs; both are
byte-compiled first so neither pays for compilation.

``--instructions`` counts machine instructions instead (valgrind's
cachegrind, one run of each statement less one of ``pass``): a figure that
does not move with the machine's load. Below the table, ``import werkzeug``
alone as a share of ``from flask import Flask``: both packages load all of
it (its ``__init__`` imports its development server and test client), a
floor under the ratio that gateway cannot lower.

Run: ``python benchmarks/imports.py [--runs 15] [--instructions]``.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import Table, machine_instructions  # noqa: E402


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
    (
        "... and App(__name__) / Flask(__name__)",
        "from gateway import App; App(__name__)",
        "from flask import Flask; Flask(__name__)",
        "",
    ),
]

#: What both packages load first, whole (its ``__init__`` imports werkzeug's
#: development server and test client): printed as a share of Flask's import.
WERKZEUG = "import werkzeug"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count machine instructions (valgrind) instead of timing",
    )
    args = parser.parse_args()
    import flask

    import gateway

    for package in (gateway, flask):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    statements = list(dict.fromkeys([*(s for row in ROWS for s in row[1:3]), WERKZEUG]))
    if args.instructions:
        title, unit = "Machine instructions in a fresh interpreter (less `pass`)", "M"
        base = machine_instructions(["-c", "pass"])
        value = {s: (machine_instructions(["-c", s]) - base) / 1e6 for s in statements}
    else:
        title, unit = "Import time in a fresh interpreter", "ms"
        times: dict[str, list[int]] = {s: [] for s in statements}
        for _ in range(args.runs):
            for statement in statements:
                times[statement].append(import_us(statement))
        value = {s: statistics.median(v) / 1000 for s, v in times.items()}
    table = Table(title)
    for row, ours, theirs, target in ROWS:
        table.add(row, value[theirs], value[ours], unit, target)
    table.print()
    flask_row = ROWS[0][2]
    print(
        f"\n`{WERKZEUG}`, which both load: {value[WERKZEUG]:,.1f} {unit},"
        f" {value[WERKZEUG] / value[flask_row]:.2f} of `{flask_row}`"
    )


if __name__ == "__main__":
    main()
