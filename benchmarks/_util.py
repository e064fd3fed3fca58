"""Shared helpers of the benchmarks: interleaved repeats, medians, a table."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t


def interleave(
    cases: dict[str, t.Callable[[], float]], repeats: int = 5
) -> dict[str, float]:
    """Run each case ``repeats`` times, alternating between cases so drifts
    of a shared machine hit all of them alike; return each case's median."""
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            results[name].append(case())
    return {name: statistics.median(values) for name, values in results.items()}


T = t.TypeVar("T")


def paired(cases: dict[str, t.Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run the cases back to back, ``rounds`` times, the order reversed every
    other round; return each case's values, round by round. On a shared
    machine a slow spell then hits the cases of one round alike, so the
    median of per-round ratios is steadier than a ratio of medians."""
    names = list(cases)
    values: dict[str, list[T]] = {name: [] for name in names}
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            values[name].append(cases[name]())
    return values


def spread(ratios: list[float]) -> str:
    """``median (quartiles low-high, n rounds)`` of a list of ratios."""
    q = statistics.quantiles(ratios, n=4)
    return (
        f"median {statistics.median(ratios):.3f}, quartiles {q[0]:.3f}-{q[2]:.3f},"
        f" {len(ratios)} rounds"
    )


def per_call_us(fn: t.Callable[[], object], number: int) -> float:
    """Microseconds per call of ``fn`` over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number * 1e6


def cachegrind(
    args: list[str], out: str, options: t.Sequence[str] = ("--cache-sim=no",)
) -> str:
    """Run ``python ARGS`` (this interpreter) under valgrind's cachegrind,
    its counts written to ``out``, with a fixed hash seed and address
    layout; return valgrind's report (stderr)."""
    # A virtual environment's python is run as named: its path tells the
    # interpreter where its site-packages are (the resolved binary otherwise:
    # sys.executable may be a pyenv shim script, which valgrind cannot run).
    in_venv = sys.prefix != sys.base_prefix
    python = sys.executable if in_venv else os.path.realpath(sys.executable)
    command = [
        "valgrind",
        "--tool=cachegrind",
        *options,
        f"--cachegrind-out-file={out}",
        python,
        *args,
    ]
    if shutil.which("setarch"):
        command = ["setarch", "-R", *command]  # the same layout every run
    return subprocess.run(
        command,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    ).stderr


def machine_instructions(args: list[str]) -> int:
    """Machine instructions of ``python ARGS``, counted by cachegrind: a
    figure that does not move with the machine's load."""
    with tempfile.TemporaryDirectory() as tmp:
        report = cachegrind(args, f"{tmp}/out")
    found = re.search(r"I\s+refs:\s+([\d,]+)", report)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{report}")
    return int(found.group(1).replace(",", ""))


class Table:
    """Rows of (what, anchor, gateway, ratio, target), printed aligned."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(
        self,
        what: str,
        anchor: float | None,
        gateway: float,
        unit: str,
        target: str = "",
        higher_is_better: bool = False,
        ratio: float | None = None,
    ) -> float | None:
        """Add a row; the ratio is ``gateway / anchor`` unless given (as the
        median of paired ratios from :func:`paired`)."""
        if ratio is None and anchor:
            ratio = gateway / anchor
        self.rows.append(
            (
                what,
                "-" if anchor is None else f"{anchor:,.1f} {unit}",
                f"{gateway:,.1f} {unit}",
                "-" if ratio is None else f"{ratio:.2f}",
                target,
            )
        )
        return ratio

    def print(self) -> None:
        header = ("what", "anchor", "gateway", "ratio", "target")
        widths = [
            max(len(r[i]) for r in [header, *self.rows]) for i in range(len(header))
        ]
        print(f"\n## {self.title}")
        for row in [header, *self.rows]:
            print(
                "  ".join(
                    cell.ljust(w) for cell, w in zip(row, widths, strict=True)
                ).rstrip()
            )
