"""Nested blueprints: dotted endpoints, combined prefixes and subdomains,
hooks and error handlers inherited from the parents."""

from __future__ import annotations

import pytest

import gateway


@pytest.fixture
def nested(app):
    parent = gateway.Blueprint("parent", __name__, url_prefix="/parent")
    child = gateway.Blueprint("child", __name__, url_prefix="/child")
    grandchild = gateway.Blueprint("grandchild", __name__, url_prefix="/grandchild")

    def describe():
        req = gateway.request
        return {
            "endpoint": req.endpoint,
            "blueprint": req.blueprint,
            "blueprints": req.blueprints,
            "relative": gateway.url_for(".index"),
        }

    for bp in (parent, child, grandchild):
        bp.add_url_rule("/", "index", describe)

    child.register_blueprint(grandchild)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    return app


@pytest.mark.parametrize(
    ("url", "endpoint", "blueprints"),
    [
        pytest.param("/parent/", "parent.index", ["parent"], id="parent"),
        pytest.param(
            "/parent/child/",
            "parent.child.index",
            ["parent.child", "parent"],
            id="child",
        ),
        pytest.param(
            "/parent/child/grandchild/",
            "parent.child.grandchild.index",
            ["parent.child.grandchild", "parent.child", "parent"],
            id="grandchild",
        ),
    ],
)
def test_nested_blueprints_have_dotted_endpoints_and_combined_prefixes(
    nested, url, endpoint, blueprints
):
    data = nested.test_client().get(url).json
    assert data == {
        "endpoint": endpoint,
        "blueprint": blueprints[0],
        "blueprints": blueprints,
        "relative": url,
    }


def test_nested_blueprint_names_are_registered_dotted(nested):
    assert set(nested.blueprints) == {
        "parent",
        "parent.child",
        "parent.child.grandchild",
    }
    with nested.test_request_context():
        assert gateway.url_for("parent.child.grandchild.index") == (
            "/parent/child/grandchild/"
        )


@pytest.mark.parametrize(
    ("parent_prefix", "child_prefix", "register_prefix", "url"),
    [
        pytest.param("/p", "/c", None, "/p/c/x", id="both"),
        pytest.param("/p/", "/c/", None, "/p/c/x", id="trailing-slashes"),
        pytest.param("/p", None, None, "/p/x", id="child-without-prefix"),
        pytest.param(None, "/c", None, "/c/x", id="parent-without-prefix"),
        pytest.param("/p", "/c", "/given", "/p/given/x", id="registration-prefix"),
    ],
)
def test_nested_prefix_combinations(
    app, client, parent_prefix, child_prefix, register_prefix, url
):
    parent = gateway.Blueprint("parent", __name__, url_prefix=parent_prefix)
    child = gateway.Blueprint("child", __name__, url_prefix=child_prefix)
    child.add_url_rule("/x", "x", lambda: "x")
    options = {} if register_prefix is None else {"url_prefix": register_prefix}
    parent.register_blueprint(child, **options)
    app.register_blueprint(parent)

    assert client.get(url).data == b"x"


def test_nested_subdomains_combine():
    app = gateway.App("sub", subdomain_matching=True, static_folder=None)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    parent = gateway.Blueprint("parent", __name__, subdomain="api")
    child = gateway.Blueprint("child", __name__, subdomain="v1")
    child.add_url_rule("/", "index", lambda: gateway.request.host)
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    client = app.test_client()
    assert client.get("http://v1.api.example.test/").data == b"v1.api.example.test"
    with app.app_context():
        assert gateway.url_for("parent.child.index") == "http://v1.api.example.test/"


def test_parent_hooks_run_for_child_routes(app, client):
    calls = []
    parent = gateway.Blueprint("parent", __name__, url_prefix="/p")
    child = gateway.Blueprint("child", __name__, url_prefix="/c")

    app.before_request(lambda: calls.append("app before"))
    parent.before_request(lambda: calls.append("parent before"))
    child.before_request(lambda: calls.append("child before"))

    def after(name):
        def hook(response):
            calls.append(name)
            return response

        return hook

    app.after_request(after("app after"))
    parent.after_request(after("parent after"))
    child.after_request(after("child after"))
    parent.teardown_request(lambda e: calls.append("parent teardown"))
    child.teardown_request(lambda e: calls.append("child teardown"))

    child.add_url_rule("/", "index", lambda: calls.append("view") or "ok")
    parent.add_url_rule("/", "index", lambda: "parent only")
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    client.get("/p/c/")
    assert calls == [
        "app before",
        "parent before",
        "child before",
        "view",
        "child after",
        "parent after",
        "app after",
        "child teardown",
        "parent teardown",
    ]
    calls.clear()
    client.get("/p/")
    assert calls == [
        "app before",
        "parent before",
        "parent after",
        "app after",
        "parent teardown",
    ]


def test_nested_error_handlers_fall_back_to_parents_then_app(app, client):
    parent = gateway.Blueprint("parent", __name__, url_prefix="/p")
    child = gateway.Blueprint("child", __name__, url_prefix="/c")

    parent.register_error_handler(403, lambda e: ("parent 403", 403))
    child.register_error_handler(404, lambda e: ("child 404", 404))
    app.register_error_handler(410, lambda e: ("app 410", 410))

    child.add_url_rule("/403", "f403", lambda: gateway.abort(403))
    child.add_url_rule("/404", "f404", lambda: gateway.abort(404))
    child.add_url_rule("/410", "f410", lambda: gateway.abort(410))
    parent.add_url_rule("/404", "f404", lambda: gateway.abort(404))
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    assert client.get("/p/c/403").data == b"parent 403"
    assert client.get("/p/c/404").data == b"child 404"
    assert client.get("/p/c/410").data == b"app 410"
    assert client.get("/p/404").status_code == 404
    assert client.get("/p/404").data != b"child 404"


def test_nested_url_processors_from_parent_prefix(app, client):
    parent = gateway.Blueprint("parent", __name__, url_prefix="/<lang_code>")
    child = gateway.Blueprint("child", __name__, url_prefix="/docs")

    @parent.url_value_preprocessor
    def pull(endpoint, values):
        gateway.g.lang_code = values.pop("lang_code")

    @parent.url_defaults
    def push(endpoint, values):
        values.setdefault("lang_code", gateway.g.lang_code)

    @child.route("/<page>")
    def page(page):
        return f"{gateway.g.lang_code}:{page} {gateway.url_for('.page', page='next')}"

    parent.register_blueprint(child)
    app.register_blueprint(parent)

    assert client.get("/fr/docs/intro").data == b"fr:intro /fr/docs/next"


def test_same_child_under_two_parents(app, client):
    child = gateway.Blueprint("child", __name__)
    child.add_url_rule("/", "index", lambda: gateway.request.blueprint)
    one = gateway.Blueprint("one", __name__, url_prefix="/one")
    two = gateway.Blueprint("two", __name__, url_prefix="/two")
    one.register_blueprint(child, url_prefix="/c")
    two.register_blueprint(child, url_prefix="/c")
    app.register_blueprint(one)
    app.register_blueprint(two)

    assert client.get("/one/c/").data == b"one.child"
    assert client.get("/two/c/").data == b"two.child"


def test_nested_child_registered_with_name_override(app, client):
    child = gateway.Blueprint("child", __name__)
    child.add_url_rule("/", "index", lambda: gateway.request.endpoint)
    parent = gateway.Blueprint("parent", __name__, url_prefix="/p")
    parent.register_blueprint(child, name="kid", url_prefix="/kid")
    app.register_blueprint(parent)

    assert client.get("/p/kid/").data == b"parent.kid.index"


def test_blueprint_cannot_register_itself():
    bp = gateway.Blueprint("loop", __name__)
    with pytest.raises(ValueError, match="itself"):
        bp.register_blueprint(bp)
