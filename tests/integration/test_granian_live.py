"""What only the granian adapter does, on the real server: SIGHUP starts new
workers on the gateway.toml as it is now and retires the old ones after their
requests, and the process environment never passes for request data.

(Everything every HTTP adapter does is checked for granian with the others:
tests/integration/test_deployments.py, test_pipelining.py,
test_malformed_body.py, test_serve_lifecycle.py, test_worker_death.py and
tests/adapters/test_serve_http.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest
from server_harness import (
    ServerProcess,
    eventually,
    free_port,
    http_ready,
    http_request,
    require_module,
    require_program,
    wait_for_log,
)
from site_deployments import BASE_DOMAIN, DIRECT_PROXY, gateway_serve, write_site

pytestmark = pytest.mark.integration

#: Seconds a reload may take: granian starts the new worker, waits its
#: respawn interval (3.5 s), then stops the old one.
RELOAD_TIMEOUT = 30.0
#: Client threads of :class:`Load`, each with one connection open at a time.
LOAD_CLIENTS = 4
#: Connections an old worker may drop as it stops: one that it accepted but
#: whose request it had not begun to read when its shutdown began is closed
#: without an answer (hyper's graceful shutdown). Requests it had begun all
#: finish. At most every client's one open connection: measured 0 or 1 per
#: reload at first, and 2 in one reload of ten once a request took a quarter
#: less time (more connections are between accept and read at any moment).
DROPPED_AT_RETIREMENT = LOAD_CLIENTS
#: How such a drop looks to a client: closed or reset before any response.
DROP_ERRORS = ("RemoteDisconnected", "ConnectionResetError")

ADDED_MOUNT = """
[[mounts]]
prefix = "/added"
app = "gwsite.admin:create_app()"
"""


class Load:
    """Client threads sending requests without pause until stopped; every
    answer and every error is kept."""

    def __init__(self, port: int, clients: int = LOAD_CLIENTS) -> None:
        self.port = port
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self) -> None:
        host = f"alpha.{BASE_DOMAIN}:{self.port}"
        while not self._stop.is_set():
            try:
                self.statuses.append(
                    http_request(self.port, "/", host=host, timeout=10).status
                )
            except OSError as e:
                self.errors.append(f"{type(e).__name__}: {e}")

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


def assert_only_retirement_drops(load: Load) -> None:
    assert len(load.errors) <= DROPPED_AT_RETIREMENT, load.errors
    assert all(e.startswith(DROP_ERRORS) for e in load.errors), load.errors
    assert set(load.statuses) == {200}


def _status(port: int, path: str) -> int:
    return http_request(port, path, host=f"{BASE_DOMAIN}:{port}", timeout=10).status


def test_sighup_serves_the_changed_gateway_toml_and_loses_no_request(
    serve: t.Callable[..., tuple[ServerProcess, int]], server_dir: Path
) -> None:
    process, port = serve("granian", ["--workers", "1"], "granian")
    assert _status(port, "/added/") == 404
    slow: list[str] = []
    in_flight = threading.Thread(
        target=lambda: slow.append(
            http_request(
                port, "/slow?seconds=3", host=f"{BASE_DOMAIN}:{port}", timeout=30
            ).text
        )
    )
    with Load(port) as load:
        time.sleep(0.5)
        in_flight.start()
        time.sleep(0.3)
        toml = server_dir / "gateway.toml"
        toml.write_text(toml.read_text() + ADDED_MOUNT)
        started = time.monotonic()
        process.signal_leader(signal.SIGHUP)
        assert eventually(lambda: _status(port, "/added/") == 200, RELOAD_TIMEOUT)
        took = time.monotonic() - started
        assert wait_for_log(process, "Stopped old worker-1", RELOAD_TIMEOUT)
        time.sleep(0.5)
    in_flight.join(30)
    print(
        f"granian SIGHUP: new configuration served after {took:.2f}s;"
        f" {len(load.statuses)} requests, {len(load.errors)} errors"
    )
    assert slow == ["slept"]
    assert_only_retirement_drops(load)
    assert process.proc is not None and process.proc.poll() is None


def test_a_gateway_toml_broken_at_reload_keeps_the_running_configuration(
    serve: t.Callable[..., tuple[ServerProcess, int]], server_dir: Path
) -> None:
    process, port = serve("granian", ["--workers", "1"], "granian")
    toml = server_dir / "gateway.toml"
    toml.write_text(toml.read_text() + "\n[tenants\nbroken = \n")
    with Load(port) as load:
        process.signal_leader(signal.SIGHUP)
        assert wait_for_log(process, "does not load, keeping the configuration")
        assert wait_for_log(process, "Stopped old worker-1", RELOAD_TIMEOUT)
    assert_only_retirement_drops(load)
    assert _status(port, "/admin/") == 200
    assert process.proc is not None and process.proc.poll() is None


def test_process_variables_named_like_request_data_do_not_reach_the_app(
    server_dir: Path,
) -> None:
    require_module("granian")
    port = free_port()
    toml = write_site(
        server_dir, {"adapter": "granian", "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
    )
    env = {
        **os.environ,
        # 127.0.0.1 is a trusted proxy here: believed, this would be the client.
        "HTTP_X_FORWARDED_FOR": "6.6.6.6",
        "HTTP_X_PROBE": "from-the-process",
        "CONTENT_LENGTH": "5",
    }
    process = ServerProcess(
        "gateway-serve-granian",
        [sys.executable, "-m", "gateway", "serve", str(toml), "--adapter", "granian"],
        server_dir,
        env=env,
        cwd="/",
    ).start()
    try:
        process.wait_ready(http_ready(port, host=f"{BASE_DOMAIN}:{port}"))
        whoami = http_request(
            port, "/whoami", host=f"alpha.{BASE_DOMAIN}:{port}"
        ).json()
        assert whoami["remote_addr"] == "127.0.0.1"
        assert whoami["x_forwarded_for"] is None
        assert whoami["probe"] is None
        sent = http_request(
            port,
            "/whoami",
            host=f"alpha.{BASE_DOMAIN}:{port}",
            headers={"X-Probe": "from-the-client"},
        ).json()
        assert sent["probe"] == "from-the-client"
        echo = http_request(
            port, "/echo", method="POST", host=f"alpha.{BASE_DOMAIN}:{port}", body=b""
        ).json()
        assert echo["length"] == 0
    finally:
        process.stop()


def _curl(*args: str) -> tuple[str, str]:
    """``(HTTP version, status)`` of one request made by curl."""
    curl = require_program("curl")
    done = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    version, _, status = done.stdout.partition(" ")
    return version, status


def _granian_site(
    server_dir: Path, **server: t.Any
) -> tuple[ServerProcess, int, list[str]]:
    """The test site under granian; the process, its port, and the curl
    arguments that send alpha's host name to it."""
    require_module("granian")
    port = free_port()
    toml = write_site(
        server_dir,
        {"adapter": "granian", "bind": f"127.0.0.1:{port}", **server},
        DIRECT_PROXY,
    )
    process = gateway_serve(toml, server_dir, "granian")
    return process, port, ["--resolve", f"alpha.{BASE_DOMAIN}:{port}:127.0.0.1"]


def test_http2_by_prior_knowledge(server_dir: Path) -> None:
    process, port, resolve = _granian_site(server_dir)
    try:
        process.wait_ready(http_ready(port, host=f"alpha.{BASE_DOMAIN}:{port}"))
        url = f"http://alpha.{BASE_DOMAIN}:{port}/whoami"
        assert _curl("--http2-prior-knowledge", *resolve, url) == ("2", "200")
        assert _curl("--http1.1", *resolve, url) == ("1.1", "200")
    finally:
        process.stop()


def test_serve_tls_speaks_https_with_http2_by_alpn(
    server_dir: Path, tls_pair: tuple[Path, Path]
) -> None:
    """[server].serve_tls: HTTPS where ALPN picks HTTP/2, HTTP/1.1 for a
    client that asks for it, and TLS 1.2 for an older client."""
    cert, key = tls_pair
    process, port, resolve = _granian_site(
        server_dir, tls_cert=str(cert), tls_key=str(key), serve_tls=True
    )
    url = f"https://alpha.{BASE_DOMAIN}:{port}/whoami"
    try:
        assert eventually(lambda: _curl("-k", *resolve, url)[1] == "200", 20)
        assert _curl("-k", *resolve, url) == ("2", "200")
        assert _curl("-k", "--http1.1", *resolve, url) == ("1.1", "200")
        assert _curl("-k", "--tls-max", "1.2", *resolve, url) == ("2", "200")
        assert _curl("--http1.1", *resolve, url.replace("https", "http"))[1] != "200"
    finally:
        process.stop()
