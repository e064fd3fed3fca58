"""Static routes of the app and of blueprints, ``send_static_file`` and the
cache lifetime (SEND_FILE_MAX_AGE_DEFAULT / ``get_send_file_max_age``)."""

from __future__ import annotations

import pytest

import gateway


@pytest.fixture
def site(tmp_path, make_tree):
    """An app root with a static folder and a blueprint with its own."""
    make_tree(
        tmp_path,
        {
            "static/style.css": "body { color: red }",
            "static/sub/app.js": "console.log(1)",
            "assets/logo.txt": "custom folder",
            "secret.txt": "outside static",
            "admin/static/admin.css": "admin css",
        },
    )
    return tmp_path


def _get(client, url, **kwargs):
    """GET and close the response (static responses hold an open file)."""
    with client.get(url, **kwargs) as rv:
        rv.get_data()
        return rv


def test_app_static_route_serves_the_static_folder(site):
    app = gateway.App("static_app", root_path=str(site))
    client = app.test_client()

    rv = _get(client, "/static/style.css")
    assert rv.status_code == 200
    assert rv.data == b"body { color: red }"
    assert rv.mimetype == "text/css"
    assert _get(client, "/static/sub/app.js").mimetype in {
        "text/javascript",
        "application/javascript",
    }
    assert _get(client, "/static/missing.css").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/static/../secret.txt", id="dotdot"),
        pytest.param("/static/..%2fsecret.txt", id="encoded-slash"),
        pytest.param("/static/%2e%2e/secret.txt", id="encoded-dots"),
        pytest.param("/static//etc/passwd", id="absolute-merged-slashes"),
        pytest.param("/static/style.css%00.txt", id="nul-byte"),
    ],
)
def test_app_static_route_refuses_traversal(site, url):
    app = gateway.App("static_app", root_path=str(site))
    # Doubled slashes are first merged by a 308 redirect; follow it.
    rv = _get(app.test_client(), url, follow_redirects=True)
    assert rv.status_code == 404
    assert b"outside static" not in rv.data


def test_static_url_path_and_folder_are_configurable(site):
    app = gateway.App(
        "static_app",
        root_path=str(site),
        static_folder="assets",
        static_url_path="/media",
    )
    client = app.test_client()

    assert _get(client, "/media/logo.txt").data == b"custom folder"
    assert _get(client, "/static/style.css").status_code == 404
    with app.test_request_context():
        assert gateway.url_for("static", filename="logo.txt") == "/media/logo.txt"


def test_static_url_path_defaults_to_folder_name(site):
    app = gateway.App("static_app", root_path=str(site), static_folder="assets")
    assert app.static_url_path == "/assets"
    assert _get(app.test_client(), "/assets/logo.txt").data == b"custom folder"


def test_static_url_path_empty_serves_from_root(site):
    app = gateway.App("static_app", root_path=str(site), static_url_path="")
    assert _get(app.test_client(), "/style.css").data == b"body { color: red }"


def test_static_folder_none_means_no_static_route(site):
    app = gateway.App("static_app", root_path=str(site), static_folder=None)
    assert not app.has_static_folder
    assert "static" not in app.view_functions
    assert _get(app.test_client(), "/static/style.css").status_code == 404


def test_static_folder_absolute_path(site):
    app = gateway.App("static_app", root_path="/", static_folder=str(site / "assets"))
    assert app.static_folder == str(site / "assets")
    assert _get(app.test_client(), "/assets/logo.txt").data == b"custom folder"


def test_send_static_file(site):
    app = gateway.App("static_app", root_path=str(site))
    with app.test_request_context():
        with app.send_static_file("style.css") as rv:
            rv.direct_passthrough = False
            assert rv.get_data() == b"body { color: red }"


def test_send_static_file_without_static_folder_is_runtime_error(site):
    app = gateway.App("static_app", root_path=str(site), static_folder=None)
    with app.test_request_context():
        with pytest.raises(RuntimeError, match="static"):
            app.send_static_file("style.css")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(None, "no-cache", id="default-no-cache"),
        pytest.param(60, "public, max-age=60", id="seconds"),
    ],
)
def test_static_cache_control_follows_config(site, config, expected):
    app = gateway.App("static_app", root_path=str(site))
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = config

    rv = _get(app.test_client(), "/static/style.css")
    assert rv.headers["Cache-Control"] == expected


def test_send_file_max_age_default_accepts_timedelta(site):
    from datetime import timedelta

    app = gateway.App("static_app", root_path=str(site))
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(minutes=2)
    with app.app_context():
        assert app.get_send_file_max_age("x.css") == 120


def test_get_send_file_max_age_override_per_file(site):
    class CachedJS(gateway.App):
        def get_send_file_max_age(self, filename):
            if filename and filename.endswith(".js"):
                return 3600
            return super().get_send_file_max_age(filename)

    app = CachedJS("static_app", root_path=str(site))
    client = app.test_client()
    assert _get(client, "/static/sub/app.js").headers["Cache-Control"] == (
        "public, max-age=3600"
    )
    assert _get(client, "/static/style.css").headers["Cache-Control"] == "no-cache"


def test_static_responses_are_conditional(site):
    app = gateway.App("static_app", root_path=str(site))
    client = app.test_client()

    first = _get(client, "/static/style.css")
    etag = first.headers["ETag"]
    with client.get("/static/style.css", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
        assert again.get_data() == b""


# -- blueprint static ------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "register", "url"),
    [
        pytest.param(
            {"url_prefix": "/admin"}, {}, "/admin/static/admin.css", id="prefix"
        ),
        pytest.param(
            {"url_prefix": "/admin", "static_url_path": "/files"},
            {},
            "/admin/files/admin.css",
            id="custom-url-path",
        ),
        pytest.param(
            {},
            {"url_prefix": "/mounted"},
            "/mounted/static/admin.css",
            id="registration-prefix",
        ),
        pytest.param(
            {"static_url_path": "/admin-static"},
            {},
            "/admin-static/admin.css",
            id="no-prefix",
        ),
    ],
)
def test_blueprint_static_route(site, kwargs, register, url):
    app = gateway.App("static_app", root_path=str(site))
    bp = gateway.Blueprint(
        "admin",
        __name__,
        root_path=str(site / "admin"),
        static_folder="static",
        **kwargs,
    )
    app.register_blueprint(bp, **register)
    client = app.test_client()

    assert _get(client, url).data == b"admin css"
    with app.test_request_context():
        assert gateway.url_for("admin.static", filename="admin.css") == url


def test_blueprint_without_static_folder_has_no_static_route(site):
    app = gateway.App("static_app", root_path=str(site))
    bp = gateway.Blueprint("plain", __name__, url_prefix="/plain")
    app.register_blueprint(bp)
    assert "plain.static" not in app.view_functions
    assert not bp.has_static_folder


def test_blueprint_send_static_file_and_max_age(site):
    app = gateway.App("static_app", root_path=str(site))
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 30
    bp = gateway.Blueprint(
        "admin", __name__, root_path=str(site / "admin"), static_folder="static"
    )
    with app.test_request_context():
        assert bp.get_send_file_max_age("admin.css") == 30
        with bp.send_static_file("admin.css") as rv:
            rv.direct_passthrough = False
            assert rv.get_data() == b"admin css"
            assert rv.cache_control.max_age == 30


def test_blueprint_static_traversal_is_refused(site):
    app = gateway.App("static_app", root_path=str(site))
    bp = gateway.Blueprint(
        "admin",
        __name__,
        root_path=str(site / "admin"),
        static_folder="static",
        url_prefix="/admin",
    )
    app.register_blueprint(bp)
    rv = _get(app.test_client(), "/admin/static/../../secret.txt")
    assert rv.status_code == 404
