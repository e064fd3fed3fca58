"""The request lifecycle side by side with Flask 3.1: error handling, hooks,
contexts, signals, logging and async views.

Apps record what their hooks see into a list that a ``/log`` view returns, so
the order of callbacks is part of the compared responses.
"""

from __future__ import annotations

import io
import threading
import typing as t

import pytest
from compat_support import (
    Case,
    Framework,
    call,
    case_tests,
    req,
)
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, NotFound


def _log_view(app: t.Any, log: list[str]) -> None:
    @app.route("/log")
    def show_log():
        out = "|".join(log)
        log.clear()
        return out


# -- errors ----------------------------------------------------------------------


class MyError(Exception):
    pass


class SubError(MyError):
    pass


def errors_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_errors_{fw.name}")

    @app.errorhandler(404)
    def not_found(e):
        return f"nf {e.code} {e.description[:12]}", 404

    @app.errorhandler(MyError)
    def my_error(e):
        return f"handled {type(e).__name__}", 400

    @app.errorhandler(500)
    def server_error(e):
        original = type(getattr(e, "original_exception", None)).__name__
        return f"500 {type(e).__name__} {original}", 500

    @app.errorhandler(Forbidden)
    def forbidden(e):
        return "forbidden handler", 403

    views: dict[str, t.Callable[[], t.Any]] = {
        "abort404": lambda: F.abort(404),
        "raise404": lambda: (_ for _ in ()).throw(NotFound("custom desc")),
        "abort403": lambda: F.abort(403, "desc"),
        "sub": lambda: (_ for _ in ()).throw(SubError()),
        "zero": lambda: 1 / 0,
        "abort410": lambda: F.abort(410),
        "form-key": lambda: F.request.form["missing"],
        "args-key": lambda: F.request.args["missing"],
    }

    @app.route("/e/<name>", methods=["GET", "POST"])
    def e(name):
        return views[name]()

    @app.route("/json", methods=["POST"])
    def json_body():
        return F.request.get_json()

    @app.route("/json-silent", methods=["POST"])
    def json_silent():
        return repr(F.request.get_json(silent=True))

    @app.route("/json-force", methods=["POST"])
    def json_force():
        return repr(F.request.get_json(force=True))

    @app.route("/json-attr", methods=["POST"])
    def json_attr():
        return repr(F.request.json)

    return app


ERRORS = Case(
    errors_app,
    req("GET", "/e/abort404", 404),
    req("GET", "/e/raise404", 404),
    req("GET", "/nowhere", 404),
    req("GET", "/e/abort403", 403),
    req("GET", "/e/sub", 400),
    req("GET", "/e/zero", 500),
    req("GET", "/e/abort410", 410),
    req("GET", "/e/form-key", 400),
    req("GET", "/e/args-key", 400),
    req("POST", "/json", 400, data="{bad", content_type="application/json"),
    req("POST", "/json", 415, data="x=1"),
    req("POST", "/json", 200, json={"a": [1, "é"]}),
    req("POST", "/json-silent", 200, data="{bad", content_type="application/json"),
    req("POST", "/json-silent", 200, data="x=1"),
    req("POST", "/json-force", 200, data="[1]"),
    req("POST", "/json-attr", 415, data="[1]"),
    req("POST", "/json-attr", 200, data="[1]", content_type="application/json"),
)


def debug_errors_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_debug_errors_{fw.name}")
    app.debug = True
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/form-key")
    def form_key():
        return F.request.form["missing"]

    @app.route("/json", methods=["POST"])
    def json_body():
        return F.request.get_json()

    @app.route("/files", methods=["POST"])
    def files():
        return F.request.files["f"].filename

    @app.route("/slash/", methods=["POST"])
    def slash():
        return "slash"

    return app


DEBUG_ERRORS = Case(
    debug_errors_app,
    # Debug mode explains the mistake instead of a bare 400 / redirect.
    req("GET", "/form-key", 500),
    req("POST", "/json", 400, data="{bad", content_type="application/json"),
    req("POST", "/files", 500, data={"f": "not a file"}),
    req("POST", "/slash", 308),  # 308 keeps the body: no debug error
)


def trap_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_trap_{fw.name}")
    app.config.update(TRAP_HTTP_EXCEPTIONS=True, PROPAGATE_EXCEPTIONS=False)

    @app.route("/a")
    def a():
        F.abort(404)

    @app.errorhandler(500)
    def h(e):
        return f"500 for {type(e.original_exception).__name__}", 500

    return app


TRAP_HTTP = Case(trap_app, req("GET", "/a", 500), req("GET", "/nowhere", 500))


def _trapped_bad_request(app: t.Any, client: t.Any, fw: Framework) -> str:
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True
    app.testing = True
    with pytest.raises(KeyError) as info:
        client.get("/a")
    return type(info.value).__name__


def trap_bad_request_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_trap_br_{fw.name}")

    @app.route("/a")
    def a():
        return F.request.args["x"]

    return app


TRAP_BAD_REQUEST = Case(
    trap_bad_request_app,
    req("GET", "/a", 400),
    req("GET", "/a?x=1", 200),
    call(_trapped_bad_request, expect="BadRequestKeyError"),
)


def generic_handlers_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_generic_{fw.name}")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.errorhandler(HTTPException)
    def http(e):
        return {"code": e.code, "name": e.name}, e.code

    @app.errorhandler(InternalServerError)
    def ise(e):
        return {"ise": type(e.original_exception).__name__}, 500

    @app.route("/nf")
    def nf():
        raise NotFound()

    @app.route("/boom")
    def boom():
        raise RuntimeError()

    @app.route("/slash/")
    def slash():
        return "s"

    @app.route("/get-only")
    def get_only():
        return "g"

    @app.route("/returned")
    def returned():
        return NotFound()

    @app.route("/catch-all")
    def catch_all():
        raise F.abort(400)

    return app


GENERIC_HANDLERS = Case(
    generic_handlers_app,
    req("GET", "/nf", 404),
    req("GET", "/nowhere", 404),
    req("GET", "/boom", 500),
    req("GET", "/slash", 308),  # routing redirects are not errors
    req("POST", "/get-only", 405),
    req("GET", "/returned", 404),  # returned, not raised: no handler
    req("GET", "/catch-all", 400),
)


def exception_handler_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_exc_handler_{fw.name}")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.errorhandler(Exception)
    def any_error(e):
        return f"generic {type(e).__name__}", getattr(e, "code", 500)

    @app.route("/nf")
    def nf():
        F.abort(404)

    @app.route("/boom")
    def boom():
        raise RuntimeError()

    return app


EXCEPTION_HANDLER = Case(
    exception_handler_app,
    req("GET", "/nf", 404),
    req("GET", "/boom", 500),
    req("GET", "/nowhere", 404),
)


def _register_handlers(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    out = []
    for key in (999, "x", object, NotFound(), ValueError):
        try:
            app.register_error_handler(key, lambda e: "x")
            out.append("ok")
        except Exception as e:  # noqa: BLE001 - the type is the observation
            out.append(type(e).__name__)
    return out


REGISTER_HANDLERS = Case(
    lambda fw: fw.App(f"compat_register_{fw.name}"),
    call(
        _register_handlers,
        expect=["ValueError", "TypeError", "ValueError", "TypeError", "ok"],
    ),
)


# -- hooks -------------------------------------------------------------------------


def hooks_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_hooks_{fw.name}")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    log: list[str] = []

    @app.url_value_preprocessor
    def preprocess(endpoint, values):
        log.append(f"uvp:{endpoint}:{values}")

    @app.before_request
    def before1():
        log.append("before1")

    @app.before_request
    def before2():
        log.append("before2")
        if F.request.args.get("stop"):
            return "stopped by before_request", 202
        if F.request.args.get("abort"):
            F.abort(403)

    @app.after_request
    def after1(response):
        log.append("after1")
        response.headers["X-After1"] = "1"
        return response

    @app.after_request
    def after2(response):
        log.append("after2")
        response.headers["X-After2"] = "1"
        return response

    @app.teardown_request
    def teardown_request(exc):
        log.append(f"teardown_request:{type(exc).__name__}")

    @app.teardown_appcontext
    def teardown_appcontext(exc):
        log.append(f"teardown_appcontext:{type(exc).__name__}")

    @app.route("/")
    def index():
        @F.after_this_request
        def add_cookie(response):
            log.append("after_this_request")
            response.set_cookie("seen", "yes")
            return response

        log.append("view")
        return "index"

    @app.route("/handled")
    def handled():
        raise ValueError("x")

    @app.errorhandler(ValueError)
    def value_error(e):
        log.append("handler")
        return "handled", 409

    @app.route("/unhandled")
    def unhandled():
        raise KeyError("x")

    _log_view(app, log)
    return app


HOOKS = Case(
    hooks_app,
    req("GET", "/", 200),
    req("GET", "/log", 200),
    req("GET", "/?stop=1", 202),
    req("GET", "/log", 200),
    req("GET", "/?abort=1", 403),
    req("GET", "/log", 200),
    req("GET", "/handled", 409),
    req("GET", "/log", 200),
    req("GET", "/unhandled", 500),
    req("GET", "/log", 200),
    req("GET", "/nowhere", 404),
    req("GET", "/log", 200),
)


# -- contexts ----------------------------------------------------------------------


def _outside_contexts(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    F = fw.F
    out = [repr((F.has_app_context(), F.has_request_context(), bool(F.current_app)))]
    attempts: list[t.Callable[[], t.Any]] = [
        lambda: F.request.path,
        lambda: F.g.x,
        lambda: F.session.get("x"),
        lambda: F.current_app.name,
        lambda: F.after_this_request(lambda r: r),
        lambda: F.copy_current_request_context(lambda: 1),
        lambda: F.stream_with_context(iter([1])),
        lambda: F.flash("x"),
        lambda: F.url_for("x"),
    ]
    for attempt in attempts:
        try:
            attempt()
        except RuntimeError as e:
            out.append(str(e).splitlines()[0].replace("gateway", "flask"))
    return out


def _app_context(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    F = fw.F
    app.config.update(
        SERVER_NAME="srv.test", APPLICATION_ROOT="/root", PREFERRED_URL_SCHEME="https"
    )
    out = []
    with app.app_context():
        out.append(repr((F.has_app_context(), F.has_request_context())))
        out += [
            F.url_for("x", i=1),
            F.url_for("x", i=1, _external=False),
            F.url_for("x", i=1, _scheme="http"),
        ]
        F.g.a = 1
        out.append(repr((F.g.get("a"), F.g.get("b", 2), "a" in F.g, list(F.g))))
        out.append(repr((F.g.pop("a"), F.g.pop("a", "gone"), F.g.setdefault("c", 3))))
        try:
            F.g.missing  # noqa: B018
        except AttributeError as e:
            out.append(f"AttributeError {e}")
        try:
            F.url_for("nope")
        except Exception as e:  # noqa: BLE001 - the type is the observation
            out.append(type(e).__name__)
        with app.test_request_context("/x/5?q=1", method="POST", data={"a": "b"}):
            rq = F.request
            out.append(
                repr(
                    (
                        rq.path, rq.full_path, rq.url, rq.base_url, rq.url_root,
                        rq.script_root, rq.form["a"], rq.args["q"], rq.endpoint,
                        F.url_for("x", i=2), F.url_for("x", i=2, _scheme="http"),
                        F.g.get("c"),
                    )
                )
            )  # fmt: skip
    with app.test_request_context(subdomain="api", url_scheme="http"):
        out.append(F.request.url)
    with app.test_request_context("http://other.test/x/5", headers={"X-H": "v"}):
        out.append(F.request.url + " " + F.request.headers["X-H"])
    return out


def contexts_app(fw: Framework) -> t.Any:
    app = fw.App(f"compat_ctx_{fw.name}")

    @app.route("/x/<int:i>")
    def x(i):
        return "x"

    return app


CONTEXTS = Case(contexts_app, call(_outside_contexts), call(_app_context))


def _shell_pattern(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    """The documented shell recipe: push a test request context, run the
    before hooks and the response processing by hand, pop to tear down."""
    F = fw.F
    log: list[t.Any] = []
    app.before_request(lambda: log.append("before") or setattr(F.g, "user", "u"))
    app.teardown_request(lambda exc: log.append("teardown"))

    @app.after_request
    def after(response):
        log.append("after")
        response.headers["X"] = "1"
        return response

    ctx = app.test_request_context("/?a=1")
    ctx.push()
    log.append(F.request.args["a"])
    app.preprocess_request()
    log.append(F.g.user)
    response = app.process_response(app.response_class())
    log.append(response.headers["X"])
    ctx.pop()
    log.append(F.has_request_context())
    return log


SHELL = Case(
    lambda fw: fw.App(f"compat_shell_{fw.name}"),
    call(_shell_pattern, expect=["1", "before", "u", "after", "1", "teardown", False]),
)


def threads_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_threads_{fw.name}")
    app.secret_key = "k"
    log: list[str] = []

    @app.teardown_request
    def teardown_request(exc):
        log.append("teardown_request")

    @app.teardown_appcontext
    def teardown_appcontext(exc):
        log.append("teardown_appcontext")

    @app.route("/copy")
    def copy():
        F.session["s"] = "v"
        F.g.x = "view g"
        seen = []

        @F.copy_current_request_context
        def worker():
            seen.append((F.request.path, F.session["s"], F.g.get("x", "new g")))

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        return repr(seen)

    @app.route("/copy-no-session")
    def copy_no_session():
        @F.copy_current_request_context
        def worker():
            pass

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        return "no session use"

    @app.route("/stream")
    def stream():
        F.g.x = "view g"

        def gen():
            yield F.request.args["a"]
            yield F.session.get("s", "none")
            yield F.g.get("x", "missing")

        return F.stream_with_context(gen())

    @app.route("/stream-decorated")
    def stream_decorated():
        @F.stream_with_context
        def gen():
            yield F.request.path

        return gen()

    @app.route("/plain-stream")
    def plain_stream():
        def gen():
            yield "no context needed"

        return gen(), {"Content-Type": "text/plain"}

    _log_view(app, log)
    return app


THREADS_AND_STREAMS = Case(
    threads_app,
    req("GET", "/copy", 200),
    req("GET", "/log", 200),
    req("GET", "/copy-no-session", 200),
    req("GET", "/stream?a=A", 200),
    req("GET", "/log", 200),
    req("GET", "/stream-decorated", 200),
    req("GET", "/plain-stream", 200),
)


def async_app(fw: Framework) -> t.Any:
    pytest.importorskip("asgiref")
    F = fw.F
    app = fw.App(f"compat_async_{fw.name}")
    app.secret_key = "k"

    @app.before_request
    async def before():
        F.g.before = "async before"

    @app.route("/a")
    async def a():
        return f"{F.request.path} {F.g.before}"

    @app.errorhandler(KeyError)
    async def key_error(e):
        return "async handler", 400

    @app.route("/k")
    async def k():
        raise KeyError()

    @app.route("/stream")
    async def stream():
        F.session["test"] = "in session"

        @F.stream_with_context
        def gen():
            yield F.session["test"]

        return F.Response(gen())

    return app


ASYNC = Case(
    async_app,
    req("GET", "/a", 200),
    req("GET", "/k", 400),
    req("GET", "/stream", 200),
)


def _preserved_context(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    F = fw.F
    out: list[t.Any] = []
    app.teardown_request(lambda exc: out.append("teardown"))
    with client:
        client.get("/set")
        out.append((F.request.path, F.g.v, F.session["a"]))
        client.get("/redirect", follow_redirects=True)
        out.append((F.request.path, F.session["target"]))
    out.append((F.has_request_context(), F.has_app_context()))
    with client:
        client.get("/set")
        with pytest.raises(RuntimeError):
            with client:
                pass
    return out


def preserve_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_preserve_{fw.name}")
    app.secret_key = "k"

    @app.route("/set")
    def set_():
        F.session["a"] = 1
        F.g.v = "gv"
        return "x"

    @app.route("/redirect")
    def redirect():
        F.session["redirect"] = True
        return F.redirect("/target")

    @app.route("/target")
    def target():
        F.session["target"] = True
        return "target"

    return app


PRESERVE = Case(preserve_app, call(_preserved_context))


# -- signals and logging -------------------------------------------------------------

SIGNALS = [
    "template_rendered", "before_render_template", "request_started",
    "request_finished", "got_request_exception", "request_tearing_down",
    "appcontext_tearing_down", "appcontext_pushed", "appcontext_popped",
    "message_flashed",
]  # fmt: skip


def signals_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_signals_{fw.name}")
    app.secret_key = "k"
    app.config["PROPAGATE_EXCEPTIONS"] = False
    log: list[str] = []

    def receiver(name: str) -> t.Callable[..., None]:
        def receive(sender: t.Any, **kwargs: t.Any) -> None:
            detail = kwargs.get("exception", kwargs.get("exc"))
            log.append(
                f"{name}:{sender is app}:{sorted(kwargs)}:{type(detail).__name__}"
            )

        return receive

    app.extensions["receivers"] = receivers = [receiver(name) for name in SIGNALS]
    for name, func in zip(SIGNALS, receivers, strict=True):
        getattr(F, name).connect(func, app)

    @app.route("/")
    def index():
        F.flash("m", "info")
        return F.render_template_string("x")

    @app.route("/boom")
    def boom():
        raise RuntimeError()

    @app.route("/log")
    def show_log():
        out = "\n".join(log)
        log.clear()
        return out

    return app


SIGNALS_CASE = Case(
    signals_app,
    req("GET", "/", 200),
    req("GET", "/log", 200),
    req("GET", "/boom", 500),
    req("GET", "/log", 200),
)


def _captured_templates(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    """The documented test recipe: record rendered templates and contexts."""
    recorded = []

    def record(sender, template, context, **extra):
        recorded.append((template.name, context["x"]))

    with fw.F.template_rendered.connected_to(record, app):
        client.get("/render")
    client.get("/render")
    return recorded


def render_app(fw: Framework) -> t.Any:
    app = fw.App(f"compat_render_{fw.name}")
    app.jinja_env.loader = __import__("jinja2").DictLoader({"t.html": "{{ x }}"})
    app.add_url_rule("/render", "render", lambda: fw.F.render_template("t.html", x="v"))
    return app


CAPTURED_TEMPLATES = Case(
    render_app, call(_captured_templates, expect=[("t.html", "v")])
)


def _logging(app: t.Any, client: t.Any, fw: Framework) -> tuple[t.Any, ...]:
    stream = io.StringIO()
    first = client.get("/", errors_stream=stream)
    second = client.get("/boom", errors_stream=stream)
    text = stream.getvalue()
    return (
        first.get_data(as_text=True).replace(app.name, "<app>"),
        second.status_code,
        "warned 1" in text,
        "Exception on /boom [GET]" in text,
        "ZeroDivisionError" in text,
    )


def logging_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_logging_{fw.name}")

    @app.route("/")
    def index():
        logger = F.current_app.logger
        logger.warning("warned %s", 1)
        return repr(
            (logger.name, logger.level, [type(h).__name__ for h in logger.handlers])
        )

    @app.route("/boom")
    def boom():
        return 1 / 0

    return app


LOGGING = Case(logging_app, call(_logging))

CASES = [
    pytest.param(ERRORS, id="errors"),
    pytest.param(DEBUG_ERRORS, id="debug-errors"),
    pytest.param(TRAP_HTTP, id="trap-http-exceptions"),
    pytest.param(TRAP_BAD_REQUEST, id="trap-bad-request"),
    pytest.param(GENERIC_HANDLERS, id="http-exception-handlers"),
    pytest.param(EXCEPTION_HANDLER, id="exception-handler"),
    pytest.param(REGISTER_HANDLERS, id="register-handlers"),
    pytest.param(HOOKS, id="hooks"),
    pytest.param(CONTEXTS, id="contexts"),
    pytest.param(SHELL, id="shell-pattern"),
    pytest.param(THREADS_AND_STREAMS, id="threads-and-streams"),
    pytest.param(ASYNC, id="async"),
    pytest.param(PRESERVE, id="preserved-context"),
    pytest.param(SIGNALS_CASE, id="signals"),
    pytest.param(CAPTURED_TEMPLATES, id="captured-templates"),
    pytest.param(LOGGING, id="logging"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)
