"""Fixtures shared by the whole suite: starting real server processes.

A server under test runs in its own process group on 127.0.0.1, on a free
port or a unix socket in a temporary directory, with a readiness deadline; it
is stopped by signalling its process group, so forked workers (uWSGI,
gunicorn, fcgiwrap's children, Apache's) go with it. When a test fails, the
tail of every running server's logs is attached to the report.

A server program that is not installed skips its tests with the reason; with
``GATEWAY_REQUIRE_SERVERS=1`` (set by scripts/test when it installed them, as
in CI) it fails them instead, so CI never passes by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import pytest

#: Seconds a server gets to accept connections before its test fails.
READY_TIMEOUT = float(os.environ.get("GATEWAY_TEST_READY_TIMEOUT", "30"))
#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0

_running: list[ServerProcess] = []


def strict_servers() -> bool:
    """Whether a missing server program fails instead of skipping."""
    return os.environ.get("GATEWAY_REQUIRE_SERVERS", "") not in ("", "0")


def missing(reason: str) -> t.NoReturn:
    """Skip (or, in strict mode, fail) because something is not installed."""
    if strict_servers():
        pytest.fail(f"{reason} (GATEWAY_REQUIRE_SERVERS is set)", pytrace=False)
    pytest.skip(reason)


def require_program(name: str, *candidates: str) -> str:
    """The absolute path of a server program, next to this Python, on PATH,
    or at one of ``candidates``; skip (fail in strict mode) if absent."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found:
        return found
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    missing(f"{name} is not installed (scripts/test installs it when run as root)")


def require_module(name: str) -> None:
    """Skip (fail in strict mode) when a server's Python package is missing."""
    try:
        __import__(name)
    except ImportError:
        missing(f"the {name!r} package is not installed: pip install -e '.[servers]'")


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tcp_ready(host: str, port: int) -> t.Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def unix_ready(path: str | os.PathLike[str]) -> t.Callable[[], bool]:
    def probe() -> bool:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(0.5)
            try:
                sock.connect(os.fspath(path))
                return True
            except OSError:
                return False

    return probe


class ServerFailed(AssertionError):
    """A server exited or did not become ready in time."""


class ServerProcess:
    """One server process (group) with its log files."""

    def __init__(
        self,
        name: str,
        argv: t.Sequence[str],
        log_dir: str | os.PathLike[str],
        *,
        env: t.Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        extra_logs: t.Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        self.name = name
        self.argv = [os.fspath(a) for a in argv]
        self.log_path = Path(log_dir) / f"{name}.log"
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.extra_logs = [Path(p) for p in extra_logs]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        _running.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(
        self, probe: t.Callable[[], bool], timeout: float = READY_TIMEOUT
    ) -> ServerProcess:
        """Poll ``probe`` until it is true; fail with the logs if the process
        exits first or the deadline passes."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with status {self.proc.returncode} before"
                    f" it was ready: {self.argv}\n{self.logs()}"
                )
            if probe():
                return self
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"{self.name} was not ready after {timeout:g}s: {self.argv}\n"
                    f"{self.logs()}"
                )
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Signal the process group, wait, then kill what is left."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signum)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(5)
        # Children that outlive their leader (fcgiwrap -c N) are in the group.
        self.signal(signal.SIGKILL)
        if self in _running:
            _running.remove(self)
        return self.proc.returncode

    def logs(self, lines: int = 80) -> str:
        """The tail of the server's output and extra log files."""
        parts = []
        for path in [self.log_path, *self.extra_logs]:
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"----- {path} -----\n{tail}")
        return "\n".join(parts)


def world_readable_tempdir(prefix: str) -> Path:
    """A temporary directory servers running as another user (www-data)
    can enter; pytest's own tmp_path is private to root."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


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
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> t.Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _running:
        for process in list(_running):
            report.sections.append((f"server log: {process.name}", process.logs()))
