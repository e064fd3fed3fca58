"""gateway.routing.Map: Werkzeug's map with a compact state machine, shared
method and argument sets, and converters shared within a map. Every outcome
of matching must be Werkzeug's, compared here over a table of rules, maps and
requests."""

from __future__ import annotations

import itertools
import typing as t

import pytest
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter, RequestRedirect
from werkzeug.routing import Map as WerkzeugMap
from werkzeug.routing import Rule as WerkzeugRule

from gateway import routing
from gateway.routing import _NO_TRANSITIONS, Map, RequestAdapter, Rule, _State

# (rule string, options) of the path rules: static, converters of every kind,
# methods, websocket, redirects, defaults (aliases), slashes.
PATH_RULES: list[tuple[str, dict[str, t.Any]]] = [
    ("/", {}),
    ("/about", {}),
    ("/about/team/", {}),
    ("/users/<int:uid>", {}),
    ("/users/<int:uid>/edit", {"methods": ["GET", "POST"]}),
    ("/users/<name>", {}),
    ("/users/<int(signed=True):uid>/signed", {}),
    ("/users/<int(min=3):uid>/min", {}),
    ("/files/<path:p>", {}),
    ("/files/<path:p>/raw", {}),
    ("/n/<int:x>/<float:y>", {}),
    ("/pick/<any(red, green):colour>", {}),
    ("/id/<uuid:u>", {}),
    ("/x/<int:a>.<ext>", {}),
    ("/form", {"methods": ["POST"]}),
    ("/form", {"methods": ["GET"], "endpoint": "form-page"}),
    ("/put-only", {"methods": ["PUT", "DELETE"]}),
    ("/ws", {"websocket": True, "methods": ["GET"]}),
    ("/ws-or-page", {"websocket": True, "methods": ["GET"]}),
    ("/ws-or-page", {"endpoint": "page-not-ws"}),
    ("/old", {"redirect_to": "/new"}),
    ("/old/<int:n>", {"redirect_to": "/new/<n>"}),
    ("/page/", {"defaults": {"n": 1}}),
    ("/page/<int:n>/", {}),
    ("/loose/", {"strict_slashes": False}),
    ("/strict/", {"strict_slashes": True}),
    ("/keep//slashes", {"merge_slashes": False}),
    ("/lang/<lang>/<path:rest>", {}),
    ("/<slug>/tail", {}),
    # One endpoint, two static rules with equal defaults: with
    # redirect_defaults the second redirects to the first.
    ("/first", {"defaults": {"x": 1}, "endpoint": "twin"}),
    ("/second", {"defaults": {"x": 1}, "endpoint": "twin"}),
    ("/anything", {"methods": None}),
]

PATHS = [
    "/",
    "//",
    "/about",
    "/about/",
    "//about",
    "/about/team",
    "/about/team/",
    "/about//team/",
    "/users/1",
    "/users/01",
    "/users/-1",
    "/users/-1/signed",
    "/users/1/signed",
    "/users/2/min",
    "/users/3/min",
    "/users/abc",
    "/users/1/",
    "/users//1",
    "/users/1/edit",
    "/files/a",
    "/files/a/b/c",
    "/files/a/b/raw",
    "/files/",
    "/n/1/2.5",
    "/n/1/2",
    "/pick/red",
    "/pick/blue",
    "/id/c7f3a2d0-6f6a-4c4e-8a3e-1c2b3d4e5f60",
    "/id/not-a-uuid",
    "/x/3.json",
    "/x/3.",
    "/form",
    "/put-only",
    "/ws",
    "/ws-or-page",
    "/old",
    "/old/5",
    "/page",
    "/page/",
    "/page/1/",
    "/page/2",
    "/loose",
    "/loose/",
    "/strict",
    "/keep//slashes",
    "/keep/slashes",
    "/lang/en/a/b",
    "/lang/en/",
    "/word/tail",
    "/word/tail/",
    "/nope",
    "/first",
    "/second",
    "/anything",
]

METHODS = ["GET", "POST", "PUT", "OPTIONS"]


def outcome(adapter: t.Any, path: str, method: str, websocket: bool) -> object:
    """What matching gives: (endpoint, values) or the exception and what it
    carries (redirect target, allowed methods)."""
    adapter.websocket = websocket
    return result_of(lambda: adapter.match(path, method, return_rule=True))


def bound_outcome(url_map: t.Any, path: str, method: str, websocket: bool) -> object:
    """What matching a request gives, the way an app matches one: the map
    bound to the request's path and method, ``match()`` without arguments
    (for gateway's map, through :class:`RequestAdapter`)."""
    scheme = "ws" if websocket else "http"
    if isinstance(url_map, Map):
        subdomain = url_map.default_subdomain or ""
        adapter: t.Any = RequestAdapter(
            url_map, "example.com", "/", subdomain, scheme, path, method
        )
    else:
        adapter = url_map.bind(
            "example.com", path_info=path, default_method=method, url_scheme=scheme
        )
    return result_of(lambda: adapter.match(return_rule=True))


def result_of(match: t.Callable[[], t.Any]) -> object:
    try:
        rule, values = match()
    except RequestRedirect as e:
        return ("redirect", e.new_url)
    except MethodNotAllowed as e:
        return ("405", e.valid_methods)
    except HTTPException as e:
        return (type(e).__name__, e.code)
    return (rule.endpoint, rule.rule, values)


def make_maps(
    rules: list[tuple[str, dict[str, t.Any]]],
    methods: list[str] | None = None,
    **map_options: t.Any,
) -> tuple[Map, WerkzeugMap]:
    """Our map and Werkzeug's of the same rules; ``methods`` for the rules
    that name none."""

    def make(map_class: type, rule_class: type) -> t.Any:
        return map_class(
            [
                rule_class(
                    string, **{"endpoint": string, "methods": methods, **options}
                )
                for string, options in rules
            ],
            **map_options,
        )

    return make(Map, Rule), make(WerkzeugMap, WerkzeugRule)


@pytest.mark.parametrize(
    "map_options",
    [
        {},
        {"strict_slashes": False},
        {"merge_slashes": False},
        {"redirect_defaults": False},
    ],
    ids=["default", "loose slashes", "no merge", "no alias redirects"],
)
@pytest.mark.parametrize(
    "methods",
    [None, ["GET", "POST"]],
    ids=["any method", "methods as Flask sets them"],
)
def test_paths_match_as_in_werkzeug(
    map_options: dict[str, t.Any], methods: list[str] | None
) -> None:
    ours, theirs = make_maps(PATH_RULES, methods, **map_options)
    a = ours.bind("example.com")
    b = theirs.bind("example.com")
    compared = 0
    # Twice: the first pass fills the memo of static matches, the second
    # answers from it.
    for _ in range(2):
        for path, method, websocket in itertools.product(PATHS, METHODS, (False, True)):
            expected = outcome(b, path, method, websocket)
            assert outcome(a, path, method, websocket) == expected, (path, method)
            expected = bound_outcome(theirs, path, method, websocket)
            assert bound_outcome(ours, path, method, websocket) == expected, (
                path,
                method,
            )
            compared += 1
    assert compared == 2 * len(PATHS) * len(METHODS) * 2
    assert ours._matcher._static_matches, "static matches are remembered"


def test_subdomains_match_as_in_werkzeug() -> None:
    rules = [
        ("/", {"subdomain": "<tenant>", "endpoint": "tenant"}),
        ("/", {"subdomain": "www", "endpoint": "www"}),
        ("/", {"endpoint": "default"}),
        ("/docs/<path:p>", {"subdomain": "docs"}),
        ("/users/<int:uid>", {"subdomain": "<tenant>"}),
    ]
    ours, theirs = make_maps(rules, default_subdomain="www")
    for subdomain in ("", "www", "acme", "docs"):
        for path in ("/", "/docs/a/b", "/users/3", "/users/x", "/x"):
            a = ours.bind("example.com", subdomain=subdomain)
            b = theirs.bind("example.com", subdomain=subdomain)
            assert outcome(a, path, "GET", False) == outcome(b, path, "GET", False)


def test_hosts_match_as_in_werkzeug() -> None:
    rules = [
        ("/", {"host": "<name>.example.com", "endpoint": "tenant"}),
        ("/", {"host": "example.com", "endpoint": "apex"}),
        ("/static/<path:f>", {"host": "cdn.example.com"}),
        ("/api/<int:v>/", {"host": "api.example.com", "methods": ["POST"]}),
    ]
    ours, theirs = make_maps(rules, host_matching=True)
    for host in ("example.com", "a.example.com", "cdn.example.com", "api.example.com"):
        for path in ("/", "/static/x.css", "/api/1", "/api/1/", "/none"):
            for method in ("GET", "POST"):
                a = ours.bind(host)
                b = theirs.bind(host)
                assert outcome(a, path, method, False) == outcome(
                    b, path, method, False
                )


def test_rules_added_later_and_equal_parts_match_as_in_werkzeug() -> None:
    ours, theirs = make_maps(PATH_RULES[:5])
    a, b = ours.bind("example.com"), theirs.bind("example.com")
    assert outcome(a, "/users/5", "GET", False) == outcome(b, "/users/5", "GET", False)
    # After a first match (the map sorted its dynamic transitions) more rules
    # at the same states: the maps sort again.
    for string, options in PATH_RULES[5:]:
        ours.add(Rule(string, **{"endpoint": string, **options}))
        theirs.add(WerkzeugRule(string, **{"endpoint": string, **options}))
    for path in PATHS:
        assert outcome(a, path, "GET", False) == outcome(b, path, "GET", False)


def test_states_hold_only_what_they_have() -> None:
    ours, _ = make_maps([("/users/<int:uid>", {}), ("/users/<name>", {})])
    root = ours._matcher._root
    assert type(root) is _State
    (domain,) = root.static.values()
    users = domain.static[""].static["users"]
    assert users.static is _NO_TRANSITIONS and users.rules == ()
    # The <int> part sorts before the <string> one, as Werkzeug sorts them.
    assert [type(part.content) for part, _ in users.dynamic] == [str, str]
    assert [state.rules[0].rule for _, state in users.dynamic] == [
        "/users/<int:uid>",
        "/users/<name>",
    ]
    assert len(_NO_TRANSITIONS) == 0


def test_method_sets_iterate_as_werkzeug_built_them() -> None:
    # Allow headers list methods in the order a rule's set iterates; shared
    # sets must not change that order for any rule.
    names = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    for size in range(1, 7):
        for order in itertools.permutations(names, size):
            ours = Rule("/", methods=list(order))
            theirs = WerkzeugRule("/", methods=list(order))
            assert list(ours.methods or ()) == list(theirs.methods or ())
            if len(theirs.methods or ()) <= 4:
                assert type(ours.methods) is frozenset


def test_equal_method_and_argument_sets_are_shared() -> None:
    a = Rule("/a/<int:n>", endpoint="a", methods=["GET"])
    b = Rule("/b/<int:n>", endpoint="b", methods=["GET"])
    Map([a])
    Map([b])
    assert a.methods is b.methods
    assert a.arguments is b.arguments == {"n"}


def test_equal_converters_are_shared_within_a_map_only() -> None:
    class Custom(BaseConverter):
        pass

    url_map = Map(
        [
            Rule("/a/<int:n>", endpoint="a"),
            Rule("/b/<int:n>", endpoint="b"),
            Rule("/c/<int(min=1):n>", endpoint="c"),
            Rule("/d/<custom:n>", endpoint="d"),
            Rule("/e/<custom:n>", endpoint="e"),
        ],
        converters={"custom": Custom},
    )
    other = Map([Rule("/a/<int:n>", endpoint="a")])
    converters = {rule.endpoint: rule._converters["n"] for rule in url_map.iter_rules()}
    assert converters["a"] is converters["b"]
    assert converters["c"] is not converters["a"] and converters["c"].min == 1
    assert converters["d"] is not converters["e"]
    assert next(other.iter_rules())._converters["n"] is not converters["a"]
    adapter = url_map.bind("example.com")
    assert adapter.match("/c/1") == ("c", {"n": 1})
    with pytest.raises(HTTPException):
        adapter.match("/c/0")


def test_rules_share_parts_lists_and_converter_dicts() -> None:
    def make() -> Map:
        return Map(
            [
                Rule("/a/<int:n>", endpoint="a"),
                Rule("/b/<int:n>", endpoint="b"),
                Rule("/c/<n>", endpoint="c"),
            ]
        )

    first, second = make(), make()
    a1, b1, c1 = first.iter_rules()
    a2, _, _ = second.iter_rules()
    assert a1._parts is a2._parts
    assert a1._parts is not b1._parts
    # Within a map: one {"n": IntegerConverter} dict for both int rules.
    assert a1._converters is b1._converters
    assert a1._converters is not c1._converters
    assert a1._converters is not a2._converters
    assert second.bind("x").match("/b/4") == ("b", {"n": 4})


def test_custom_converter_dicts_stay_per_rule() -> None:
    class Custom(BaseConverter):
        pass

    url_map = Map(
        [Rule("/d/<custom:n>", endpoint="d"), Rule("/e/<custom:n>", endpoint="e")],
        converters={"custom": Custom},
    )
    d, e = url_map.iter_rules()
    assert d._converters is not e._converters
    d.refresh()
    assert url_map.bind("x").match("/d/z") == ("d", {"n": "z"})


def test_a_rule_added_after_a_remembered_match_is_matched() -> None:
    url_map = Map([Rule("/x", endpoint="loose", methods=["GET"], strict_slashes=False)])
    adapter = url_map.bind("example.com")
    assert adapter.match("/x/") == ("loose", {})
    assert adapter.match("/x/") == ("loose", {})
    url_map.add(Rule("/x/", endpoint="exact", methods=["GET"]))
    assert adapter.match("/x/") == ("exact", {})
    assert bound_outcome(url_map, "/x/", "GET", False) == ("exact", "/x/", {})


def test_each_match_of_a_remembered_rule_gets_its_own_values() -> None:
    url_map = Map([Rule("/page", endpoint="page", methods=["GET"], defaults={"n": 1})])
    for _ in range(3):
        _, values = RequestAdapter(
            url_map, "example.com", "/", "", "http", "/page", "GET"
        ).match(return_rule=True)
        assert values == {"n": 1}
        values["n"] = 2  # a view or url_value_preprocessor changing its copy


def test_memo_of_static_matches_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    url_map = Map(
        [
            Rule("/any", endpoint="any"),  # every method: never remembered
            *(Rule(f"/r{i}", endpoint=f"r{i}", methods=["GET"]) for i in range(50)),
        ]
    )
    adapter = url_map.bind("example.com")
    for i in range(100):
        assert adapter.match("/any", f"M{i}") == ("any", {})
    assert not url_map._matcher._static_matches
    monkeypatch.setattr(routing, "STATIC_MATCHES_KEPT", 10)
    for _ in range(2):
        for i in range(50):
            assert adapter.match(f"/r{i}", "GET") == (f"r{i}", {})
            assert 0 < len(url_map._matcher._static_matches) <= 10
