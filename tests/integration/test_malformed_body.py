"""A body the server cannot read is a 400 on every real server, and the
server keeps serving (issue 18, point 1).

The request is sent as raw bytes: chunked encoding with a chunk size that is
not hexadecimal. Some servers' own HTTP parsers answer 400 before the app
runs; others hand the app a ``wsgi.input`` whose read raises the server's own
exception type (gevent's ``_InvalidClientInput``, gunicorn's
``InvalidChunkSize``), which the gateway's request turns into a 400
(gateway.wrappers.UnreadableBody) instead of a 500. Either way the client
gets a 400 without a traceback, and a normal request afterwards is served by
the same, living worker.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from server_harness import (
    http_request,
)
from site_deployments import BASE_DOMAIN

pytestmark = pytest.mark.integration

#: adapter, extra `gateway serve` arguments, Python package or program needed
SERVE = [
    # The app reads the body: wsgi.input raises _InvalidClientInput.
    pytest.param("gevent", [], "gevent", id="gevent"),
    # Tornado's own parser answers 400 before the app runs.
    pytest.param("tornado", [], "tornado", id="tornado"),
    # The app reads the body: wsgi.input raises InvalidChunkSize and co.
    pytest.param("gunicorn", ["--workers", "1"], "gunicorn", id="gunicorn"),
    # granian decodes chunks in Rust (see GRANIAN_LENIENT).
    pytest.param("granian", ["--workers", "1"], "granian", id="granian"),
    # The app reads the body through uWSGI's chunked-input API
    # (gateway/adapters/uwsgi_input.py), which raises OSError.
    pytest.param("uwsgi", ["--http", "--workers", "1"], "uwsgi", id="uwsgi-http"),
]

NON_HEX_SIZE = b"zz\r\nabc\r\n0\r\n\r\n"
NO_CRLF_AFTER_DATA = b"3\r\nabcXY0\r\n\r\n"

#: Bodies no server can read, each with what makes it malformed.
MALFORMED = [
    pytest.param(NON_HEX_SIZE, id="non-hex-chunk-size"),
    pytest.param(NO_CRLF_AFTER_DATA, id="chunk-without-crlf"),
    pytest.param(b"3\rxabc\r\n0\r\n\r\n", id="size-line-cr-without-lf"),
    pytest.param(b"-3\r\nabc\r\n0\r\n\r\n", id="negative-chunk-size"),
]

#: What uWSGI 2.0's chunked parser (core/chunked.c) cannot tell from a valid
#: body: it reads a size line with strtoul(..., 16), so "zz" is 0, the end of
#: the body; and it skips the two bytes after a chunk's data unchecked. The
#: app then gets an empty or shortened body and answers 200.
UWSGI_LENIENT = {
    NON_HEX_SIZE: "uWSGI reads the size line 'zz' as 0: an empty body, 200",
    NO_CRLF_AFTER_DATA: "uWSGI skips 'XY' unchecked: the body 'abc', 200",
}

#: granian 2.8 hands the app an empty body when it cannot decode the chunks,
#: which nothing above it can tell from a valid empty body (behind nginx,
#: nginx answers 400 itself).
GRANIAN_LENIENT = "granian passes an undecodable chunked body on as empty: 200"

#: Lines in a server's log that mean a worker died or the app saw a 500.
WORKER_TROUBLE = ("Traceback", "Booting worker", "respawned", "Worker exiting")


def raw_request(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send ``request`` as is; the status and body of the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


@pytest.mark.parametrize("connection", ["close", "keep-alive"])
@pytest.mark.parametrize("body", MALFORMED)
@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_malformed_chunked_body_is_a_400_and_the_server_keeps_serving(
    serve, adapter, args, needs, body, connection, request
):
    if adapter == "uwsgi" and body in UWSGI_LENIENT:
        request.applymarker(pytest.mark.xfail(strict=True, reason=UWSGI_LENIENT[body]))
    if adapter == "granian":
        request.applymarker(pytest.mark.xfail(strict=True, reason=GRANIAN_LENIENT))
    process, port = serve(adapter, args, needs)
    host = f"alpha.{BASE_DOMAIN}:{port}"
    before = {line: process.logs(100000).count(line) for line in WORKER_TROUBLE}
    statuses = []
    # /echo reads the body with get_data(), then request.form.
    for content_type in ("application/x-www-form-urlencoded", "application/json"):
        status, payload = raw_request(
            port,
            f"POST /echo HTTP/1.1\r\nHost: {host}\r\n".encode()
            + f"Content-Type: {content_type}\r\n".encode()
            + f"Transfer-Encoding: chunked\r\nConnection: {connection}\r\n\r\n".encode()
            + body,
        )
        statuses.append(status)
        assert status != 500, (content_type, payload, process.logs())
        assert b"Traceback" not in payload
        # The server serves the next request (on a new connection: the one
        # with the broken body has lost its framing).
        good = http_request(
            port,
            "/echo",
            method="POST",
            host=host,
            body=b"a=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        assert good.status == 200, (good.text, process.logs())
        assert good.json()["form"] == {"a": "1"}
    # No worker died or was replaced, and nothing reached the log as a 500.
    after = {line: process.logs(100000).count(line) for line in WORKER_TROUBLE}
    assert after == before, process.logs()
    assert process.proc is not None and process.proc.poll() is None
    assert statuses == [400, 400], process.logs()


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_a_valid_chunked_body_reaches_the_app_whole(serve, adapter, args, needs):
    process, port = serve(adapter, args, needs)
    host = f"alpha.{BASE_DOMAIN}:{port}"
    status, payload = raw_request(
        port,
        f"POST /echo HTTP/1.1\r\nHost: {host}\r\n".encode()
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + b"3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n",
    )
    assert status == 200, (payload, process.logs())
    assert json.loads(payload)["form"] == {"a": "1", "b": "2"}, process.logs()
