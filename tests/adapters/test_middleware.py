"""The WSGI pieces every adapter shares."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from gateway.adapters.middleware import (
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
