"""Conversion of view return values into response objects.

``App.make_response`` accepts str, bytes, dict/list (JSON), iterators and
generators (streamed), response objects, any WSGI callable and the
``(body, status)``, ``(body, headers)``, ``(body, status, headers)`` tuples;
anything else is a TypeError that says what was returned. The
``gateway.make_response`` helper builds on it.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response as WerkzeugResponse

import gateway


def _gen():
    yield "chunk1 "
    yield "chunk2"


@pytest.mark.parametrize(
    ("value", "status", "mimetype", "data"),
    [
        pytest.param("héllo", 200, "text/html", "héllo".encode(), id="str"),
        pytest.param(b"raw", 200, "text/html", b"raw", id="bytes"),
        pytest.param(bytearray(b"ba"), 200, "text/html", b"ba", id="bytearray"),
        pytest.param({"a": 1}, 200, "application/json", b'{"a":1}\n', id="dict"),
        pytest.param([1, "x"], 200, "application/json", b'[1,"x"]\n', id="list"),
        pytest.param(("body", 201), 201, "text/html", b"body", id="tuple-int-status"),
        pytest.param(
            ("body", "418 I AM A TEAPOT"), 418, "text/html", b"body", id="str-status"
        ),
        pytest.param(
            ({"a": 1}, 202), 202, "application/json", b'{"a":1}\n', id="dict-status"
        ),
        pytest.param(("body", None), 200, "text/html", b"body", id="none-status-kept"),
        pytest.param(
            ("body", HTTPStatus.CREATED), 201, "text/html", b"body", id="httpstatus"
        ),
        pytest.param(
            ({"a": 1}, {"X-A": "1"}),
            200,
            "application/json",
            b'{"a":1}\n',
            id="dict-headers",
        ),
    ],
)
def test_view_return_values_become_responses(
    app, client, value, status, mimetype, data
):
    app.add_url_rule("/", "index", lambda: value)

    rv = client.get("/")
    assert rv.status_code == status
    assert rv.mimetype == mimetype
    assert rv.data == data


def test_str_response_is_utf8_html(app, client):
    app.add_url_rule("/", "index", lambda: "ü")

    rv = client.get("/")
    assert rv.headers["Content-Type"] == "text/html; charset=utf-8"
    assert rv.data == "ü".encode()


def test_custom_status_string_is_kept_verbatim(app, client):
    app.add_url_rule("/", "index", lambda: ("x", "299 SOMETHING ELSE"))

    assert client.get("/").status == "299 SOMETHING ELSE"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Test": "1"}, id="dict"),
        pytest.param([("X-Test", "1")], id="list-of-pairs"),
        pytest.param(Headers({"X-Test": "1"}), id="Headers"),
    ],
)
@pytest.mark.parametrize(
    ("make", "status"),
    [
        pytest.param(lambda h: ("body", h), 200, id="body-headers"),
        pytest.param(lambda h: ("body", 203, h), 203, id="body-status-headers"),
    ],
)
def test_tuple_headers_are_added(app, client, headers, make, status):
    app.add_url_rule("/", "index", lambda: make(headers))

    rv = client.get("/")
    assert rv.status_code == status
    assert rv.headers["X-Test"] == "1"
    assert rv.data == b"body"


def test_tuple_headers_replace_same_named_headers_of_a_response(app, client):
    @app.route("/")
    def index():
        resp = gateway.Response("body", headers={"X-A": "old", "X-B": "kept"})
        return resp, {"X-A": "new"}

    rv = client.get("/")
    assert rv.headers.getlist("X-A") == ["new"]
    assert rv.headers["X-B"] == "kept"


def test_response_object_in_tuple_gets_status_overridden(app, client):
    app.add_url_rule("/", "index", lambda: (gateway.Response("x", status=200), 404))

    assert client.get("/").status_code == 404


def test_response_instance_is_returned_unchanged(app, req_ctx):
    resp = app.response_class("same")
    assert app.make_response(resp) is resp


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_gen, id="generator"),
        pytest.param(lambda: iter([b"chunk1 ", b"chunk2"]), id="iterator"),
    ],
)
def test_generators_and_iterators_are_streamed(app, client, value):
    app.add_url_rule("/", "index", lambda: value())

    with app.test_request_context():
        resp = app.make_response(value())
        assert resp.is_streamed
    assert client.get("/").data == b"chunk1 chunk2"


def test_foreign_response_class_is_coerced_to_response_class(app, req_ctx):
    foreign = WerkzeugResponse("werkzeug", status=202, headers={"X-W": "1"})

    resp = app.make_response(foreign)
    assert isinstance(resp, app.response_class)
    assert resp.status_code == 202
    assert resp.headers["X-W"] == "1"
    assert resp.get_data() == b"werkzeug"


def test_plain_wsgi_callable_is_called_and_wrapped(app, client):
    def wsgi_app(environ, start_response):
        start_response("201 CREATED", [("X-Wsgi", environ["PATH_INFO"])])
        return [b"from wsgi"]

    app.add_url_rule("/w", "w", lambda: wsgi_app)

    rv = client.get("/w")
    assert rv.status_code == 201
    assert rv.headers["X-Wsgi"] == "/w"
    assert rv.data == b"from wsgi"


def test_custom_response_class_is_used_for_converted_values(app, client):
    class TextResponse(gateway.Response):
        default_mimetype = "text/plain"

    app.response_class = TextResponse
    app.add_url_rule("/", "index", lambda: "plain")

    with app.test_request_context():
        assert isinstance(app.make_response("x"), TextResponse)
    assert client.get("/").mimetype == "text/plain"


def test_none_return_is_type_error_naming_the_view(app, client):
    app.add_url_rule("/", "bad_view", lambda: None)

    with pytest.raises(TypeError, match="bad_view") as exc_info:
        client.get("/")
    assert "None" in str(exc_info.value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        pytest.param(42, "int", id="int"),
        pytest.param(object(), "object", id="object"),
        pytest.param(3.5, "float", id="float"),
        pytest.param((None, 200), "None", id="none-body-in-tuple"),
    ],
)
def test_unsupported_return_value_is_type_error_naming_the_type(
    app, client, value, fragment
):
    app.add_url_rule("/", "index", lambda: value)

    with pytest.raises(TypeError, match="valid response") as exc_info:
        client.get("/")
    assert fragment in str(exc_info.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(("only",), id="one-item"),
        pytest.param(("body", 200, {}, "extra"), id="four-items"),
    ],
)
def test_tuple_of_wrong_length_is_type_error(app, client, value):
    app.add_url_rule("/", "index", lambda: value)

    with pytest.raises(TypeError, match="tuple"):
        client.get("/")


def test_bad_return_value_is_500_when_exceptions_are_not_propagated(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/", "index", lambda: None)

    assert client.get("/").status_code == 500


# -- gateway.make_response helper ------------------------------------------


def test_make_response_helper_without_arguments_is_empty_200(req_ctx):
    resp = gateway.make_response()
    assert isinstance(resp, gateway.current_app.response_class)
    assert resp.status_code == 200
    assert resp.get_data() == b""


def test_make_response_helper_with_several_arguments_is_a_tuple(req_ctx):
    resp = gateway.make_response("gone", 410, {"X-Why": "moved"})
    assert resp.status_code == 410
    assert resp.headers["X-Why"] == "moved"
    assert resp.get_data() == b"gone"


def test_make_response_helper_lets_a_view_set_cookies(app, client):
    @app.route("/")
    def index():
        resp = gateway.make_response({"ok": True})
        resp.set_cookie("flavour", "oat")
        return resp

    rv = client.get("/")
    assert rv.json == {"ok": True}
    assert client.get_cookie("flavour").value == "oat"


def test_make_response_helper_uses_the_current_app_response_class(app, req_ctx):
    class Custom(gateway.Response):
        pass

    app.response_class = Custom
    assert isinstance(gateway.make_response("x"), Custom)
