"""The flup FastCGI adapter, spoken to with a real FastCGI client."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import sys
import threading

import pytest
from server_harness import (
    eventually,
    fastcgi_request,
    fastcgi_request_bytes,
    free_port,
    require_module,
    tcp_ready,
    unix_ready,
    wait_for_log,
)

from gateway.adapters.fastcgi import flup_bind_address, stdin_is_listening_socket

HERE = __import__("pathlib").Path(__file__).parent


def params(path: str, script_name: str = "", **extra: str) -> dict[str, str]:
    base = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "example.test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_HOST": "example.test",
    }
    base.update(extra)
    return base


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param(None, None, id="stdin"),
        pytest.param("/run/x.sock", "/run/x.sock", id="unix"),
        pytest.param(("127.0.0.1", 9000), ("127.0.0.1", 9000), id="ipv4"),
        pytest.param(("::1", 9000), ("::1", 9000, 0, 0), id="ipv6"),
    ],
)
def test_flup_bind_address(address, expected):
    assert flup_bind_address(address) == expected


def test_stdin_is_listening_socket_tells_sockets_from_pipes():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    connected = socket.socket()
    connected.connect(listener.getsockname())
    try:
        assert stdin_is_listening_socket(listener.fileno())
        assert not stdin_is_listening_socket(connected.fileno())
        assert not stdin_is_listening_socket(sys.stderr.fileno())
    finally:
        connected.close()
        listener.close()


def serve_flup_unix(spawn_server, server_dir, threads):
    """The plain app on flup with ``threads`` threads, on a unix socket."""
    require_module("flup")
    path = str(server_dir / "fcgi.sock")
    process = spawn_server(
        "flup",
        [
            sys.executable,
            str(HERE / "serve_plain.py"),
            "fastcgi",
            json.dumps({"bind": path, "threads": threads}),
        ],
    )
    process.wait_ready(unix_ready(path))
    return path, process


@pytest.fixture
def flup_unix(spawn_server, server_dir):
    return serve_flup_unix(spawn_server, server_dir, threads=4)


def test_passes_script_name_and_path_info_from_the_front_server(flup_unix):
    path, _ = flup_unix
    result = fastcgi_request(path, params("/env", script_name="/app"))
    env = json.loads(result.body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["REMOTE_ADDR"]) == (
        "/app",
        "/env",
        "10.1.2.3",
    )


def test_socket_is_reachable_by_another_user(flup_unix):
    path, _ = flup_unix
    import os

    assert os.stat(path).st_mode & 0o777 == 0o666


def test_post_body_and_error_page(flup_unix):
    path, process = flup_unix
    body = b"x" * 300_000
    result = fastcgi_request(
        path,
        params("/echo", REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body))),
        body,
    )
    assert json.loads(result.body) == {
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    failed = fastcgi_request(path, params("/fail"))
    assert failed.status == 500
    assert b"boom" not in failed.body
    # The traceback goes to FastCGI's stderr stream: the web server's error log.
    assert b"boom: this traceback belongs in the log only" in failed.stderr


def test_refuses_to_steal_a_live_socket(flup_unix, spawn_server):
    path, _ = flup_unix
    second = spawn_server(
        "flup-2",
        [
            sys.executable,
            str(HERE / "serve_plain.py"),
            "fastcgi",
            json.dumps({"bind": path}),
        ],
    )
    assert second.wait(30) != 0
    assert wait_for_log(second, "another server is listening on")
    assert fastcgi_request(path, params("/env")).status == 200


def test_a_connection_waits_for_a_free_thread_rather_than_being_reset(
    spawn_server, server_dir
):
    """flup closes a connection it accepted when no thread is idle, a reset
    for the client; the adapter leaves it in the backlog until one is."""
    path, _ = serve_flup_unix(spawn_server, server_dir, threads=1)
    gate = server_dir / "gate"
    with socket.socket(socket.AF_UNIX) as held:
        # The one thread streams /stream until the gate file exists.
        held.settimeout(20)
        held.connect(path)
        held.sendall(
            fastcgi_request_bytes(params("/stream", QUERY_STRING=f"gate={gate}"))
        )
        received = b""
        while b"chunk-1" not in received:
            chunk = held.recv(65536)
            assert chunk, received
            received += chunk
        outcome: list[object] = []

        def second() -> None:
            try:
                outcome.append(fastcgi_request(path, params("/env")).status)
            except OSError as e:
                outcome.append(e)

        waiting = threading.Thread(target=second)
        waiting.start()
        # Time enough for flup to have accepted and closed it, were it to.
        waiting.join(0.5)
        assert outcome == []
        gate.touch()
        while held.recv(65536):
            pass
    waiting.join(20)
    assert outcome == [200]


def test_sigterm_stops_the_server(flup_unix):
    path, process = flup_unix
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert eventually(lambda: not unix_ready(path)())


def test_serves_a_socket_inherited_on_stdin(server_dir, spawn_server, mini_site):
    """What mod_fcgid, lighttpd and supervisor's fcgi-program do: hand the
    listening socket to the .fcgi program as its stdin."""
    require_module("flup")
    from gateway.adapters.entry import render_entry, write_entry

    entry = write_entry(
        render_entry("fcgi", mini_site, name="mini"), server_dir / "entry"
    )
    port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    try:
        process = spawn_server(
            "fcgi-entry", [str(entry)], cwd="/", stdin=listener.fileno()
        )
    finally:
        listener.close()
    process.wait_ready(tcp_ready("127.0.0.1", port))
    result = fastcgi_request(
        ("127.0.0.1", port),
        params("/x", script_name="/mini.fcgi", HTTP_HOST="mini.test"),
    )
    # SCRIPT_NAME named the entry file itself: published at [server].script_name.
    assert result.body == b"mini |/x"
