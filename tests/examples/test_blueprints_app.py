"""Drive examples/blueprints_app through the test client.

Each test pins one kind of blueprint registration as the example uses it, so a
regression in blueprints shows up here as a broken page of a real application.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def app(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    for name in [m for m in sys.modules if m.split(".")[0] == "blueprints_app"]:
        monkeypatch.delitem(sys.modules, name)
    from blueprints_app import create_app

    app = create_app({"TESTING": True, "SERVER_NAME": "blueprints.test"})
    yield app
    for name in [m for m in sys.modules if m.split(".")[0] == "blueprints_app"]:
        del sys.modules[name]


@pytest.fixture
def client(app):
    return app.test_client()


def _login(client, username):
    return client.post("/accounts/login", data={"username": username})


def test_every_blueprint_is_registered(app):
    assert set(app.blueprints) == {
        "site",
        "accounts",
        "blog",
        "api",
        "api.v1",
        "api.v2",
        "admin",
        "moderation",
        "status",
    }


def test_home_page_uses_app_wide_template_helpers(client):
    rv = client.get("/")
    text = rv.get_data(as_text=True)
    assert rv.status_code == 200
    assert "<title>Blueprints Example</title>" in text  # app_template_global
    assert "HOME!" in text  # app_template_filter
    assert 'href="/en/blog/"' in text  # app_context_processor + template test
    assert 'href="/fr/blog/"' in text
    assert rv.headers["X-Served-By"] == "blueprints-app"  # after_app_request


def test_add_url_rule_view(client):
    assert "About Blueprints Example" in client.get("/about").get_data(as_text=True)


def test_app_errorhandler_from_blueprint_handles_unknown_urls(client):
    rv = client.get("/no/such/page")
    assert rv.status_code == 404
    assert "Nothing at /no/such/page" in rv.get_data(as_text=True)
    assert rv.headers["X-Served-By"] == "blueprints-app"


def test_teardown_app_request_runs_for_every_request(app, client):
    client.get("/")
    client.get("/about")
    client.get("/missing")
    assert app.extensions["blueprints_app"]["requests"] == 3


def test_login_flow_with_method_shortcuts_and_scoped_hooks(client):
    assert client.get("/accounts/profile").status_code == 401
    assert client.get("/accounts/profile").data == b"Please log in first."

    rv = _login(client, "ann")
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/accounts/profile"

    rv = client.get("/accounts/profile")
    assert rv.get_data(as_text=True) == "P ann  welcome accounts"
    assert rv.headers["Cache-Control"] == "private, no-store"  # after_request
    assert "Cache-Control" not in client.get("/about").headers


def test_blueprint_template_test_and_empty_login(client):
    _login(client, "admin")
    assert client.get("/accounts/profile").get_data(as_text=True) == (
        "P admin (admin) welcome accounts"
    )
    assert client.post("/accounts/login", data={"username": " "}).status_code == 401
    assert client.post("/accounts/login", data={}).status_code == 400


def test_logout_clears_the_session(client):
    _login(client, "ann")
    assert client.post("/accounts/logout").headers["Location"] == "/"
    assert client.get("/accounts/profile").status_code == 401


def test_blueprint_scoped_error_handler_does_not_leak(client):
    # accounts' 401 handler is not used for 401s elsewhere (none are raised
    # elsewhere), and the app-wide 404 handler still covers its unknown URLs.
    rv = client.get("/accounts/unknown")
    assert rv.status_code == 404
    assert "Nothing at /accounts/unknown" in rv.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        pytest.param("/en/blog/", 200, "The Blueprints Blog [en]", id="index-en"),
        pytest.param("/fr/blog/", 200, "The Blueprints Blog [fr]", id="index-fr"),
        pytest.param("/fr/blog/hello", 200, "Bonjour, blueprints !", id="post-fr"),
        pytest.param(
            "/en/blog/nested", 200, "Blueprints inside blueprints.", id="post-en"
        ),
        pytest.param(
            "/fr/blog/nested", 404, "No post called nested", id="untranslated"
        ),
        pytest.param("/en/blog/ghost", 404, "No post called ghost", id="missing-post"),
        pytest.param("/de/blog/", 404, "Nothing at /de/blog/", id="unsupported-lang"),
    ],
)
def test_blog_pages(client, url, status, fragment):
    rv = client.get(url)
    assert rv.status_code == status
    assert fragment in rv.get_data(as_text=True)


def test_blog_links_keep_the_language(client):
    text = client.get("/fr/blog/").get_data(as_text=True)
    assert 'href="/fr/blog/hello"' in text
    assert 'href="/fr/blog/assets/blog.css"' in text
    assert 'href="/fr/blog/"' in client.get("/fr/blog/hello").get_data(as_text=True)


def test_blog_static_files(client):
    with client.get("/en/blog/assets/blog.css") as rv:
        assert rv.status_code == 200
        assert b"max-width" in rv.get_data()
    with client.get("/static/site.css") as rv:
        assert b"sans-serif" in rv.get_data()


def test_blog_record_and_record_once(app):
    assert app.config["BLOG_TITLE"] == "The Blueprints Blog"
    assert app.extensions["blog_mounts"] == ["/<lang_code>/blog"]


@pytest.mark.parametrize("version", [1, 2])
def test_nested_api_child_registered_twice(client, version):
    rv = client.get(f"/api/v{version}/items")
    assert rv.json == {
        "version": version,
        "endpoint": f"api.v{version}.list_items",
        "items": [f"/api/v{version}/items/1", f"/api/v{version}/items/2"],
    }
    assert client.get(f"/api/v{version}/items/2").json == {
        "version": version,
        "id": 2,
        "name": "second",
    }
    created = client.post(f"/api/v{version}/items", json={"name": "third"})
    assert created.status_code == 201
    assert created.json == {"version": version, "created": "third"}


def test_api_index_uses_relative_nested_endpoints(client):
    assert client.get("/api/").json == {"versions": ["/api/v1/items", "/api/v2/items"]}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        pytest.param("GET", "/api/v1/items/99", {}, 404, id="missing-item"),
        pytest.param("POST", "/api/v2/items", {"json": {"name": 3}}, 422, id="invalid"),
        pytest.param("POST", "/api/v1/items", {"data": "x"}, 415, id="not-json"),
    ],
)
def test_api_errors_are_json(client, method, url, kwargs, status):
    rv = client.open(url, method=method, **kwargs)
    assert rv.status_code == status
    assert rv.json["status"] == status


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        pytest.param("GET", "/api/nothing-here", 404, id="unknown-url"),
        pytest.param("DELETE", "/api/v1/items", 405, id="unknown-method"),
    ],
)
def test_api_routing_errors_fall_back_to_the_app(client, method, url, status):
    # Routing failed, so no blueprint is involved: the app's pages answer.
    rv = client.open(url, method=method)
    assert rv.status_code == status
    assert rv.mimetype == "text/html"


@pytest.mark.parametrize(
    ("prefix", "blueprint", "role"),
    [
        pytest.param("/admin/", "admin", "administrator", id="admin"),
        pytest.param("/moderation/", "moderation", "moderator", id="moderation"),
    ],
)
def test_admin_blueprint_registered_twice(client, prefix, blueprint, role):
    rv = client.get(prefix)
    assert rv.status_code == 403
    assert rv.json == {"error": f"{blueprint} requires an administrator"}

    _login(client, "admin")
    assert client.get(prefix).json == {
        "blueprint": blueprint,
        "role": role,
        "self": prefix,
    }


def test_status_blueprint_on_a_subdomain(client):
    client.get("/")
    rv = client.get("http://status.blueprints.test/")
    assert rv.json == {"status": "ok", "host": "status.blueprints.test", "served": 1}
    assert client.get("/", base_url="http://status.blueprints.test").status_code == 200
    assert client.get("http://www.blueprints.test/").status_code == 404
