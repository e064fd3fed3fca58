"""The HTTP adapters (gevent, tornado, gunicorn, granian, dev) serving a plain WSGI app
in a real process: what every one of them must do the same way."""

from __future__ import annotations

import json
import signal
import threading

import pytest
from server_harness import (
    GatedStream,
    connection_refused,
    eventually,
    http_request,
    wait_for_log,
)

HTTP_ADAPTERS = [
    pytest.param("gevent", id="gevent"),
    pytest.param("tornado", id="tornado"),
    pytest.param("gunicorn", id="gunicorn"),
    pytest.param("granian", id="granian"),
    pytest.param("dev", id="dev"),
]
#: granian's own parser maps an underscored header name onto the dashed one
#: (see test_granian_lets_a_later_underscored_header_win).
DROPPING_ADAPTERS = [p for p in HTTP_ADAPTERS if p.values[0] != "granian"]


@pytest.mark.parametrize("adapter", DROPPING_ADAPTERS)
def test_drops_underscore_headers_and_sets_script_name(serve_plain, adapter):
    server = serve_plain(adapter, script_name="/prefix")
    env = http_request(
        server.port,
        "/env",
        headers={
            "X-Forwarded-For": "1.2.3.4",
            "X_Forwarded_For": "6.6.6.6",
            "X_Custom": "x",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
        },
    ).json()
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    assert "HTTP_X_CUSTOM" not in env
    assert env["SCRIPT_NAME"] == "/prefix"
    assert env["PATH_INFO"] == "/env"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    # The server itself believes no forwarded header, even from loopback
    # (gunicorn would by default): only the gateway's [proxy] table decides.
    assert env["wsgi.url_scheme"] == "http"
    assert env["HTTP_HOST"] == f"127.0.0.1:{server.port}"


def test_granian_lets_a_later_underscored_header_win(serve_plain):
    """The known limitation the granian adapter documents: an underscored
    name replaces the dashed header sent before it; the rest is as on every
    adapter (SCRIPT_NAME, no forwarded header believed by the server)."""
    server = serve_plain("granian", script_name="/prefix")
    env = http_request(
        server.port,
        "/env",
        headers={
            "X-Forwarded-For": "1.2.3.4",
            "X_Forwarded_For": "6.6.6.6",
            "X-Forwarded-Proto": "https",
        },
    ).json()
    assert env["HTTP_X_FORWARDED_FOR"] == "6.6.6.6"
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/prefix", "/env")
    assert env["wsgi.url_scheme"] == "http"
    assert env["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize("adapter", HTTP_ADAPTERS)
def test_post_body_reaches_the_app(serve_plain, adapter):
    server = serve_plain(adapter)
    body = bytes(range(256)) * 1000
    result = http_request(server.port, "/echo", method="POST", body=body).json()
    import hashlib

    assert result == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


@pytest.mark.parametrize("adapter", HTTP_ADAPTERS)
def test_app_error_is_a_bare_500_without_traceback(serve_plain, adapter):
    server = serve_plain(adapter)
    result = http_request(server.port, "/fail")
    assert result.status == 500
    assert b"boom" not in result.body
    assert b"Traceback" not in result.body
    # ... but the traceback is in the server's log.
    assert wait_for_log(server.process, "boom: this traceback belongs in the log only")


@pytest.mark.parametrize("adapter", HTTP_ADAPTERS)
def test_streams_the_response_as_it_is_produced(serve_plain, adapter, server_dir):
    server = serve_plain(adapter)
    stream = GatedStream(server.port, "/stream", server_dir / "gate")
    assert stream.first_line() == b"chunk-1\n"
    stream.release()
    assert stream.rest() == b"released\n"


@pytest.mark.parametrize("adapter", ["gevent", "tornado", "gunicorn", "granian"])
def test_sigterm_stops_accepting_and_lets_in_flight_requests_finish(
    serve_plain, adapter, server_dir
):
    server = serve_plain(adapter, graceful_timeout=20)
    stream = GatedStream(server.port, "/stream", server_dir / "gate")
    assert stream.first_line() == b"chunk-1\n"
    server.process.send_signal(signal.SIGTERM)
    if adapter not in ("gunicorn", "granian"):
        # (their workers keep the inherited listener open until they exit)
        assert eventually(lambda: connection_refused(server.port))
    assert server.process.proc.poll() is None, "stopped before the request finished"
    stream.release()
    assert stream.rest() == b"released\n"
    assert server.process.wait(20) == 0


def test_tornado_app_runs_off_the_ioloop(serve_plain, server_dir):
    # A request parked in the app (waiting on its gate) must not stop the
    # server from answering others: the app runs on the thread pool.
    server = serve_plain("tornado", threads=4)
    stream = GatedStream(server.port, "/stream", server_dir / "gate")
    assert stream.first_line() == b"chunk-1\n"
    assert http_request(server.port, "/env", timeout=5).status == 200
    stream.release()
    assert stream.rest() == b"released\n"


def test_gevent_requests_run_concurrently_with_isolated_contexts(serve_plain):
    # One process, monkey-patched sleep: 20 requests sleeping at once each
    # see only their own ``g``.
    server = serve_plain("gevent")
    results: dict[int, bytes] = {}

    def fetch(i: int) -> None:
        results[i] = http_request(server.port, f"/g?value=v{i}&seconds=0.5").body

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {i: f"v{i}".encode() for i in range(20)}


def test_gevent_keeps_connections_alive(serve_plain):
    server = serve_plain("gevent")
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    ports = []
    for _ in range(3):
        conn.request("GET", "/env")
        ports.append(json.loads(conn.getresponse().read())["REMOTE_PORT"])
    conn.close()
    assert len(set(ports)) == 1


def test_gevent_stop_closes_kept_alive_connections_after_their_response(
    serve_plain, server_dir
):
    # A keep-alive client whose request is in flight at SIGTERM gets its
    # response, then the connection closes: the server exits well before
    # the (long) graceful timeout instead of waiting for the idle client.
    import http.client

    server = serve_plain("gevent", graceful_timeout=600)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    gate = server_dir / "gate"
    conn.request("GET", f"/stream?gate={gate}")
    response = conn.getresponse()
    assert response.readline() == b"chunk-1\n"
    server.process.send_signal(signal.SIGTERM)
    gate.touch()
    assert response.read() == b"released\n"
    # Without closing the kept-alive connection it would wait out the 600 s.
    assert server.process.wait(30) == 0
    conn.close()
