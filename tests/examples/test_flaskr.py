"""Run the flaskr example's own test suite (examples/flaskr/tests) as part of
the main run.

The example keeps its tests next to its code, as the tutorial does, so they
also run alone with ``pytest examples/flaskr/tests``. Here they run in a child
pytest (the example puts its own directory on ``sys.path`` and imports its
module as ``flaskr``, which must not leak into this process).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TESTS = ROOT / "examples" / "flaskr" / "tests"


def test_flaskr_example_suite_passes() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLE_TESTS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    match = re.search(r"(\d+) passed", output)
    assert match is not None, output
    assert int(match.group(1)) >= 15, output  # the whole suite ran, not a subset
    assert "failed" not in output and "error" not in output.lower(), output
