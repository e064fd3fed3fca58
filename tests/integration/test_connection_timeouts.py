"""``[server].header_timeout`` and ``keepalive_timeout`` with the real servers:
many connections that send half a request line, or sit idle after a
kept-alive response, are closed by the server within the timeout plus a
margin, while a normal request is still answered meanwhile."""

from __future__ import annotations

import select
import socket
import statistics
import time

import pytest
from reload_clients import serve_site
from site_deployments import BASE_DOMAIN

pytestmark = pytest.mark.integration

#: Connections of each kind (the issue reported 200 of each left open).
CONNECTIONS = 200
HEADER_TIMEOUT = 2.0
KEEPALIVE_TIMEOUT = 1.0
#: Seconds past the timeout a connection may still be open (a loaded machine).
MARGIN = 5.0

TIMEOUTS = {"header_timeout": HEADER_TIMEOUT, "keepalive_timeout": KEEPALIVE_TIMEOUT}

#: adapter, Python package, whether it enforces header_timeout
ADAPTERS = [
    pytest.param("gevent", "gevent", True, id="gevent"),
    pytest.param("tornado", "tornado", True, id="tornado"),
    # gunicorn has keep-alive idle timeout only (no header timeout).
    pytest.param("gunicorn", "gunicorn", False, id="gunicorn"),
]


def request_bytes(port: int) -> bytes:
    return f"GET / HTTP/1.1\r\nHost: {BASE_DOMAIN}:{port}\r\n\r\n".encode()


def read_response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def connect(port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(sock)
    return socks


def seconds_until_closed(
    socks: list[socket.socket], since: float, limit: float
) -> tuple[list[float], list[bytes]]:
    """When the server closed each socket (seconds after ``since``; ``inf``
    when still open after ``limit``), and what each received before."""
    closed: dict[socket.socket, float] = {}
    received = {sock: b"" for sock in socks}
    deadline = since + limit
    while len(closed) < len(socks) and time.monotonic() < deadline:
        open_socks = [s for s in socks if s not in closed]
        readable, _, _ = select.select(open_socks, [], [], 0.1)
        for sock in readable:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                received[sock] += chunk
            else:
                closed[sock] = time.monotonic() - since
    return [closed.get(s, float("inf")) for s in socks], [received[s] for s in socks]


def report(adapter: str, kind: str, timeout: float, times: list[float]) -> None:
    print(
        f"\n[timeouts {adapter}] {len(times)} {kind}: configured {timeout:g}s,"
        f" closed after median {statistics.median(times):.2f}s, max {max(times):.2f}s"
    )


@pytest.mark.parametrize(("adapter", "needs", "header"), ADAPTERS)
def test_idle_and_half_sent_connections_are_closed_after_their_timeout(
    server_dir, adapter, needs, header
):
    process, client = serve_site(
        server_dir, adapter, needs, ["--threads", "4"], server=TIMEOUTS
    )
    socks: list[socket.socket] = []
    try:
        port = client.port
        # Kept-alive connections, idle after one answered request.
        idle = connect(port, CONNECTIONS)
        socks += idle
        for sock in idle:
            sock.sendall(request_bytes(port))
        for sock in idle:
            assert read_response(sock).startswith(b"HTTP/1.1 200")
        idle_since = time.monotonic()
        half: list[socket.socket] = []
        if header:
            # New connections that send half a request line, then nothing.
            half = connect(port, CONNECTIONS)
            socks += half
            for sock in half:
                sock.sendall(b"GET / HT")
        half_since = time.monotonic()

        # Meanwhile a normal request is answered.
        assert client.get("/", timeout=10).status == 200

        idle_times, _ = seconds_until_closed(
            idle, idle_since, KEEPALIVE_TIMEOUT + MARGIN
        )
        report(adapter, "idle keep-alive", KEEPALIVE_TIMEOUT, idle_times)
        assert max(idle_times) <= KEEPALIVE_TIMEOUT + MARGIN
        if header:
            half_times, _ = seconds_until_closed(
                half, half_since, HEADER_TIMEOUT + MARGIN
            )
            report(adapter, "half request lines", HEADER_TIMEOUT, half_times)
            assert max(half_times) <= HEADER_TIMEOUT + MARGIN
            # Closed by the timeout, not at once.
            assert min(half_times) >= HEADER_TIMEOUT / 2
        assert client.get("/", timeout=10).status == 200
    finally:
        for sock in socks:
            sock.close()
        assert process.stop() == 0


@pytest.mark.parametrize(
    ("adapter", "needs", "answer"),
    [
        pytest.param("gevent", "gevent", b"HTTP/1.1 408 ", id="gevent"),
        pytest.param("tornado", "tornado", b"", id="tornado"),
    ],
)
def test_a_request_stuck_in_its_headers_is_cut_at_the_header_timeout(
    server_dir, adapter, needs, answer
):
    process, client = serve_site(server_dir, adapter, needs, server=TIMEOUTS)
    try:
        (sock,) = connect(client.port, 1)
        with sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {BASE_DOMAIN}\r\nX-Slow: ".encode())
            since = time.monotonic()
            times, received = seconds_until_closed(
                [sock], since, HEADER_TIMEOUT + MARGIN
            )
        assert times[0] <= HEADER_TIMEOUT + MARGIN
        assert received[0].startswith(answer)
        assert client.get("/").status == 200
    finally:
        assert process.stop() == 0
