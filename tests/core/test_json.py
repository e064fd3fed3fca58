"""JSON: the provider (app.json), gateway.json helpers, jsonify and tojson."""

from __future__ import annotations

import dataclasses
import decimal
import io
import json as stdlib_json
import typing as t
import uuid
from datetime import UTC, date, datetime

import pytest
from markupsafe import Markup
from werkzeug.wrappers import Response as WerkzeugResponse

import gateway
import gateway.json
from gateway.json.provider import DefaultJSONProvider, JSONProvider


class StandInApp:
    """The two attributes a provider uses, without a real application."""

    response_class = WerkzeugResponse

    def __init__(self, debug: bool = False) -> None:
        self.debug = debug


@pytest.fixture
def stand_in() -> StandInApp:
    return StandInApp()


@pytest.fixture
def provider(stand_in: StandInApp) -> DefaultJSONProvider:
    return DefaultJSONProvider(stand_in)  # type: ignore[arg-type]


@dataclasses.dataclass
class Item:
    name: str
    tags: list[str]


class Html:
    def __html__(self) -> str:
        return "<em>hi</em>"


DEFAULTS = [
    pytest.param(date(2024, 1, 2), '"Tue, 02 Jan 2024 00:00:00 GMT"', id="date"),
    pytest.param(
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        '"Tue, 02 Jan 2024 03:04:05 GMT"',
        id="aware-datetime",
    ),
    pytest.param(
        datetime(2024, 1, 2, 3, 4, 5),
        '"Tue, 02 Jan 2024 03:04:05 GMT"',
        id="naive-datetime-is-utc",
    ),
    pytest.param(decimal.Decimal("0.1"), '"0.1"', id="decimal"),
    pytest.param(
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        '"12345678-1234-5678-1234-567812345678"',
        id="uuid",
    ),
    pytest.param(Item("a", ["x"]), '{"name": "a", "tags": ["x"]}', id="dataclass"),
    pytest.param(Markup("<b>"), '"<b>"', id="markup"),
    pytest.param(Html(), '"<em>hi</em>"', id="html-protocol"),
]


@pytest.mark.parametrize(("value", "expected"), DEFAULTS)
def test_provider_serializes_extra_types(
    provider: DefaultJSONProvider, value: t.Any, expected: str
) -> None:
    assert provider.dumps(value) == expected


@pytest.mark.parametrize(("value", "expected"), DEFAULTS)
def test_module_dumps_outside_app_knows_the_same_types(
    value: t.Any, expected: str
) -> None:
    assert gateway.json.dumps(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(object(), id="object"),
        pytest.param(Item, id="dataclass-type-not-instance"),
        pytest.param({1, 2}, id="set"),
    ],
)
def test_unknown_types_raise_type_error_naming_the_type(
    provider: DefaultJSONProvider, value: t.Any
) -> None:
    with pytest.raises(TypeError, match=f"{type(value).__name__} is not JSON"):
        provider.dumps(value)


def test_defaults_sort_keys_and_escape_non_ascii(provider: DefaultJSONProvider) -> None:
    assert provider.dumps({"b": 1, "a": "é"}) == '{"a": "\\u00e9", "b": 1}'


def test_changing_options_on_the_instance_takes_effect(
    provider: DefaultJSONProvider,
) -> None:
    data = {"b": 1, "a": "é"}
    assert provider.dumps(data) == '{"a": "\\u00e9", "b": 1}'
    provider.sort_keys = False
    provider.ensure_ascii = False
    assert provider.dumps(data) == '{"b": 1, "a": "é"}'
    provider.default = lambda o: "custom"  # type: ignore[method-assign]
    assert provider.dumps([object()]) == '["custom"]'


def test_keyword_arguments_override_the_attributes(
    provider: DefaultJSONProvider,
) -> None:
    data = {"b": 1, "a": [1]}
    assert provider.dumps(data, sort_keys=False) == '{"b": 1, "a": [1]}'
    assert provider.dumps(data, indent=1) == '{\n "a": [\n  1\n ],\n "b": 1\n}'
    assert provider.dumps(data, separators=(",", ":")) == '{"a":[1],"b":1}'
    assert provider.dumps(object(), default=lambda o: 7) == "7"


def test_loads_accepts_text_and_utf8_bytes(provider: DefaultJSONProvider) -> None:
    assert provider.loads('{"a": "é"}') == {"a": "é"}
    assert provider.loads('{"a": "é"}'.encode()) == {"a": "é"}


def test_dump_and_load_use_files(provider: DefaultJSONProvider) -> None:
    out = io.StringIO()
    provider.dump({"when": date(2020, 5, 6)}, out)
    assert out.getvalue() == '{"when": "Wed, 06 May 2020 00:00:00 GMT"}'
    assert provider.load(io.StringIO('[1, "x"]')) == [1, "x"]
    assert provider.load(io.BytesIO(b'{"x": null}')) == {"x": None}


RESPONSE_ARGS = [
    pytest.param((), {}, None, id="nothing-is-null"),
    pytest.param((1,), {}, 1, id="one-arg-as-is"),
    pytest.param(([1, 2],), {}, [1, 2], id="one-list"),
    pytest.param((1, "two"), {}, [1, "two"], id="several-args-list"),
    pytest.param((), {"a": 1, "b": [2]}, {"a": 1, "b": [2]}, id="kwargs-object"),
]


@pytest.mark.parametrize(("args", "kwargs", "expected"), RESPONSE_ARGS)
def test_response_serializes_args_or_kwargs(
    provider: DefaultJSONProvider,
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
    expected: t.Any,
) -> None:
    rv = provider.response(*args, **kwargs)
    assert rv.mimetype == "application/json"
    assert stdlib_json.loads(rv.get_data(as_text=True)) == expected


def test_response_rejects_args_and_kwargs_together(
    provider: DefaultJSONProvider,
) -> None:
    with pytest.raises(TypeError, match="either args or kwargs, not both"):
        provider.response(1, a=2)


@pytest.mark.parametrize(
    ("compact", "debug", "body"),
    [
        pytest.param(None, False, '{"a":[1,2]}\n', id="default-compact"),
        pytest.param(None, True, '{\n  "a": [\n    1,\n    2\n  ]\n}\n', id="debug"),
        pytest.param(True, True, '{"a":[1,2]}\n', id="forced-compact-in-debug"),
        pytest.param(False, False, '{\n  "a": [\n    1,\n    2\n  ]\n}\n', id="pretty"),
    ],
)
def test_response_layout_follows_compact_and_debug(
    compact: bool | None, debug: bool, body: str
) -> None:
    stand_in = StandInApp(debug=debug)  # the provider only holds a weak proxy
    provider = DefaultJSONProvider(stand_in)  # type: ignore[arg-type]
    provider.compact = compact
    assert provider.response(a=[1, 2]).get_data(as_text=True) == body


def test_response_uses_the_mimetype_attribute(provider: DefaultJSONProvider) -> None:
    provider.mimetype = "application/vnd.api+json"
    assert provider.response([]).mimetype == "application/vnd.api+json"


def test_base_provider_needs_dumps_and_loads(stand_in: StandInApp) -> None:
    base = JSONProvider(stand_in)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        base.dumps(1)
    with pytest.raises(NotImplementedError):
        base.loads("1")


def test_base_provider_builds_file_and_response_helpers_on_dumps_loads(
    stand_in: StandInApp,
) -> None:
    class Reversing(JSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return stdlib_json.dumps(obj)[::-1]

        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return stdlib_json.loads(s[::-1])

    p = Reversing(stand_in)  # type: ignore[arg-type]
    out = io.StringIO()
    p.dump([1, 2], out)
    assert out.getvalue() == "]2 ,1["
    assert p.load(io.StringIO("]2 ,1[")) == [1, 2]
    rv = p.response("ab")
    assert rv.mimetype == "application/json"
    assert rv.get_data(as_text=True) == '"ba"'


def test_provider_does_not_keep_the_app_alive() -> None:
    import gc
    import weakref

    app = StandInApp()
    provider = DefaultJSONProvider(app)  # type: ignore[arg-type]
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None
    with pytest.raises(ReferenceError):
        provider.response(1)


# -- through an application -------------------------------------------------


def test_app_json_is_a_default_provider_bound_to_the_app(app: gateway.App) -> None:
    assert isinstance(app.json, DefaultJSONProvider)
    with app.app_context():
        rv = gateway.jsonify(1)
    assert isinstance(rv, app.response_class)


@pytest.mark.parametrize(
    ("view_rv", "expected"),
    [
        pytest.param(lambda: gateway.jsonify(), None, id="jsonify-empty"),
        pytest.param(lambda: gateway.jsonify(1, 2), [1, 2], id="jsonify-args"),
        pytest.param(lambda: gateway.jsonify(a=1), {"a": 1}, id="jsonify-kwargs"),
        pytest.param(lambda: gateway.jsonify([{"a": 1}]), [{"a": 1}], id="jsonify-one"),
        pytest.param(
            lambda: {"d": date(2020, 1, 1)},
            {"d": "Wed, 01 Jan 2020 00:00:00 GMT"},
            id="return-dict",
        ),
        pytest.param(
            lambda: [uuid.UUID(int=1)],
            ["00000000-0000-0000-0000-000000000001"],
            id="return-list",
        ),
    ],
)
def test_json_responses_from_views(
    app: gateway.App, client: t.Any, view_rv: t.Callable[[], t.Any], expected: t.Any
) -> None:
    app.add_url_rule("/", "index", view_rv)
    rv = client.get("/")
    assert rv.status_code == 200
    assert rv.mimetype == "application/json"
    assert rv.get_data(as_text=True).endswith("\n")
    assert rv.json == expected


def test_debug_mode_pretty_prints_responses(app: gateway.App, client: t.Any) -> None:
    app.debug = True

    @app.route("/")
    def index() -> t.Any:
        return gateway.jsonify(a=1, b=[2])

    assert (
        client.get("/").get_data(as_text=True)
        == '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}\n'
    )


def test_custom_provider_class_is_used_everywhere(
    app: gateway.App, client: t.Any
) -> None:
    class Upper(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return super().dumps(obj, **kwargs).upper()

        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return {"parsed by": "Upper", "data": super().loads(s, **kwargs)}

    class UpperApp(gateway.App):
        json_provider_class = Upper

    app2 = UpperApp(__name__)

    @app2.post("/")
    def index() -> t.Any:
        return gateway.jsonify(got=gateway.request.get_json())

    rv = app2.test_client().post("/", json={"x": "y"})
    assert (
        rv.get_data(as_text=True) == '{"GOT":{"DATA":{"X":"Y"},"PARSED BY":"UPPER"}}\n'
    )

    with app2.app_context():
        assert gateway.json.dumps({"k": "v"}) == '{"K": "V"}'
        assert gateway.json.loads("[1]") == {"parsed by": "Upper", "data": [1]}
        out = io.StringIO()
        gateway.json.dump("a", out)
        assert out.getvalue() == '"A"'
        assert gateway.json.load(io.StringIO("2")) == {"parsed by": "Upper", "data": 2}


def test_module_helpers_follow_the_app_options(app: gateway.App) -> None:
    data = {"b": "é", "a": 1}
    assert gateway.json.dumps(data) == '{"b": "\\u00e9", "a": 1}'  # stdlib order
    with app.app_context():
        assert gateway.json.dumps(data) == '{"a": 1, "b": "\\u00e9"}'
        app.json.ensure_ascii = False
        app.json.sort_keys = False
        assert gateway.json.dumps(data) == '{"b": "é", "a": 1}'


def test_module_load_outside_app_uses_stdlib() -> None:
    out = io.StringIO()
    gateway.json.dump({"u": uuid.UUID(int=2)}, out)
    assert gateway.json.load(io.StringIO(out.getvalue())) == {
        "u": "00000000-0000-0000-0000-000000000002"
    }
    assert gateway.json.loads(b'"x"') == "x"


def test_jsonify_needs_an_application_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        gateway.jsonify(1)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("</script><script>alert(1)</script>", id="script-close"),
        pytest.param("' onmouseover='alert(1)", id="single-quote"),
        pytest.param("<!-- & -->", id="comment-and-ampersand"),
    ],
)
def test_tojson_is_safe_in_script_and_attributes(
    app: gateway.App, client: t.Any, payload: str
) -> None:
    @app.route("/")
    def index() -> str:
        return gateway.render_template_string(
            "<script>var x = {{ x|tojson }};</script><a data-x='{{ x|tojson }}'></a>",
            x={"v": payload},
        )

    body = client.get("/").get_data(as_text=True)
    inner = body.split("<script>", 1)[1].split("</script>", 1)[0]
    for char in "<>&'":
        assert char not in inner.replace("<script>", "")
        assert char not in body.split("data-x='", 1)[1].split("'></a>", 1)[0]
    encoded = inner[len("var x = ") : -1]
    assert stdlib_json.loads(encoded) == {"v": payload}


def test_tojson_goes_through_the_app_provider(app: gateway.App) -> None:
    # Dates are not JSON for the stdlib; the provider's default() handles them,
    # and its options apply (Jinja's policy keeps sort_keys on).
    app.json.ensure_ascii = False
    with app.test_request_context():
        rv = gateway.render_template_string(
            "{{ d|tojson }}", d={"b": "é", "a": date(2020, 1, 1)}
        )
    assert rv == '{"a": "Wed, 01 Jan 2020 00:00:00 GMT", "b": "é"}'


def test_get_json_rejects_malformed_body_with_400(
    app: gateway.App, client: t.Any
) -> None:
    @app.post("/")
    def index() -> t.Any:
        return gateway.jsonify(gateway.request.get_json())

    rv = client.post("/", data="{not json", content_type="application/json")
    assert rv.status_code == 400
    assert client.post("/", json={"ok": [1]}).json == {"ok": [1]}
