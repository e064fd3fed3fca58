"""Routing on werkzeug.routing: rules, options, converters, methods, redirects.

Pins ``App.route`` / ``add_url_rule`` / ``endpoint`` and the HTTP behaviour the
URL map gives for free (automatic OPTIONS and HEAD, 405 with Allow, 308
trailing-slash redirects), plus subdomain and host matching.
"""

from __future__ import annotations

import uuid
import warnings

import pytest
from compat_support import FLASK, FRAMEWORKS, GATEWAY, needs_flask
from werkzeug.routing import BaseConverter, Rule, ValidationError

import gateway
from gateway import _names


def test_route_defaults_to_get_with_automatic_head_and_options(app, client):
    @app.route("/")
    def index():
        return "hello"

    assert app.url_map._rules_by_endpoint["index"][0].methods == {
        "GET",
        "HEAD",
        "OPTIONS",
    }
    assert client.get("/").data == b"hello"
    head = client.head("/")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == "5"
    options = client.options("/")
    assert options.status_code == 200
    assert sorted(options.allow) == ["GET", "HEAD", "OPTIONS"]


def test_method_not_allowed_is_405_with_allow_header(app, client):
    @app.route("/", methods=["POST"])
    def index():
        return "posted"

    rv = client.get("/")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["OPTIONS", "POST"]
    assert client.post("/").data == b"posted"


def test_allow_header_lists_methods_of_every_rule_for_the_url(app, client):
    app.add_url_rule("/", "read", lambda: "read", methods=["GET"])
    app.add_url_rule("/", "write", lambda: "write", methods=["PUT", "DELETE"])

    rv = client.patch("/")
    assert rv.status_code == 405
    assert sorted(rv.allow) == ["DELETE", "GET", "HEAD", "OPTIONS", "PUT"]
    assert client.put("/").data == b"write"
    assert client.get("/").data == b"read"


def test_methods_are_normalised_to_upper_case(app, client):
    @app.route("/", methods=["get", "post"])
    def index():
        return gateway.request.method

    assert client.post("/").data == b"POST"
    assert client.get("/").data == b"GET"


def test_methods_given_as_a_string_are_refused(app):
    with pytest.raises(TypeError, match="list of strings"):
        app.add_url_rule("/", "index", lambda: "", methods="POST")


def test_view_function_attributes_methods_and_required_methods(app, client):
    def view():
        return gateway.request.method

    view.methods = ["POST"]
    view.required_methods = ["PUT"]
    app.add_url_rule("/", view_func=view)

    assert client.post("/").data == b"POST"
    assert client.put("/").data == b"PUT"
    assert client.get("/").status_code == 405


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        pytest.param("kwarg", 405, id="provide_automatic_options=False"),
        pytest.param("attribute", 405, id="view.provide_automatic_options=False"),
        pytest.param("config", 405, id="PROVIDE_AUTOMATIC_OPTIONS=False"),
        pytest.param("none", 200, id="default-provides-options"),
    ],
)
def test_automatic_options_can_be_turned_off(app, client, how, expected):
    def view():
        return "x"

    options = {}
    if how == "kwarg":
        options["provide_automatic_options"] = False
    elif how == "attribute":
        view.provide_automatic_options = False
    elif how == "config":
        app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.add_url_rule("/", view_func=view, **options)

    assert client.options("/").status_code == expected


def test_explicit_options_method_is_handled_by_the_view(app, client):
    @app.route("/", methods=["GET", "OPTIONS"])
    def index():
        if gateway.request.method == "OPTIONS":
            return "custom options"
        return "get"

    assert client.options("/").data == b"custom options"


def test_endpoint_defaults_to_function_name_and_can_be_set(app, client):
    @app.route("/a")
    def first():
        return "a"

    @app.route("/b", endpoint="bee")
    def second():
        return "b"

    assert app.view_functions["first"] is first
    assert app.view_functions["bee"] is second
    with app.test_request_context():
        assert gateway.url_for("bee") == "/b"
    assert client.get("/b").data == b"b"


def test_add_url_rule_without_view_then_view_functions_mapping(app, client):
    app.add_url_rule("/", "index")
    app.view_functions["index"] = lambda: "late"

    assert client.get("/").data == b"late"


def test_endpoint_decorator_binds_a_rule_added_to_the_url_map(app, client):
    app.url_map.add(Rule("/raw/<int:n>", endpoint="raw"))

    @app.endpoint("raw")
    def raw(n):
        return str(n * 2)

    assert client.get("/raw/21").data == b"42"


def test_overwriting_an_endpoint_with_another_function_is_an_error(app):
    @app.route("/")
    def index():
        return ""

    # Flask raises AssertionError; a ValueError naming the endpoint is also fine.
    with pytest.raises((AssertionError, ValueError), match="index"):
        app.add_url_rule("/other", "index", lambda: "")


def test_same_function_on_same_endpoint_twice_is_allowed(app, client):
    def index():
        return "same"

    app.add_url_rule("/", view_func=index)
    app.add_url_rule("/alias", view_func=index)
    assert client.get("/alias").data == b"same"


@pytest.mark.parametrize(
    ("shortcut", "method"),
    [
        pytest.param("get", "GET", id="get"),
        pytest.param("post", "POST", id="post"),
        pytest.param("put", "PUT", id="put"),
        pytest.param("delete", "DELETE", id="delete"),
        pytest.param("patch", "PATCH", id="patch"),
    ],
)
def test_method_shortcut_decorators_register_one_method(app, client, shortcut, method):
    getattr(app, shortcut)("/")(lambda: gateway.request.method)

    assert client.open("/", method=method).data == method.encode()
    other = "POST" if method != "POST" else "PUT"
    assert client.open("/", method=other).status_code == 405


def test_method_shortcut_refuses_a_methods_argument(app):
    with pytest.raises(TypeError, match="route"):
        app.post("/", methods=["GET"])


def test_strict_slashes_false_serves_both_forms(app, client):
    app.add_url_rule("/loose/", "loose", lambda: "ok", strict_slashes=False)
    app.add_url_rule("/tight", "tight", lambda: "ok", strict_slashes=False)

    assert client.get("/loose/").data == b"ok"
    assert client.get("/loose").data == b"ok"
    assert client.get("/tight").data == b"ok"
    assert client.get("/tight/").data == b"ok"


@pytest.mark.parametrize(
    ("method", "url", "location"),
    [
        pytest.param("GET", "/folder", "/folder/", id="get"),
        pytest.param("POST", "/folder", "/folder/", id="post-keeps-method-308"),
        pytest.param("GET", "/folder?q=1", "/folder/?q=1", id="query-kept"),
    ],
)
def test_missing_trailing_slash_redirects_with_308(app, client, method, url, location):
    app.add_url_rule("/folder/", "folder", lambda: "f", methods=["GET", "POST"])

    rv = client.open(url, method=method)
    assert rv.status_code == 308
    assert rv.location.endswith(location)


def test_extra_trailing_slash_on_a_file_like_rule_is_404(app, client):
    app.add_url_rule("/about", "about", lambda: "about")

    assert client.get("/about").status_code == 200
    assert client.get("/about/").status_code == 404


def test_rule_defaults_and_redirect_to_canonical_default_url(app, client):
    @app.route("/users/", defaults={"page": 1})
    @app.route("/users/page/<int:page>")
    def users(page):
        return f"page {page}"

    assert client.get("/users/").data == b"page 1"
    assert client.get("/users/page/3").data == b"page 3"
    rv = client.get("/users/page/1")
    assert rv.status_code == 308
    assert rv.location.endswith("/users/")


def test_redirect_to_rule_option_redirects_with_308(app, client):
    app.add_url_rule("/old/<int:n>", "old", redirect_to="/new/<n>")
    app.add_url_rule("/new/<int:n>", "new", lambda n: f"new {n}")

    rv = client.get("/old/5")
    assert rv.status_code == 308
    assert rv.location.endswith("/new/5")
    assert client.get("/old/5", follow_redirects=True).data == b"new 5"


def test_build_only_rule_builds_but_never_matches(app, client):
    app.add_url_rule("/uploads/<name>", "uploads", build_only=True)

    with app.test_request_context():
        assert gateway.url_for("uploads", name="a.txt") == "/uploads/a.txt"
    assert client.get("/uploads/a.txt").status_code == 404


def test_static_rule_beats_variable_rule_whatever_the_order(app, client):
    app.add_url_rule("/page/<name>", "dynamic", lambda name: f"dyn {name}")
    app.add_url_rule("/page/special", "special", lambda: "special")

    assert client.get("/page/special").data == b"special"
    assert client.get("/page/other").data == b"dyn other"


_UUID = "f1b3c6a0-3c4e-4b8e-9a7d-1e2f3a4b5c6d"


@pytest.mark.parametrize(
    ("rule", "url", "expected"),
    [
        pytest.param("/<value>", "/abc", "'abc'", id="string-default"),
        pytest.param("/<string(length=2):value>", "/ab", "'ab'", id="string-length"),
        pytest.param("/<int:value>", "/42", "42", id="int"),
        pytest.param("/<int(signed=True):value>", "/-3", "-3", id="int-signed"),
        pytest.param("/<float:value>", "/1.5", "1.5", id="float"),
        pytest.param("/<path:value>", "/a/b/c", "'a/b/c'", id="path"),
        pytest.param("/<any(red, blue):value>", "/blue", "'blue'", id="any"),
        pytest.param("/<uuid:value>", f"/{_UUID}", f"UUID('{_UUID}')", id="uuid"),
    ],
)
def test_builtin_converters_pass_typed_view_args(app, client, rule, url, expected):
    app.add_url_rule(rule, "view", lambda value: repr(value))

    assert client.get(url).data.decode() == expected


@pytest.mark.parametrize(
    ("rule", "url"),
    [
        pytest.param("/<value>", "/a/b", id="string-rejects-slash"),
        pytest.param("/<string(length=2):value>", "/abc", id="string-wrong-length"),
        pytest.param("/<int:value>", "/4x", id="int-rejects-letters"),
        pytest.param("/<int:value>", "/-3", id="int-unsigned-rejects-minus"),
        pytest.param("/<float:value>", "/3", id="float-needs-dot"),
        pytest.param("/<any(red, blue):value>", "/green", id="any-outside-set"),
        pytest.param("/<uuid:value>", "/not-a-uuid", id="uuid-malformed"),
    ],
)
def test_converter_mismatch_is_404(app, client, rule, url):
    app.add_url_rule(rule, "view", lambda value: "matched")

    assert client.get(url).status_code == 404


class ListConverter(BaseConverter):
    """Comma-separated list in one path segment; refuses empty items."""

    def to_python(self, value: str) -> list[str]:
        items = value.split(",")
        if not all(items):
            raise ValidationError()
        return items

    def to_url(self, value: list[str]) -> str:
        to_url = super().to_url
        return ",".join(to_url(item) for item in value)


def test_custom_converter_registered_on_url_map_converters(app, client):
    app.url_map.converters["list"] = ListConverter

    @app.route("/sum/<list:items>")
    def total(items):
        return str(sum(int(i) for i in items))

    assert client.get("/sum/1,2,3").data == b"6"
    assert client.get("/sum/1,,3").status_code == 404
    with app.test_request_context():
        assert gateway.url_for("total", items=["4", "5"]) == "/sum/4,5"


def test_uuid_value_builds_back_into_url(app):
    app.add_url_rule("/<uuid:value>", "view", lambda value: "")

    with app.test_request_context():
        assert gateway.url_for("view", value=uuid.UUID(_UUID)) == f"/{_UUID}"


def test_custom_url_rule_class_is_used(app):
    class MyRule(Rule):
        pass

    app.url_rule_class = MyRule
    app.add_url_rule("/", "index", lambda: "")

    assert isinstance(app.url_map._rules_by_endpoint["index"][0], MyRule)


def test_adding_a_route_after_the_first_request_is_refused(app, client):
    app.add_url_rule("/", "index", lambda: "")
    client.get("/")

    # Flask raises AssertionError naming the setup method.
    with pytest.raises((AssertionError, RuntimeError), match="add_url_rule"):
        app.add_url_rule("/late", "late", lambda: "")


def test_request_exposes_matched_rule_endpoint_and_view_args(app, client):
    @app.route("/item/<int:item_id>", methods=["GET", "PUT"])
    def item(item_id):
        req = gateway.request
        return {
            "rule": req.url_rule.rule,
            "methods": sorted(req.url_rule.methods),
            "endpoint": req.endpoint,
            "view_args": req.view_args,
        }

    assert client.get("/item/7").json == {
        "rule": "/item/<int:item_id>",
        "methods": ["GET", "HEAD", "OPTIONS", "PUT"],
        "endpoint": "item",
        "view_args": {"item_id": 7},
    }


# -- subdomains and hosts ---------------------------------------------------


@pytest.fixture
def sub_app():
    app = gateway.App("sub_app", subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")

    @app.route("/")
    def index():
        return "root"

    @app.route("/", subdomain="api")
    def api():
        return "api"

    @app.route("/who", subdomain="<user>")
    def user(user):
        return f"user {user}"

    return app


@pytest.mark.parametrize(
    ("url", "status", "body"),
    [
        pytest.param("http://example.test/", 200, b"root", id="bare-domain"),
        pytest.param("http://api.example.test/", 200, b"api", id="static-subdomain"),
        pytest.param("http://bob.example.test/who", 200, b"user bob", id="variable"),
        pytest.param("http://nope.example.test/", 404, None, id="unknown-subdomain"),
    ],
)
def test_subdomain_matching_routes_by_subdomain(sub_app, url, status, body):
    rv = sub_app.test_client().get(url)
    assert rv.status_code == status
    if body is not None:
        assert rv.data == body


def test_subdomain_urls_build_external_with_server_name(sub_app):
    with sub_app.app_context():
        assert gateway.url_for("api") == "http://api.example.test/"
        assert gateway.url_for("user", user="ann") == "http://ann.example.test/who"


def test_without_subdomain_matching_server_name_does_not_route_subdomains():
    app = gateway.App("plain")
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    app.add_url_rule("/", "index", lambda: "index")

    # Subdomain routing is opt-in (subdomain_matching=True) since Flask 1.0;
    # without it every host is served by the default, empty subdomain.
    assert app.test_client().get("http://other.example.test/").data == b"index"


def test_host_matching_routes_by_full_host():
    app = gateway.App("hosts", host_matching=True, static_folder=None)
    app.config["TESTING"] = True
    app.add_url_rule("/", "one", lambda: "one", host="one.test")
    app.add_url_rule("/", "tenant", lambda tenant: tenant, host="<tenant>.tenants.test")

    client = app.test_client()
    assert client.get("http://one.test/").data == b"one"
    assert client.get("http://acme.tenants.test/").data == b"acme"
    assert client.get("http://unknown.test/").status_code == 404


def test_host_matching_serves_static_from_static_host(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.txt").write_text("static!")
    app = gateway.App(
        "hosts",
        root_path=str(tmp_path),
        host_matching=True,
        static_host="cdn.test",
    )

    client = app.test_client()
    with client.get("http://cdn.test/static/a.txt") as rv:
        assert rv.data == b"static!"
    assert client.get("http://www.test/static/a.txt").status_code == 404


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"host_matching": True}, id="host_matching-alone"),
        pytest.param({"static_host": "cdn.test"}, id="static_host-alone"),
    ],
)
def test_static_host_and_host_matching_go_together(fw, tmp_path, options):
    # An AssertionError, as Flask's assert gives (code written for Flask,
    # its own tests among it, catches that); raised, so python -O keeps it.
    with pytest.raises(AssertionError, match="static_host"):
        fw.App("hosts", root_path=str(tmp_path), **options)
    fw.App("hosts", root_path=str(tmp_path), host_matching=True, static_folder=None)


@pytest.mark.parametrize(
    ("fw", "package"),
    [
        pytest.param(GATEWAY, "gateway", id="gateway"),
        pytest.param(GATEWAY, "flask", id="gateway-flask-names"),
        pytest.param(FLASK, "flask", id="flask", marks=needs_flask),
    ],
)
def test_server_name_mismatch_warning_comes_from_the_app_module(
    fw, package, monkeypatch
):
    # Werkzeug's warning names the module that bound the URL map, the one a
    # filter written for Flask names (flask.app): under the switch
    # (gateway's Flask names) gateway's comes from flask.app too.
    if fw is GATEWAY:
        monkeypatch.setattr(_names, "_package", package)
    app = fw.App("names", subdomain_matching=True)
    app.config["SERVER_NAME"] = "dev.local"
    app.add_url_rule("/", "index", lambda: "index")
    client = app.test_client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings(
            "ignore", "Current server name", UserWarning, f"{package}.app"
        )
        assert client.get("/", "http://foo.localhost").status_code == 404
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.get("/", "http://foo.localhost")
    assert [str(w.message) for w in caught] == [
        "Current server name 'foo.localhost' doesn't match configured server"
        " name 'dev.local'"
    ]
