"""The patterns of Flask's documentation
(https://flask.palletsprojects.com/en/stable/patterns/) written the way it
writes them, run on gateway and on Flask 3.1: application
factories, application dispatching, SQLite through ``g``, view decorators,
form validation, template inheritance, custom error pages, JSON for
JavaScript, favicons and single-page applications.

More patterns are in test_compat_patterns_app.py. Covered elsewhere: URL
processors (test_compat_blueprints); file uploads (test_compat_files); method
overrides, extensions and subclassing (test_compat_config_testing); streaming, the shell
recipe, signals in tests and ``after_this_request`` (test_compat_lifecycle);
the tutorial-style blog, REST ``MethodView`` APIs with ``register_api`` and
custom error pages in real applications (test_compat_port).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
import typing as t
from pathlib import Path
from wsgiref.util import shift_path_info

import pytest
from compat_support import (
    Case,
    Framework,
    call,
    case_tests,
    req,
)
from markupsafe import escape
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

ROOT = Path(__file__).resolve().parent / "compat_apps" / "patterns_root"

# -- application factories ----------------------------------------------------------


def _factory(fw: Framework) -> t.Callable[..., t.Any]:
    F = fw.F
    bp = F.Blueprint("main", __name__)

    @bp.route("/")
    def index():
        # A blueprint reaches the app it is running in through current_app.
        return f"{F.current_app.config['GREETING']} from {F.current_app.name}"

    def create_app(name: str, **config: t.Any) -> t.Any:
        app = fw.App(name)
        app.config.update(config)
        app.register_blueprint(bp)
        return app

    return create_app


def _factories(app: t.Any, client: t.Any, fw: Framework) -> list[bytes]:
    create_app = _factory(fw)
    one = create_app("factory_one", GREETING="hello")
    two = create_app("factory_two", GREETING="bonjour")
    return [one.test_client().get("/").data, two.test_client().get("/").data]


FACTORIES = Case(
    lambda fw: fw.App(f"compat_factories_{fw.name}"),
    call(_factories, expect=[b"hello from factory_one", b"bonjour from factory_two"]),
)

# -- application dispatching --------------------------------------------------------


class SubdomainDispatcher:
    """The documentation's dispatcher by subdomain, as written there."""

    def __init__(self, domain: str, create_app: t.Callable[[str], t.Any]) -> None:
        self.domain = domain
        self.create_app = create_app
        self.lock = threading.Lock()
        self.instances: dict[str, t.Any] = {}

    def get_application(self, host: str) -> t.Any:
        host = host.split(":")[0]
        assert host.endswith(self.domain), "Configuration error"
        subdomain = host[: -len(self.domain)].rstrip(".")
        with self.lock:
            app = self.instances.get(subdomain)
            if app is None:
                app = self.create_app(subdomain)
                self.instances[subdomain] = app
            return app

    def __call__(self, environ: t.Any, start_response: t.Any) -> t.Any:
        app = self.get_application(environ["HTTP_HOST"])
        return app(environ, start_response)


class PathDispatcher:
    """The documentation's dispatcher by path prefix, as written there."""

    def __init__(
        self, default_app: t.Any, create_app: t.Callable[[str], t.Any]
    ) -> None:
        self.default_app = default_app
        self.create_app = create_app
        self.lock = threading.Lock()
        self.instances: dict[str, t.Any] = {}

    def get_application(self, prefix: str) -> t.Any:
        with self.lock:
            app = self.instances.get(prefix)
            if app is None:
                app = self.create_app(prefix)
                if app is not None:
                    self.instances[prefix] = app
            return app

    def __call__(self, environ: t.Any, start_response: t.Any) -> t.Any:
        app = self.get_application(_peek_path_info(environ))
        if app is not None:
            shift_path_info(environ)
        else:
            app = self.default_app
        return app(environ, start_response)


def _peek_path_info(environ: t.Any) -> str | None:
    segments = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)
    if segments:
        return segments[0]
    return None


USERS = {"ann", "bob"}


def _tenant_app(fw: Framework, user: str) -> t.Any:
    F = fw.F
    app = fw.App(f"tenant_{user}_{fw.name}")
    app.secret_key = f"key of {user}"

    @app.route("/")
    def index():
        F.session["visits"] = F.session.get("visits", 0) + 1
        return (
            f"{user}: {F.url_for('page', _external=True)} {F.url_for('static', filename='x')}"
            f" root={F.request.script_root!r} visits={F.session['visits']}"
        )

    @app.route("/page/")
    def page():
        return F.render_template_string(
            "<script>const SCRIPT_ROOT = {{ request.script_root|tojson }};</script>"
        )

    return app


def _dispatch_by_subdomain(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    def make_app(subdomain: str) -> t.Any:
        if subdomain not in USERS:
            return NotFound()
        return _tenant_app(fw, subdomain)

    application = SubdomainDispatcher("example.test", make_app)
    c = Client(application)
    out = []
    for host in ("ann.example.test", "bob.example.test:8000", "ann.example.test",
                 "zed.example.test"):  # fmt: skip
        rv = c.get("/", base_url=f"http://{host}/")
        out.append((rv.status_code, rv.get_data(as_text=True)[:60]))
    out.append(sorted(application.instances))
    return out


def _dispatch_by_path(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    default = _tenant_app(fw, "default")

    def make_app(prefix: str) -> t.Any:
        if prefix in USERS:
            return _tenant_app(fw, prefix)
        return None

    application = PathDispatcher(default, make_app)
    c = Client(application)
    out = []
    for url in ("/ann/", "/bob/page/", "/ann/page", "/", "/zed/"):
        rv = c.get(url)
        out.append(
            (rv.status_code, rv.headers.get("Location"), rv.get_data(as_text=True)[:90])
        )
    return out


def _combined(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    frontend = _tenant_app(fw, "frontend")
    backend = _tenant_app(fw, "backend")
    application = DispatcherMiddleware(frontend, {"/backend": backend})
    c = Client(application)
    return [
        c.get(url).get_data(as_text=True)[:90]
        for url in ("/", "/backend/", "/backend/page/")
    ]


DISPATCHING = Case(
    lambda fw: fw.App(f"compat_dispatch_{fw.name}"),
    call(_dispatch_by_subdomain),
    call(_dispatch_by_path),
    call(_combined),
)

# -- SQLite through g ----------------------------------------------------------------


def sqlite_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_sqlite_{fw.name}", root_path=str(ROOT))
    database = str(ROOT / "unused.db")  # replaced per run below
    closed: list[str] = []

    def make_dicts(cursor, row):
        return {cursor.description[idx][0]: value for idx, value in enumerate(row)}

    def get_db():
        db = getattr(F.g, "_database", None)
        if db is None:
            db = F.g._database = sqlite3.connect(app.config["DATABASE"])
            db.row_factory = make_dicts
        return db

    @app.teardown_appcontext
    def close_connection(exception):
        db = getattr(F.g, "_database", None)
        if db is not None:
            db.close()
            closed.append(type(exception).__name__)

    def query_db(query, args=(), one=False):
        cur = get_db().execute(query, args)
        rv = cur.fetchall()
        cur.close()
        return (rv[0] if rv else None) if one else rv

    def init_db():
        with app.app_context():
            db = get_db()
            with app.open_resource("schema.sql", mode="r") as f:
                db.cursor().executescript(f.read())
            db.commit()

    app.config["DATABASE"] = database
    app.extensions["init_db"] = init_db

    @app.route("/users")
    def users():
        return {"users": query_db("select * from users order by id"), "closed": closed}

    @app.route("/user/<name>")
    def user(name):
        row = query_db("select * from users where username = ?", [name], one=True)
        if row is None:
            F.abort(404)
        return row

    @app.route("/no-db")
    def no_db():
        return "the connection is only opened when needed"

    return app


def _init_sqlite(app: t.Any, client: t.Any, fw: Framework) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False)
    handle.close()
    app.config["DATABASE"] = handle.name
    app.extensions["init_db"]()
    return "initialized"


def _remove_sqlite(app: t.Any, client: t.Any, fw: Framework) -> bool:
    os.unlink(app.config["DATABASE"])
    return True


SQLITE = Case(
    sqlite_app,
    call(_init_sqlite),
    req("GET", "/users", 200),
    req("GET", "/user/ann", 200),
    req("GET", "/user/zed", 404),
    req("GET", "/no-db", 200),
    req("GET", "/users", 200),
    call(_remove_sqlite),
)

# -- view decorators -------------------------------------------------------------------


class SimpleCache:
    """A stand-in for ``cachelib.SimpleCache`` (get / set with a timeout)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, t.Any]] = {}

    def get(self, key: str) -> t.Any:
        expires, value = self._data.get(key, (0.0, None))
        return value if expires > time.monotonic() else None

    def set(self, key: str, value: t.Any, timeout: int = 300) -> None:
        self._data[key] = (time.monotonic() + timeout, value)


def decorators_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_decorators_{fw.name}", root_path=str(ROOT))
    app.secret_key = "k"
    cache = SimpleCache()
    calls: list[str] = []

    def login_required(f):
        @functools.wraps(f)
        def decorated_function(*args, **kwargs):
            if F.g.user is None:
                return F.redirect(F.url_for("login", next=F.request.url))
            return f(*args, **kwargs)

        return decorated_function

    def cached(timeout=5 * 60, key="view/{}"):
        def decorator(f):
            @functools.wraps(f)
            def decorated_function(*args, **kwargs):
                cache_key = key.format(F.request.path)
                rv = cache.get(cache_key)
                if rv is not None:
                    return rv
                rv = f(*args, **kwargs)
                cache.set(cache_key, rv, timeout=timeout)
                return rv

            return decorated_function

        return decorator

    def templated(template=None):
        def decorator(f):
            @functools.wraps(f)
            def decorated_function(*args, **kwargs):
                template_name = template
                if template_name is None:
                    template_name = f"{F.request.endpoint.replace('.', '/')}.html"
                ctx = f(*args, **kwargs)
                if ctx is None:
                    ctx = {}
                elif not isinstance(ctx, dict):
                    return ctx
                return F.render_template(template_name, **ctx)

            return decorated_function

        return decorator

    @app.before_request
    def load_user():
        F.g.user = F.session.get("user")

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if F.request.method == "POST":
            F.session["user"] = F.request.form["user"]
            return F.redirect(F.request.args.get("next") or "/")
        return f"login form (next={F.request.args.get('next')})"

    @app.route("/secret")
    @login_required
    def secret():
        return f"secret for {F.g.user}"

    @app.route("/expensive")
    @cached(timeout=60)
    def expensive():
        calls.append("computed")
        return f"computed {len(calls)} times"

    @app.route("/dashboard")
    @templated()
    def dashboard():
        return {"value": 42}

    @app.route("/explicit")
    @templated("dashboard.html")
    def explicit():
        return None

    @app.route("/passthrough")
    @templated()
    def passthrough():
        return F.redirect("/dashboard")

    app.url_map.add(__import__("werkzeug.routing").routing.Rule("/raw", endpoint="raw"))

    @app.endpoint("raw")
    def raw():
        return "bound to a raw rule"

    return app


VIEW_DECORATORS = Case(
    decorators_app,
    req("GET", "/secret", 302),
    req("GET", "/login?next=http://localhost/secret", 200),
    req("POST", "/login?next=http://localhost/secret", 302, data={"user": "ann"}),
    req("GET", "/secret", 200),
    req("GET", "/expensive", 200),
    req("GET", "/expensive", 200),
    req("GET", "/dashboard", 200),
    req("GET", "/explicit", 200),
    req("GET", "/passthrough", 302),
    req("GET", "/raw", 200),
)

# -- form validation ---------------------------------------------------------------------


class ValidationError(ValueError):
    pass


class Field:
    """A WTForms-like field: a value from a form, validators, errors."""

    def __init__(self, label: str, validators: list[t.Callable[[str], None]]) -> None:
        self.label = label
        self.validators = validators
        self.errors: list[str] = []
        self.data = ""
        self.name = ""

    def __call__(self, **kwargs: t.Any) -> str:
        attrs = " ".join(f'{k}="{escape(v)}"' for k, v in kwargs.items())
        return f'<input name="{self.name}" value="{escape(self.data)}" {attrs}>'


class RegistrationForm:
    def __init__(self, formdata: t.Any) -> None:
        self.fields: dict[str, Field] = {
            "username": Field("Username", [_length(4, 25)]),
            "email": Field("Email Address", [_length(6, 35), _contains("@")]),
        }
        for name, field in self.fields.items():
            field.name = name
            field.data = formdata.get(name, "")

    def __getattr__(self, name: str) -> Field:
        return self.fields[name]

    def validate(self) -> bool:
        ok = True
        for field in self.fields.values():
            for validator in field.validators:
                try:
                    validator(field.data)
                except ValidationError as e:
                    field.errors.append(str(e))
                    ok = False
        return ok


def _length(low: int, high: int) -> t.Callable[[str], None]:
    def check(value: str) -> None:
        if not low <= len(value) <= high:
            raise ValidationError(
                f"Field must be between {low} and {high} characters long."
            )

    return check


def _contains(part: str) -> t.Callable[[str], None]:
    def check(value: str) -> None:
        if part not in value:
            raise ValidationError(f"Field must contain {part!r}.")

    return check


def forms_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_forms_{fw.name}", root_path=str(ROOT))
    app.secret_key = "k"

    @app.route("/register", methods=["GET", "POST"])
    def register():
        form = RegistrationForm(F.request.form)
        if F.request.method == "POST" and form.validate():
            F.flash("Thanks for registering")
            return F.redirect(F.url_for("register"))
        return F.render_template("register.html", form=form)

    return app


FORMS = Case(
    forms_app,
    req("GET", "/register", 200),
    req("POST", "/register", 200, data={"username": "ab", "email": "<x>"}),
    req(
        "POST",
        "/register",
        302,
        data={"username": "annie", "email": "ann@example.test"},
    ),
    req("GET", "/register", 200),
)

# -- templates: inheritance, errors, JSON for JavaScript, favicon --------------------------


def pages_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_pages_{fw.name}", root_path=str(ROOT))
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/")
    def index():
        return F.render_template("index.html")

    @app.route("/gone")
    def gone():
        F.abort(410)

    @app.route("/private")
    def private():
        F.abort(403)

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    for code in (404, 403, 410):
        app.register_error_handler(code, functools.partial(_error_page, F, code))

    @app.errorhandler(500)
    def internal(e):
        return F.render_template(
            "errors/500.html", original=type(e.original_exception).__name__
        ), 500

    @app.route("/_add_numbers")
    def add_numbers():
        a = F.request.args.get("a", 0, type=int)
        b = F.request.args.get("b", 0, type=int)
        return F.jsonify(result=a + b)

    @app.route("/calc")
    def calc():
        return F.render_template("calc.html")

    @app.route("/favicon.ico")
    def favicon():
        return F.send_from_directory(
            str(Path(app.root_path, "static")), "favicon.ico",
            mimetype="image/vnd.microsoft.icon",
        )  # fmt: skip

    with app.test_request_context():
        app.add_url_rule(
            "/favicon-redirect",
            endpoint="favicon_redirect",
            redirect_to=F.url_for("static", filename="favicon.ico"),
        )

    @app.route("/app/", defaults={"path": ""})
    @app.route("/app/<path:path>")
    def spa(path):
        return F.send_from_directory(str(Path(app.root_path, "static")), "spa.html")

    return app


def _error_page(F: t.Any, code: int, e: t.Any) -> t.Any:
    return F.render_template(f"errors/{code}.html", error=e), code


def _mounted_calc(app: t.Any, client: t.Any, fw: Framework) -> str:
    rv = client.get("/calc", environ_base={"SCRIPT_NAME": "/mounted"})
    return rv.get_data(as_text=True)


PAGES = Case(
    pages_app,
    req("GET", "/", 200),
    req("GET", "/nowhere", 404),
    req("GET", "/private", 403),
    req("GET", "/gone", 410),
    req("GET", "/boom", 500),
    req("GET", "/_add_numbers?a=3&b=4", 200),
    req("GET", "/_add_numbers?a=x", 200),
    req("GET", "/calc", 200),
    call(_mounted_calc),
    req("GET", "/favicon.ico", 200),
    req("GET", "/favicon-redirect", 308),
    req("GET", "/app/some/client/route", 200),
    req("GET", "/app/", 200),
)

CASES = [
    pytest.param(FACTORIES, id="application-factories"),
    pytest.param(DISPATCHING, id="application-dispatching"),
    pytest.param(SQLITE, id="sqlite3"),
    pytest.param(VIEW_DECORATORS, id="view-decorators"),
    pytest.param(FORMS, id="form-validation"),
    pytest.param(PAGES, id="templates-errors-json-favicon"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)
