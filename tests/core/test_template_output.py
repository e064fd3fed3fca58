"""Templates escape their output with gateway.templating._escape_output: the
page is Jinja's, character for character, for every kind of value."""

from __future__ import annotations

import decimal
import typing as t

import jinja2
import pytest
from markupsafe import Markup

import gateway
from gateway.templating import OutputTemplate, _escape_output


class Html:
    def __html__(self) -> str:
        return "<i>safe</i>"

    def __str__(self) -> str:
        return "<unsafe>"


class Text:
    def __str__(self) -> str:
        return "<b>&'\"</b>"


class MyInt(int):
    def __str__(self) -> str:
        return "<int>"


class MyStr(str):
    pass


VALUES = [
    pytest.param("plain", id="str"),
    pytest.param("<b>&'\"</b>", id="str to escape"),
    pytest.param("ünïcode ✓ <", id="non-ascii"),
    pytest.param("", id="empty"),
    pytest.param(MyStr("<sub>"), id="str subclass"),
    pytest.param(Markup("<em>ok</em>"), id="Markup"),
    pytest.param(Html(), id="__html__"),
    pytest.param(Text(), id="object"),
    pytest.param(42, id="int"),
    pytest.param(-1.5e-300, id="float"),
    pytest.param(float("nan"), id="nan"),
    pytest.param(MyInt(3), id="int subclass with its own str"),
    pytest.param(True, id="bool"),
    pytest.param(None, id="None"),
    pytest.param(decimal.Decimal("1.10"), id="Decimal"),
    pytest.param([1, "<"], id="list"),
]

SOURCES = [
    pytest.param("{{ v }}", id="alone"),
    pytest.param("<p>{{ v }}|{{ v }}</p>", id="twice"),
    pytest.param("{% set x %}[{{ v }}]{% endset %}{{ x }}", id="set block"),
    pytest.param("{% macro m(a) %}<{{ a }}>{% endmacro %}{{ m(v) }}", id="macro"),
    pytest.param("{% filter upper %}{{ v }}{% endfilter %}", id="filter block"),
    pytest.param("{% autoescape false %}{{ v }}{% endautoescape %}", id="off"),
    pytest.param("{{ v ~ '<' }}", id="concat"),
    pytest.param("{% for i in [1, 2] %}{{ loop.index }}{{ v }}{% endfor %}", id="loop"),
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("value", VALUES)
def test_pages_are_jinjas(source: str, value: t.Any) -> None:
    app = gateway.App(__name__)
    with app.app_context():
        ours = app.jinja_env.from_string(source)
        assert isinstance(ours, OutputTemplate)
        reference = jinja2.Environment(autoescape=True).from_string(source)
        assert ours.render(v=value) == reference.render(v=value)
        assert "".join(ours.generate(v=value)) == "".join(reference.generate(v=value))


def test_files_and_strings_use_it(tmp_path: t.Any) -> None:
    (tmp_path / "page.html").write_text("{{ v }}")
    app = gateway.App(__name__, template_folder=str(tmp_path))
    with app.test_request_context():
        assert gateway.render_template("page.html", v="<&>") == "&lt;&amp;&gt;"
        template = app.jinja_env.get_template("page.html")
        assert isinstance(template, OutputTemplate)
        assert template.root_render_func.__globals__["escape"] is _escape_output


def test_only_jinjas_own_escape_is_replaced() -> None:
    env = gateway.App(__name__).jinja_env
    code = env.compile("{{ v }}")
    namespace: dict[str, t.Any] = {"environment": env, "__file__": code.co_filename}
    exec(code, namespace)

    def bracket(s: t.Any) -> str:
        return f"[{s}]"

    namespace["escape"] = bracket
    template = OutputTemplate._from_namespace(env, namespace, env.make_globals(None))
    assert template.render(v="<") == "[<]"
