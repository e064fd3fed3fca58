"""Request hooks: before_request, after_request, teardown_*, after_this_request.

Pins the documented order of callbacks: url value preprocessors, then
before_request in registration order (the first non-None return short-circuits
the view), then after_request in reverse registration order, then teardown
functions, which always run and receive the unhandled exception.
"""

from __future__ import annotations

import pytest

import gateway


def test_before_request_runs_in_registration_order_before_the_view(app, client):
    calls = []
    app.before_request(lambda: calls.append("first"))
    app.before_request(lambda: calls.append("second"))

    @app.route("/")
    def index():
        calls.append("view")
        return "ok"

    client.get("/")
    assert calls == ["first", "second", "view"]


def test_before_request_return_value_short_circuits_the_view(app, client):
    calls = []

    @app.before_request
    def stop():
        calls.append("stop")
        return "stopped early", 403

    @app.before_request
    def never():
        calls.append("never")

    @app.after_request
    def after(response):
        calls.append("after")
        response.headers["X-After"] = "yes"
        return response

    @app.route("/")
    def index():
        calls.append("view")
        return "view"

    rv = client.get("/")
    assert rv.status_code == 403
    assert rv.data == b"stopped early"
    assert rv.headers["X-After"] == "yes"
    assert calls == ["stop", "after"]


def test_before_request_can_abort(app, client):
    app.before_request(lambda: gateway.abort(401))
    app.add_url_rule("/", "index", lambda: "secret")

    assert client.get("/").status_code == 401


def test_after_request_runs_in_reverse_registration_order(app, client):
    calls = []

    @app.after_request
    def registered_first(response):
        calls.append("first")
        return response

    @app.after_request
    def registered_second(response):
        calls.append("second")
        return response

    app.add_url_rule("/", "index", lambda: "ok")
    client.get("/")
    assert calls == ["second", "first"]


def test_after_request_can_replace_the_response(app, client):
    @app.after_request
    def replace(response):
        return gateway.Response(b"replaced " + response.get_data(), status=202)

    app.add_url_rule("/", "index", lambda: "original")

    rv = client.get("/")
    assert rv.status_code == 202
    assert rv.data == b"replaced original"


def test_after_request_applies_to_error_handler_responses(app, client):
    app.register_error_handler(404, lambda e: ("custom missing", 404))

    @app.after_request
    def tag(response):
        response.headers["X-Seen"] = "1"
        return response

    rv = client.get("/missing")
    assert rv.data == b"custom missing"
    assert rv.headers["X-Seen"] == "1"


def test_g_is_shared_between_hooks_and_view(app, client):
    @app.before_request
    def load_user():
        gateway.g.user = "ann"

    app.add_url_rule("/", "index", lambda: gateway.g.user)

    assert client.get("/").data == b"ann"


def test_url_value_preprocessor_runs_before_before_request(app, client):
    calls = []

    @app.url_value_preprocessor
    def pull(endpoint, values):
        calls.append(("preprocess", endpoint, dict(values)))
        gateway.g.lang = values.pop("lang")

    @app.before_request
    def before():
        calls.append(("before", gateway.g.lang))

    @app.route("/<lang>/")
    def index():
        return gateway.g.lang

    assert client.get("/fr/").data == b"fr"
    assert calls == [("preprocess", "index", {"lang": "fr"}), ("before", "fr")]


def test_teardown_request_receives_none_on_success(app, client):
    seen = []
    app.teardown_request(seen.append)
    app.add_url_rule("/", "index", lambda: "ok")

    client.get("/")
    assert seen == [None]


def test_teardown_functions_run_in_reverse_registration_order(app, client):
    calls = []
    app.teardown_request(lambda exc: calls.append("request 1"))
    app.teardown_request(lambda exc: calls.append("request 2"))
    app.teardown_appcontext(lambda exc: calls.append("app 1"))
    app.teardown_appcontext(lambda exc: calls.append("app 2"))
    app.add_url_rule("/", "index", lambda: "ok")

    client.get("/")
    assert calls == ["request 2", "request 1", "app 2", "app 1"]


@pytest.mark.parametrize(
    "propagate",
    [
        pytest.param(True, id="propagated"),
        pytest.param(False, id="turned-into-500"),
    ],
)
def test_teardown_gets_the_unhandled_exception(app, client, propagate):
    app.config["PROPAGATE_EXCEPTIONS"] = propagate
    request_seen, app_seen = [], []
    app.teardown_request(request_seen.append)
    app.teardown_appcontext(app_seen.append)

    @app.route("/")
    def index():
        raise ZeroDivisionError("boom")

    if propagate:
        with pytest.raises(ZeroDivisionError):
            client.get("/")
    else:
        assert client.get("/").status_code == 500
    assert len(request_seen) == 1
    assert isinstance(request_seen[0], ZeroDivisionError)
    assert request_seen == app_seen


def test_teardown_gets_none_when_an_error_handler_handled_the_exception(app, client):
    seen = []
    app.teardown_request(seen.append)
    app.register_error_handler(KeyError, lambda e: ("handled", 400))

    @app.route("/")
    def index():
        raise KeyError("x")

    assert client.get("/").data == b"handled"
    assert seen == [None]


def test_teardown_runs_even_when_before_request_fails(app, client):
    seen = []
    app.teardown_request(seen.append)

    @app.before_request
    def fail():
        raise RuntimeError("before failed")

    app.add_url_rule("/", "index", lambda: "unreached")

    with pytest.raises(RuntimeError, match="before failed"):
        client.get("/")
    assert [type(e) for e in seen] == [RuntimeError]


def test_teardown_runs_when_request_context_pops_outside_a_request(app):
    seen = []
    app.teardown_request(seen.append)
    app.teardown_appcontext(seen.append)

    with app.test_request_context():
        assert seen == []
    assert seen == [None, None]


def test_teardown_appcontext_receives_exception_passed_to_pop(app):
    seen = []
    app.teardown_appcontext(seen.append)
    error = ValueError("explicit")

    ctx = app.app_context()
    ctx.push()
    ctx.pop(error)
    assert seen == [error]


def test_teardown_appcontext_gets_exception_raised_in_with_block(app):
    seen = []
    app.teardown_appcontext(seen.append)

    with pytest.raises(LookupError):
        with app.app_context():
            raise LookupError("inside")
    assert [type(e) for e in seen] == [LookupError]


def test_after_this_request_modifies_only_the_current_response(app, client):
    @app.route("/set")
    def set_cookie():
        @gateway.after_this_request
        def remember(response):
            response.set_cookie("seen", "yes")
            response.headers["X-Once"] = "1"
            return response

        return "set"

    app.add_url_rule("/other", "other", lambda: "other")

    rv = client.get("/set")
    assert rv.headers["X-Once"] == "1"
    assert client.get_cookie("seen").value == "yes"
    assert "X-Once" not in client.get("/other").headers


def test_after_this_request_callbacks_run_in_order_before_after_request(app, client):
    calls = []

    @app.after_request
    def app_after(response):
        calls.append("after_request")
        return response

    @app.route("/")
    def index():
        for name in ("cb1", "cb2"):
            gateway.after_this_request(
                lambda r, name=name: calls.append(name) or r  # noqa: B023
            )
        return "ok"

    client.get("/")
    assert calls == ["cb1", "cb2", "after_request"]


def test_after_this_request_from_before_request_applies(app, client):
    @app.before_request
    def before():
        def add_header(response):
            response.headers["X-From-Before"] = "1"
            return response

        gateway.after_this_request(add_header)

    app.add_url_rule("/", "index", lambda: "ok")
    assert client.get("/").headers["X-From-Before"] == "1"


def test_after_this_request_outside_a_request_is_runtime_error(app_ctx):
    with pytest.raises(RuntimeError, match="request context"):
        gateway.after_this_request(lambda r: r)


def test_hooks_registered_with_decorators_return_the_function(app):
    def hook():
        return None

    for register in (
        app.before_request,
        app.after_request,
        app.teardown_request,
        app.teardown_appcontext,
    ):
        assert register(hook) is hook
    assert app.before_request_funcs[None] == [hook]
    assert app.after_request_funcs[None] == [hook]
    assert app.teardown_request_funcs[None] == [hook]
    assert app.teardown_appcontext_funcs == [hook]


def test_preprocess_and_process_response_can_be_called_manually(app):
    """The shell pattern: run hooks by hand inside a test request context."""
    calls = []
    app.before_request(lambda: calls.append("before"))

    @app.after_request
    def after(response):
        calls.append("after")
        return response

    with app.test_request_context():
        assert calls == []
        assert app.preprocess_request() is None
        response = app.process_response(app.response_class())
        assert isinstance(response, app.response_class)
    assert calls == ["before", "after"]


def test_before_app_request_from_a_blueprint_registered_twice_runs_once(app, client):
    calls = []
    bp = gateway.Blueprint("twice", __name__)
    bp.before_app_request(lambda: calls.append("app-wide"))
    bp.add_url_rule("/", "index", lambda: "")
    app.register_blueprint(bp, url_prefix="/a")
    app.register_blueprint(bp, url_prefix="/b", name="twice_b")

    client.get("/a/")
    assert calls == ["app-wide"]


def test_dispatch_request_returns_the_raw_view_value(app):
    app.add_url_rule("/", "index", lambda: {"raw": True})

    with app.test_request_context():
        assert app.dispatch_request() == {"raw": True}
        response = app.full_dispatch_request()
        assert response.json == {"raw": True}


def test_make_default_options_response_lists_allowed_methods(app):
    app.add_url_rule("/", "index", lambda: "", methods=["GET", "PATCH"])

    with app.test_request_context("/", method="OPTIONS"):
        response = app.make_default_options_response()
    assert sorted(response.allow) == ["GET", "HEAD", "OPTIONS", "PATCH"]


def test_teardown_can_still_use_g_request_and_current_app(app, client):
    """The documented database pattern: open in a view, close in teardown."""
    closed = []

    @app.route("/")
    def index():
        gateway.g.db = "connection"
        return "ok"

    @app.teardown_request
    def close_request(exc):
        closed.append(("request", gateway.request.path, gateway.g.get("db")))

    @app.teardown_appcontext
    def close_db(exc):
        closed.append(("app", gateway.current_app.name, gateway.g.pop("db", None)))

    client.get("/")
    assert closed == [("request", "/", "connection"), ("app", "core_app", "connection")]


def test_exception_in_after_request_gives_a_500(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.after_request
    def broken(response):
        raise RuntimeError("after_request failed")

    app.add_url_rule("/", "index", lambda: "ok")
    rv = client.get("/")
    assert rv.status_code == 500
    assert b"after_request failed" not in rv.data
