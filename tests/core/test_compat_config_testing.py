"""Configuration, the request object, the test client, instance folders,
extensions, middleware, subclassing, overridable hooks and the app's CLI side
by side with Flask 3.1.
Static files, file sending and uploads are in test_compat_files.py."""

from __future__ import annotations

import json
import os
import tomllib
import typing as t
from pathlib import Path

import click
import pytest
from compat_support import (
    Case,
    Framework,
    call,
    case_tests,
    req,
)

APPS = Path(__file__).resolve().parent / "compat_apps"
CONFIG_ROOT = APPS / "config_root"
STATIC_ROOT = APPS / "static_root"

# -- config -----------------------------------------------------------------------


def _config(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    c = app.config
    out: list[str] = []

    def rec(func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> None:
        try:
            out.append(repr(func(*args, **kwargs)))
        except Exception as e:  # noqa: BLE001 - the type is the observation
            out.append(type(e).__name__)

    rec(c.from_object, "compat_cfgmod")
    out.append(repr((c["SECRET_KEY"], "lowercase_is_ignored" in c)))
    rec(c.from_object, "compat_cfgmod.ProductionConfig")
    out.append(c["DATABASE"])
    rec(c.from_pyfile, "settings.cfg")
    out.append(repr((c["SECRET_KEY"], c["NUMBER"], "lowercase" in c)))
    rec(c.from_pyfile, "missing.cfg", silent=True)
    rec(c.from_pyfile, "missing.cfg")
    rec(c.from_file, "settings.json", load=json.load)
    out.append(c["SECRET_KEY"])
    rec(c.from_file, "settings.toml", load=tomllib.load, text=False)
    out.append(repr(c["NESTED"]))
    rec(c.from_file, "missing.json", load=json.load, silent=True)
    rec(c.from_mapping, {"APP_A": 1, "lower": 2}, APP_B=2)
    out.append(repr(("lower" in c, c["APP_B"])))
    rec(c.get_namespace, "APP_")
    rec(c.get_namespace, "APP_", lowercase=False, trim_namespace=False)
    rec(c.from_envvar, "COMPAT_UNSET_VARIABLE")
    rec(c.from_envvar, "COMPAT_UNSET_VARIABLE", silent=True)
    os.environ["COMPAT_SETTINGS_FILE"] = str(CONFIG_ROOT / "settings.cfg")
    try:
        rec(c.from_envvar, "COMPAT_SETTINGS_FILE")
    finally:
        del os.environ["COMPAT_SETTINGS_FILE"]
    c.setdefault("EXTENSION_OPTION", "default")
    c.update(PERMANENT_SESSION_LIFETIME=60)
    out.append(repr((c["EXTENSION_OPTION"], app.permanent_session_lifetime)))
    app.debug = True
    app.testing = True
    app.secret_key = "attribute"
    out.append(repr((c["DEBUG"], c["TESTING"], c["SECRET_KEY"])))
    out.append(repr(sorted(app.default_config.items())).replace("None", "None"))
    return out


def _config_sources_app(fw: Framework) -> t.Any:
    import sys

    if str(CONFIG_ROOT) not in sys.path:
        sys.path.insert(0, str(CONFIG_ROOT))
    return fw.App(f"compat_config_{fw.name}", root_path=str(CONFIG_ROOT))


CONFIG = Case(_config_sources_app, call(_config))


def _prefixed_env(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    prefix = "FLASK" if fw.name == "flask" else "GATEWAY"
    values = {
        f"{prefix}_SECRET_KEY": "from env",
        f"{prefix}_NUMBER": "5",
        f"{prefix}_FLAG": "true",
        f"{prefix}_NESTED__KEY": "1",
        f"{prefix}_TEXT": "not json",
        "MYAPP_LIST": '{"a": [1]}',
    }
    os.environ.update(values)
    try:
        app.config["NESTED"] = {}
        app.config.from_prefixed_env()
        app.config.from_prefixed_env("MYAPP")
    finally:
        for key in values:
            del os.environ[key]
    return [
        app.config[k]
        for k in ("SECRET_KEY", "NUMBER", "FLAG", "NESTED", "LIST", "TEXT")
    ]


PREFIXED_ENV = Case(
    lambda fw: fw.App(f"compat_prefixed_{fw.name}"),
    call(
        _prefixed_env,
        expect=["from env", 5, True, {"KEY": 1}, {"a": [1]}, "not json"],
    ),
)


def _instance(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    out: list[t.Any] = [app.config.from_pyfile("application.cfg", silent=True)]
    out.append(app.config["SECRET_KEY"])
    with app.open_instance_resource("application.cfg") as f:
        out.append(f.read())
    with app.open_resource("settings.cfg", "r") as f:
        out.append(f.readline())
    with pytest.raises(ValueError):
        app.open_resource("settings.cfg", "w")
    with pytest.raises(ValueError):
        fw.App("relative_instance", instance_path="relative/path")
    return out


INSTANCE = Case(
    lambda fw: fw.App(
        f"compat_instance_{fw.name}",
        root_path=str(CONFIG_ROOT),
        instance_path=str(CONFIG_ROOT / "instance_dir"),
        instance_relative_config=True,
    ),
    call(
        _instance,
        expect=[
            True,
            "from the instance folder",
            b'SECRET_KEY = "from the instance folder"\n',
            'SECRET_KEY = "from the py file"\n',
        ],
    ),
)

# -- request object ------------------------------------------------------------------


def request_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_request_{fw.name}")

    @app.route("/r/<x>", methods=["GET", "POST", "PUT"])
    def r(x):
        q = F.request
        return repr(
            (
                q.endpoint, q.view_args, q.url_rule.rule, sorted(q.url_rule.methods),
                q.blueprint, q.blueprints, q.is_json, q.mimetype, q.method,
                q.remote_addr, q.referrer, q.values.to_dict(), q.form.to_dict(),
                q.args.to_dict(flat=False), q.args.get("n", 0, type=int),
                q.cookies.to_dict(), q.headers.get("User-Agent"), q.max_content_length,
                q.data, q.script_root, q.url_root, q.path, q.full_path, q.url,
                q.base_url, q.host_url, q.scheme, q.is_secure, q.access_route,
                q.content_length, q.accept_languages.best, q.trusted_hosts,
            )
        )  # fmt: skip

    @app.route("/raw", methods=["POST"])
    def raw():
        return repr((F.request.get_data(), F.request.stream.read(), F.request.form))

    @app.route("/stream", methods=["POST"])
    def stream():
        return repr(F.request.stream.read())

    @app.route("/nothing-matched-yet")
    def nothing():
        return "x"

    @app.errorhandler(404)
    def nf(e):
        q = F.request
        return repr(
            (q.endpoint, q.view_args, q.url_rule, type(q.routing_exception).__name__)
        ), 404

    return app


REQUEST = Case(
    request_app,
    req(
        "POST", "/r/1?a=b&n=7&n=8", 200,
        data="c=d", content_type="application/x-www-form-urlencoded",
        headers={"Referer": "http://ref/", "Cookie": "k=v", "Accept-Language": "de, en;q=0.5"},
    ),
    req("GET", "https://localhost/r/2?n=x", 200),
    req("PUT", "/r/3", 200, data=b"\x00bin", content_type="application/octet-stream"),
    req("POST", "/raw", 200, data=b"raw body", content_type="text/plain"),
    req("POST", "/stream", 200, data=b"streamed", content_type="application/x-custom"),
    req("GET", "/nowhere", 404),
    req("POST", "/nothing-matched-yet", 405),
)  # fmt: skip


def limits_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_limits_{fw.name}")
    app.config.update(MAX_FORM_MEMORY_SIZE=10, MAX_FORM_PARTS=2)

    @app.route("/", methods=["POST"])
    def form():
        return repr(F.request.form.to_dict())

    @app.route("/per-request", methods=["POST"])
    def per_request():
        F.request.max_content_length = 10
        return F.request.get_data()

    return app


LIMITS = Case(
    limits_app,
    # Werkzeug 3.1.9 stopped applying MAX_FORM_MEMORY_SIZE to urlencoded
    # bodies (413 on 3.1.8, 200 on 3.1.9): gateway answers as Flask does on the
    # Werkzeug installed.
    req("POST", "/", None, data={"a": "x" * 20}),
    req("POST", "/", 200, data={"a": "x"}),
    req("POST", "/", 413, data={"a": "1", "b": "2", "c": "3"}, content_type="multipart/form-data"),
    req("POST", "/", 413, data={"a": "x" * 20}, content_type="multipart/form-data"),
    req("POST", "/per-request", 413, data=b"x" * 20),
    req("POST", "/per-request", 200, data=b"x" * 5),
)  # fmt: skip

# -- test client ---------------------------------------------------------------------


def client_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_client_{fw.name}")
    app.secret_key = "k"

    @app.route("/login", methods=["POST"])
    def login():
        F.session["user"] = F.request.form["user"]
        return F.redirect(F.url_for("me"))

    @app.route("/me")
    def me():
        return F.session.get("user", "anon")

    @app.route("/echo", methods=["GET", "PUT", "POST"])
    def echo():
        return {
            "method": F.request.method,
            "args": F.request.args.to_dict(),
            "json": F.request.get_json(silent=True),
            "url": F.request.url,
        }

    return app


def _client_features(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    testing = fw.sub("testing")
    out: list[t.Any] = []
    rv = client.post("/login", data={"user": "bob"}, follow_redirects=True)
    out.append((rv.data, [r.status_code for r in rv.history], rv.request.path))
    rv = client.put("/echo", json={"a": [1, "é"]}, query_string={"q": "1"})
    out.append((rv.json, rv.is_json, rv.mimetype, rv.get_json()["method"]))
    builder = testing.EnvironBuilder(
        app, "/echo", query_string={"b": "2"}, method="PUT"
    )
    out.append(client.open(builder).json)
    out.append(client.open(builder.get_environ()).json["url"])
    out.append(client.get("/echo", base_url="https://x.test/root/").json["url"])
    out.append(client.get("/echo", headers={"Host": "h.test"}).json["url"])
    out.append(client.get("http://sub.localhost/echo").json["url"])
    client.delete_cookie("session")
    out.append(client.get("/me").data)
    custom = type("CustomClient", (fw.get("testing.FlaskClient"),), {})
    app.test_client_class = custom
    out.append(type(app.test_client()).__name__)
    out.append(
        type(app.test_cli_runner()).__name__
        == fw.get("testing.FlaskCliRunner").__name__
    )
    return out


CLIENT = Case(client_app, call(_client_features))

# -- extensions, middleware, subclassing, CLI ------------------------------------------


def extension_app(fw: Framework) -> t.Any:
    """The documented extension shape: ``init_app`` for factories, config
    defaults with ``setdefault``, state in ``app.extensions``, a resource on
    ``g`` released by ``teardown_appcontext``."""
    F = fw.F
    released: list[str] = []

    class Counter:
        def __init__(self, app=None):
            if app is not None:
                self.init_app(app)

        def init_app(self, app):
            app.config.setdefault("COUNTER_START", 10)
            app.extensions["counter"] = {"hits": app.config["COUNTER_START"]}
            app.teardown_appcontext(self.teardown)

        def teardown(self, exc):
            conn = F.g.pop("counter_conn", None)
            if conn is not None:
                released.append(conn)

        @property
        def connection(self):
            if "counter_conn" not in F.g:
                F.g.counter_conn = f"conn for {F.request.path}"
            return F.g.counter_conn

    counter = Counter()
    app = fw.App(f"compat_extension_{fw.name}")
    app.config["COUNTER_START"] = 100
    counter.init_app(app)

    @app.route("/hit")
    def hit():
        state = F.current_app.extensions["counter"]
        state["hits"] += 1
        return f"{state['hits']} {counter.connection} released={released}"

    return app


EXTENSION = Case(extension_app, req("GET", "/hit", 200), req("GET", "/hit", 200))


def middleware_app(fw: Framework) -> t.Any:
    F = fw.F

    class HTTPMethodOverrideMiddleware:
        allowed_methods = frozenset(
            ["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]
        )
        bodyless_methods = frozenset(["GET", "HEAD", "OPTIONS", "DELETE"])

        def __init__(self, app):
            self.app = app

        def __call__(self, environ, start_response):
            method = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
            if method in self.allowed_methods:
                environ["REQUEST_METHOD"] = method
            if method in self.bodyless_methods:
                environ["CONTENT_LENGTH"] = "0"
            return self.app(environ, start_response)

    app = fw.App(f"compat_middleware_{fw.name}")
    app.wsgi_app = HTTPMethodOverrideMiddleware(app.wsgi_app)

    @app.route("/r", methods=["GET", "PUT", "DELETE", "POST"])
    def r():
        return f"{F.request.method} {F.request.get_data()!r} {F.current_app.name == app.name}"

    return app


MIDDLEWARE = Case(
    middleware_app,
    req("POST", "/r", 200, data="b", headers={"X-HTTP-Method-Override": "PUT"}),
    req("POST", "/r", 200, data="b", headers={"X-HTTP-Method-Override": "DELETE"}),
    req("POST", "/r", 200, data="b"),
)


def subclassing_app(fw: Framework) -> t.Any:
    F = fw.F

    class AdminRequest(F.Request):  # type: ignore[name-defined,misc]
        @property
        def is_admin(self):
            return self.args.get("admin") == "1"

    class TextResponse(F.Response):  # type: ignore[name-defined,misc]
        default_mimetype = "text/plain"

    class AdminApp(fw.App):  # type: ignore[name-defined,misc]
        request_class = AdminRequest
        response_class = TextResponse

        def make_response(self, rv):
            if isinstance(rv, int):
                rv = str(rv)
            return super().make_response(rv)

    app = AdminApp(f"compat_subclass_{fw.name}")

    @app.route("/")
    def index():
        return f"{F.request.is_admin} {type(F.request).__name__}"

    @app.route("/int")
    def integer():
        return 42

    @app.route("/json")
    def json_view():
        return F.jsonify(a=1)

    @app.route("/redirect")
    def redirect():
        return F.redirect("/")

    @app.route("/abort")
    def abort():
        F.abort(404)

    @app.route("/made")
    def made():
        return type(F.make_response("x")).__name__

    return app


SUBCLASSING = Case(
    subclassing_app,
    req("GET", "/?admin=1", 200),
    req("GET", "/int", 200),
    req("GET", "/json", 200),
    req("GET", "/redirect", 302),
    req("GET", "/abort", 404),
    req("GET", "/made", 200),
)


def url_build_errors_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_build_errors_{fw.name}")

    def external(error, endpoint, values):
        if endpoint == "docs":
            return f"https://docs.example/{values.get('page', '')}"
        return None

    app.url_build_error_handlers.append(external)

    @app.route("/")
    def index():
        out = [F.url_for("docs", page="intro")]
        try:
            F.url_for("other")
        except Exception as e:  # noqa: BLE001 - the type is the observation
            out.append(type(e).__name__)
        return " ".join(out)

    return app


URL_BUILD_ERRORS = Case(url_build_errors_app, req("GET", "/", 200))


def cli_app(fw: Framework) -> t.Any:
    F = fw.F
    cli = fw.sub("cli")
    app = fw.App(f"compat_cli_{fw.name}")

    @app.cli.command("hello")
    @click.option("--name", default="World")
    def hello(name):
        click.echo(f"Hello {name} from {F.current_app.name == app.name}")

    group = cli.AppGroup("group")

    @group.command("sub")
    @cli.with_appcontext
    def sub():
        click.echo(f"sub {F.current_app.name == app.name}")

    app.cli.add_command(group)
    bp = F.Blueprint("bp", __name__, cli_group="bpgroup")

    @bp.cli.command("from-bp")
    def from_bp():
        click.echo("blueprint command")

    app.register_blueprint(bp)
    flat = F.Blueprint("flat", __name__, cli_group=None)

    @flat.cli.command("flat-cmd")
    def flat_cmd():
        click.echo("flat blueprint command")

    app.register_blueprint(flat)

    @app.shell_context_processor
    def shell_context():
        return {"answer": 42}

    return app


def _cli(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    runner = app.test_cli_runner()
    out = []
    for args in (
        ["hello"], ["hello", "--name", "X"], ["group", "sub"], ["bpgroup", "from-bp"],
        ["flat-cmd"], ["nope"],
    ):  # fmt: skip
        result = runner.invoke(args=args)
        out.append((result.exit_code, result.output.splitlines()[-1]))
    context = app.make_shell_context()
    out.append((sorted(context), context["app"] is app, context["answer"]))
    return out


CLI = Case(cli_app, call(_cli))


def overridables_app(fw: Framework) -> t.Any:
    """Documented extension points: a ``g`` class that answers None for
    missing names, an aborter that knows an extra code, teardown functions
    that do not see some errors, and nested request contexts (an internal
    redirect)."""
    from werkzeug.exceptions import Aborter, HTTPException

    F = fw.F

    class LenientGlobals(fw.App.app_ctx_globals_class):  # type: ignore[name-defined,misc]
        def __getattr__(self, name):
            return None

    class Teapot(HTTPException):
        code = 418
        description = "I'm a teapot."

    class TeapotAborter(Aborter):
        def __init__(self):
            super().__init__(extra={418: Teapot})

    class CustomApp(fw.App):  # type: ignore[name-defined,misc]
        app_ctx_globals_class = LenientGlobals
        aborter_class = TeapotAborter

        def should_ignore_error(self, error):
            return isinstance(error, KeyError)

    app = CustomApp(f"compat_overridables_{fw.name}")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    log: list[str] = []

    @app.teardown_request
    def teardown(exc):
        log.append(type(exc).__name__)

    @app.route("/g")
    def g():
        return repr((F.g.missing, type(F.g).__name__))

    @app.route("/teapot")
    def teapot():
        F.abort(418)

    @app.route("/key")
    def key():
        raise KeyError("k")

    @app.route("/value")
    def value():
        raise ValueError("v")

    @app.route("/nested")
    def nested():
        out = [F.request.path]
        with app.test_request_context("/inner?x=1"):
            out.append(F.request.path + F.request.args["x"])
            with app.test_request_context("/inner2"):
                out.append(F.request.path)
            out.append(F.request.path)
        out.append(F.request.path)
        return repr(out)

    @app.route("/log")
    def show_log():
        out = repr(log)
        log.clear()
        return out

    return app


OVERRIDABLES = Case(
    overridables_app,
    req("GET", "/g", 200),
    req("GET", "/teapot", 418),
    req("GET", "/key", 500),
    req("GET", "/value", 500),
    req("GET", "/log", 200),
    req("GET", "/nested", 200),
    req("GET", "/log", 200),
)

CASES = [
    pytest.param(CONFIG, id="config"),
    pytest.param(PREFIXED_ENV, id="prefixed-env"),
    pytest.param(INSTANCE, id="instance-folder"),
    pytest.param(REQUEST, id="request-object"),
    pytest.param(LIMITS, id="form-limits"),
    pytest.param(CLIENT, id="test-client"),
    pytest.param(EXTENSION, id="extension"),
    pytest.param(MIDDLEWARE, id="middleware"),
    pytest.param(SUBCLASSING, id="subclassing"),
    pytest.param(URL_BUILD_ERRORS, id="url-build-errors"),
    pytest.param(CLI, id="cli"),
    pytest.param(OVERRIDABLES, id="overridables"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)
