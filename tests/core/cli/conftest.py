"""Fixtures of the ``gateway`` command line tests.

Every test runs with the fixture applications of ``apps/`` importable, in
its own working directory, and with ``os.environ``, ``sys.path`` and the
module cache restored afterwards (the CLI writes to all three).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from server_harness import free_port

from gateway.cli import GatewayGroup

APPS = Path(__file__).parent / "apps"
GATEWAY_SCRIPT = Path(sys.executable).with_name("gateway")


@pytest.fixture(autouse=True)
def _isolated_cli_state(tmp_path, monkeypatch):
    """Give each test a clean environment, ``sys.path`` and module cache.

    The CLI writes to ``os.environ`` (GATEWAY_DEBUG, GATEWAY_RUN_FROM_CLI,
    dotenv values) and ``prepare_import`` to ``sys.path``; all is restored.
    """
    saved_environ = dict(os.environ)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)

    for name in list(os.environ):
        if name.startswith("GATEWAY_") or name == "PYTHONSTARTUP":
            del os.environ[name]

    sys.path.insert(0, str(APPS))
    # Dotenv files are searched upwards from here: keep the search private.
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
    os.environ.clear()
    os.environ.update(saved_environ)
    sys.path[:] = saved_path

    for name in set(sys.modules) - saved_modules:
        file = getattr(sys.modules[name], "__file__", None) or ""

        if file.startswith((str(APPS), str(tmp_path))):
            del sys.modules[name]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def group() -> GatewayGroup:
    """A fresh ``gateway`` group, so plug-in and lazy command state of one
    test never leaks into another."""
    return GatewayGroup(name="gateway")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate and its key, made by the openssl program."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment for a real ``gateway`` process: apps/ importable,
    no GATEWAY_ variables from the caller, a private HOME for shell history."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATEWAY_") and k != "PYTHONSTARTUP"
    }
    env["PYTHONPATH"] = str(APPS)
    env["HOME"] = str(tmp_path)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@pytest.fixture
def run_gateway(tmp_path):
    """Run ``python -m gateway ARGS`` (or, with ``script=True``, the installed
    ``gateway`` script) to completion in the test's working directory."""

    def run(
        *args: str, script: bool = False, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        program = [str(GATEWAY_SCRIPT)] if script else [sys.executable, "-m", "gateway"]
        return subprocess.run(
            [*program, *args],
            cwd=tmp_path / "cwd",
            env=subprocess_env(tmp_path),
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


@pytest.fixture
def plugin_distribution(tmp_path):
    """Install (on sys.path) a distribution declaring gateway.commands entry
    points: one that works, one whose module fails to import."""
    site = tmp_path / "site"
    info = site / "gwplugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gwplugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[gateway.commands]\n"
        "hello-plugin = cliapp.plugin_commands:hello_command\n"
        "broken-plugin = cliapp.broken_plugin:command\n"
    )
    sys.path.insert(0, str(site))
    return site


@pytest.fixture
def env_files(tmp_path):
    """A project directory with both default files and a custom one."""
    project = tmp_path / "cwd"
    (project / ".gatewayenv").write_text("FOO=gatewayenv\nBAR=gatewayenv\nSPAM=1\n")
    (project / ".env").write_text("FOO=env\nEGGS=from-file\n")
    custom = project / "custom.env"
    custom.write_text("BAR=custom\n")
    return project


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    scheme: str = "http"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, timeout: float = 30) -> tuple[int, str]:
        """GET a page; any status is returned rather than raised."""
        context = None

        if self.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE

        url = f"{self.scheme}://127.0.0.1:{self.port}{path}"

        try:
            with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 30, poke=None) -> None:
        deadline = time.monotonic() + timeout

        while text not in self.output():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared in:\n{self.output()}")

            if poke is not None:
                poke()

            time.sleep(0.2)


@pytest.fixture
def serve(tmp_path):
    """Start ``python -m gateway ... run`` on a free port; every server is
    stopped by process group id at the end of the test."""
    started: list[Server] = []

    def start(
        *args: str, scheme: str = "http", port_option: bool = True, **env: str
    ) -> Server:
        port = free_port()
        log = tmp_path / f"server-{len(started)}.log"
        command = [sys.executable, "-m", "gateway", *args]

        if port_option:
            command += ["--port", str(port)]
        else:
            env["GATEWAY_RUN_PORT"] = str(port)

        with open(log, "wb") as out:
            process = subprocess.Popen(
                command,
                cwd=tmp_path / "cwd",
                env=subprocess_env(tmp_path, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        server = Server(process, port, log, scheme)
        started.append(server)
        deadline = time.monotonic() + 30

        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode}:\n{server.output()}"
                )

            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"server never listened:\n{server.output()}")

                time.sleep(0.1)

        return server

    yield start

    for server in started:
        try:
            os.killpg(server.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


@pytest.fixture
def no_interactive_hook(monkeypatch):
    # site's hook would enable readline history for the test process.
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)
