"""Templates: the app's Jinja environment, loaders, context, autoescaping,
streaming, the compiled-string cache and EXPLAIN_TEMPLATE_LOADING."""

from __future__ import annotations

import logging
import os
import threading
import typing as t
from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup

import gateway
from gateway.signals import before_render_template, template_rendered
from gateway.templating import DispatchingJinjaLoader, Environment


def render(app: gateway.App, source: str, **context: t.Any) -> str:
    with app.test_request_context():
        return gateway.render_template_string(source, **context)


# -- rendering ---------------------------------------------------------------------


def test_render_template_from_the_template_folder(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> str:
        return gateway.render_template("child.html", title="T", text="body")

    assert client.get("/").data == b"<title>T</title>\n<main><p>body</p></main>"


def test_templates_in_subfolders(app: gateway.App) -> None:
    with app.app_context():
        assert gateway.render_template("nested/inner.html") == "inner 2"


def test_render_first_existing_of_a_list(app: gateway.App) -> None:
    with app.test_request_context():
        rv = gateway.render_template(
            ["missing.html", "nested/inner.html", "child.html"]
        )
    assert rv == "inner 2"


def test_render_a_template_object(app: gateway.App) -> None:
    with app.app_context():
        tmpl = app.jinja_env.from_string("{{ x }}!")
        assert gateway.render_template(tmpl, x="<b>") == "&lt;b&gt;!"


def test_missing_template_raises_template_not_found(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/one")
    def one() -> str:
        return gateway.render_template("nope.html")

    @app.route("/many")
    def many() -> str:
        return gateway.render_template(["nope.html", "nada.html"])

    with pytest.raises(jinja2.TemplateNotFound, match="nope.html"):
        client.get("/one")
    with pytest.raises(jinja2.TemplatesNotFound, match="nada.html"):
        client.get("/many")


def test_missing_template_is_a_500_for_clients(app: gateway.App, client: t.Any) -> None:
    app.testing = False

    @app.route("/")
    def index() -> str:
        return gateway.render_template("nope.html")

    rv = client.get("/")
    assert rv.status_code == 500
    assert b"nope.html" not in rv.data


def test_app_without_template_folder_finds_nothing(tmp_path: Path) -> None:
    app = gateway.App("no_templates", root_path=str(tmp_path), template_folder=None)
    with app.app_context(), pytest.raises(jinja2.TemplateNotFound):
        gateway.render_template("child.html")


def test_render_needs_an_application_context(app: gateway.App) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        gateway.render_template_string("x")
    with pytest.raises(RuntimeError, match="application context"):
        gateway.render_template("child.html")


def test_render_in_app_context_without_request(app: gateway.App) -> None:
    app.config["SERVER_NAME"] = "example.com"
    app.add_url_rule("/", "index", lambda: "")
    with app.app_context():
        gateway.g.value = "gv"
        rv = gateway.render_template_string(
            "{{ g.value }} {{ url_for('index') }} {{ 'no request' if not request }}"
            " {{ config.TESTING }}"
        )
    assert rv == "gv http://example.com/ no request True"


# -- the standard context ----------------------------------------------------------


def test_standard_context_is_available(app: gateway.App, client: t.Any) -> None:
    @app.route("/")
    def index() -> str:
        gateway.g.value = "from-g"
        gateway.session["user"] = "ann"
        return gateway.render_template("context.html", var="given")

    assert client.get("/").get_data(as_text=True) == (
        "config=True\npath=/\nuser=ann\ng=from-g\nurl=/\nflashes=[]\nvar=given"
    )


def test_environment_globals_and_json_policy(app: gateway.App) -> None:
    env = app.jinja_env
    assert isinstance(env, Environment)
    assert env.app is app
    for name in (
        "url_for",
        "get_flashed_messages",
        "config",
        "request",
        "session",
        "g",
    ):
        assert name in env.globals
    assert env.globals["config"] is app.config
    assert env.policies["json.dumps_function"] == app.json.dumps


def test_context_processors_add_values(app: gateway.App) -> None:
    @app.context_processor
    def inject() -> dict[str, t.Any]:
        return {"site": "example", "var": "from-processor"}

    assert render(app, "{{ site }}/{{ var }}") == "example/from-processor"
    # Values passed to the render call win over the processors'.
    assert render(app, "{{ site }}/{{ var }}", var="explicit") == "example/explicit"


def test_blueprint_context_processors_are_scoped(
    app: gateway.App, client: t.Any
) -> None:
    bp = gateway.Blueprint("shop", __name__, url_prefix="/shop")

    @bp.context_processor
    def shop_only() -> dict[str, str]:
        return {"scope": "shop"}

    @bp.app_context_processor
    def everywhere() -> dict[str, str]:
        return {"brand": "acme"}

    source = "{{ scope|default('none') }} {{ brand }}"

    @bp.route("/")
    def shop_index() -> str:
        return gateway.render_template_string(source)

    @app.route("/")
    def index() -> str:
        return gateway.render_template_string(source)

    app.register_blueprint(bp)
    assert client.get("/shop/").data == b"shop acme"
    assert client.get("/").data == b"none acme"


def test_nested_blueprint_gets_parent_context_processors(
    app: gateway.App, client: t.Any
) -> None:
    parent = gateway.Blueprint("parent", __name__, url_prefix="/p")
    child = gateway.Blueprint("child", __name__, url_prefix="/c")

    @parent.context_processor
    def from_parent() -> dict[str, str]:
        return {"a": "parent"}

    @child.context_processor
    def from_child() -> dict[str, str]:
        return {"b": "child"}

    @child.route("/")
    def child_index() -> str:
        return gateway.render_template_string("{{ a }} {{ b }}")

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert client.get("/p/c/").data == b"parent child"


# -- filters, tests and globals ------------------------------------------------------


def test_template_filters_tests_and_globals(app: gateway.App) -> None:
    @app.template_filter()
    def shout(s: str) -> str:
        return s.upper() + "!"

    @app.template_filter("rev")
    def reverse(s: str) -> str:
        return s[::-1]

    app.add_template_filter(lambda s: f"[{s}]", "brackets")

    @app.template_test()
    def even(n: int) -> bool:
        return n % 2 == 0

    app.add_template_test(lambda n: n > 10, "big")

    @app.template_global()
    def answer() -> int:
        return 42

    app.add_template_global("glob", "gv")

    source = (
        "{{ 'hi'|shout }} {{ 'abc'|rev }} {{ 'x'|brackets }} "
        "{{ 4 is even }} {{ 3 is even }} {{ 11 is big }} {{ answer() }} {{ gv }}"
    )
    assert render(app, source) == "HI! cba [x] True False True 42 glob"
    assert app.jinja_env.filters["shout"] is shout
    assert app.jinja_env.tests["even"] is even
    assert app.jinja_env.globals["answer"] is answer


def test_blueprint_app_template_filters(app: gateway.App) -> None:
    bp = gateway.Blueprint("bp", __name__)

    @bp.app_template_filter()
    def double(s: str) -> str:
        return s * 2

    bp.add_app_template_filter(lambda s: s.title(), "titled")

    @bp.app_template_test()
    def empty(s: str) -> bool:
        return not s

    bp.add_app_template_test(lambda s: s.isdigit(), "numeric")

    @bp.app_template_global()
    def version() -> str:
        return "1.0"

    bp.add_app_template_global(lambda: "x", "ex")
    app.register_blueprint(bp)
    source = "{{ 'ab'|double }} {{ 'a b'|titled }} {{ '' is empty }} {{ '12' is numeric }} {{ version() }} {{ ex() }}"
    assert render(app, source) == "abab A B True True 1.0 x"


def test_filter_added_after_first_use_of_a_string_template(app: gateway.App) -> None:
    source = "{% if flag %}{{ 'x'|late }}{% else %}no{% endif %}"
    assert render(app, source, flag=False) == "no"
    app.add_template_filter(lambda s: s + "-late", "late")
    assert render(app, source, flag=True) == "x-late"


# -- autoescaping and XSS -----------------------------------------------------------------

PAYLOAD = "<script>alert('x')</script>&"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        pytest.param("escaping.html", True, id="html"),
        pytest.param("escaping.htm", True, id="htm"),
        pytest.param("escaping.xml", True, id="xml"),
        pytest.param("escaping.xhtml", True, id="xhtml"),
        pytest.param("escaping.svg", True, id="svg"),
        pytest.param("escaping.txt", False, id="txt"),
    ],
)
def test_autoescape_by_file_extension(
    app: gateway.App, name: str, escaped: bool
) -> None:
    with app.test_request_context():
        rv = gateway.render_template(name, text=PAYLOAD, safe=Markup("<br>"))
    assert rv == f"{ESCAPED if escaped else PAYLOAD}|<br>"


def test_template_strings_are_autoescaped(app: gateway.App) -> None:
    assert render(app, "{{ x }}|{{ y }}|{{ x|safe }}", x=PAYLOAD, y=Markup("<i>")) == (
        f"{ESCAPED}|<i>|{PAYLOAD}"
    )


def test_autoescape_can_be_switched_off_in_a_template(app: gateway.App) -> None:
    source = "{% autoescape false %}{{ x }}{% endautoescape %}|{{ x }}"
    assert render(app, source, x="<b>") == "<b>|&lt;b&gt;"


def test_html_attribute_injection_is_escaped(app: gateway.App) -> None:
    rv = render(app, "<a title=\"{{ t }}\" data-x='{{ t }}'>", t='" onclick="x\' y')
    assert (
        rv
        == "<a title=\"&#34; onclick=&#34;x&#39; y\" data-x='&#34; onclick=&#34;x&#39; y'>"
    )


def test_markup_from_objects_with_html_method(app: gateway.App) -> None:
    class Widget:
        def __html__(self) -> str:
            return "<widget>"

    assert render(app, "{{ w }}", w=Widget()) == "<widget>"


# -- loaders: app, then blueprints in order ------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    rv = {name: tmp_path / name for name in ("app", "first", "second")}
    write(rv["app"] / "templates" / "shared.html", "app")
    write(rv["first"] / "templates" / "shared.html", "first")
    write(rv["first"] / "templates" / "only_first.html", "first only")
    write(rv["first"] / "templates" / "both_bps.html", "first")
    write(rv["second"] / "templates" / "both_bps.html", "second")
    write(rv["second"] / "templates" / "only_second.html", "second only")
    return rv


def make_layered_app(folders: dict[str, Path], order: tuple[str, ...]) -> gateway.App:
    app = gateway.App("layered", root_path=str(folders["app"]))
    for name in order:
        bp = gateway.Blueprint(
            name, __name__, root_path=str(folders[name]), template_folder="templates"
        )
        app.register_blueprint(bp)
    return app


@pytest.mark.parametrize(
    ("order", "template", "expected"),
    [
        pytest.param(
            ("first", "second"), "shared.html", "app", id="app-before-blueprints"
        ),
        pytest.param(
            ("first", "second"), "both_bps.html", "first", id="first-registered-wins"
        ),
        pytest.param(
            ("second", "first"), "both_bps.html", "second", id="order-matters"
        ),
        pytest.param(
            ("first", "second"), "only_first.html", "first only", id="bp-only-1"
        ),
        pytest.param(
            ("first", "second"), "only_second.html", "second only", id="bp-only-2"
        ),
    ],
)
def test_template_lookup_order(
    folders: dict[str, Path], order: tuple[str, ...], template: str, expected: str
) -> None:
    app = make_layered_app(folders, order)
    with app.app_context():
        assert gateway.render_template(template) == expected


def test_dispatching_loader_lists_every_template(folders: dict[str, Path]) -> None:
    app = make_layered_app(folders, ("first", "second"))
    loader = app.jinja_env.loader
    assert isinstance(loader, DispatchingJinjaLoader)
    assert sorted(loader.list_templates()) == [
        "both_bps.html",
        "only_first.html",
        "only_second.html",
        "shared.html",
    ]


def test_blueprint_template_in_namespaced_subfolder(
    tmp_path: Path, client: t.Any
) -> None:
    write(
        tmp_path / "admin" / "templates" / "admin" / "index.html",
        "admin {{ request.blueprint }}",
    )
    app = gateway.App("ns", root_path=str(tmp_path))
    bp = gateway.Blueprint(
        "admin",
        __name__,
        root_path=str(tmp_path / "admin"),
        template_folder="templates",
    )

    @bp.route("/admin/")
    def index() -> str:
        return gateway.render_template("admin/index.html")

    app.register_blueprint(bp)
    assert app.test_client().get("/admin/").data == b"admin admin"


# -- environment options -------------------------------------------------------------------


def test_jinja_options_are_passed_to_the_environment() -> None:
    class Custom(gateway.App):
        jinja_options = {"line_statement_prefix": "%", "trim_blocks": True}

    app = Custom(__name__)
    source = "% for i in range(3)\n{{ i }}\n% endfor\n"
    assert render(app, source) == "0\n1\n2\n"


def test_jinja_environment_class_can_be_replaced() -> None:
    class MyEnv(Environment):
        pass

    class Custom(gateway.App):
        jinja_environment = MyEnv

    app = Custom(__name__)
    assert type(app.jinja_env) is MyEnv
    assert render(app, "{{ 1 }}") == "1"


def test_create_jinja_environment_can_be_overridden() -> None:
    class Custom(gateway.App):
        def create_jinja_environment(self) -> Environment:
            env = super().create_jinja_environment()
            env.globals["site_name"] = "custom"
            return env

    assert render(Custom(__name__), "{{ site_name }}") == "custom"


def test_extensions_from_jinja_options() -> None:
    class Custom(gateway.App):
        jinja_options = {"extensions": ["jinja2.ext.loopcontrols"]}

    source = "{% for i in range(5) %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}"
    assert render(Custom(__name__), source) == "01"


def test_autoescape_selection_can_be_overridden() -> None:
    class Custom(gateway.App):
        def select_jinja_autoescape(self, filename: str | None) -> bool:
            return filename is not None and filename.endswith(".txt")

    app = Custom("custom_escape", root_path=os.path.dirname(__file__))
    with app.app_context():
        assert gateway.render_template("escaping.txt", text="<", safe="") == "&lt;|"
        assert gateway.render_template("escaping.html", text="<", safe="") == "<|"
        assert gateway.render_template_string("{{ '<' }}") == "<"


def reload_app(tmp_path: Path, **config: t.Any) -> tuple[gateway.App, Path]:
    app = gateway.App("reloading", root_path=str(tmp_path))
    app.config.update(config)
    template = tmp_path / "templates" / "page.html"
    write(template, "version 1")
    return app, template


def rewrite(template: Path, text: str) -> None:
    template.write_text(text)
    stat = template.stat()
    os.utime(template, (stat.st_atime, stat.st_mtime + 10))  # a visibly newer file


@pytest.mark.parametrize(
    ("config", "reloaded"),
    [
        pytest.param({}, False, id="default-off"),
        pytest.param({"TEMPLATES_AUTO_RELOAD": True}, True, id="on"),
        pytest.param({"DEBUG": True}, True, id="follows-debug"),
        pytest.param(
            {"DEBUG": True, "TEMPLATES_AUTO_RELOAD": False}, False, id="off-in-debug"
        ),
    ],
)
def test_templates_auto_reload(
    tmp_path: Path, config: dict[str, t.Any], reloaded: bool
) -> None:
    app, template = reload_app(tmp_path, **config)
    with app.app_context():
        assert gateway.render_template("page.html") == "version 1"
        rewrite(template, "version 2")
        expected = "version 2" if reloaded else "version 1"
        assert gateway.render_template("page.html") == expected


def test_switching_debug_on_later_turns_reloading_on(tmp_path: Path) -> None:
    app, template = reload_app(tmp_path)
    with app.app_context():
        assert gateway.render_template("page.html") == "version 1"
        app.debug = True
        rewrite(template, "version 2")
        assert gateway.render_template("page.html") == "version 2"


# -- EXPLAIN_TEMPLATE_LOADING --------------------------------------------------------------


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@pytest.fixture
def explained(folders: dict[str, Path]) -> t.Iterator[tuple[gateway.App, Capture]]:
    app = make_layered_app(folders, ("first", "second"))
    app.config["EXPLAIN_TEMPLATE_LOADING"] = True
    handler = Capture()
    app.logger.addHandler(handler)
    old_level = app.logger.level
    app.logger.setLevel(logging.INFO)
    yield app, handler
    app.logger.removeHandler(handler)
    app.logger.setLevel(old_level)


def test_explain_reports_each_loader_and_the_match(
    explained: tuple[gateway.App, Capture], folders: dict[str, Path]
) -> None:
    app, handler = explained
    with app.app_context():
        assert gateway.render_template("only_second.html") == "second only"
    (report,) = handler.records
    lines = report.splitlines()
    assert lines[0] == "Locating template 'only_second.html':"
    assert "1: trying loader of application 'layered'" in report
    assert "2: trying loader of blueprint 'first'" in report
    assert "3: trying loader of blueprint 'second'" in report
    assert str(folders["second"] / "templates") in report
    assert report.count("-> no match") == 2
    assert (
        f"-> found ('{folders['second'] / 'templates' / 'only_second.html'}')" in report
    )
    assert "Error" not in report and "Warning" not in report


def test_explain_warns_about_shadowed_templates(
    explained: tuple[gateway.App, Capture],
) -> None:
    app, handler = explained
    with app.app_context():
        assert gateway.render_template("shared.html") == "app"
    assert "-> found" in handler.records[0]
    assert "Warning: more than one loader matched" in handler.records[0]


def test_explain_reports_a_missing_template_with_blueprint_hint(
    explained: tuple[gateway.App, Capture],
) -> None:
    app, handler = explained
    bp = gateway.Blueprint("late", __name__)

    @bp.route("/")
    def index() -> str:
        return gateway.render_template("ghost.html")

    app.register_blueprint(bp)
    assert app.test_client().get("/").status_code == 500
    report = handler.records[0]
    assert "Error: the template could not be found." in report
    assert "blueprint 'late'" in report
    assert "render 'late/ghost.html'" in report


def test_no_report_when_explaining_is_off(folders: dict[str, Path]) -> None:
    app = make_layered_app(folders, ("first",))
    handler = Capture()
    app.logger.addHandler(handler)
    try:
        with app.app_context():
            gateway.render_template("shared.html")
    finally:
        app.logger.removeHandler(handler)
    assert handler.records == []


# -- streaming ------------------------------------------------------------------------------


def test_stream_template_keeps_the_request_available(
    app: gateway.App, client: t.Any
) -> None:
    @app.route("/")
    def index() -> t.Any:
        return gateway.stream_template("streamed.html", items=[1, 2])

    rv = client.get("/?tag=t")
    assert rv.status_code == 200
    assert rv.is_streamed
    assert rv.get_data(as_text=True) == "[1:t][2:t]"


def test_stream_template_string_yields_chunks(app: gateway.App, client: t.Any) -> None:
    chunks: list[str] = []

    @app.route("/")
    def index() -> t.Any:
        gen = gateway.stream_template_string(
            "{% for i in items %}<{{ i }}>{% endfor %}{{ request.path }}", items="ab"
        )

        def recording() -> t.Iterator[str]:
            for chunk in gen:
                chunks.append(chunk)
                yield chunk

        return app.response_class(recording())

    assert client.get("/").get_data(as_text=True) == "<a><b>/"
    assert len(chunks) > 1
    assert "".join(chunks) == "<a><b>/"


def test_stream_template_outside_a_request(app: gateway.App) -> None:
    with app.app_context():
        assert "".join(gateway.stream_template_string("{{ 1 }}{{ 2 }}")) == "12"


# -- get_template_attribute -----------------------------------------------------------------


def test_get_template_attribute_gives_macros_and_variables(app: gateway.App) -> None:
    with app.app_context():
        hello = gateway.get_template_attribute("macros.html", "hello")
        assert hello("<you>") == "Hello &lt;you&gt;!"
        assert gateway.get_template_attribute("macros.html", "answer") == 42


# -- signals ---------------------------------------------------------------------------------


def test_render_sends_before_and_after_signals_with_template_and_context(
    app: gateway.App, client: t.Any
) -> None:
    events: list[tuple[str, t.Any, str | None, dict[str, t.Any]]] = []

    def before(
        sender: t.Any,
        template: jinja2.Template,
        context: dict[str, t.Any],
        **extra: t.Any,
    ) -> None:
        context["added_by_signal"] = "yes"
        events.append(("before", sender, template.name, dict(context)))

    def after(
        sender: t.Any,
        template: jinja2.Template,
        context: dict[str, t.Any],
        **extra: t.Any,
    ) -> None:
        events.append(("after", sender, template.name, dict(context)))

    @app.route("/")
    def index() -> str:
        return gateway.render_template(
            "child.html", title="{{ added_by_signal }}", text="t"
        )

    @app.route("/s")
    def s() -> str:
        return gateway.render_template_string("{{ added_by_signal }}", v=1)

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
    ):
        client.get("/")
        assert client.get("/s").data == b"yes"

    assert [(e[0], e[1], e[2]) for e in events] == [
        ("before", app, "child.html"),
        ("after", app, "child.html"),
        ("before", app, None),
        ("after", app, None),
    ]
    assert events[0][3]["title"] == "{{ added_by_signal }}"
    assert events[3][3]["v"] == 1
    # The standard context is included, with the real objects behind the
    # request and g proxies (faster in templates) and session left a proxy.
    assert type(events[3][3]["request"]) is app.request_class
    assert type(events[3][3]["g"]) is app.app_ctx_globals_class


def test_stream_sends_rendered_signal_after_the_last_chunk(
    app: gateway.App, client: t.Any
) -> None:
    seen: list[str] = []

    def after(sender: t.Any, template: t.Any, context: t.Any, **extra: t.Any) -> None:
        seen.append("rendered")

    @app.route("/")
    def index() -> t.Any:
        stream = gateway.stream_template_string(
            "{% for i in 'ab' %}{{ i }}{% endfor %}"
        )

        def body() -> t.Iterator[str]:
            for chunk in stream:
                seen.append(chunk)
                yield chunk

        return app.response_class(body())

    with template_rendered.connected_to(after, app):
        assert client.get("/").data == b"ab"
    assert seen[-1] == "rendered"
    assert "".join(seen[:-1]) == "ab"


# -- the compiled template-string cache ------------------------------------------------------


def test_same_source_compiles_once(app: gateway.App) -> None:
    env = app.jinja_env
    first = env.from_string("{{ a }} cached")
    assert env.from_string("{{ a }} cached") is first
    assert env.from_string("{{ a }} other") is not first


def test_cached_strings_render_each_call_with_its_own_context(app: gateway.App) -> None:
    outputs = [render(app, "{{ n }}<{{ tag }}>", n=n, tag="<b>") for n in range(3)]
    assert outputs == [f"{n}<&lt;b&gt;>" for n in range(3)]


def test_cache_is_bounded_and_least_recently_used_goes_first(app: gateway.App) -> None:
    env = app.jinja_env
    env.string_cache_size = 2
    a = env.from_string("a")
    env.from_string("b")
    assert env.from_string("a") is a  # "a" is now the most recent
    env.from_string("c")  # evicts "b"
    assert env.from_string("a") is a
    assert len(env._string_templates) == 2
    assert set(env._string_templates) == {"a", "c"}


def test_cache_can_be_disabled(app: gateway.App) -> None:
    env = app.jinja_env
    env.string_cache_size = 0
    assert env.from_string("x") is not env.from_string("x")


def test_changing_environment_settings_drops_compiled_strings(app: gateway.App) -> None:
    assert render(app, "{{ x }}", x="<") == "&lt;"
    app.jinja_env.autoescape = False
    assert render(app, "{{ x }}", x="<") == "<"
    app.jinja_env.variable_start_string = "[["
    app.jinja_env.variable_end_string = "]]"
    assert render(app, "[[ x ]] {{ x }}", x="y") == "y {{ x }}"


def test_per_template_globals_are_not_cached_or_shared(app: gateway.App) -> None:
    env = app.jinja_env
    one = env.from_string("{{ who }}", globals={"who": "one"})
    two = env.from_string("{{ who }}", globals={"who": "two"})
    assert (one.render(), two.render()) == ("one", "two")
    assert env.from_string("{{ who }}").render() == ""


def test_overlay_has_its_own_cache(app: gateway.App) -> None:
    env = app.jinja_env
    base = env.from_string("{{ x }}")
    overlay = env.overlay(autoescape=False)
    assert overlay.from_string("{{ x }}") is not base
    assert overlay.from_string("{{ x }}").render(x="<") == "<"
    assert env.from_string("{{ x }}") is base
    assert base.render(x="<") == "&lt;"


def test_cache_under_concurrent_renders(app: gateway.App) -> None:
    app.jinja_env.string_cache_size = 8
    errors: list[str] = []

    def worker(n: int) -> None:
        with app.test_request_context():
            for i in range(200):
                source = f"{{{{ v }}}}-{i % 12}"
                got = gateway.render_template_string(source, v=f"<{n}>")
                if got != f"&lt;{n}&gt;-{i % 12}":
                    errors.append(got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(app.jinja_env._string_templates) <= 8
