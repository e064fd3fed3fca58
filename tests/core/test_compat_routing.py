"""Routing, HTTP methods and view return values (with ``redirect``,
``make_response`` and ``abort``), side by side with Flask 3.1.

Each case builds one app inline, then runs its steps; every step asserts its
own status, and with Flask installed the complete responses (status, headers
in order, body) of both frameworks are compared.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from compat_support import (
    FLASK,
    FRAMEWORKS,
    GATEWAY,
    Case,
    Framework,
    call,
    needs_flask,
    req,
)
from werkzeug.exceptions import Forbidden
from werkzeug.routing import Rule

#: An app root with ``static/hello.txt``.
_STATIC_ROOT = Path(__file__).resolve().parent / "compat_apps" / "static_root"


def routing_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_routing_{fw.name}")

    @app.route("/")
    def index():
        return "index"

    @app.route("/user/<name>")
    def user(name):
        return f"user {name}"

    @app.route("/int/<int:n>")
    def number(n):
        return str(n + 1)

    @app.route("/float/<float:x>")
    def floating(x):
        return repr(x)

    @app.route("/path/<path:p>")
    def path(p):
        return p

    @app.route("/any/<any(red, blue):colour>")
    def colour(colour):
        return colour

    @app.route("/uuid/<uuid:u>")
    def uuid(u):
        return f"{type(u).__name__} {u}"

    @app.route("/projects/")
    def projects():
        return "projects"

    @app.route("/about")
    def about():
        return "about"

    @app.route("/users/", defaults={"page": 1})
    @app.route("/users/page/<int:page>")
    def users(page):
        return f"page {page}"

    @app.route("/methods", methods=["GET", "POST"])
    def methods():
        return F.request.method

    @app.post("/post-only")
    def post_only():
        return "posted"

    @app.put("/put")
    def put():
        return "put"

    @app.patch("/patch")
    def patch():
        return "patched"

    @app.delete("/delete")
    def delete():
        return "deleted"

    @app.route("/own-options", methods=["GET", "OPTIONS"])
    def own_options():
        return "my options"

    app.add_url_rule("/old", "old", redirect_to="/about")
    app.add_url_rule("/build-only", "build_only", build_only=True)
    app.add_url_rule("/loose", "loose", lambda: "loose", strict_slashes=False)
    app.url_map.add(Rule("/raw/<x>", endpoint="raw"))

    @app.endpoint("raw")
    def raw(x):
        return f"raw {x}"

    def no_auto_options():
        return "no auto"

    no_auto_options.provide_automatic_options = False
    no_auto_options.methods = ["GET", "OPTIONS"]
    app.add_url_rule("/no-auto", view_func=no_auto_options)

    def required():
        return F.request.method

    required.required_methods = ["POST"]
    app.add_url_rule("/required", view_func=required)
    app.add_url_rule("/pao", "pao", lambda: "pao", provide_automatic_options=False)

    @app.route("/urls")
    def urls():
        return " ".join(
            [
                F.url_for("user", name="a b/ü"),
                F.url_for("users"),
                F.url_for("users", page=3),
                F.url_for("build_only"),
                F.url_for("raw", x="1", q=[1, 2], none=None),
                F.url_for("about", _anchor="sec 1"),
                F.url_for("about", _external=True),
                F.url_for("about", _scheme="https"),
                F.url_for("methods", _method="POST"),
            ]
        )

    return app


ROUTING = Case(
    routing_app,
    req("GET", "/", 200),
    req("GET", "/user/bob", 200),
    req("GET", "/user/b%C3%B6b", 200),
    req("GET", "/int/41", 200),
    req("GET", "/int/x", 404),
    req("GET", "/float/1.5", 200),
    req("GET", "/path/a/b/c", 200),
    req("GET", "/any/red", 200),
    req("GET", "/any/green", 404),
    req("GET", "/uuid/12345678-1234-5678-1234-567812345678", 200),
    req("GET", "/projects", 308),
    req("POST", "/projects", 404),
    req("GET", "/projects/", 200),
    req("GET", "/about/", 404),
    req("GET", "/users/", 200),
    req("GET", "/users/page/3", 200),
    req("GET", "/users/page/1", 308),  # the canonical URL is /users/
    req("POST", "/methods", 200),
    req("PUT", "/methods", 405),
    req("HEAD", "/methods", 200),
    req("OPTIONS", "/methods", 200),
    req("GET", "/post-only", 405),
    req("DELETE", "/post-only", 405),
    req("POST", "/post-only", 200),
    req("PUT", "/put", 200),
    req("PATCH", "/patch", 200),
    req("DELETE", "/delete", 200),
    req("OPTIONS", "/own-options", 200),
    req("GET", "/old", 308),
    req("GET", "/build-only", 404),
    req("GET", "/loose/", 200),
    req("GET", "/raw/x", 200),
    req("OPTIONS", "/no-auto", 200),
    req("POST", "/required", 200),
    req("OPTIONS", "/required", 200),
    req("OPTIONS", "/pao", 405),
    req("GET", "/urls", 200),
    req("GET", "/nowhere", 404),
    req("GET", "/static/x.css", 404),
)


def no_auto_options_app(fw: Framework) -> t.Any:
    app = fw.App(f"compat_noopts_{fw.name}")
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.route("/a")
    def a():
        return "a"

    return app


NO_AUTO_OPTIONS = Case(no_auto_options_app, req("OPTIONS", "/a", 405))


def _gen() -> t.Iterator[t.Any]:
    yield "a"
    yield b"b"


def returns_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_returns_{fw.name}")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    cases: dict[str, t.Callable[[], t.Any]] = {
        "str": lambda: "héllo",
        "bytes": lambda: b"bytes",
        "bytearray": lambda: bytearray(b"ba"),
        "dict": lambda: {"b": 1, "a": [1, 2]},
        "list": lambda: [1, "x", None],
        "generator": _gen,
        "status": lambda: ("x", 201),
        "status-str": lambda: ("x", "418 I AM A TEAPOT"),
        "headers-dict": lambda: ("x", {"X-A": "1"}),
        "headers-list": lambda: ("x", [("X-A", "1"), ("X-A", "2")]),
        "three": lambda: ({"a": 1}, 202, {"X-B": "2", "Content-Type": "text/plain"}),
        "response": lambda: F.make_response("made", 203, {"X-C": "3"}),
        "response-status": lambda: (F.Response("r", 201), 404),
        "response-headers": lambda: (F.Response("r"), {"X-Z": "1"}),
        "make-empty": lambda: F.make_response(),
        "make-tuple": lambda: F.make_response(("t", 299)),
        "jsonify-args": lambda: F.jsonify(1, 2),
        "jsonify-one": lambda: F.jsonify([1]),
        "jsonify-kwargs": lambda: F.jsonify(a=1, b="é"),
        "http-exception": lambda: Forbidden(),
        "wsgi": lambda: (
            lambda environ, start_response: (
                start_response("200 OK", [("Content-Type", "text/plain")]),
                [b"wsgi"],
            )[1]
        ),
        "none": lambda: None,
        "int": lambda: 5,
        "one-tuple": lambda: ("x",),
        "four-tuple": lambda: ("x", 1, 2, 3),
        "redirect": lambda: F.redirect("/target"),
        "redirect-301": lambda: F.redirect(F.url_for("v", name="str", q="ü"), 301),
        "redirect-iri": lambda: F.redirect("http://example.com/ü?x=ä"),
        "redirect-308": lambda: F.redirect("/t", code=308),
        "abort-response": lambda: F.abort(F.make_response("custom", 418)),
        "abort-410": lambda: F.abort(410),
        "abort-description": lambda: F.abort(400, "bad thing"),
        "abort-unknown": lambda: F.abort(999),
    }

    @app.route("/v/<name>")
    def v(name):
        return cases[name]()

    return app


RETURNS = Case(
    returns_app,
    *[
        req("GET", f"/v/{name}", status)
        for name, status in [
            ("str", 200), ("bytes", 200), ("bytearray", 200), ("dict", 200),
            ("list", 200), ("generator", 200), ("status", 201),
            ("status-str", 418), ("headers-dict", 200), ("headers-list", 200),
            ("three", 202), ("response", 203), ("response-status", 404),
            ("response-headers", 200), ("make-empty", 200), ("make-tuple", 299),
            ("jsonify-args", 200), ("jsonify-one", 200), ("jsonify-kwargs", 200),
            ("http-exception", 403), ("wsgi", 200), ("none", 500), ("int", 500),
            ("one-tuple", 500), ("four-tuple", 500), ("redirect", 302),
            ("redirect-301", 301), ("redirect-iri", 302), ("redirect-308", 308),
            ("abort-response", 418), ("abort-410", 410),
            ("abort-description", 400), ("abort-unknown", 500),
        ]
    ],
    req("HEAD", "/v/str", 200),
)  # fmt: skip


def _bad_return(app: t.Any, client: t.Any, fw: Framework) -> str:
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(TypeError) as info:
        client.get("/v/none")
    return str(info.value)


def _bad_tuple(app: t.Any, client: t.Any, fw: Framework) -> str:
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(TypeError) as info:
        client.get("/v/four-tuple")
    return str(info.value)


RETURN_ERRORS = Case(returns_app, call(_bad_return), call(_bad_tuple))


def hosts_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(
        f"compat_hosts_{fw.name}",
        host_matching=True,
        static_host="static.test",
        root_path=str(_STATIC_ROOT),
    )

    @app.route("/", host="a.test")
    def a():
        return (
            "a "
            + F.url_for("b", user="ann")
            + " "
            + F.url_for("static", filename="hello.txt")
        )

    @app.route("/", host="<user>.b.test")
    def b(user):
        return f"b {user}"

    return app


HOSTS = Case(
    hosts_app,
    req("GET", "http://a.test/", 200),
    req("GET", "http://bob.b.test/", 200),
    req("GET", "http://static.test/static/hello.txt", 200),
    req("GET", "http://a.test/static/hello.txt", 404),
    req("GET", "http://zzz.test/", 404),
)


def subdomain_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_subdomains_{fw.name}", subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    bp = F.Blueprint("tenant", __name__, subdomain="<tenant>")

    @bp.route("/")
    def home(tenant):
        return f"{tenant} {F.url_for('.home', tenant='z')} {F.url_for('www')}"

    app.register_blueprint(bp)

    @app.route("/", subdomain="www")
    def www():
        return "www " + F.url_for("tenant.home", tenant="q")

    @app.route("/plain")
    def plain():
        return "plain"

    return app


SUBDOMAINS = Case(
    subdomain_app,
    req("GET", "http://acme.example.test/", 200),
    req("GET", "http://www.example.test/", 200),
    req("GET", "http://example.test/plain", 200),
    req("GET", "/plain", 200),
)


def server_name_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_server_name_{fw.name}")
    app.config["SERVER_NAME"] = "srv.test:8080"

    @app.route("/")
    def i():
        return F.request.host + " " + F.url_for("i", _external=True)

    return app


SERVER_NAME = Case(
    server_name_app,
    req("GET", "http://srv.test:8080/", 200),
    req("GET", "/", 200),
)


def trusted_hosts_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_trusted_{fw.name}")
    app.config["TRUSTED_HOSTS"] = ["good.test", ".sub.test"]

    @app.route("/")
    def i():
        return F.request.host

    return app


TRUSTED_HOSTS = Case(
    trusted_hosts_app,
    req("GET", "http://good.test/", 200),
    req("GET", "http://x.sub.test/", 200),
    req("GET", "http://evil.test/", 400),
)


def _setup_errors(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    """Registration mistakes raise the same exception types."""
    out = []

    def v():
        return "v"

    def other():
        return "other"

    app.add_url_rule("/v", "v", v)
    app.add_url_rule("/v-again", "v", v)  # the same function: allowed
    for attempt in (
        lambda: app.add_url_rule("/v2", "v", other),
        lambda: app.route("/m", methods="GET")(v),
        lambda: app.get("/g", methods=["GET"]),
    ):
        try:
            attempt()
        except Exception as e:  # noqa: BLE001 - the type is the observation
            out.append(type(e).__name__)
    client.get("/v")
    try:
        app.add_url_rule("/late", "late", v)
    except AssertionError:
        out.append("late registration refused")
    return out


SETUP_ERRORS = Case(
    lambda fw: fw.App(f"compat_setup_{fw.name}"),
    call(
        _setup_errors,
        expect=[
            "AssertionError",
            "TypeError",
            "TypeError",
            "late registration refused",
        ],
    ),
)

CASES = [
    pytest.param(ROUTING, id="routing"),
    pytest.param(NO_AUTO_OPTIONS, id="no-automatic-options"),
    pytest.param(RETURNS, id="return-values"),
    pytest.param(RETURN_ERRORS, id="return-value-errors"),
    pytest.param(HOSTS, id="host-matching"),
    pytest.param(SUBDOMAINS, id="subdomains"),
    pytest.param(SERVER_NAME, id="server-name"),
    pytest.param(TRUSTED_HOSTS, id="trusted-hosts"),
    pytest.param(SETUP_ERRORS, id="setup-errors"),
]


@pytest.mark.filterwarnings("ignore:Current server name:UserWarning")
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("case", CASES)
def test_case(case: Case, fw: Framework) -> None:
    case.run(fw)


@needs_flask
@pytest.mark.filterwarnings("ignore:Current server name:UserWarning")
@pytest.mark.parametrize("case", CASES)
def test_case_matches_flask(case: Case) -> None:
    assert case.run(GATEWAY) == case.run(FLASK)
