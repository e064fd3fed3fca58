"""Fixtures for the Flask compatibility switch's tests.

The suite's own process has real Flask imported (tests/conftest.py), and the
switch cannot be turned on in a process that has, so every check of the
switch runs in a child process of the suite's interpreter: :func:`run_python`
for Python code, :func:`run_command` for console scripts and ``-m`` modules.
Children start from the suite's environment minus ``GATEWAY_FLASK_COMPAT``
and every other ``FLASK_*`` or ``GATEWAY_*`` variable, so only what a test
asks for reaches them, and run with ``-W error`` so a warning from the
switch fails the check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

#: The suite's interpreter, the virtual environment's (not resolved: a
#: venv's python is a symlink and its bin directory holds the scripts).
PYTHON = sys.executable
#: The virtual environment's console scripts: ``flask`` (real Flask's),
#: ``gateway``.
BIN = Path(PYTHON).parent
#: Children are killed after this long; nothing here should come near it.
TIMEOUT = 60


def child_env(switch: bool | str = False, **extra: str) -> dict[str, str]:
    """The suite's environment without any Flask or gateway variable, plus
    ``GATEWAY_FLASK_COMPAT`` (``"1"`` for True, a string as given) and
    ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "GATEWAY_"))
    }
    if switch is not False:
        env["GATEWAY_FLASK_COMPAT"] = "1" if switch is True else switch
    env.update(extra)
    return env


class Run(t.Protocol):
    def __call__(
        self,
        argv: t.Sequence[str | os.PathLike[str]],
        *,
        switch: bool | str = ...,
        env: t.Mapping[str, str] | None = ...,
        cwd: str | os.PathLike[str] | None = ...,
        check: bool = ...,
        warnings: t.Sequence[str] = ...,
    ) -> subprocess.CompletedProcess[str]: ...


class RunPython(t.Protocol):
    def __call__(
        self,
        code: str,
        *,
        switch: bool | str = ...,
        env: t.Mapping[str, str] | None = ...,
        cwd: str | os.PathLike[str] | None = ...,
        check: bool = ...,
        warnings: t.Sequence[str] = ...,
    ) -> subprocess.CompletedProcess[str]: ...


def _run(
    argv: t.Sequence[str | os.PathLike[str]],
    *,
    default_cwd: Path,
    switch: bool | str = False,
    env: t.Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = True,
    warnings: t.Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    command = [
        PYTHON,
        "-W",
        "error",
        *(option for warning in warnings for option in ("-W", warning)),
        *map(os.fspath, argv),
    ]
    result = subprocess.run(
        command,
        env=child_env(switch, **(env or {})),
        cwd=cwd if cwd is not None else default_cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{command!r} exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}",
            pytrace=False,
        )
    return result


@pytest.fixture(scope="session")
def child_cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory children get when a test gives none: empty,
    shared by the session (a test that writes files passes its tmp_path)."""
    return tmp_path_factory.mktemp("compat-child")


@pytest.fixture(scope="session")
def run_command(child_cwd: Path) -> Run:
    """``run_command(argv, switch=False, env=None, cwd=None, check=True,
    warnings=())``: run ``python -W error [-W WARNING...] *argv`` (a script
    path such as ``venv_bin / "flask"``, or ``"-m", "module"``) in a child
    process and return its :class:`~subprocess.CompletedProcess` (text
    output).

    ``switch`` sets ``GATEWAY_FLASK_COMPAT`` (True is ``"1"``); ``env`` adds
    variables; ``cwd`` defaults to an empty directory (:func:`child_cwd`);
    ``warnings`` adds ``-W`` filters after ``error`` (for a third-party
    warning that is no concern of the switch's); ``check`` fails the test,
    showing both outputs, on a non-zero exit. Session-scoped, so module-scoped
    fixtures can batch many checks into one child.
    """

    def run(
        argv: t.Sequence[str | os.PathLike[str]], **kwargs: t.Any
    ) -> subprocess.CompletedProcess[str]:
        return _run(argv, default_cwd=child_cwd, **kwargs)

    return run


@pytest.fixture(scope="session")
def run_python(child_cwd: Path) -> RunPython:
    """``run_python(code, switch=False, env=None, cwd=None, check=True,
    warnings=())``: run ``code`` (dedented) with ``python -W error -c`` in a
    child process, as :func:`run_command` does; the working directory is first
    on the child's ``sys.path``, so modules a test writes into its
    ``tmp_path`` import with ``cwd=tmp_path``."""

    def run(code: str, **kwargs: t.Any) -> subprocess.CompletedProcess[str]:
        return _run(["-c", textwrap.dedent(code)], default_cwd=child_cwd, **kwargs)

    return run


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The virtual environment's bin directory: its ``flask`` script is real
    Flask's, its ``gateway`` script gateway's."""
    return BIN
