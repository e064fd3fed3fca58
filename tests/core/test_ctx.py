"""Application and request contexts and the proxies bound to them.

Pins push/pop and ``with`` semantics, the implicit app context of a request
context, ``g``, ``copy_current_request_context``, ``stream_with_context`` and
isolation between concurrent threads and gevent greenlets (the latter in a
subprocess, because ``monkey.patch_all()`` must run before anything else).
"""

from __future__ import annotations

import contextvars
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from compat_support import FLASK, FRAMEWORKS, GATEWAY, needs_flask

import gateway
from gateway import _names
from gateway.ctx import AppContext, RequestContext
from gateway.globals import app_ctx, request_ctx


def test_proxies_outside_any_context_raise_runtime_error():
    for proxy, fragment in [
        (gateway.current_app, "application context"),
        (gateway.g, "application context"),
        (gateway.request, "request context"),
        (gateway.session, "request context"),
    ]:
        with pytest.raises(RuntimeError, match=fragment):
            proxy.anything  # noqa: B018


def test_has_context_helpers_follow_pushed_contexts(app):
    assert not gateway.has_app_context()
    assert not gateway.has_request_context()
    with app.app_context():
        assert gateway.has_app_context()
        assert not gateway.has_request_context()
        with app.test_request_context():
            assert gateway.has_request_context()
    assert not gateway.has_app_context()


def test_app_context_binds_current_app_and_g(app):
    with app.app_context() as ctx:
        assert isinstance(ctx, AppContext)
        assert gateway.current_app._get_current_object() is app
        assert app_ctx._get_current_object() is ctx
        gateway.g.value = 1
        assert ctx.g.value == 1


def test_app_context_push_and_pop_by_hand(app):
    ctx = app.app_context()
    ctx.push()
    try:
        assert gateway.current_app.name == "core_app"
    finally:
        ctx.pop()
    assert not gateway.has_app_context()


def test_nested_app_contexts_restore_the_outer_app(app):
    other = gateway.App("other_app")
    with app.app_context():
        with other.app_context():
            assert gateway.current_app.name == "other_app"
        assert gateway.current_app.name == "core_app"


def test_each_app_context_has_fresh_g(app):
    with app.app_context():
        gateway.g.value = "first"
    with app.app_context():
        assert "value" not in gateway.g


def test_popping_the_wrong_app_context_is_an_error(app):
    def scenario():
        outer = app.app_context()
        outer.push()
        app.app_context().push()
        # Flask raises AssertionError("Popped wrong app context ...").
        with pytest.raises((AssertionError, RuntimeError), match="wrong"):
            outer.pop()

    # Run in a throwaway context copy: the failed pop leaves the stack in an
    # implementation-defined state that must not leak into other tests.
    contextvars.copy_context().run(scenario)


def test_request_context_pushes_an_app_context_when_none_is_active(app):
    with app.test_request_context() as ctx:
        assert isinstance(ctx, RequestContext)
        assert gateway.current_app._get_current_object() is app
        assert request_ctx._get_current_object() is ctx
    assert not gateway.has_app_context()


def test_request_context_reuses_an_active_app_context_of_same_app(app):
    with app.app_context() as actx:
        gateway.g.marker = "outer"
        with app.test_request_context():
            assert app_ctx._get_current_object() is actx
            assert gateway.g.marker == "outer"
        assert gateway.has_app_context()


def test_request_context_for_another_app_gets_its_own_app_context(app):
    other = gateway.App("other_app")
    with app.app_context():
        with other.test_request_context():
            assert gateway.current_app.name == "other_app"
        assert gateway.current_app.name == "core_app"


def test_request_context_push_pop_by_hand(app):
    ctx = app.test_request_context("/path?x=1")
    ctx.push()
    try:
        assert gateway.request.path == "/path"
        assert gateway.request.args["x"] == "1"
    finally:
        ctx.pop()
    assert not gateway.has_request_context()


def test_request_context_matches_the_url_on_push(app):
    app.add_url_rule("/item/<int:n>", "item", lambda n: "")

    with app.test_request_context("/item/3"):
        assert gateway.request.endpoint == "item"
        assert gateway.request.view_args == {"n": 3}
    with app.test_request_context("/nowhere"):
        assert gateway.request.endpoint is None
        assert gateway.request.url_rule is None
        assert gateway.request.routing_exception.code == 404


def test_request_context_from_wsgi_environ(app):
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/raw",
        "QUERY_STRING": "a=b",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    with app.request_context(environ):
        assert gateway.request.method == "PUT"
        assert gateway.request.url == "http://localhost/raw?a=b"


def test_request_context_copy_shares_the_request_object(app):
    with app.test_request_context("/copy") as ctx:
        copied = ctx.copy()
        request_object = gateway.request._get_current_object()
    with copied:
        assert gateway.request._get_current_object() is request_object


def test_test_request_context_accepts_subdomain_and_url_scheme(app):
    app.config["SERVER_NAME"] = "example.test"
    with app.test_request_context("/", subdomain="api", url_scheme="https"):
        assert gateway.request.host == "api.example.test"
        assert gateway.request.scheme == "https"


def test_g_supports_get_pop_setdefault_contains_and_iter(app_ctx):
    g = gateway.g
    g.a = 1
    assert g.get("a") == 1
    assert g.get("b", "default") == "default"
    assert "a" in g
    assert list(g) == ["a"]
    assert g.setdefault("b", 2) == 2
    assert g.setdefault("b", 3) == 2
    assert g.pop("a") == 1
    assert g.pop("a", "gone") == "gone"
    with pytest.raises(KeyError):
        g.pop("a")
    assert "core_app" in repr(g)


@pytest.mark.parametrize(
    ("fw", "package"),
    [
        pytest.param(GATEWAY, "gateway", id="gateway"),
        pytest.param(GATEWAY, "flask", id="gateway-flask-names"),
        pytest.param(FLASK, "flask", id="flask", marks=needs_flask),
    ],
)
def test_g_repr_names_the_package_and_the_app(fw, package, monkeypatch):
    # Under the switch (gateway's Flask names) g shows as Flask's does.
    if fw is GATEWAY:
        monkeypatch.setattr(_names, "_package", package)
    with fw.App("repr_app").app_context():
        assert repr(fw.F.g) == f"<{package}.g of 'repr_app'>"


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_pushed_request_context_holds_the_session_unaccessed(fw):
    # Flask opens the session on push and code reads it as ctx._session;
    # gateway opens the cookie session on first use, and that read is one.
    app = fw.App("sessions")
    app.secret_key = "test key"
    with app.test_request_context(headers={"Cookie": "other=1"}) as ctx:
        sess = ctx._session
        assert isinstance(sess, fw.sub("sessions").SecureCookieSession)
        assert not sess.accessed and not sess.modified
        assert ctx.session is sess and sess.accessed  # what flask.session reads


def test_custom_app_ctx_globals_class(app):
    class LenientGlobals(gateway.ctx._AppCtxGlobals):
        def __getattr__(self, name):
            return None

    app.app_ctx_globals_class = LenientGlobals
    with app.app_context():
        assert gateway.g.undefined is None


def test_copy_current_request_context_carries_request_into_a_thread(app, client):
    results = {}

    @app.route("/")
    def index():
        @gateway.copy_current_request_context
        def work():
            results["path"] = gateway.request.path
            results["arg"] = gateway.request.args["q"]
            results["app"] = gateway.current_app.name

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(10)
        return "started"

    client.get("/?q=carried")
    assert results == {"path": "/", "arg": "carried", "app": "core_app"}


def test_copy_current_request_context_outside_request_is_runtime_error(app_ctx):
    with pytest.raises(RuntimeError, match="request context"):
        gateway.copy_current_request_context(lambda: None)


def test_stream_with_context_keeps_request_during_streaming(app, client):
    @app.route("/")
    def index():
        @gateway.stream_with_context
        def generate():
            yield "hello "
            yield gateway.request.args["name"]

        return generate()

    assert client.get("/?name=streamer").data == b"hello streamer"


def test_stream_with_context_wraps_a_generator_object(app, client):
    @app.route("/")
    def index():
        def generate():
            yield gateway.request.args["name"]
            yield gateway.current_app.name

        return gateway.Response(gateway.stream_with_context(generate()))

    assert client.get("/?name=x").data == b"xcore_app"


def test_stream_with_context_outside_a_request_is_runtime_error(app_ctx):
    with pytest.raises(RuntimeError, match="request context"):
        gateway.stream_with_context(iter(["x"]))


def test_streaming_without_stream_with_context_loses_the_request(app, client):
    @app.route("/")
    def index():
        def generate():
            yield "start "
            yield gateway.request.args["name"]

        return generate()

    rv = client.get("/?name=lost")
    with pytest.raises(RuntimeError, match="request context"):
        rv.get_data()  # the body is produced after the context was popped
    rv.close()


def test_request_contexts_are_isolated_between_threads(app):
    count = 8
    barrier = threading.Barrier(count, timeout=10)
    seen: dict[int, tuple] = {}
    errors = []

    def worker(n: int) -> None:
        try:
            with app.test_request_context(f"/thread?n={n}"):
                gateway.g.n = n
                barrier.wait()  # every thread has its context pushed now
                seen[n] = (int(gateway.request.args["n"]), gateway.g.n)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert errors == []
    assert seen == {n: (n, n) for n in range(count)}


def test_concurrent_requests_in_threads_see_their_own_request(app):
    count = 6
    barrier = threading.Barrier(count, timeout=10)

    @app.route("/echo/<int:n>")
    def echo(n):
        gateway.g.n = n
        barrier.wait()
        return {"arg": int(gateway.request.args["n"]), "g": gateway.g.n, "view": n}

    results = {}

    def worker(n: int) -> None:
        results[n] = app.test_client().get(f"/echo/{n}?n={n}").json

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert results == {n: {"arg": n, "g": n, "view": n} for n in range(count)}


def test_context_pushed_in_one_thread_is_invisible_in_another(app):
    seen = []
    with app.test_request_context():
        thread = threading.Thread(
            target=lambda: seen.append(gateway.has_request_context())
        )
        thread.start()
        thread.join(10)
    assert seen == [False]


GEVENT_SCRIPT = """
from gevent import monkey

monkey.patch_all()

import contextvars
import json
import sys

import gevent

import gateway

app = gateway.App("greenlets")
COUNT = 20


@app.route("/echo/<int:n>")
def echo(n):
    gateway.g.n = n
    gevent.sleep(0.01 * (COUNT - n) / COUNT)  # later greenlets finish first
    return {"arg": int(gateway.request.args["n"]), "g": gateway.g.n, "view": n}


def with_contexts(n):
    with app.test_request_context(f"/?n={n}"):
        gateway.g.n = n
        gevent.sleep(0)
        return (int(gateway.request.args["n"]), gateway.g.n)


def with_client(n):
    return app.test_client().get(f"/echo/{n}?n={n}").get_json()


def copied(n):
    with app.test_request_context(f"/?n={n}"):
        @gateway.copy_current_request_context
        def in_greenlet():
            gevent.sleep(0)
            return gateway.request.args["n"]

        return gevent.spawn(in_greenlet)


ctx_jobs = [gevent.spawn(with_contexts, n) for n in range(COUNT)]
client_jobs = [gevent.spawn(with_client, n) for n in range(COUNT)]
copy_jobs = [copied(n) for n in range(COUNT)]
gevent.joinall(ctx_jobs + client_jobs + copy_jobs, timeout=20, raise_error=True)
json.dump(
    {
        "patched": monkey.is_module_patched("threading"),
        "ctx": [job.value for job in ctx_jobs],
        "client": [job.value for job in client_jobs],
        "copied": [job.value for job in copy_jobs],
    },
    sys.stdout,
)
"""


def test_contexts_are_isolated_between_gevent_greenlets(tmp_path):
    pytest.importorskip("gevent")
    script = tmp_path / "greenlets.py"
    script.write_text(textwrap.dedent(GEVENT_SCRIPT))

    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    count = 20
    assert result["patched"] is True
    assert result["ctx"] == [[n, n] for n in range(count)]
    assert result["client"] == [{"arg": n, "g": n, "view": n} for n in range(count)]
    assert result["copied"] == [str(n) for n in range(count)]


def test_copied_request_context_shares_the_session(app, client):
    @app.route("/write")
    def write():
        @gateway.copy_current_request_context
        def in_thread():
            gateway.session["from_thread"] = gateway.request.args["v"]

        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join(10)
        return "written"

    app.add_url_rule("/read", "read", lambda: gateway.session.get("from_thread", "-"))

    client.get("/write?v=kept")
    assert client.get("/read").data == b"kept"


def test_request_context_copy_shares_the_session_object(app):
    with app.test_request_context() as ctx:
        gateway.session["k"] = "v"
        copied = ctx.copy()
        original = gateway.session._get_current_object()
    with copied:
        assert gateway.session._get_current_object() is original
        assert gateway.session["k"] == "v"


def test_stream_with_context_can_read_the_session(app, client):
    @app.route("/set")
    def set_value():
        gateway.session["name"] = "streamed"
        return "set"

    @app.route("/stream")
    def stream():
        @gateway.stream_with_context
        def generate():
            yield "name="
            yield gateway.session.get("name", "none")

        return generate()

    client.get("/set")
    assert client.get("/stream").data == b"name=streamed"
