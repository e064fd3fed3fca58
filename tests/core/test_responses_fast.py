"""The fast response paths give exactly what Werkzeug's general code gives.

``text_response`` builds the responses of ``str`` views and of ``jsonify``;
``Response.__call__`` answers a buffered body without Werkzeug's header copy
and iterator wrapping. Each test compares against Werkzeug run on the same
input, so a Werkzeug change that the shortcuts miss fails here.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

import gateway
from gateway._responses import http_error_response, text_response
from gateway.wrappers import Response


def slow_wsgi(response: t.Any, environ: dict[str, t.Any]) -> tuple[t.Any, ...]:
    """Status, headers, body and closing behaviour through Werkzeug's steps."""
    return _answer(lambda sr: WerkzeugResponse.__call__(response, environ, sr))


def fast_wsgi(response: t.Any, environ: dict[str, t.Any]) -> tuple[t.Any, ...]:
    return _answer(lambda sr: response(environ, sr))


def _answer(call: t.Callable[[t.Any], t.Any]) -> tuple[t.Any, ...]:
    started: list[t.Any] = []
    iterable = call(
        lambda status, headers, exc_info=None: started.append((status, headers))
    )
    body = b"".join(iterable)
    if hasattr(iterable, "close"):
        iterable.close()
    return started, body


def environ(method: str = "GET") -> dict[str, t.Any]:
    return {
        "REQUEST_METHOD": method,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
    }


def make(kind: str) -> Response:
    return {
        "text": lambda: Response("héllo"),
        "bytes": lambda: Response(b"raw"),
        "empty": lambda: Response(),
        "str chunks": lambda: Response(["a", "b"]),
        "bytes chunks, no length": lambda: Response([b"a", b"bc"]),
        "tuple body": lambda: Response((b"a", b"b")),
        "generator": lambda: Response(iter([b"x", b"y"])),
        "404": lambda: Response("gone", status=404),
        "204": lambda: Response("", status=204),
        "304 with entity headers": lambda: Response(
            "x", status=304, headers={"Content-Encoding": "gzip", "ETag": '"1"'}
        ),
        "101": lambda: Response("", status=101),
        "location": lambda: Response("", status=302, headers={"Location": "/ünï"}),
        "content-location": lambda: Response("x", headers={"Content-Location": "/dé"}),
        "explicit length": lambda: Response([b"abc"], headers={"Content-Length": "3"}),
        "repeated headers": lambda: Response(
            "x", headers=[("X-A", "1"), ("X-A", "2"), ("Set-Cookie", "a=b")]
        ),
        "direct passthrough": lambda: Response([b"p"], direct_passthrough=True),
        "custom status": lambda: Response("x", status="299 Fine"),
    }[kind]()


KINDS = [
    "text", "bytes", "empty", "str chunks", "bytes chunks, no length", "tuple body",
    "generator", "404", "204", "304 with entity headers", "101", "location",
    "content-location", "explicit length", "repeated headers", "direct passthrough",
    "custom status",
]  # fmt: skip


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("kind", KINDS)
def test_response_call_answers_like_werkzeug(kind, method):
    assert fast_wsgi(make(kind), environ(method)) == slow_wsgi(
        make(kind), environ(method)
    )


def test_response_call_keeps_the_response_headers_untouched():
    response = Response("x")
    before = list(response.headers)
    started, _ = fast_wsgi(response, environ())
    started[0][1].append(("X-Added", "by a server"))
    assert list(response.headers) == before


def test_close_callbacks_still_run_when_the_server_closes_the_body():
    response = Response("x")
    closed: list[str] = []
    response.call_on_close(lambda: closed.append("closed"))
    started, body = fast_wsgi(response, environ())
    assert body == b"x" and closed == ["closed"]


class HeadersHook(Response):
    def get_wsgi_headers(self, environ):  # type: ignore[no-untyped-def]
        headers = super().get_wsgi_headers(environ)
        headers["X-Hook"] = "yes"
        return headers


class AppIterHook(Response):
    def get_app_iter(self, environ):  # type: ignore[no-untyped-def]
        return [b"replaced"]


class Subclass(Response):
    pass


def test_subclasses_overriding_a_wsgi_step_are_honoured():
    started, _ = fast_wsgi(HeadersHook("x"), environ())
    assert ("X-Hook", "yes") in started[0][1]
    assert fast_wsgi(AppIterHook("x"), environ())[1] == b"replaced"


def test_plain_subclasses_answer_like_werkzeug():
    assert fast_wsgi(Subclass("x"), environ()) == slow_wsgi(Subclass("x"), environ())


def test_a_headers_subclass_goes_through_werkzeug():
    class MyHeaders(Headers):
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter([(k, v.upper()) for k, v in self._list])

    response = Response("x")
    response.headers = MyHeaders(response.headers)
    assert fast_wsgi(response, environ()) == slow_wsgi(response, environ())


def built_alike(a: t.Any, b: t.Any) -> bool:
    return (
        type(a) is type(b)
        and vars(a).keys() == vars(b).keys()
        and a.headers.to_wsgi_list() == b.headers.to_wsgi_list()
        and (a.status, a.status_code, a.response, a.direct_passthrough)
        == (b.status, b.status_code, b.response, b.direct_passthrough)
    )


class PlainText(Response):
    default_mimetype = "text/plain"


class Created(Response):
    default_status = 201


class NoLength(Response):
    automatically_set_content_length = False


class CustomInit(Response):
    def __init__(self, body, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(body.upper(), *args, **kwargs)


class NoMimetype(Response):
    default_mimetype = None


@pytest.mark.parametrize(
    "cls", [Response, PlainText, Created, NoLength, CustomInit, NoMimetype]
)
@pytest.mark.parametrize(
    "mimetype", [None, "application/json", "text/csv", "application/xml"]
)
@pytest.mark.parametrize("body", ["", "hello", "ünïcode ✓", '{"a":1}\n'])
def test_text_response_builds_what_the_constructor_builds(cls, mimetype, body):
    expected = cls(body) if mimetype is None else cls(body, mimetype=mimetype)
    assert built_alike(text_response(cls, body, mimetype), expected)


def test_text_responses_are_independent():
    a, b = text_response(Response, "a"), text_response(Response, "a")
    a.headers["X-Only-A"] = "1"
    a.call_on_close(lambda: None)
    a.response.append(b"more")
    assert "X-Only-A" not in b.headers
    assert b._on_close == [] and b.response == [b"a"]


def test_a_mimetype_with_a_newline_is_refused_as_werkzeug_refuses_it():
    with pytest.raises(ValueError) as fast:
        text_response(Response, "x", "text/plain\r\nX-Injected: 1")
    with pytest.raises(ValueError) as slow:
        Response("x", mimetype="text/plain\r\nX-Injected: 1")
    assert str(fast.value) == str(slow.value)


def test_views_and_jsonify_answer_with_the_shortcuts(app):
    @app.route("/text")
    def text():
        return "hé"

    @app.route("/json")
    def as_json():
        return gateway.jsonify(a=1)

    client = app.test_client()
    text_rv = client.get("/text")
    assert text_rv.headers.to_wsgi_list() == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "3"),
    ]
    assert text_rv.data == "hé".encode()
    json_rv = client.get("/json")
    assert json_rv.headers.to_wsgi_list() == [
        ("Content-Type", "application/json"),
        ("Content-Length", "8"),
    ]
    assert json_rv.get_json() == {"a": 1}
    assert client.head("/text").data == b""


class Teapot(HTTPException):
    code = 418
    description = "Short and stout."


class OwnPage(NotFound):
    def get_body(self, environ=None, scope=None):  # type: ignore[no-untyped-def]
        return "my own page"


class OwnHeaders(NotFound):
    def get_headers(self, environ=None, scope=None):  # type: ignore[no-untyped-def]
        return [("Content-Type", "text/plain"), ("X-Own", "1")]


class OwnInit(HTTPException):
    """Skips HTTPException.__init__ (no ``response`` attribute) and answers
    with its own response, as ihatemoney's Redirect303 does."""

    code = 303

    def __init__(self) -> None:
        Exception.__init__(self, "/elsewhere")
        self.new_url = "/elsewhere"

    def get_response(self, environ=None, scope=None):  # type: ignore[no-untyped-def]
        return WerkzeugResponse("", status=303, headers={"Location": self.new_url})


def _with_response() -> HTTPException:
    return NotFound(response=WerkzeugResponse("given", status=404))


def _with_code() -> HTTPException:
    e = NotFound()
    e.code = 410
    return e


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(NotFound, id="routing's 404"),
        pytest.param(lambda: NotFound("<b>gone</b>\nfor good"), id="own description"),
        pytest.param(BadRequest, id="400"),
        pytest.param(lambda: MethodNotAllowed(["GET", "POST"]), id="405 with Allow"),
        pytest.param(Teapot, id="a subclass with a code and description"),
        pytest.param(OwnPage, id="a subclass with its own page"),
        pytest.param(OwnHeaders, id="a subclass with its own headers"),
        pytest.param(OwnInit, id="a subclass skipping HTTPException.__init__"),
        pytest.param(_with_response, id="a response of its own"),
        pytest.param(_with_code, id="a code set on the instance"),
    ],
)
@pytest.mark.parametrize("cls", [Response, PlainText, NoLength, CustomInit])
def test_error_pages_are_werkzeugs(make, cls):
    """Twice each: the first builds the cached page, the second uses it."""
    for _ in range(2):
        env = environ()
        expected = cls.force_type(make().get_response(env))
        got = http_error_response(cls, make(), env)
        assert built_alike(got, expected)
        assert got.get_data() == expected.get_data()
