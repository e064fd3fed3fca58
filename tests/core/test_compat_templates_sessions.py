"""Templates, sessions, message flashing, JSON and cookies side by side with
Flask 3.1."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import hashlib
import typing as t
import uuid
from pathlib import Path

import pytest
from compat_support import (
    Case,
    Framework,
    call,
    case_tests,
    req,
)
from markupsafe import Markup

ROOT = Path(__file__).resolve().parent / "compat_apps" / "tpl_root"

# -- templates -------------------------------------------------------------------


def templates_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_tpl_{fw.name}", root_path=str(ROOT))
    app.secret_key = "s"

    @app.route("/child")
    def child():
        F.g.x = "gx"
        F.flash("hello <b>")
        F.flash("bad", "error")
        return F.render_template(
            "child.html", value='"q"', data={"a": "</script><x>&'"}, raw="<i>"
        )

    @app.route("/layout")
    def layout():
        return F.render_template("layout.html")

    @app.route("/plain")
    def plain():
        return F.render_template("plain.txt", x="<b>")  # not autoescaped

    @app.route("/svg")
    def svg():
        return F.render_template("image.svg", x="<b>")

    @app.route("/xml")
    def xml():
        return F.render_template("data.xml", x="<b>")

    @app.route("/string")
    def string():
        return F.render_template_string("{{ x }} {{ request.args.a }}", x="<b>")

    @app.route("/first-found")
    def first_found():
        return F.render_template(["missing.html", "plain.txt"], x="L")

    @app.route("/macro")
    def macro():
        return F.get_template_attribute("_macros.html", "hello")("<W>")

    @app.route("/stream")
    def stream():
        return F.stream_template_string(
            "{% for i in range(3) %}{{ i }}{{ request.path }}{% endfor %}"
        )

    @app.route("/stream-file")
    def stream_file():
        return F.stream_template("plain.txt", x="streamed")

    @app.route("/missing")
    def missing():
        return F.render_template("nope.html")

    @app.context_processor
    def processor():
        return {"value": "from processor", "price": lambda v: f"${v:.2f}"}

    @app.route("/processor")
    def processor_view():
        return F.render_template_string("{{ value }} {{ price(3) }}")

    @app.route("/explicit-wins")
    def explicit_wins():
        return F.render_template_string("{{ value }}", value="explicit")

    @app.template_filter("reverse_text")
    def reverse_text(s):
        return s[::-1]

    def double(n):
        return n * 2

    app.add_template_filter(double)

    @app.template_test("even_number")
    def even_number(n):
        return n % 2 == 0

    @app.template_global()
    def site():
        return "Site"

    app.add_template_global(lambda: "added", "added_global")
    app.jinja_env.globals["direct"] = "direct global"

    @app.route("/registered")
    def registered():
        return F.render_template_string(
            "{{ 'abc'|reverse_text }} {{ 2|double }} {{ 4 is even_number }}"
            " {{ site() }} {{ added_global() }} {{ direct }}"
        )

    @app.route("/markup")
    def markup():
        return F.render_template_string(
            "{{ m }} {{ s|safe }} {{ s }} {{ m|striptags }}",
            m=Markup("<em>%s</em>") % "<script>",
            s="<b>",
        )

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


TEMPLATES = Case(
    templates_app,
    req("GET", "/child", 200),
    req("GET", "/layout", 200),
    req("GET", "/plain", 200),
    req("GET", "/svg", 200),
    req("GET", "/xml", 200),
    req("GET", "/string?a=<z>", 200),
    req("GET", "/first-found", 200),
    req("GET", "/macro", 200),
    req("GET", "/stream", 200),
    req("GET", "/stream-file", 200),
    req("GET", "/missing", 500),
    req("GET", "/processor", 200),
    req("GET", "/explicit-wins", 200),
    req("GET", "/registered", 200),
    req("GET", "/markup", 200),
)


def _outside_request(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    F = fw.F
    with app.app_context():
        F.g.who = "app context"
        return [
            F.render_template_string("{{ g.who }} {{ config.DEBUG }} {{ 1 + 1 }}"),
            F.render_template("plain.txt", x="no request"),
        ]


OUTSIDE_REQUEST = Case(
    templates_app,
    call(_outside_request, expect=["app context False 2", "no request"]),
)


def _environment(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    out = [app.jinja_env.auto_reload]
    app.debug = True
    out.append(app.jinja_env.auto_reload)
    reloading = fw.App(f"compat_reload_{fw.name}")
    reloading.config["TEMPLATES_AUTO_RELOAD"] = True
    out.append(reloading.jinja_env.auto_reload)
    debug_first = fw.App(f"compat_debug_first_{fw.name}")
    debug_first.config["DEBUG"] = True
    out.append(debug_first.jinja_env.auto_reload)
    out.append(
        [
            app.select_jinja_autoescape(n)
            for n in ("a.html", "a.htm", "a.xml", "a.xhtml", "a.svg", "a.txt", None)
        ]
    )
    out.append(type(app.jinja_env.loader).__name__)
    out.append(type(app.create_global_jinja_loader()).__name__)
    out.append(type(app.jinja_loader).__name__)
    return out


ENVIRONMENT = Case(
    lambda fw: fw.App(f"compat_env_{fw.name}", root_path=str(ROOT)),
    call(
        _environment,
        expect=[
            False, True, True, True,
            [True, True, True, True, True, False, True],
            "DispatchingJinjaLoader", "DispatchingJinjaLoader", "FileSystemLoader",
        ],
    ),
)  # fmt: skip


def custom_environment_app(fw: Framework) -> t.Any:
    F = fw.F

    class CustomApp(fw.App):  # type: ignore[name-defined,misc]
        jinja_options = {"trim_blocks": True, "line_statement_prefix": "#"}

        def select_jinja_autoescape(self, filename):
            return False

        def create_jinja_environment(self):
            env = super().create_jinja_environment()
            env.globals["extra"] = "EXTRA"
            return env

    app = CustomApp(f"compat_custom_env_{fw.name}")

    @app.route("/")
    def index():
        return F.render_template_string(
            "{% if 1 %}\n{{ x }} {{ extra }}{% endif %}\n# for i in [1, 2]\n{{ i }}\n# endfor\n",
            x="<b>",
        )

    return app


CUSTOM_ENVIRONMENT = Case(custom_environment_app, req("GET", "/", 200))

# -- sessions ---------------------------------------------------------------------


def sessions_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_sessions_{fw.name}")
    app.secret_key = "secret"

    @app.route("/set")
    def set_():
        F.session["user"] = F.request.args.get("user", "bob")
        F.session["tuple"] = (1, 2)
        F.session["bytes"] = b"\x00\xff"
        F.session["markup"] = Markup("<b>")
        F.session["uuid"] = uuid.UUID(int=7)
        F.session["when"] = datetime.datetime(2020, 1, 2, tzinfo=datetime.UTC)
        F.session["tag-like"] = {" t": "not a tag"}
        return "set"

    @app.route("/get")
    def get():
        return repr(sorted(F.session.items()))

    @app.route("/contains")
    def contains():
        return str("user" in F.session)

    @app.route("/permanent")
    def permanent():
        F.session.permanent = True
        return "permanent"

    @app.route("/clear")
    def clear():
        F.session.clear()
        return "cleared"

    @app.route("/untouched")
    def untouched():
        return "untouched"

    @app.route("/mutate")
    def mutate():
        F.session.setdefault("items", []).append(1)
        F.session.modified = True
        return repr(F.session["items"])

    @app.route("/mutate-unsaved")
    def mutate_unsaved():
        F.session["items"].append(99)  # not flagged: not saved
        return repr(F.session["items"])

    @app.route("/flags")
    def flags():
        s = F.session
        return repr((s.new, s.modified, s.permanent, type(s).__name__))

    return app


SESSIONS = Case(
    sessions_app,
    req("GET", "/untouched", 200),
    req("GET", "/contains", 200),
    req("GET", "/flags", 200),
    req("GET", "/set", 200),
    req("GET", "/get", 200),
    req("GET", "/contains", 200),
    req("GET", "/untouched", 200),
    req("GET", "/permanent", 200),
    req("GET", "/get", 200),
    req("GET", "/mutate", 200),
    req("GET", "/mutate", 200),
    req("GET", "/mutate-unsaved", 200),
    req("GET", "/mutate", 200),
    req("GET", "/clear", 200),
    req("GET", "/get", 200),
    req("GET", "/get", 200, headers={"Cookie": "session=forged.value.sig"}),
)


def _sign_with_old_key(app: t.Any, client: t.Any, fw: Framework) -> str:
    from itsdangerous import URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(
        "old key",
        salt="cookie-session",
        serializer=app.session_interface.serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    client.set_cookie(
        "sid", serializer.dumps({"who": "signed with the old key"}),
        domain="example.test", path="/app",
    )  # fmt: skip
    return client.get("http://example.test/get").get_data(as_text=True)


def session_config_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_session_cfg_{fw.name}")
    app.config.update(
        SECRET_KEY="new key",
        SECRET_KEY_FALLBACKS=["old key"],
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
        SESSION_REFRESH_EACH_REQUEST=False,
        PERMANENT_SESSION_LIFETIME=600,
        APPLICATION_ROOT="/app",
    )

    @app.route("/set")
    def set_():
        F.session["a"] = 1
        F.session.permanent = True
        return "x"

    @app.route("/get")
    def get():
        return repr(dict(F.session))

    return app


SESSION_CONFIG = Case(
    session_config_app,
    req("GET", "http://example.test/set", 200),  # under APPLICATION_ROOT /app
    req("GET", "http://example.test/get", 200),
    call(_sign_with_old_key, expect="{'who': 'signed with the old key'}"),
    # SESSION_COOKIE_NAME: its timestamp differs when the two runs straddle
    # a second.
    signed_cookies=("sid",),
)


def no_secret_key_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_no_key_{fw.name}")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/read")
    def read():
        return repr((F.session.get("x"), len(F.session), type(F.session).__name__))

    @app.route("/write")
    def write():
        F.session["x"] = 1
        return "written"

    return app


NO_SECRET_KEY = Case(
    no_secret_key_app, req("GET", "/read", 200), req("GET", "/write", 500)
)


def _session_transaction(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    with client.session_transaction() as sess:
        sess["user"] = "preset"
    out = [client.get("/get").get_data(as_text=True)]
    with client.session_transaction() as sess:
        out.append(dict(sess))
        sess.clear()
    out.append(client.get("/get").get_data(as_text=True))
    no_cookies = app.test_client(use_cookies=False)
    with pytest.raises(TypeError):
        with no_cookies.session_transaction():
            pass
    return out


SESSION_TRANSACTION = Case(
    sessions_app,
    call(
        _session_transaction,
        expect=["[('user', 'preset')]", {"user": "preset"}, "[]"],
    ),
)


def custom_interface_app(fw: Framework) -> t.Any:
    F = fw.F
    sessions = fw.sub("sessions")
    store: dict[str, dict[str, t.Any]] = {}

    class ServerSession(dict, sessions.SessionMixin):  # type: ignore[misc]
        pass

    class ServerSideSessions(sessions.SessionInterface):
        def open_session(self, app, request):
            sid = request.cookies.get("sid") or "new-id"
            session = ServerSession(store.get(sid, {}))
            session.sid = sid
            return session

        def save_session(self, app, session, response):
            store[session.sid] = dict(session)
            response.set_cookie(
                "sid",
                session.sid,
                httponly=self.get_cookie_httponly(app),
                path=self.get_cookie_path(app),
            )

    app = fw.App(f"compat_custom_sessions_{fw.name}")
    app.session_interface = ServerSideSessions()

    @app.route("/set")
    def set_():
        F.session["a"] = [1, 2]
        return "set"

    @app.route("/get")
    def get():
        return repr((dict(F.session), F.session.permanent, F.session.new))

    return app


CUSTOM_INTERFACE = Case(
    custom_interface_app, req("GET", "/set", 200), req("GET", "/get", 200)
)


def session_subclass_app(fw: Framework) -> t.Any:
    F = fw.F
    sessions = fw.sub("sessions")

    class AlwaysSet(sessions.SecureCookieSessionInterface):  # type: ignore[misc]
        salt = "another-salt"

        def should_set_cookie(self, app, session):
            return True

        def get_expiration_time(self, app, session):
            return datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)

    app = fw.App(f"compat_session_subclass_{fw.name}")
    app.secret_key = "k"
    app.session_interface = AlwaysSet()

    @app.route("/set")
    def set_():
        F.session["a"] = 1
        return "set"

    @app.route("/get")
    def get():
        return repr(dict(F.session))

    @app.route("/untouched")
    def untouched():
        return "untouched"

    return app


SESSION_SUBCLASS = Case(
    session_subclass_app,
    req("GET", "/untouched", 200),
    req("GET", "/set", 200),
    req("GET", "/get", 200),
    req("GET", "/untouched", 200),
)


def _oversized_cookie(app: t.Any, client: t.Any, fw: Framework) -> tuple[t.Any, ...]:
    app.config["MAX_COOKIE_SIZE"] = 100
    with pytest.warns(UserWarning) as record:
        rv = client.get("/set?user=" + "y" * 200)
    return (rv.status_code, str(record[0].message).split(" ")[0:4])


OVERSIZED_COOKIE = Case(sessions_app, call(_oversized_cookie))

# -- flashing ---------------------------------------------------------------------


def flashing_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_flash_{fw.name}")
    app.secret_key = "k"

    @app.route("/add")
    def add():
        F.flash("plain")
        F.flash("first error", "error")
        F.flash(Markup("<b>marked up</b>"), "warning")
        F.flash("second error", "error")
        return "added"

    @app.route("/show")
    def show():
        return repr(
            (
                F.get_flashed_messages(),
                F.get_flashed_messages(with_categories=True),
                F.get_flashed_messages(category_filter=["error"]),
                F.get_flashed_messages(
                    with_categories=True, category_filter=["warning", "message"]
                ),
            )
        )

    @app.route("/template")
    def template():
        return F.render_template_string(
            "{% for m in get_flashed_messages(category_filter=['error']) %}[{{ m }}]{% endfor %}"
            "{% for c, m in get_flashed_messages(with_categories=true) %}{{ c }}:{{ m }};{% endfor %}"
        )

    return app


FLASHING = Case(
    flashing_app,
    req("GET", "/show", 200),  # no flashes: the session is left alone
    req("GET", "/add", 200),
    req("GET", "/show", 200),
    req("GET", "/show", 200),  # shown once only
    req("GET", "/add", 200),
    req("GET", "/template", 200),
    req("GET", "/template", 200),
)

# -- JSON -------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


class HasHTML:
    def __html__(self) -> str:
        return "<em>html</em>"


def json_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_json_{fw.name}")

    @app.route("/types")
    def types():
        return F.jsonify(
            dt=datetime.datetime(2020, 1, 2, 3, 4, 5),
            date=datetime.date(2020, 1, 2),
            uuid=uuid.UUID(int=5),
            decimal=decimal.Decimal("1.50"),
            point=Point(1, 2),
            html=HasHTML(),
            text="ü<>&'",
            unsorted={"b": 1, "a": 2},
        )

    @app.route("/module")
    def module():
        return (
            F.json.dumps({"b": [1, 2], "a": "é"})
            + F.json.dumps("x", indent=2)
            + repr(F.json.loads('{"a": [1, 2.5]}'))
            + repr(F.json.loads(b"[1]"))
        )

    @app.route("/not-serializable")
    def not_serializable():
        return F.jsonify(object())

    @app.route("/provider-settings")
    def provider_settings():
        provider = F.current_app.json
        provider.compact = False
        provider.sort_keys = False
        provider.ensure_ascii = False
        provider.mimetype = "application/vnd.api+json"
        return F.jsonify(b=1, a="é")

    @app.route("/tojson")
    def tojson():
        return F.render_template_string(
            "{{ x|tojson }} <a title='{{ x|tojson }}'></a> {{ x|tojson(indent=1) }}",
            x={"a": "<>&'\"", "n": None},
        )

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


JSON = Case(
    json_app,
    req("GET", "/types", 200),
    req("GET", "/module", 200),
    req("GET", "/not-serializable", 500),
    req("GET", "/provider-settings", 200),
    req("GET", "/tojson", 200),
)


def json_debug_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_json_debug_{fw.name}")
    app.debug = True

    @app.route("/jsonify")
    def jsonify():
        return F.jsonify([1, {"a": 2}])

    @app.route("/dict")
    def as_dict():
        return {"x": [1]}

    return app


JSON_DEBUG = Case(json_debug_app, req("GET", "/jsonify", 200), req("GET", "/dict", 200))


def json_provider_app(fw: Framework) -> t.Any:
    F = fw.F
    provider = fw.sub("json.provider")
    tag = fw.sub("json.tag")

    class SetProvider(provider.DefaultJSONProvider):
        sort_keys = False

        @staticmethod
        def default(o):
            if isinstance(o, set):
                return sorted(o)
            return provider.DefaultJSONProvider.default(o)

    class SetApp(fw.App):  # type: ignore[name-defined,misc]
        json_provider_class = SetProvider

    app = SetApp(f"compat_json_provider_{fw.name}")
    app.secret_key = "k"

    class TagPoint(tag.JSONTag):
        __slots__ = ()
        key = " pt"

        def check(self, value):
            return isinstance(value, Point)

        def to_json(self, value):
            return [value.x, value.y]

        def to_python(self, value):
            return Point(*value)

    # A serializer of its own: registering on the shared one would leak the
    # tag into every app of the process.
    class PointSessions(fw.sub("sessions").SecureCookieSessionInterface):  # type: ignore[misc]
        serializer = tag.TaggedJSONSerializer()

    PointSessions.serializer.register(TagPoint, index=0)
    app.session_interface = PointSessions()

    @app.route("/jsonify")
    def jsonify():
        return F.jsonify(s={3, 1}, z=1, a=2)

    @app.route("/return")
    def return_dict():
        return {"s": {2}}

    @app.route("/response")
    def response():
        return F.current_app.json.response([1, 2], 3)

    @app.route("/set")
    def set_():
        F.session["p"] = Point(7, 8)
        return "x"

    @app.route("/get")
    def get():
        return repr(F.session["p"])

    @app.route("/tagged")
    def tagged():
        serializer = tag.TaggedJSONSerializer()
        value = {"a": (1, b"x", {" di": 2}), "u": uuid.UUID(int=1)}
        return (
            serializer.dumps(value)
            + " "
            + repr(serializer.loads(serializer.dumps(value)) == value)
        )

    @app.route("/echo", methods=["POST"])
    def echo():
        return {"got": F.request.get_json()}

    return app


JSON_PROVIDER = Case(
    json_provider_app,
    req("GET", "/jsonify", 200),
    req("GET", "/return", 200),
    req("GET", "/response", 200),
    req("GET", "/set", 200),
    req("GET", "/get", 200),
    req("GET", "/tagged", 200),
    req("POST", "/echo", 200, json={"b": 1, "a": [1, "é"]}),
)

# -- cookies ----------------------------------------------------------------------


def cookies_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_cookies_{fw.name}")

    @app.route("/set")
    def set_():
        response = F.make_response("cookie set")
        response.set_cookie("user", "ann é", max_age=60, samesite="Strict")
        response.set_cookie("wide", "1", domain=".example.test", secure=True)
        return response

    @app.route("/read")
    def read():
        return repr((F.request.cookies.get("user"), F.request.cookies.get("nope")))

    @app.route("/delete")
    def delete():
        response = F.make_response("deleted")
        response.delete_cookie("user")
        return response

    @app.route("/deferred")
    def deferred():
        @F.after_this_request
        def remember(response):
            response.set_cookie("lang", F.request.args.get("lang", "en"))
            return response

        return "deferred"

    return app


def _normalized_cookie_dates(app: t.Any, client: t.Any, fw: Framework) -> list[str]:
    rv = client.get("/set")
    return [h.split("; Expires=")[0] for h in rv.headers.getlist("Set-Cookie")]


COOKIES = Case(
    cookies_app,
    call(
        _normalized_cookie_dates,
        expect=['user="ann \\303\\251"', "wide=1; Domain=example.test; Secure; Path=/"],
    ),
    req("GET", "/read", 200),
    req("GET", "/deferred?lang=de", 200),
    req("GET", "/read", 200),
)

CASES = [
    pytest.param(TEMPLATES, id="templates"),
    pytest.param(OUTSIDE_REQUEST, id="templates-outside-request"),
    pytest.param(ENVIRONMENT, id="jinja-environment"),
    pytest.param(CUSTOM_ENVIRONMENT, id="custom-jinja-environment"),
    pytest.param(SESSIONS, id="sessions"),
    pytest.param(SESSION_CONFIG, id="session-config"),
    pytest.param(NO_SECRET_KEY, id="no-secret-key"),
    pytest.param(SESSION_TRANSACTION, id="session-transaction"),
    pytest.param(CUSTOM_INTERFACE, id="custom-session-interface"),
    pytest.param(SESSION_SUBCLASS, id="session-interface-subclass"),
    pytest.param(OVERSIZED_COOKIE, id="oversized-cookie"),
    pytest.param(FLASHING, id="flashing"),
    pytest.param(JSON, id="json"),
    pytest.param(JSON_DEBUG, id="json-debug"),
    pytest.param(JSON_PROVIDER, id="json-provider"),
    pytest.param(COOKIES, id="cookies"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)
