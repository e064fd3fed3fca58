"""Request and Response classes: JSON bodies, size limits, routing info."""

from __future__ import annotations

import importlib
import io
import typing as t

import pytest
from werkzeug.exceptions import BadRequest, ClientDisconnected

import gateway
from gateway.wrappers import Request, Response, UnreadableBody


@pytest.fixture
def echo_json(app):
    @app.route("/", methods=["POST"])
    def index():
        kwargs = {
            key: gateway.request.args[key] == "1"
            for key in ("force", "silent")
            if key in gateway.request.args
        }
        return {"value": gateway.request.get_json(**kwargs)}

    return app


@pytest.mark.parametrize(
    ("query", "data", "content_type", "status", "value"),
    [
        pytest.param("", '{"a": 1}', "application/json", 200, {"a": 1}, id="json"),
        pytest.param(
            "", "[1, 2]", "application/vnd.api+json", 200, [1, 2], id="plus-json"
        ),
        pytest.param("", "{bad", "application/json", 400, None, id="malformed-400"),
        pytest.param("", '{"a": 1}', "text/plain", 415, None, id="wrong-type-415"),
        pytest.param("", "", None, 415, None, id="no-type-415"),
        pytest.param(
            "?silent=1", "{bad", "application/json", 200, None, id="silent-bad"
        ),
        pytest.param(
            "?silent=1", "{}", "text/plain", 200, None, id="silent-wrong-type"
        ),
        pytest.param("?force=1", '{"f": 1}', "text/plain", 200, {"f": 1}, id="force"),
        pytest.param("?force=1", "{bad", "text/plain", 400, None, id="force-bad-400"),
    ],
)
def test_get_json(echo_json, query, data, content_type, status, value):
    rv = echo_json.test_client().post(f"/{query}", data=data, content_type=content_type)
    assert rv.status_code == status
    if status == 200:
        assert rv.json == {"value": value}


def test_json_property_is_none_for_non_json_only_via_silent(app, client):
    @app.route("/", methods=["POST"])
    def index():
        return {"is_json": gateway.request.is_json, "json": gateway.request.json}

    assert client.post("/", json={"k": [1]}).json == {
        "is_json": True,
        "json": {"k": [1]},
    }
    # Werkzeug 2.3+: .json on a non-JSON request is a 415, like get_json().
    assert client.post("/", data="x", content_type="text/plain").status_code == 415


def test_get_json_caches_the_parsed_value(app, client):
    @app.route("/", methods=["POST"])
    def index():
        first = gateway.request.get_json()
        return {"same": first is gateway.request.get_json()}

    assert client.post("/", json={"a": 1}).json == {"same": True}


def test_on_json_loading_failed_can_be_customised(app, client):
    class LenientRequest(Request):
        def on_json_loading_failed(self, e):
            if e is None:  # wrong content type
                return {"fallback": "type"}
            return {"fallback": "syntax"}

    app.request_class = LenientRequest
    app.add_url_rule("/", "index", lambda: gateway.request.get_json(), methods=["POST"])

    assert client.post("/", data="{x", content_type="application/json").json == {
        "fallback": "syntax"
    }
    assert client.post("/", data="{}", content_type="text/plain").json == {
        "fallback": "type"
    }


def test_bad_json_error_does_not_leak_a_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.add_url_rule("/", "index", lambda: gateway.request.get_json(), methods=["POST"])

    rv = client.post("/", data='{"unterminated', content_type="application/json")
    assert rv.status_code == 400
    assert b"Traceback" not in rv.data


def test_bad_request_from_json_is_catchable_by_handler(app, client):
    app.register_error_handler(BadRequest, lambda e: ({"error": "bad json"}, 400))
    app.add_url_rule("/", "index", lambda: gateway.request.get_json(), methods=["POST"])

    rv = client.post("/", data="{", content_type="application/json")
    assert rv.json == {"error": "bad json"}


# -- size limits -------------------------------------------------------------


def _form_view():
    return {"fields": len(gateway.request.form), "files": len(gateway.request.files)}


@pytest.mark.parametrize(
    ("limit", "size", "status"),
    [
        pytest.param(100, 50, 200, id="under"),
        pytest.param(100, 100, 200, id="exactly"),
        pytest.param(100, 101, 413, id="over-413"),
        pytest.param(None, 100_000, 200, id="unlimited"),
    ],
)
def test_max_content_length_from_config(app, client, limit, size, status):
    app.config["MAX_CONTENT_LENGTH"] = limit
    app.add_url_rule("/", "index", _form_view, methods=["POST"])

    body = "f=" + "x" * (size - 2)
    rv = client.post("/", data=body, content_type="application/x-www-form-urlencoded")
    assert rv.status_code == status


def test_max_content_length_applies_to_raw_body(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.add_url_rule(
        "/", "index", lambda: str(len(gateway.request.get_data())), methods=["POST"]
    )

    assert client.post("/", data=b"x" * 10).data == b"10"
    assert client.post("/", data=b"x" * 11).status_code == 413


def test_max_content_length_on_the_request_reflects_config(app):
    app.config["MAX_CONTENT_LENGTH"] = 1234
    with app.test_request_context():
        assert gateway.request.max_content_length == 1234


def test_max_content_length_can_be_set_per_request(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.route("/upload", methods=["POST"])
    def upload():
        return str(len(gateway.request.get_data()))

    @app.before_request
    def raise_limit_for_uploads():
        if gateway.request.endpoint == "upload":
            gateway.request.max_content_length = 1000

    assert client.post("/upload", data=b"x" * 500).data == b"500"


def test_max_form_memory_size_limits_a_multipart_text_field(app, client):
    app.config["MAX_FORM_MEMORY_SIZE"] = 100
    app.add_url_rule("/", "index", _form_view, methods=["POST"])

    small = client.post("/", data={"field": "x" * 50})
    large = client.post(
        "/", data={"field": "x" * 200, "file": (io.BytesIO(b"f"), "f.txt")}
    )
    assert small.status_code == 200
    assert large.status_code == 413


def test_max_form_parts_limits_multipart_parts(app, client):
    app.config["MAX_FORM_PARTS"] = 3
    app.add_url_rule("/", "index", _form_view, methods=["POST"])

    ok = {"a": "1", "file": (io.BytesIO(b"f"), "f.txt")}
    too_many = {f"k{i}": "v" for i in range(5)}
    too_many["file"] = (io.BytesIO(b"f"), "f.txt")
    assert client.post("/", data=ok).json == {"fields": 1, "files": 1}
    assert client.post("/", data=too_many).status_code == 413


def test_form_limits_are_exposed_on_the_request(app):
    app.config.update(MAX_FORM_MEMORY_SIZE=11, MAX_FORM_PARTS=22)
    with app.test_request_context():
        assert gateway.request.max_form_memory_size == 11
        assert gateway.request.max_form_parts == 22


def test_limits_without_app_context_use_werkzeug_defaults():
    request = Request.from_values("/")
    assert request.max_content_length is None
    assert request.max_form_memory_size == 500_000
    assert request.max_form_parts == 1000


# -- routing information -----------------------------------------------------


def test_request_routing_attributes_on_a_match(app, client):
    bp = gateway.Blueprint("shop", __name__, url_prefix="/shop")

    @bp.route("/item/<int:n>")
    def item(n):
        req = gateway.request
        return {
            "endpoint": req.endpoint,
            "blueprint": req.blueprint,
            "blueprints": req.blueprints,
            "view_args": req.view_args,
            "rule": req.url_rule.rule,
            "routing_exception": repr(req.routing_exception),
        }

    app.register_blueprint(bp)
    assert client.get("/shop/item/5").json == {
        "endpoint": "shop.item",
        "blueprint": "shop",
        "blueprints": ["shop"],
        "view_args": {"n": 5},
        "rule": "/shop/item/<int:n>",
        "routing_exception": "None",
    }


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        pytest.param("GET", "/nowhere", 404, id="not-found"),
        pytest.param("DELETE", "/", 405, id="method-not-allowed"),
    ],
)
def test_request_routing_attributes_on_a_failed_match(app, client, method, path, code):
    app.add_url_rule("/", "index", lambda: "")

    @app.errorhandler(code)
    def describe(e):
        req = gateway.request
        return {
            "endpoint": req.endpoint,
            "blueprint": req.blueprint,
            "view_args": req.view_args,
            "url_rule": repr(req.url_rule),
            "routing_exception": type(req.routing_exception).__name__,
            "same_error": req.routing_exception is e,
        }, code

    rv = client.open(path, method=method)
    assert rv.status_code == code
    assert rv.json == {
        "endpoint": None,
        "blueprint": None,
        "view_args": None,
        "url_rule": "None",
        "routing_exception": {404: "NotFound", 405: "MethodNotAllowed"}[code],
        "same_error": True,
    }


def test_request_blueprint_is_none_for_app_routes(app, client):
    app.add_url_rule(
        "/",
        "index",
        lambda: {"bp": gateway.request.blueprint, "bps": gateway.request.blueprints},
    )
    assert client.get("/").json == {"bp": None, "bps": []}


def test_request_values_form_args_files_cookies(app, client):
    @app.route("/", methods=["POST"])
    def index():
        req = gateway.request
        upload = req.files["doc"]
        return {
            "args": req.args.to_dict(),
            "form": req.form.to_dict(),
            "values": sorted(req.values),
            "file": [upload.filename, upload.read().decode()],
            "cookie": req.cookies.get("c"),
        }

    client.set_cookie("c", "cookie-value")
    rv = client.post(
        "/?q=1", data={"name": "ann", "doc": (io.BytesIO(b"content"), "doc.txt")}
    )
    assert rv.json == {
        "args": {"q": "1"},
        "form": {"name": "ann"},
        "values": ["name", "q"],
        "file": ["doc.txt", "content"],
        "cookie": "cookie-value",
    }


def test_request_url_parts_under_a_mount_point(app):
    with app.test_request_context(
        "/page.html?x=y", base_url="http://example.test/myapplication"
    ):
        req = gateway.request
        assert req.path == "/page.html"
        assert req.script_root == "/myapplication"
        assert req.base_url == "http://example.test/myapplication/page.html"
        assert req.url == "http://example.test/myapplication/page.html?x=y"
        assert req.url_root == "http://example.test/myapplication/"


# -- overriding the classes --------------------------------------------------


def test_custom_request_class_is_used(app, client):
    class MyRequest(Request):
        @property
        def shout(self):
            return self.args.get("word", "").upper()

    app.request_class = MyRequest
    app.add_url_rule("/", "index", lambda: gateway.request.shout)

    assert client.get("/?word=hey").data == b"HEY"
    with app.test_request_context():
        assert isinstance(gateway.request._get_current_object(), MyRequest)


def test_custom_response_class_is_used_for_errors_and_redirects(app, client):
    class MyResponse(Response):
        pass

    app.response_class = MyResponse
    app.add_url_rule("/", "index", lambda: gateway.redirect("/elsewhere"))

    with app.test_request_context():
        assert isinstance(gateway.redirect("/x"), MyResponse)
        assert isinstance(app.make_response("x"), MyResponse)
    assert client.get("/").status_code == 302


def test_response_defaults(app):
    response = Response()
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert Response.json_module is not None


def test_response_json_property(app):
    with app.app_context():
        response = gateway.jsonify(a=1)
    assert response.json == {"a": 1}
    assert response.is_json


def test_response_max_cookie_size_follows_config(app):
    app.config["MAX_COOKIE_SIZE"] = 80
    with app.app_context():
        response = Response()
        assert response.max_cookie_size == 80
        with pytest.warns(UserWarning, match="cookie"):
            response.set_cookie("big", "x" * 200)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("example.test", 200, id="listed"),
        pytest.param("api.example.test", 200, id="subdomain-of-dotted-entry"),
        pytest.param("evil.test", 400, id="foreign-400"),
    ],
)
def test_trusted_hosts_config_rejects_other_hosts(app, client, host, status):
    app.config["TRUSTED_HOSTS"] = ["example.test", ".example.test"]
    app.add_url_rule("/", "index", lambda: gateway.request.host)

    rv = client.get("/", headers={"Host": host})
    assert rv.status_code == status
    if status == 200:
        assert rv.data == host.encode()


# -- a body the server cannot read is a 400 (issue 18, point 1) -------------------------


def _server_error(module: str, name: str, *args: object) -> t.Any:
    """A server's own read error, as a pytest.param skipped when the server's
    package is not installed."""
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError:
        return pytest.param(None, id=name, marks=pytest.mark.skip(f"no {module}"))
    return pytest.param(cls(*args), id=name)


#: What each server's wsgi.input.read() raises on a malformed or cut body.
SERVER_READ_ERRORS = [
    _server_error("gevent.pywsgi", "_InvalidClientInput", "Non-hex data"),
    _server_error("gunicorn.http.errors", "InvalidChunkSize", b"zz"),
    _server_error("gunicorn.http.errors", "ChunkMissingTerminator", b"xx"),
    _server_error("gunicorn.http.errors", "NoMoreData", b""),
    pytest.param(OSError("uwsgi_request_read() timed out"), id="uwsgi-OSError"),
    pytest.param(ValueError("bad chunk"), id="ValueError"),
    pytest.param(ConnectionResetError(), id="ConnectionResetError"),
]

#: How the body reaches the app: a server that terminates the stream itself
#: (chunked, gevent/gunicorn), the same under MAX_CONTENT_LENGTH, and a
#: Content-Length body (Werkzeug's LimitedStream in between).
BODY_FRAMING = [
    pytest.param({"wsgi.input_terminated": True}, None, id="chunked"),
    pytest.param({"wsgi.input_terminated": True}, 1000, id="chunked-max-length"),
    pytest.param({"CONTENT_LENGTH": "16"}, None, id="content-length"),
]

#: The ways a view reads the body: (content type, code reading it).
BODY_READERS = [
    pytest.param("application/x-www-form-urlencoded", lambda r: r.form, id="form"),
    pytest.param("multipart/form-data; boundary=b", lambda r: r.files, id="files"),
    pytest.param("application/json", lambda r: r.json, id="json"),
    pytest.param(
        "application/json", lambda r: r.get_json(silent=True), id="json-silent"
    ),
    pytest.param("text/plain", lambda r: r.data, id="data"),
    pytest.param("text/plain", lambda r: r.get_data(), id="get_data"),
    pytest.param("application/x-www-form-urlencoded", lambda r: r.values, id="values"),
    pytest.param("text/plain", lambda r: r.stream.read(), id="stream-read"),
    pytest.param("text/plain", lambda r: r.stream.read(4), id="stream-read-4"),
    pytest.param("text/plain", lambda r: r.stream.readline(), id="stream-readline"),
    pytest.param("text/plain", lambda r: r.stream.readlines(), id="stream-readlines"),
    pytest.param("text/plain", lambda r: list(r.stream), id="stream-iter"),
]


class FailingInput:
    """A wsgi.input whose every read raises ``error``, as a server's does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, *args: t.Any) -> bytes:
        raise self.error

    readline = readlines = read


@pytest.mark.parametrize("error", SERVER_READ_ERRORS)
@pytest.mark.parametrize(("framing", "limit"), BODY_FRAMING)
@pytest.mark.parametrize(("content_type", "read"), BODY_READERS)
def test_unreadable_body_is_a_400_seen_by_the_400_handler(
    app, error, framing, limit, content_type, read
):
    app.config["MAX_CONTENT_LENGTH"] = limit
    seen = []

    @app.post("/")
    def index():
        read(gateway.request)
        return "read"

    @app.errorhandler(400)
    def bad_request(e):
        seen.append(e)
        return "bad body", 400

    rv = app.test_client().post(
        "/",
        content_type=content_type,
        environ_overrides={"wsgi.input": FailingInput(error), **framing},
    )
    assert rv.status_code == 400
    assert rv.data == b"bad body"
    [e] = seen
    assert isinstance(e, BadRequest)
    if isinstance(e, UnreadableBody):
        assert e.__cause__ is error
    else:
        # Werkzeug's LimitedStream already answers OSError/ValueError itself.
        assert isinstance(e, ClientDisconnected)
        assert isinstance(error, OSError | ValueError)


@pytest.mark.parametrize("error", SERVER_READ_ERRORS)
def test_unreadable_body_without_handler_is_a_plain_400(app, error):
    @app.post("/")
    def index():
        return gateway.request.get_data()

    rv = app.test_client().post(
        "/",
        content_type="text/plain",
        environ_overrides={
            "wsgi.input": FailingInput(error),
            "wsgi.input_terminated": True,
        },
    )
    assert rv.status_code == 400
    assert b"could not be read" in rv.data
    assert str(error) not in rv.text or not str(error)


def test_errors_of_the_view_itself_are_not_a_400(app):
    @app.post("/")
    def index():
        gateway.request.get_data()
        raise ValueError("a bug in the view")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    rv = app.test_client().post("/", data=b"fine", content_type="text/plain")
    assert rv.status_code == 500


def test_a_413_from_the_body_limit_stays_a_413(app):
    app.config["MAX_CONTENT_LENGTH"] = 4

    @app.post("/")
    def index():
        gateway.request.stream.read()  # the first four bytes
        return gateway.request.stream.read()  # past the limit: Werkzeug's 413

    rv = app.test_client().post(
        "/",
        content_type="text/plain",
        environ_overrides={
            "wsgi.input": io.BytesIO(b"more than four"),
            "wsgi.input_terminated": True,
        },
    )
    assert rv.status_code == 413


def test_guarded_stream_reads_a_good_body_every_way(app):
    body = b"line one\nline two\nend"
    with app.test_request_context(
        "/",
        method="POST",
        environ_overrides={
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
        },
    ):
        stream = gateway.request.stream
        assert stream.readline() == b"line one\n"
        buffer = bytearray(4)
        assert stream.readinto(buffer) == 4
        assert bytes(buffer) == b"line"
        assert list(stream) == [b" two\n", b"end"]
        assert stream.read() == b""
        assert stream.readable()


def test_a_request_without_a_body_reads_werkzeugs_empty_stream(app):
    with app.test_request_context("/"):
        assert type(gateway.request.stream) is io.BytesIO
        assert gateway.request.get_data() == b""


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param(None, id="no header"),
        pytest.param("", id="empty"),
        pytest.param("a=1", id="one"),
        pytest.param("a=1; b=2; a=3", id="repeated name"),
        pytest.param('q="x y\\"z"; u=%C3%A9', id="quoted and escaped"),
        pytest.param("bad cookie; ;=; c=3", id="malformed parts"),
        pytest.param("é=ü", id="latin-1 as a WSGI server passes it"),
    ],
)
def test_request_cookies_are_werkzeugs(cookie: str | None) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request as WerkzeugRequest

    environ = EnvironBuilder().get_environ()
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    ours, theirs = Request(environ).cookies, WerkzeugRequest(environ).cookies
    assert type(ours) is type(theirs)
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))
