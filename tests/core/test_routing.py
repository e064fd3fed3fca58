"""gateway.routing.Rule: Werkzeug's rule with lazily compiled URL builders and
parsed parts shared between equal rules of different apps."""

from __future__ import annotations

import gc
from urllib.parse import unquote

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.routing import Rule as WerkzeugRule

from gateway import App
from gateway.routing import Rule, _interned_parts

RULES = [
    pytest.param("/", {}, id="root"),
    pytest.param("/static/<path:filename>", {"filename": "css/a b.css"}, id="path"),
    pytest.param("/user/<int:uid>/", {"uid": 42}, id="int with slash"),
    pytest.param("/p/<slug>", {"slug": "é/x?"}, id="quoted"),
    pytest.param("/f/<float:x>", {"x": 1.5}, id="float"),
    pytest.param(
        "/u/<uuid:u>", {"u": "c7f3a2d0-6f6a-4c4e-8a3e-1c2b3d4e5f60"}, id="uuid"
    ),
    pytest.param("/any/<any(a, b):which>", {"which": "b"}, id="any"),
]


def pair(rule: str) -> tuple[Map, Map]:
    ours = Map([Rule(rule, endpoint="e")])
    theirs = Map([WerkzeugRule(rule, endpoint="e")])
    return ours, theirs


@pytest.mark.parametrize(("rule", "values"), RULES)
def test_builds_and_matches_exactly_like_werkzeug(rule: str, values: dict) -> None:
    ours, theirs = pair(rule)
    a = ours.bind("example.com")
    b = theirs.bind("example.com")
    for extra in ({}, {"q": "1 2", "many": ["x", "y"]}):
        built = a.build("e", {**values, **extra})
        assert built == b.build("e", {**values, **extra})
        assert a.build("e", {**values, **extra}, force_external=True) == b.build(
            "e", {**values, **extra}, force_external=True
        )
    path = unquote(a.build("e", values).split("?")[0])
    assert outcome(a, path) == outcome(b, path)


def outcome(adapter, path: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return adapter.match(path)
    except HTTPException as e:
        return type(e)


def test_builders_are_compiled_on_first_build_only() -> None:
    ours, _ = pair("/user/<int:uid>")
    rule = next(ours.iter_rules())
    assert "_lazy_build" not in rule.__dict__
    assert "_lazy_build_unknown" not in rule.__dict__
    adapter = ours.bind("example.com")
    # Map.build appends unknown values as a query string by default.
    assert adapter.build("e", {"uid": 1}) == "/user/1"
    compiled = rule.__dict__["_lazy_build_unknown"]
    assert "_lazy_build" not in rule.__dict__
    assert adapter.build("e", {"uid": 2}, append_unknown=False) == "/user/2"
    assert rule.__dict__["_lazy_build_unknown"] is compiled
    assert "_lazy_build" in rule.__dict__


def test_a_rebound_rule_recompiles_its_builder_with_the_new_map() -> None:
    ours, _ = pair("/user/<int:uid>")
    adapter = ours.bind("example.com")
    assert adapter.build("e", {"uid": 1}) == "/user/1"
    rule = next(ours.iter_rules())
    rule.refresh()
    assert "_lazy_build_unknown" not in rule.__dict__
    assert adapter.build("e", {"uid": 3}) == "/user/3"


def make_app() -> App:
    app = App(__name__, static_folder=None)
    app.add_url_rule("/page/<int:item>", "page", lambda item: str(item))
    app.add_url_rule("/other/<slug>", "other", lambda slug: slug)
    return app


def rule_of(app: App, endpoint: str) -> Rule:
    return next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def test_equal_rules_of_two_apps_share_their_parsed_parts() -> None:
    a, b = make_app(), make_app()
    ra, rb = rule_of(a, "page"), rule_of(b, "page")
    assert ra is not rb
    assert all(x is y for x, y in zip(ra._parts, rb._parts, strict=True))
    assert ra._trace is rb._trace
    other = rule_of(a, "other")
    assert other._trace is not ra._trace
    # Each app still answers and builds with its own rules.
    assert a.test_client().get("/page/7").data == b"7"
    assert b.test_client().get("/other/x").data == b"x"
    with b.test_request_context():
        assert b.url_for("page", item=3) == "/page/3"


def test_shared_parts_go_away_with_the_last_app_using_them() -> None:
    app = App(__name__, static_folder=None)
    app.add_url_rule("/only-here/<int:n>/unique-rule-text", "x", lambda n: "")
    assert any("unique-rule-text" in key[0] for key in _interned_parts)
    del app
    gc.collect()
    assert not any("unique-rule-text" in key[0] for key in _interned_parts)


def test_endpoints_of_equal_routes_are_one_string() -> None:
    def make() -> App:
        app = App(__name__, static_folder=None)
        app.add_url_rule("/x", "".join(["sec", "tion.view"]), lambda: "")
        return app

    a, b = make(), make()
    assert rule_of(a, "section.view").endpoint is rule_of(b, "section.view").endpoint
    assert next(iter(a.view_functions)) is next(iter(b.view_functions))
