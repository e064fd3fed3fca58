"""The framework over real HTTP: ``app.run()``, wsgiref and gevent.pywsgi.

Each server runs in its own subprocess on a free 127.0.0.1 port, gets a
bounded time to start, and is stopped by pid. The same small application (hello
world, a JSON route, a route with converters, error handlers) is exercised
through each of them with plain ``urllib`` requests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from server_harness import free_port

pytestmark = pytest.mark.integration

START_TIMEOUT = 20.0
REQUEST_TIMEOUT = 10.0

APP_SOURCE = """
import gateway
from gateway import request

app = gateway.App(__name__)


@app.route("/")
def hello():
    return "Hello, World!"


@app.route("/json")
def data():
    return {"message": "hi", "items": [1, 2, 3]}


@app.route("/user/<int:user_id>/<path:rest>")
def user(user_id, rest):
    return f"user={user_id!r} rest={rest!r} q={request.args.get('q')}"


@app.post("/echo")
def echo():
    return {"got": request.get_json(), "length": request.content_length}


@app.route("/boom")
def boom():
    raise ValueError("server-side detail")


@app.route("/wait")
def wait():
    import time

    time.sleep(0.05)  # cooperative under gevent's monkey-patching
    return {"n": int(request.args["n"]), "path": request.path}


@app.errorhandler(404)
def not_found(error):
    return {"error": "not found", "path": request.path}, 404
"""

RUNNERS = {
    "app.run": """
        import sys

        from http_app import app

        app.run(host="127.0.0.1", port=int(sys.argv[1]), use_reloader=False)
    """,
    "app.run-server-name": """
        import sys

        from http_app import app

        # No port argument: app.run() takes host and port from SERVER_NAME.
        app.config["SERVER_NAME"] = f"127.0.0.1:{sys.argv[1]}"
        app.run(use_reloader=False)
    """,
    "wsgiref": """
        import sys
        from wsgiref.simple_server import make_server

        from http_app import app

        make_server("127.0.0.1", int(sys.argv[1]), app).serve_forever()
    """,
    "gevent": """
        from gevent import monkey

        monkey.patch_all()

        import sys

        from gevent.pywsgi import WSGIServer

        from http_app import app

        WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None).serve_forever()
    """,
}


def _wait_until_listening(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on port {port} in {START_TIMEOUT}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module", params=list(RUNNERS), ids=list(RUNNERS))
def server(request, tmp_path_factory):
    """Base URL of the test app served by one real server, stopped after.

    Module-scoped: each server starts once and serves every test below.
    """
    if request.param == "gevent":
        pytest.importorskip("gevent")
    tmp_path = tmp_path_factory.mktemp(
        request.param.replace(".", "_").replace("-", "_")
    )
    (tmp_path / "http_app.py").write_text(APP_SOURCE)
    runner = tmp_path / "runner.py"
    runner.write_text(textwrap.dedent(RUNNERS[request.param]))
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(runner), str(port)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        try:
            _wait_until_listening(proc, port)
        except RuntimeError as e:
            log.flush()
            pytest.fail(f"{e}\n{(tmp_path / 'server.log').read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()


def _fetch(url: str, data: bytes | None = None, headers: dict | None = None):
    """Return (status, headers, body) without raising on HTTP errors."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def test_hello_world(server):
    status, headers, body = _fetch(f"{server}/")
    assert status == 200
    assert body == b"Hello, World!"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Length"] == "13"


def test_json_route(server):
    status, headers, body = _fetch(f"{server}/json")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "hi", "items": [1, 2, 3]}


def test_route_with_converters(server):
    status, _, body = _fetch(f"{server}/user/42/a/b%20c?q=x")
    assert status == 200
    assert body == b"user=42 rest='a/b c' q=x"


def test_converter_mismatch_uses_the_404_handler(server):
    status, headers, body = _fetch(f"{server}/user/abc/x")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "not found", "path": "/user/abc/x"}


def test_posted_json_round_trip(server):
    payload = json.dumps({"k": ["v", 1]}).encode()
    status, _, body = _fetch(
        f"{server}/echo", data=payload, headers={"Content-Type": "application/json"}
    )
    assert status == 200
    assert json.loads(body) == {"got": {"k": ["v", 1]}, "length": len(payload)}


def test_unhandled_error_is_a_500_without_traceback(server):
    status, _, body = _fetch(f"{server}/boom")
    assert status == 500
    assert b"Internal Server Error" in body
    assert b"Traceback" not in body
    assert b"server-side detail" not in body


def test_method_not_allowed_over_http(server):
    status, headers, _ = _fetch(f"{server}/echo")
    assert status == 405
    assert sorted(m.strip() for m in headers["Allow"].split(",")) == ["OPTIONS", "POST"]


def test_concurrent_requests_each_see_their_own_request(server):
    def call(n):
        return json.loads(_fetch(f"{server}/wait?n={n}")[2])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(16)))
    assert results == [{"n": n, "path": "/wait"} for n in range(16)]
