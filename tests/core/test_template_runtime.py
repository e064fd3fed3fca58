"""The template runtime shortcuts (dict attribute lookup, calling plain
functions) render exactly what Jinja's own environment renders.

Every case is rendered twice, by the app's environment and by a stock
``jinja2.Environment`` with the same options and globals, and the outputs (or
the errors) must match.
"""

from __future__ import annotations

import typing as t

import jinja2
import pytest
from jinja2 import pass_context, pass_environment, pass_eval_context

import gateway
from gateway.templating import Context


class Row(dict):  # type: ignore[type-arg]
    """A dict subclass with an attribute that shadows a key."""

    name = "attribute wins"


class Callable:
    def __call__(self, x: t.Any) -> str:
        return f"called {x}"


class ContextCallable:
    @pass_context
    def __call__(self, ctx: t.Any, x: t.Any) -> str:
        return f"{ctx.name} {x}"


class Obj:
    def plain(self, x: t.Any) -> str:
        return f"plain {x}"

    @pass_context
    def with_context(self, ctx: t.Any) -> str:
        return f"ctx sees {ctx.get('who')}"


def plain(x: t.Any = "-", **kwargs: t.Any) -> str:
    return f"plain {x} {sorted(kwargs)}"


@pass_context
def sees_loop(ctx: t.Any) -> str:
    return f"{ctx.get('item')}"


@pass_environment
def env_name(env: t.Any) -> str:
    return f"undefined is {env.undefined.__name__}"


@pass_eval_context
def autoescaping(eval_ctx: t.Any) -> str:
    return str(eval_ctx.autoescape)


def stops() -> t.NoReturn:
    raise StopIteration


GLOBALS = {
    "d": {"name": "<b>key</b>", "items": "shadowed key", "keys": 1, 2: "two"},
    "row": Row(name="key loses", other="key"),
    "obj": Obj(),
    "plain": plain,
    "sees_loop": sees_loop,
    "env_name": env_name,
    "autoescaping": autoescaping,
    "stops": stops,
    "callable": Callable(),
    "context_callable": ContextCallable(),
    "builtin_len": len,
    "who": "me",
}

CASES = [
    pytest.param("{{ d.name }}", id="dict key by attribute"),
    pytest.param("{{ d.missing }}|{{ d.missing is defined }}", id="missing key"),
    pytest.param("{{ d.items()|list|length }}", id="dict method wins over key"),
    pytest.param("{{ d.keys is callable }}", id="dict method name"),
    pytest.param("{{ d.__class__.__name__ }}", id="dunder attribute"),
    pytest.param("{{ d[2] }}{{ d['name'] }}", id="subscript"),
    pytest.param("{{ row.name }}|{{ row.other }}", id="dict subclass attribute"),
    pytest.param("{{ obj.plain(1) }}", id="bound method"),
    pytest.param("{% set who = 'set' %}{{ obj.with_context() }}", id="marked method"),
    pytest.param("{{ plain() }}{{ plain(2, k=3) }}", id="plain function"),
    pytest.param(
        "{% for item in [1, 2] %}{{ sees_loop() }}{{ plain(item) }}{% endfor %}",
        id="loop vars reach a context function",
    ),
    pytest.param(
        "{% for x in 'ab' %}{{ loop.cycle('o', 'e') }}{% endfor %}", id="loop.cycle"
    ),
    pytest.param("{{ env_name() }}", id="environment function"),
    pytest.param("{{ autoescaping() }}", id="eval context function"),
    pytest.param("[{{ stops() }}]", id="StopIteration becomes undefined"),
    pytest.param("{{ callable(1) }}", id="callable object"),
    pytest.param("{{ context_callable(1) }}", id="callable object taking context"),
    pytest.param("{{ builtin_len('abc') }}", id="builtin"),
    pytest.param(
        "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{{ m(x=2) }}", id="macro"
    ),
    pytest.param("{{ d.name.missing.deeper }}", id="chained undefined"),
]


def stock_environment(undefined: type[jinja2.Undefined]) -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=undefined)
    env.globals.update(GLOBALS)
    return env


def outcome(env: t.Any, source: str, **context: t.Any) -> tuple[str, str]:
    try:
        return "ok", env.from_string(source).render(**context)
    except Exception as e:  # the error itself is part of the behaviour
        return type(e).__name__, str(e)


@pytest.mark.parametrize("undefined", [jinja2.Undefined, jinja2.StrictUndefined])
@pytest.mark.parametrize("source", CASES)
def test_app_environment_renders_like_stock_jinja(
    app: gateway.App, source: str, undefined: type[jinja2.Undefined]
) -> None:
    app.jinja_env.undefined = undefined
    app.jinja_env.globals.update(GLOBALS)
    assert outcome(app.jinja_env, source) == outcome(
        stock_environment(undefined), source
    )


def test_templates_get_the_app_context_class(app: gateway.App) -> None:
    template = app.jinja_env.from_string("{{ x }}")
    assert type(template.new_context({"x": 1})) is Context


def test_url_for_and_dict_rows_in_a_rendered_page(app: gateway.App) -> None:
    @app.route("/item/<int:n>")
    def item(n: int) -> str:
        return ""

    rows = [{"n": 1, "title": "one"}, {"n": 2, "title": "<two>"}]
    source = (
        "{% for r in rows %}<a href='{{ url_for('item', n=r.n) }}'>"
        "{{ r.title }}</a>{% endfor %}"
    )
    with app.test_request_context():
        assert gateway.render_template_string(source, rows=rows) == (
            "<a href='/item/1'>one</a><a href='/item/2'>&lt;two&gt;</a>"
        )
