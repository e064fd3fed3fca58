"""Blueprints, URL processors, class-based views and ``url_for`` side by
side with Flask 3.1."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from compat_support import (
    Case,
    Framework,
    call,
    case_tests,
    req,
)

ROOT = Path(__file__).resolve().parent / "compat_apps" / "bp_root"


def blueprints_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(
        f"compat_bp_{fw.name}", root_path=str(ROOT), template_folder="templates_app"
    )
    app.secret_key = "k"
    log: list[str] = []
    bp = F.Blueprint(
        "bp",
        __name__,
        url_prefix="/bp",
        template_folder="templates",
        static_folder="bp_static",
        static_url_path="/static",
        root_path=str(ROOT),
    )
    child = F.Blueprint("child", __name__, url_prefix="/child")

    @bp.route("/")
    def index():
        return F.render_template("bp/page.html", x=1)

    @bp.route("/urls")
    def urls():
        return " ".join(
            [
                F.url_for(".index"),
                F.url_for("bp.index"),
                F.url_for("root"),
                F.url_for(".static", filename="b.css"),
                F.url_for(".child.leaf"),
                F.url_for(".child.leaf", _external=True),
                str(F.request.blueprint),
                repr(F.request.blueprints),
            ]
        )

    @bp.before_request
    def bp_before():
        log.append(f"bp_before:{F.request.blueprint}")

    @bp.before_app_request
    def bp_app_before():
        log.append("bp_app_before")

    @bp.after_request
    def bp_after(response):
        log.append("bp_after")
        return response

    @bp.after_app_request
    def bp_app_after(response):
        log.append("bp_app_after")
        return response

    @bp.teardown_request
    def bp_teardown(exc):
        log.append("bp_teardown")

    @bp.teardown_app_request
    def bp_app_teardown(exc):
        log.append("bp_app_teardown")

    @bp.errorhandler(404)
    def bp_not_found(e):
        return "blueprint 404", 404

    @bp.app_errorhandler(403)
    def app_forbidden(e):
        return "app-wide 403 from a blueprint", 403

    @bp.errorhandler(ZeroDivisionError)
    def bp_zero(e):
        return "blueprint zero", 500

    @bp.route("/abort404")
    def abort404():
        F.abort(404)

    @bp.route("/forbid")
    def forbid():
        F.abort(403)

    @bp.route("/zero")
    def zero():
        return 1 / 0

    @bp.context_processor
    def bp_context():
        return {"x": "from the blueprint"}

    @bp.app_context_processor
    def app_context():
        return {"y": "from app_context_processor"}

    @bp.app_template_filter()
    def shout(s):
        return s.upper()

    @bp.app_template_global("gg")
    def global_func():
        return "GG"

    @bp.app_template_test()
    def odd(n):
        return n % 2 == 1

    @child.route("/leaf")
    def leaf():
        return F.render_template_string(
            "{{ 'x'|shout }} {{ gg() }} {{ 3 is odd }} {{ x }} {{ y }}"
            " {{ request.blueprints|join(',') }}"
        )

    @child.url_defaults
    def child_defaults(endpoint, values):
        log.append(f"child_defaults:{endpoint}")

    @child.app_url_defaults
    def app_defaults(endpoint, values):
        log.append(f"app_defaults:{endpoint}")

    @child.app_url_value_preprocessor
    def app_preprocessor(endpoint, values):
        log.append(f"app_preprocessor:{endpoint}")

    @bp.record
    def on_register(state):
        log.append(f"record:{state.name}:{state.url_prefix}:{state.first_registration}")

    @bp.record_once
    def once(state):
        log.append(f"record_once:{state.name}")

    bp.register_blueprint(child)
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="bp2", url_prefix="/second")

    @app.route("/")
    def root():
        return F.render_template("shadowed.html")

    @app.route("/forbid")
    def forbid_app():
        F.abort(403)

    @app.route("/zero")
    def zero_app():
        return 1 / 0

    @app.route("/urls")
    def app_urls():
        return " ".join(
            [
                F.url_for("bp2.index"),
                F.url_for("bp2.child.leaf"),
                F.url_for("bp.static", filename="b.css"),
                F.url_for("root", _anchor="a b", q=[1, 2]),
                repr(sorted(app.blueprints)),
                repr([b.name for b in app.iter_blueprints()]),
            ]
        )

    @app.route("/log")
    def show_log():
        out = "|".join(log)
        log.clear()
        return out

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


BLUEPRINTS = Case(
    blueprints_app,
    req("GET", "/log", 200),  # what record / record_once saw at registration
    req("GET", "/bp/", 200),
    req("GET", "/log", 200),
    req("GET", "/bp/urls", 200),
    req("GET", "/second/urls", 200),
    req("GET", "/bp/abort404", 404),
    req("GET", "/bp/nowhere", 404),  # routing 404s use the app's handler
    req("GET", "/bp/forbid", 403),
    req("GET", "/forbid", 403),
    req("GET", "/bp/zero", 500),
    req("GET", "/zero", 500),
    req("GET", "/bp/child/leaf", 200),
    req("GET", "/second/child/leaf", 200),
    req("GET", "/log", 200),
    req("GET", "/", 200),  # the app's template shadows the blueprint's
    req("GET", "/urls", 200),
    req("GET", "/log", 200),
    req("GET", "/bp/static/b.css", 200),
    req("GET", "/second/static/b.css", 200),
    req("GET", "/bp", 308),
)


def _registration_errors(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    F = fw.F
    out = []

    def attempt(func: t.Callable[[], t.Any]) -> None:
        try:
            func()
            out.append("ok")
        except Exception as e:  # noqa: BLE001 - the type is the observation
            out.append(type(e).__name__)

    attempt(lambda: F.Blueprint("a.b", __name__))
    attempt(lambda: F.Blueprint("", __name__))
    bp = F.Blueprint("bp", __name__)
    bp.add_url_rule("/x", "x", lambda: "x")
    attempt(lambda: bp.add_url_rule("/y", "a.b", lambda: "y"))
    app.register_blueprint(bp)
    attempt(lambda: app.register_blueprint(bp))  # same name twice
    attempt(lambda: app.register_blueprint(F.Blueprint("bp", __name__)))
    attempt(lambda: app.register_blueprint(bp, name="again"))
    attempt(lambda: bp.add_url_rule("/late", "late", lambda: "late"))
    attempt(lambda: bp.register_blueprint(F.Blueprint("other", __name__)))
    fresh = F.Blueprint("fresh", __name__)
    attempt(lambda: fresh.register_blueprint(fresh))
    return out


REGISTRATION_ERRORS = Case(
    lambda fw: fw.App(f"compat_bp_errors_{fw.name}"),
    call(
        _registration_errors,
        expect=[
            "ValueError", "ValueError", "ValueError", "ValueError", "ValueError",
            "ok", "AssertionError", "AssertionError", "ValueError",
        ],
    ),
)  # fmt: skip


def nested_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_nested_{fw.name}", subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    parent = F.Blueprint("parent", __name__, url_prefix="/parent", subdomain="api")
    child = F.Blueprint("child", __name__, url_prefix="/child", url_defaults={"v": 1})
    grandchild = F.Blueprint("grandchild", __name__)

    @grandchild.route("/gc/<int:v>")
    def gc(v):
        return (
            f"{F.request.blueprint} {F.request.blueprints} {v} {F.url_for('.gc', v=2)}"
        )

    @child.route("/")
    def child_index(v):
        return f"child {v} {F.url_for('parent.child.grandchild.gc', v=3)}"

    @parent.errorhandler(404)
    def parent_nf(e):
        return f"parent 404 for {F.request.endpoint}", 404

    @grandchild.route("/missing")
    def missing():
        F.abort(404)

    child.register_blueprint(grandchild, url_prefix="/grand")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.register_blueprint(parent, name="alt", url_prefix="/alt", subdomain="alt")
    return app


NESTED = Case(
    nested_app,
    req("GET", "http://api.example.test/parent/child/", 200),
    req("GET", "http://api.example.test/parent/child/grand/gc/7", 200),
    req("GET", "http://api.example.test/parent/child/grand/missing", 404),
    req("GET", "http://alt.example.test/alt/child/grand/gc/7", 200),
    req("GET", "http://example.test/parent/child/", 404),
)


def i18n_app(fw: Framework) -> t.Any:
    """The documented URL processors recipe, app-level and blueprint-level."""
    F = fw.F
    app = fw.App(f"compat_i18n_{fw.name}")
    frontend = F.Blueprint("frontend", __name__, url_prefix="/<lang_code>")

    @frontend.url_defaults
    def add_language_code(endpoint, values):
        values.setdefault("lang_code", F.g.lang_code)

    @frontend.url_value_preprocessor
    def pull_lang_code(endpoint, values):
        F.g.lang_code = values.pop("lang_code")

    @frontend.before_request
    def check():
        if F.g.lang_code == "xx":
            F.abort(404)

    @frontend.route("/")
    def index():
        return " ".join(
            [
                F.g.lang_code,
                F.url_for(".about"),
                F.url_for("frontend.index", lang_code="fr"),
                F.url_for("page", lang="it"),
            ]
        )

    @frontend.route("/about")
    def about():
        return "about " + F.g.lang_code

    app.register_blueprint(frontend)

    @app.url_defaults
    def add_lang(endpoint, values):
        if "lang" in values or not F.g.get("lang"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = F.g.lang

    @app.url_value_preprocessor
    def pull_lang(endpoint, values):
        F.g.lang = values.pop("lang", None) if values else None

    @app.route("/<lang>/page")
    def page():
        return f"page {F.g.lang} {F.url_for('page')}"

    return app


URL_PROCESSORS = Case(
    i18n_app,
    req("GET", "/de/", 200),
    req("GET", "/en/about", 200),
    req("GET", "/xx/about", 404),
    req("GET", "/it/page", 200),
)


def views_app(fw: Framework) -> t.Any:
    F = fw.F
    views = fw.sub("views")
    app = fw.App(f"compat_views_{fw.name}")

    class Hello(views.View):
        methods = ["GET", "POST"]

        def __init__(self, greeting):
            self.greeting = greeting

        def dispatch_request(self, name):
            return f"{self.greeting} {name} {F.request.method}"

    def brackets(f):
        def wrapper(*args, **kwargs):
            return "[" + f(*args, **kwargs) + "]"

        return wrapper

    instances: list[t.Any] = []

    class Decorated(views.View):
        decorators = [brackets]
        init_every_request = False

        def dispatch_request(self):
            instances.append(self)
            return f"decorated {len(instances)} same={instances[0] is self}"

    class ListView(views.View):
        def get_objects(self):
            raise NotImplementedError

        def dispatch_request(self):
            return F.render_template_string(
                "{% for o in objects %}{{ o }};{% endfor %}", objects=self.get_objects()
            )

    class UserList(ListView):
        def get_objects(self):
            return ["ann", "bob"]

    class ItemAPI(views.MethodView):
        def get(self, item_id):
            if item_id is None:
                return "list"
            return f"item {item_id}"

        def post(self):
            return "created", 201

    class ItemAPIWithDelete(ItemAPI):
        def delete(self, item_id):
            return "", 204

    decorated = Decorated.as_view("decorated")
    app.add_url_rule("/hello/<name>", view_func=Hello.as_view("hello", "Hi"))
    app.add_url_rule("/decorated", view_func=decorated)
    app.add_url_rule("/users/", view_func=UserList.as_view("users"))
    api = ItemAPIWithDelete.as_view("items")
    app.add_url_rule(
        "/items/", defaults={"item_id": None}, view_func=api, methods=["GET"]
    )
    app.add_url_rule("/items/", view_func=api, methods=["POST"])
    app.add_url_rule("/items/<int:item_id>", view_func=api, methods=["GET", "DELETE"])

    @app.route("/info")
    def info():
        return repr(
            (
                sorted(ItemAPIWithDelete.methods),
                sorted(ItemAPI.methods),
                api.view_class.__name__,
                api.__name__,
                Hello.as_view("h2").methods,
                sorted(views.http_method_funcs),
            )
        )

    return app


VIEWS = Case(
    views_app,
    req("GET", "/hello/bob", 200),
    req("POST", "/hello/bob", 200),
    req("PUT", "/hello/bob", 405),
    req("GET", "/decorated", 200),
    req("GET", "/decorated", 200),
    req("GET", "/users/", 200),
    req("GET", "/items/", 200),
    req("POST", "/items/", 201),
    req("GET", "/items/3", 200),
    req("DELETE", "/items/3", 204),
    req("HEAD", "/items/3", 200),
    req("OPTIONS", "/items/3", 200),
    req("PUT", "/items/3", 405),
    req("GET", "/info", 200),
)


def _blueprint_resources(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    bp = fw.F.Blueprint(
        "res", __name__, static_folder="bp_static", root_path=str(ROOT),
        template_folder="templates",
    )  # fmt: skip
    with bp.open_resource("bp_static/b.css", "r") as f:
        text = f.read()
    with bp.open_resource("bp_static/b.css") as f:
        data = f.read()
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 120
    with app.app_context():
        max_age = bp.get_send_file_max_age("b.css")
    return [
        text, data, max_age, bp.has_static_folder, bp.root_path == str(ROOT),
        type(bp.jinja_loader).__name__, bp.static_url_path,
    ]  # fmt: skip


BLUEPRINT_RESOURCES = Case(
    lambda fw: fw.App(f"compat_bp_resources_{fw.name}"),
    call(
        _blueprint_resources,
        expect=[
            "bp css\n",
            b"bp css\n",
            120,
            True,
            True,
            "FileSystemLoader",
            "/bp_static",
        ],
    ),
)

CASES = [
    pytest.param(BLUEPRINTS, id="blueprints"),
    pytest.param(REGISTRATION_ERRORS, id="registration-errors"),
    pytest.param(NESTED, id="nested-blueprints"),
    pytest.param(URL_PROCESSORS, id="url-processors"),
    pytest.param(VIEWS, id="class-based-views"),
    pytest.param(BLUEPRINT_RESOURCES, id="blueprint-resources"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)
