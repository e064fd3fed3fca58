"""``import gateway`` against ``import flask`` in fresh interpreters.

Each import is timed by ``python -X importtime`` (the cumulative time of the
top-level package), alternating between the two, median of the runs. Both
packages are byte-compiled first so neither pays for compilation.

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


def import_us(module: str) -> int:
    """Cumulative import time of ``module`` in a new interpreter, in µs."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in reversed(out.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no import time reported for {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import flask

    import gateway

    for package in (gateway, flask):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    times: dict[str, list[int]] = {"flask": [], "gateway": []}
    for _ in range(args.runs):
        for module in times:
            times[module].append(import_us(module))
    table = Table("Import time in a fresh interpreter")
    table.add(
        "import gateway / import flask",
        statistics.median(times["flask"]) / 1000,
        statistics.median(times["gateway"]) / 1000,
        "ms",
        "<= 0.6",
    )
    table.print()


if __name__ == "__main__":
    main()
