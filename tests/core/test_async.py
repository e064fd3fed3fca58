"""``async def`` views, hooks and error handlers, run through asgiref.

Each coroutine function runs to completion in its own event loop (as the
reference framework does); the request context stays available across awaits.
Without asgiref installed, a clear error names the ``async`` extra.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

import gateway

pytest.importorskip("asgiref")


def test_async_view_returns_a_response(app, client):
    @app.route("/")
    async def index():
        await asyncio.sleep(0)
        return {"path": gateway.request.path, "args": gateway.request.args.to_dict()}

    assert client.get("/?a=1").json == {"path": "/", "args": {"a": "1"}}


def test_async_view_with_url_arguments(app, client):
    @app.route("/double/<int:n>")
    async def double(n):
        await asyncio.sleep(0)
        return str(n * 2)

    assert client.get("/double/21").data == b"42"


def test_async_hooks_run_in_order(app, client):
    calls = []

    @app.before_request
    async def before():
        await asyncio.sleep(0)
        calls.append("before")
        gateway.g.value = "from before"

    @app.after_request
    async def after(response):
        await asyncio.sleep(0)
        calls.append("after")
        response.headers["X-Async"] = "yes"
        return response

    @app.teardown_request
    async def teardown(exc):
        calls.append(("teardown", exc))

    @app.route("/")
    async def index():
        calls.append("view")
        return gateway.g.value

    rv = client.get("/")
    assert rv.data == b"from before"
    assert rv.headers["X-Async"] == "yes"
    assert calls == ["before", "view", "after", ("teardown", None)]


def test_async_before_request_can_short_circuit(app, client):
    @app.before_request
    async def stop():
        return "stopped", 401

    app.add_url_rule("/", "index", lambda: "never")

    rv = client.get("/")
    assert rv.status_code == 401
    assert rv.data == b"stopped"


def test_async_error_handler(app, client):
    class Oops(Exception):
        pass

    @app.errorhandler(Oops)
    async def handle(e):
        await asyncio.sleep(0)
        return f"handled {e}", 409

    @app.route("/")
    async def index():
        raise Oops("async failure")

    rv = client.get("/")
    assert rv.status_code == 409
    assert rv.data == b"handled async failure"


def test_exception_in_async_view_propagates_when_testing(app, client):
    @app.route("/")
    async def index():
        await asyncio.sleep(0)
        raise LookupError("from coroutine")

    with pytest.raises(LookupError, match="from coroutine"):
        client.get("/")


def test_async_view_in_blueprint(app, client):
    bp = gateway.Blueprint("abp", __name__)

    @bp.route("/bp")
    async def view():
        return gateway.request.blueprint

    @bp.before_request
    async def before():
        gateway.g.bp_hook = True

    app.register_blueprint(bp)
    assert client.get("/bp").data == b"abp"


def test_ensure_sync_wraps_coroutine_functions_only(app, req_ctx):
    def plain():
        return "plain"

    async def coro():
        await asyncio.sleep(0)
        return "coro"

    assert app.ensure_sync(plain) is plain
    wrapped = app.ensure_sync(coro)
    assert wrapped is not coro
    assert wrapped() == "coro"


def test_async_to_sync_runs_a_coroutine_function(app, req_ctx):
    async def add(a, b):
        return a + b

    assert app.async_to_sync(add)(2, 3) == 5


def test_missing_asgiref_is_a_clear_error_naming_the_extra(app, req_ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, "asgiref", None)
    monkeypatch.setitem(sys.modules, "asgiref.sync", None)

    async def coro():
        return None

    with pytest.raises(RuntimeError, match="'async' extra"):
        app.ensure_sync(coro)


def test_async_views_run_concurrently_from_threads(app):
    """Each request runs its coroutine in its own loop; threads don't clash."""
    import threading

    @app.route("/<int:n>")
    async def echo(n):
        await asyncio.sleep(0.01)
        return str(n + int(gateway.request.args["add"]))

    results = {}

    def worker(n):
        results[n] = app.test_client().get(f"/{n}?add=100").data

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert results == {n: str(n + 100).encode() for n in range(5)}
