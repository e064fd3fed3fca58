"""The WSGI pieces every adapter shares."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from gateway.adapters.middleware import (
    EntryScriptName,
    ScriptNameMiddleware,
    drop_ambiguous_headers,
    environ_key,
    is_ambiguous_header,
    with_script_name,
)


@pytest.mark.parametrize(
    ("name", "ambiguous"),
    [
        pytest.param("X-Forwarded-For", False, id="dashed"),
        pytest.param("X_Forwarded_For", True, id="underscored"),
        pytest.param("x-forwarded_for", True, id="mixed"),
        pytest.param("Host", False, id="plain"),
        pytest.param("_", True, id="only-underscore"),
    ],
)
def test_is_ambiguous_header(name, ambiguous):
    assert is_ambiguous_header(name) is ambiguous


def test_drop_ambiguous_headers_keeps_order_and_duplicates():
    items = [("A", "1"), ("B_C", "2"), ("A", "3"), ("X-Y", "4")]
    assert drop_ambiguous_headers(items) == [("A", "1"), ("A", "3"), ("X-Y", "4")]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("X-Forwarded-For", "HTTP_X_FORWARDED_FOR", id="forwarded"),
        pytest.param("X_Forwarded_For", "HTTP_X_FORWARDED_FOR", id="collides"),
        pytest.param("Content-Type", "CONTENT_TYPE", id="content-type"),
        pytest.param("content-length", "CONTENT_LENGTH", id="content-length"),
    ],
)
def test_environ_key_shows_why_underscores_collide(name, key):
    assert environ_key(name) == key


def _script_root_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]


@pytest.mark.parametrize(
    ("prefix", "path", "expected"),
    [
        pytest.param("/app", "/x", b"/app|/x", id="prefix"),
        pytest.param("/a/b", "/", b"/a/b|/", id="nested"),
    ],
)
def test_script_name_middleware_sets_the_stripped_prefix(prefix, path, expected):
    client = Client(ScriptNameMiddleware(_script_root_app, prefix))
    assert client.get(path).get_data() == expected


def test_with_script_name_leaves_the_app_alone_without_a_prefix():
    assert with_script_name(_script_root_app, "") is _script_root_app
    assert isinstance(with_script_name(_script_root_app, "/p"), ScriptNameMiddleware)


@pytest.mark.parametrize(
    ("server_script_name", "expected"),
    [
        pytest.param("", b"/app|/x", id="http-server-reports-nothing"),
        pytest.param("/app", b"/app|/x", id="cgi-style-server-already-set-it"),
        pytest.param("/app/sub", b"/app/sub|/x", id="deeper-already"),
        pytest.param(
            "/application", b"/app/application|/x", id="only-whole-segments-count"
        ),
    ],
)
def test_script_name_middleware_never_doubles_the_prefix(server_script_name, expected):
    client = Client(ScriptNameMiddleware(_script_root_app, "/app"))
    response = client.get("/x", environ_overrides={"SCRIPT_NAME": server_script_name})
    assert response.get_data() == expected


@pytest.mark.parametrize(
    ("server_script_name", "configured", "expected"),
    [
        pytest.param("/site.fcgi", "", b"|/x", id="htaccess-at-root"),
        pytest.param("/blog/site.fcgi", "/blog", b"/blog|/x", id="htaccess-in-subdir"),
        pytest.param("/blog", "/blog", b"/blog|/x", id="scriptalias-untouched"),
        pytest.param("/other.fcgi", "", b"/other.fcgi|/x", id="another-file"),
    ],
)
def test_entry_script_name_hides_the_entry_file(
    server_script_name, configured, expected
):
    client = Client(EntryScriptName(_script_root_app, "site.fcgi", configured))
    response = client.get("/x", environ_overrides={"SCRIPT_NAME": server_script_name})
    assert response.get_data() == expected
