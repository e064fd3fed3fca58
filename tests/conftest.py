"""Fixtures shared by the whole suite: real server processes.

The machinery lives in server_harness.py (importable by test modules); this
file turns it into fixtures and attaches the tail of every running server's
logs to the report of a failed test.
"""

from __future__ import annotations

import os
import shutil
import typing as t
from pathlib import Path

import pytest
from server_harness import (
    ServerProcess,
    running,
    self_signed_certificate,
    world_readable_tempdir,
)

# The suite's own process is the reference: the differential tests compare
# gateway with real Flask side by side in it, and the Flask compatibility
# switch (which makes `import flask` mean gateway) is tested in child
# processes (tests/compat/). So real Flask is imported first, before anything
# could turn the switch on (the gateway CLI does when it loads the
# flask.commands plug-ins of installed extensions), and a run with the
# switch requested from the environment is refused.
if os.environ.get("GATEWAY_FLASK_COMPAT", "").strip():
    raise pytest.UsageError(
        "GATEWAY_FLASK_COMPAT is set: gateway's own suite compares gateway with"
        " real Flask in one process and tests the switch in child processes;"
        " unset it to run the suite."
    )
import flask  # noqa: E402,F401  (real Flask; see above)


@pytest.fixture
def server_dir() -> t.Iterator[Path]:
    """A per-test directory (mode 0755) for configs, sockets and logs."""
    path = world_readable_tempdir("gateway-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def spawn_server(server_dir: Path) -> t.Iterator[t.Callable[..., ServerProcess]]:
    """Start server processes for one test; all are stopped at its end."""
    started: list[ServerProcess] = []

    def spawn(name: str, argv: t.Sequence[str], **kwargs: t.Any) -> ServerProcess:
        process = ServerProcess(name, argv, server_dir, **kwargs).start()
        started.append(process)
        return process

    yield spawn
    for process in reversed(started):
        process.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> t.Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and running:
        for process in list(running):
            report.sections.append((f"server log: {process.name}", process.logs()))


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for example.* made by openssl."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), "example.net")
