"""The test client (``gateway.testing.AppClient``) and test request contexts."""

from __future__ import annotations

import pytest

import gateway
from gateway.testing import AppClient, EnvironBuilder


def test_test_client_is_an_app_client(app):
    assert isinstance(app.test_client(), AppClient)


def test_client_keeps_cookies_between_requests(app, client):
    @app.route("/set/<value>")
    def set_value(value):
        response = gateway.make_response("set")
        response.set_cookie("token", value)
        return response

    app.add_url_rule(
        "/get", "get", lambda: gateway.request.cookies.get("token", "none")
    )

    assert client.get("/get").data == b"none"
    client.get("/set/abc")
    assert client.get("/get").data == b"abc"
    assert client.get_cookie("token").value == "abc"


def test_client_without_cookies_sends_none(app):
    app.add_url_rule("/set", "set", lambda: _set_cookie_response())
    app.add_url_rule(
        "/get", "get", lambda: gateway.request.cookies.get("token", "none")
    )
    client = app.test_client(use_cookies=False)

    client.get("/set")
    assert client.get("/get").data == b"none"


def _set_cookie_response():
    response = gateway.make_response("set")
    response.set_cookie("token", "x")
    return response


def test_client_set_and_delete_cookie(app, client):
    app.add_url_rule("/", "index", lambda: gateway.request.cookies.get("k", "none"))

    client.set_cookie("k", "v")
    assert client.get("/").data == b"v"
    client.delete_cookie("k")
    assert client.get("/").data == b"none"


def test_with_client_keeps_the_last_request_context(app, client):
    app.add_url_rule("/", "index", lambda: "ok")

    with client:
        client.get("/?name=kept")
        assert gateway.request.args["name"] == "kept"
        assert gateway.current_app._get_current_object() is app
        client.get("/?name=second")
        assert gateway.request.args["name"] == "second"
    assert not gateway.has_request_context()
    assert not gateway.has_app_context()


def test_with_client_gives_access_to_session_after_request(app, client):
    @app.route("/")
    def index():
        gateway.session["user"] = "ann"
        return "ok"

    with client:
        client.get("/")
        assert gateway.session["user"] == "ann"


def test_nested_with_client_is_an_error(client):
    with client:
        with pytest.raises(RuntimeError, match="nest"):
            with client:
                pass


def test_session_transaction_modifies_the_client_session(app, client):
    app.add_url_rule("/", "index", lambda: gateway.session.get("user", "anonymous"))

    assert client.get("/").data == b"anonymous"
    with client.session_transaction() as sess:
        sess["user"] = "bob"
    assert client.get("/").data == b"bob"
    with client.session_transaction() as sess:
        assert sess["user"] == "bob"


def test_session_transaction_requires_cookies(app):
    client = app.test_client(use_cookies=False)
    with pytest.raises(TypeError, match="[Cc]ookies"):
        with client.session_transaction():
            pass


def test_client_sends_json_and_reads_json(app, client):
    @app.route("/", methods=["POST"])
    def index():
        return {"got": gateway.request.get_json(), "type": gateway.request.mimetype}

    rv = client.post("/", json={"a": [1, 2]})
    assert rv.json == {"got": {"a": [1, 2]}, "type": "application/json"}
    assert rv.get_json() == rv.json


def test_client_follow_redirects_records_history(app, client):
    app.add_url_rule("/start", "start", lambda: gateway.redirect("/middle"))
    app.add_url_rule("/middle", "middle", lambda: gateway.redirect("/end", 307))
    app.add_url_rule("/end", "end", lambda: "end", methods=["GET", "POST"])

    rv = client.get("/start", follow_redirects=True)
    assert rv.data == b"end"
    assert [r.status_code for r in rv.history] == [302, 307]
    assert rv.request.path == "/end"


def test_client_environ_base_defaults(app, client):
    @app.route("/")
    def index():
        environ = gateway.request.environ
        return {
            "remote_addr": gateway.request.remote_addr,
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }

    data = client.get("/").json
    assert data["remote_addr"] == "127.0.0.1"
    assert data["user_agent"].startswith("Werkzeug/")


def test_client_environ_base_can_be_overridden(app):
    app.add_url_rule("/", "index", lambda: gateway.request.remote_addr)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.9"

    assert client.get("/").data == b"10.0.0.9"
    assert (
        client.get("/", environ_overrides={"REMOTE_ADDR": "10.0.0.1"}).data
        == b"10.0.0.1"
    )


def test_client_uses_server_name_and_application_root(app):
    app.config.update(SERVER_NAME="example.test", APPLICATION_ROOT="/root")
    app.add_url_rule("/", "index", lambda: gateway.request.url)

    assert app.test_client().get("/").data == b"http://example.test/root/"


def test_environ_builder_uses_app_config(app):
    app.config.update(
        SERVER_NAME="example.test:8080",
        APPLICATION_ROOT="/mount",
        PREFERRED_URL_SCHEME="https",
    )
    builder = EnvironBuilder(app, "/page", query_string={"a": "b"})
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    assert environ["HTTP_HOST"] == "example.test:8080"
    assert environ["SCRIPT_NAME"] == "/mount"
    assert environ["PATH_INFO"] == "/page"
    assert environ["wsgi.url_scheme"] == "https"


def test_environ_builder_refuses_base_url_with_subdomain(app):
    # Flask asserts; a ValueError is an acceptable, clearer alternative.
    with pytest.raises((ValueError, AssertionError)):
        EnvironBuilder(app, base_url="http://x.test", subdomain="api")


def test_custom_test_client_class_gets_kwargs(app):
    class MyClient(AppClient):
        def __init__(self, *args, **kwargs):
            self.flag = kwargs.pop("flag")
            super().__init__(*args, **kwargs)

    app.test_client_class = MyClient
    client = app.test_client(flag="on")
    assert isinstance(client, MyClient)
    assert client.flag == "on"


def test_test_request_context_does_not_run_request_hooks(app):
    calls = []
    app.before_request(lambda: calls.append("before"))
    app.after_request(lambda r: calls.append("after") or r)
    app.teardown_request(lambda e: calls.append("teardown"))

    with app.test_request_context("/x", method="POST", data={"f": "1"}):
        assert gateway.request.method == "POST"
        assert gateway.request.form["f"] == "1"
        assert calls == []
    assert calls == ["teardown"]


def test_testing_flag_makes_exceptions_reach_the_test(app, client):
    app.add_url_rule("/", "index", lambda: 1 / 0)
    assert app.testing

    with pytest.raises(ZeroDivisionError):
        client.get("/")


def test_client_open_with_an_environ_builder(app, client):
    app.add_url_rule("/b", "b", lambda: gateway.request.args["x"])
    builder = EnvironBuilder(app, "/b", query_string={"x": "built"})
    try:
        assert client.open(builder).data == b"built"
    finally:
        builder.close()
