"""Two HTTP/1.1 requests pipelined on one connection, on every adapter that
speaks HTTP (issue 18, point 6).

A server may answer both, or answer the first with ``Connection: close`` and
close (the client then knows to send the second again); it may never answer
one and close without saying so: a pipelining client (wrk, a proxy that
reuses connections) loses the second request. uWSGI's ``--http-socket`` did
exactly that (wrk: one read error per request) until the adapter made it say
``Connection: close``.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest
from site_deployments import BASE_DOMAIN

pytestmark = pytest.mark.integration

#: Seconds the client waits for more bytes before deciding the server is done.
READ_TIMEOUT = 3.0

#: adapter, extra `gateway serve` arguments, Python package or program needed
#: (every adapter of gateway.toml.ADAPTERS whose protocol is "http", and uWSGI
#: in its http mode).
HTTP_ADAPTERS = [
    pytest.param("dev", [], "werkzeug", id="dev"),
    pytest.param("gevent", [], "gevent", id="gevent"),
    pytest.param("tornado", [], "tornado", id="tornado"),
    pytest.param("gunicorn", ["--workers", "2"], "gunicorn", id="gunicorn"),
    pytest.param("granian", ["--workers", "2"], "granian", id="granian"),
    pytest.param("uwsgi", ["--http", "--workers", "2"], "uwsgi", id="uwsgi-http"),
]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def closes(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


def parse_responses(data: bytes) -> tuple[list[RawResponse], bytes]:
    """The complete responses at the start of ``data`` (Content-Length or
    chunked bodies), and the bytes left over (an incomplete response)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        assert match, f"not a status line: {lines[0]!r}"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size_line, sep, after = rest.partition(b"\r\n")
                if not sep:
                    return out, data
                size = int(size_line.split(b";")[0], 16)
                if len(after) < size + 2:
                    return out, data
                body += after[:size]
                rest = after[size + 2 :]
                if size == 0:
                    break
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if len(rest) < length:
                break
            body, rest = rest[:length], rest[length:]
        else:
            # Delimited by the close: complete only if the server closed,
            # which the caller knows; then it must also say Connection: close
            # (HTTP/1.1) for a pipelining client to know the rest is lost.
            body, rest = rest, b""
        out.append(RawResponse(int(match.group(1)), headers, body))
        data = rest
    return out, data


def pipeline(port: int, paths: list[str]) -> tuple[bytes, bool]:
    """Send GETs of ``paths`` in one ``sendall``; read until the server closes
    (True) or stays silent for READ_TIMEOUT seconds (False)."""
    host = f"{BASE_DOMAIN}:{port}"
    request = "".join(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n" for path in paths)
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        sock.sendall(request.encode("ascii"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk
    return data, False


#: The second path is a streamed response (no Content-Length from the app).
PIPELINES = [
    pytest.param(["/", "/whoami"], id="sized"),
    pytest.param(["/stream", "/"], id="streamed-first"),
]


@pytest.mark.parametrize("paths", PIPELINES)
@pytest.mark.parametrize(("adapter", "args", "needs"), HTTP_ADAPTERS)
def test_two_pipelined_requests_are_both_answered_or_the_close_is_announced(
    serve, adapter, args, needs, paths
):
    _, port = serve(adapter, args, needs)
    data, closed = pipeline(port, paths)
    responses, leftover = parse_responses(data)
    assert responses, f"no complete response: {data!r}"
    assert not leftover, f"an incomplete response: {leftover!r}"
    assert all(r.status == 200 for r in responses), data
    first = responses[0]
    if paths[0] == "/":
        assert first.body == b"main index"
    else:
        assert first.body == b"chunk-1\nreleased\nend\n"
    if len(responses) >= 2:
        assert not first.closes, "answered after announcing the close"
        assert len(responses) == 2, data
        second = responses[1]
        if paths[1] == "/":
            assert second.body == b"main index"
        else:
            assert json.loads(second.body)["label"] == "main"
    else:
        # One answer only: the server must have said it closes, and closed.
        assert first.closes, (
            f"{adapter} answered the first of two pipelined requests without"
            f" 'Connection: close' and dropped the second: {data!r}"
        )
        assert closed, f"{adapter} announced the close but kept the connection"


def test_wrk_against_uwsgi_http_has_no_read_errors(serve):
    """wrk keeps connections alive and sends the next request on them: one
    read error per request before uWSGI said ``Connection: close``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed")
    _, port = serve("uwsgi", ["--http", "--workers", "2"], "uwsgi")
    result = subprocess.run(
        [
            wrk,
            "-t1",
            "-c10",
            "-d2s",
            "-H",
            f"Host: {BASE_DOMAIN}:{port}",
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    requests = re.search(r"(\d+) requests in", result.stdout)
    assert requests and int(requests.group(1)) > 0, result.stdout
    assert "Socket errors" not in result.stdout, result.stdout
    assert "Non-2xx" not in result.stdout, result.stdout
