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
    pytest.param(
        "granian",
        ["--workers", "1"],
        "granian",
        id="granian",
        marks=pytest.mark.xfail(
            strict=True,
            reason="granian 2.8 hands the app an empty body when the chunked"
            " encoding is malformed, indistinguishable from a valid empty body:"
            " the app answers 200 (behind nginx, nginx answers 400 itself)",
        ),
    ),
    pytest.param(
        "uwsgi",
        ["--http", "--workers", "1"],
        "uwsgi",
        id="uwsgi-http",
        marks=pytest.mark.xfail(
            strict=True,
            reason="uWSGI's http-socket does not decode chunked request bodies:"
            " the app gets no CONTENT_LENGTH and an empty body, valid or not,"
            " and answers 200",
        ),
    ),
]

#: Bodies no server can read, each with what makes it malformed.
MALFORMED = [
    pytest.param(b"zz\r\nabc\r\n0\r\n\r\n", id="non-hex-chunk-size"),
    pytest.param(b"3\r\nabcXY0\r\n\r\n", id="chunk-without-crlf"),
]

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
    serve, adapter, args, needs, body, connection
):
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


VALID = [p for p in SERVE if not p.marks] + [
    pytest.param("granian", ["--workers", "1"], "granian", id="granian"),
    pytest.param(
        "uwsgi",
        ["--http", "--workers", "1"],
        "uwsgi",
        id="uwsgi-http",
        marks=pytest.mark.xfail(
            strict=True,
            reason="uWSGI's http-socket does not decode chunked request bodies",
        ),
    ),
]


@pytest.mark.parametrize(("adapter", "args", "needs"), VALID)
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
