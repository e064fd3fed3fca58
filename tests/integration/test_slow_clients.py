"""Slow clients against the servers they can starve (issue 18, point 7).

gunicorn's workers and uWSGI's http-socket hand a connection to a thread
before its request head has arrived, and wait for it without a deadline:
200 connections that send half a request line leave nobody answered (measured
before this rule: 0 of 3 requests within 15 s, on both). ``gateway serve``
therefore refuses to let them listen where clients reach them directly; in
front of them, the generated nginx buffers every request head, so the same
200 slow clients cost the backend nothing.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import sys
import time
import typing as t
from contextlib import ExitStack
from pathlib import Path

import pytest
from server_harness import (
    free_port,
    require_module,
    require_program,
    world_readable_tempdir,
)
from site_deployments import BASE_DOMAIN, DEPLOYMENTS, DIRECT_PROXY, write_site

pytestmark = pytest.mark.integration

#: Connections that send half a request line and then nothing.
SLOW_CLIENTS = 200
#: Seconds a normal request may take while they are open (nginx answers in
#: milliseconds; a starved backend never does).
ANSWER_TIMEOUT = 10.0

STARVED = [
    pytest.param("gunicorn", [], id="gunicorn"),
    pytest.param("uwsgi", ["--http"], id="uwsgi-http"),
]


def _require(adapter: str) -> None:
    if adapter == "uwsgi":
        require_program("uwsgi")
    else:
        require_module(adapter)


@pytest.mark.parametrize(("adapter", "args"), STARVED)
def test_a_starvable_server_refuses_to_face_clients_directly(
    adapter: str, args: list[str], server_dir: Path
) -> None:
    _require(adapter)
    toml = write_site(
        server_dir, {"adapter": adapter, "bind": f"0.0.0.0:{free_port()}"}, DIRECT_PROXY
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            str(toml),
            "--adapter",
            adapter,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert run.returncode == 1, run.stderr
    assert run.stderr.startswith(f"Error: bind: {adapter} would listen on 0.0.0.0:")
    assert "[server].behind_proxy = true" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("adapter", "args"), STARVED)
def test_on_loopback_it_serves_and_says_it_expects_a_proxy(
    adapter: str, args: list[str], serve: t.Callable[..., t.Any]
) -> None:
    process, port = serve(adapter, args, _needs(adapter))
    assert _get(port, "/", ANSWER_TIMEOUT) == 200
    assert f"{adapter} on 127.0.0.1:{port} expects a buffering proxy" in process.logs(
        400
    )


def _needs(adapter: str) -> str:
    return "uwsgi" if adapter == "uwsgi" else adapter


def _get(port: int, path: str, timeout: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": f"{BASE_DOMAIN}:{port}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _open_slow_clients(port: int, stack: ExitStack) -> None:
    for _ in range(SLOW_CLIENTS):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), 5))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: " + BASE_DOMAIN.encode())


@pytest.mark.parametrize("name", ["gunicorn+nginx", "uwsgi+nginx"])
def test_behind_the_generated_nginx_slow_clients_starve_nobody(name: str) -> None:
    workdir = world_readable_tempdir(f"gateway-slow-{name.replace('+', '-')}-")
    deployment = DEPLOYMENTS[name](workdir)
    try:
        with ExitStack() as stack:
            _open_slow_clients(deployment.port, stack)
            started = time.monotonic()
            statuses = [_get(deployment.port, "/", ANSWER_TIMEOUT) for _ in range(3)]
            took = time.monotonic() - started
            print(f"{name}: 3 requests with {SLOW_CLIENTS} slow clients: {took:.3f} s")
            assert statuses == [200, 200, 200]
    finally:
        deployment.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _open_idle_clients(port: int, stack: ExitStack) -> None:
    """Connections that made one request and keep the connection open."""
    for _ in range(SLOW_CLIENTS):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), 5))
        sock.sendall(
            f"GET /whoami HTTP/1.1\r\nHost: {BASE_DOMAIN}:{port}\r\n\r\n".encode()
        )
        sock.recv(65536)


@pytest.mark.parametrize(
    ("adapter", "open_clients"),
    [
        pytest.param(adapter, opener, id=f"{adapter}-{kind}")
        for adapter in ("gevent", "tornado", "granian")
        for kind, opener in (
            ("half-sent", _open_slow_clients),
            ("idle", _open_idle_clients),
        )
    ],
)
def test_a_server_that_faces_clients_is_not_starved_by_them(
    adapter: str, open_clients: t.Callable[[int, ExitStack], None], serve: t.Any
) -> None:
    """With --threads 4, 200 slow or idle connections hold no thread a
    normal request needs (granian: its backpressure counts connections, so
    the adapter leaves it at granian's default rather than the threads)."""
    _process, port = serve(adapter, ["--threads", "4"], adapter)
    with ExitStack() as stack:
        open_clients(port, stack)
        started = time.monotonic()
        assert _get(port, "/", ANSWER_TIMEOUT) == 200
        print(f"{adapter}: answered in {time.monotonic() - started:.3f} s")
