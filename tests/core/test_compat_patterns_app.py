"""More of the patterns of Flask's documentation
(https://flask.palletsprojects.com/en/stable/patterns/), as it writes them,
run on gateway and on Flask 3.1: lazily loaded views, request
checksums, deferred callbacks, session logins, Unicode, custom signals,
logging recipes, larger applications as packages and ``app.run``.

The other patterns are in test_compat_patterns.py.
"""

from __future__ import annotations

import hashlib
import io
import logging
import logging.config
import textwrap
import typing as t
from pathlib import Path

import pytest
from compat_support import (
    FRAMEWORKS,
    Case,
    Framework,
    call,
    case_tests,
    port_source,
    req,
)
from markupsafe import escape
from werkzeug.utils import cached_property, import_string

ROOT = Path(__file__).resolve().parent / "compat_apps" / "patterns_root"

# -- lazily loaded views ---------------------------------------------------------------------


class LazyView:
    def __init__(self, import_name: str) -> None:
        self.__module__, self.__name__ = import_name.rsplit(".", 1)
        self.import_name = import_name

    @cached_property
    def view(self) -> t.Any:
        return import_string(self.import_name)

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return self.view(*args, **kwargs)


def lazy_index() -> str:
    return "lazy index"


def lazy_user(username: str) -> str:
    return f"lazy user {username}"


def lazy_app(fw: Framework) -> t.Any:
    app = fw.App(f"compat_lazy_{fw.name}")

    def url(import_name: str, url_rules: list[str] = (), **options: t.Any) -> None:  # type: ignore[assignment]
        view = LazyView(f"{__name__}.{import_name}")
        for url_rule in url_rules:
            app.add_url_rule(url_rule, view_func=view, **options)

    url("lazy_index", ["/"])
    url("lazy_user", ["/user/<username>"])

    @app.route("/urls")
    def urls():
        return " ".join(
            [fw.F.url_for("lazy_index"), fw.F.url_for("lazy_user", username="ann")]
        )

    return app


LAZY = Case(
    lazy_app,
    req("GET", "/", 200),
    req("GET", "/user/ann", 200),
    req("GET", "/urls", 200),
)

# -- request checksums, deferred callbacks, login with sessions --------------------------


class ChecksumCalcStream:
    def __init__(self, stream: t.Any) -> None:
        self._stream = stream
        self._hash = hashlib.sha1()

    def read(self, bytes: int) -> bytes:  # noqa: A002 - the documented signature
        rv = self._stream.read(bytes)
        self._hash.update(rv)
        return rv  # type: ignore[no-any-return]

    def readline(self, size_hint: int) -> bytes:
        rv = self._stream.readline(size_hint)
        self._hash.update(rv)
        return rv  # type: ignore[no-any-return]


def generate_checksum(request: t.Any) -> t.Any:
    env = request.environ
    stream = ChecksumCalcStream(env["wsgi.input"])
    env["wsgi.input"] = stream
    return stream._hash


# A fixed multipart body (the test client would pick a random boundary).
MULTIPART_BODY = (
    b"--BOUNDARY\r\n"
    b'Content-Disposition: form-data; name="f"; filename="f.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"file body\r\n"
    b"--BOUNDARY\r\n"
    b'Content-Disposition: form-data; name="x"\r\n\r\n'
    b"1\r\n"
    b"--BOUNDARY--\r\n"
)


EXPECTED_SHA1 = hashlib.sha1(MULTIPART_BODY).hexdigest()


def misc_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_misc_{fw.name}")
    app.secret_key = "k"

    @app.route("/special-api", methods=["POST"])
    def special_api():
        hash_ = generate_checksum(F.request)
        files = F.request.files
        checksum = hash_.hexdigest()
        return f"Hash was: {checksum} files={sorted(files)} sha1-ok={checksum == EXPECTED_SHA1}"

    @app.before_request
    def detect_user_language():
        language = F.request.cookies.get("user_lang")
        if language is None:
            language = F.request.accept_languages.best_match(["en", "de"]) or "en"

            @F.after_this_request
            def remember_language(response):
                response.set_cookie("user_lang", language)
                return response

        F.g.language = language

    @app.route("/language")
    def language():
        return F.g.language

    @app.route("/")
    def index():
        if "username" in F.session:
            return f"Logged in as {escape(F.session['username'])}"
        return "You are not logged in"

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if F.request.method == "POST":
            F.session["username"] = F.request.form["username"]
            return F.redirect(F.url_for("index"))
        return '<form method="post"><p><input type=text name=username></form>'

    @app.route("/logout")
    def logout():
        F.session.pop("username", None)
        return F.redirect(F.url_for("index"))

    @app.route("/unicode/<name>", methods=["GET", "POST"])
    def unicode(name):
        return F.render_template_string(
            "{{ name }} {{ request.form.get('text', '') }} {{ 'ünïcödé' }}", name=name
        )

    return app


MISC = Case(
    misc_app,
    req("GET", "/language", 200, headers={"Accept-Language": "de"}),
    req("GET", "/language", 200),  # now from the cookie set the first time
    req(
        "POST",
        "/special-api",
        200,
        data=MULTIPART_BODY,
        content_type="multipart/form-data; boundary=BOUNDARY",
    ),  # fmt: skip
    req("GET", "/", 200),
    req("POST", "/login", 302, data={"username": "<ann>"}),
    req("GET", "/", 200),
    req("GET", "/logout", 302),
    req("GET", "/", 200),
    req("POST", "/unicode/%C3%A4%C3%B6", 200, data={"text": "日本語"}),
)

# -- custom signals ------------------------------------------------------------------------


def _custom_signals(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    from blinker import Namespace

    my_signals = Namespace()
    model_saved = my_signals.signal("model-saved")
    seen: list[t.Any] = []

    @model_saved.connect_via(app)
    def when_saved(sender, **extra):
        seen.append((sender is app, extra))

    with app.app_context():
        model_saved.send(fw.F.current_app._get_current_object(), model="user")
    other = fw.App("other_sender")
    model_saved.send(other, model="ignored: another sender")
    return [model_saved.name, seen, fw.sub("signals").Namespace is Namespace]


SIGNALS = Case(
    lambda fw: fw.App(f"compat_custom_signals_{fw.name}"),
    call(_custom_signals, expect=["model-saved", [(True, {"model": "user"})], True]),
)

# -- logging recipes ---------------------------------------------------------------------------


def _logging_recipes(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    """dictConfig with the WSGI error stream, the default handler removed,
    and a formatter that adds request data when there is a request."""
    flask_logging = fw.sub("logging")
    F = fw.F
    stream = io.StringIO()

    class RequestFormatter(logging.Formatter):
        def format(self, record):
            if F.has_request_context():
                record.url = F.request.url
                record.remote_addr = F.request.remote_addr
            else:
                record.url = None
                record.remote_addr = None
            return super().format(record)

    handler = logging.StreamHandler(flask_logging.wsgi_errors_stream)
    handler.setFormatter(
        RequestFormatter(
            "[%(remote_addr)s requested %(url)s] %(levelname)s: %(message)s"
        )
    )
    app.logger.removeHandler(flask_logging.default_handler)
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)
    app.logger.propagate = False
    try:
        with app.app_context():
            app.logger.info("outside a request")
        client.get("/log", errors_stream=stream)
        return [stream.getvalue(), flask_logging.has_level_handler(app.logger)]
    finally:
        app.logger.removeHandler(handler)


def logging_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_logging_recipes_{fw.name}")

    @app.route("/log")
    def log():
        F.current_app.logger.warning("inside a request")
        return "logged"

    return app


LOGGING = Case(
    logging_app,
    call(
        _logging_recipes,
        expect=[
            "[127.0.0.1 requested http://localhost/log] WARNING: inside a request\n",
            True,
        ],
    ),
)

CASES = [
    pytest.param(LAZY, id="lazy-views"),
    pytest.param(MISC, id="checksums-deferred-callbacks-sessions-unicode"),
    pytest.param(SIGNALS, id="custom-signals"),
    pytest.param(LOGGING, id="logging-recipes"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)


# -- larger applications as packages --------------------------------------------------------

PACKAGE = {
    "__init__.py": """
        from flask import Flask

        app = Flask(__name__)
        app.config["SECRET_KEY"] = "package"

        from PKG import views  # noqa: E402  (the documented circular import)
        from PKG.admin import admin  # noqa: E402

        app.register_blueprint(admin, url_prefix="/admin")
    """,
    "views.py": """
        from flask import render_template
        from PKG import app


        @app.route("/")
        def index():
            return render_template("index.html", where="package")
    """,
    "admin/__init__.py": """
        from flask import Blueprint, render_template

        admin = Blueprint("admin", __name__, template_folder="templates",
                          static_folder="static")


        @admin.route("/")
        def index():
            return render_template("admin/index.html")
    """,
    "templates/index.html": "{{ where }} index {{ url_for('admin.index') }}",
    "admin/templates/admin/index.html": (
        "admin index {{ url_for('admin.static', filename='admin.css') }}"
    ),
    "admin/static/admin.css": "body {}",
}


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_package_layout_with_circular_view_import(
    fw: Framework, modules_tmp_path: Path, purge_module: t.Callable[[str], None]
) -> None:
    """``__init__`` creates the app and imports its views at the bottom;
    a blueprint sub-package brings its own templates and static files."""
    pkg = f"bigapp_{fw.name}"
    purge_module(pkg)
    for name, text in PACKAGE.items():
        target = modules_tmp_path / pkg / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = textwrap.dedent(text).replace("PKG", pkg)
        if fw.name == "gateway" and name.endswith(".py"):
            source = port_source(source)
        target.write_text(source)

    app = import_string(f"{pkg}:app")
    client = app.test_client()
    assert client.get("/").data == b"package index /admin/"
    assert client.get("/admin/").data == b"admin index /admin/static/admin.css"
    rv = client.get("/admin/static/admin.css")
    assert rv.data == b"body {}"
    rv.close()
    assert app.root_path == str(modules_tmp_path / pkg)
    assert app.instance_path == str(modules_tmp_path / "instance")


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_run_passes_options_to_the_development_server(
    fw: Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``app.run`` (a blocking server, so its server call is recorded
    instead): host and port from SERVER_NAME, debug switches the reloader
    and debugger, explicit options win ("use_debugger=False" for an
    external debugger)."""
    import werkzeug.serving

    calls: list[tuple[t.Any, ...]] = []
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda *a, **kw: calls.append((a[:2], kw))
    )
    for var in (
        "FLASK_RUN_FROM_CLI",
        "GATEWAY_RUN_FROM_CLI",
        "FLASK_DEBUG",
        "GATEWAY_DEBUG",
    ):
        monkeypatch.delenv(var, raising=False)
    app = fw.App(f"compat_run_{fw.name}")
    app.run(load_dotenv=False)
    app.config["SERVER_NAME"] = "srv.test:8123"
    app.run(debug=True, use_reloader=False, use_debugger=False, load_dotenv=False)
    app.run(host="0.0.0.0", port=0, debug=False, load_dotenv=False)
    assert calls == [
        (
            ("127.0.0.1", 5000),
            {"use_reloader": False, "use_debugger": False, "threaded": True},
        ),
        (
            ("srv.test", 8123),
            {"use_reloader": False, "use_debugger": False, "threaded": True},
        ),
        (
            ("0.0.0.0", 0),
            {"use_reloader": False, "use_debugger": False, "threaded": True},
        ),
    ]
    assert app.debug is False
