"""The generated lighttpd configuration on a real lighttpd in front of a flup
FastCGI application: the app at the root without a root-fix middleware, or
under a prefix; static files; unknown hosts; forwarded headers removed."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from deploy_live import CLIENT, https_get, site_toml, start_fcgi_echo, start_lighttpd
from server_harness import ServerProcess, free_port, http_request, require_module

from gateway.deploy import render

pytestmark = pytest.mark.integration

Spawn = t.Callable[..., ServerProcess]


@pytest.mark.parametrize("script_name", ["", "/gw"], ids=["root", "sub-path"])
def test_lighttpd_fastcgi_at_root_and_sub_path(
    script_name: str,
    make_config: t.Callable[..., t.Any],
    tmp_path: Path,
    spawn_server: Spawn,
) -> None:
    require_module("flup")
    socket = tmp_path / "fcgi.sock"
    config = make_config(
        text=site_toml(
            f'adapter = "fastcgi"\nsocket = "{socket}"\nscript_name = "{script_name}"'
        )
    )
    (config.root / "static" / "app.css").write_text("body {}")
    start_fcgi_echo(spawn_server, socket)
    port = free_port()
    run = tmp_path / "run"
    run.mkdir()
    files = render(
        "lighttpd",
        config,
        standalone=True,
        runtime_dir=str(run),
        listen="127.0.0.1",
        http_port=port,
    )
    conf = tmp_path / "lighttpd.conf"
    conf.write_text(files["lighttpd.conf"])
    start_lighttpd(spawn_server, conf, port)
    host = f"acme.example.com:{port}"

    env = json.loads(
        http_request(
            port,
            f"{script_name}/a%20b/c?q=1",
            host=host,
            source=CLIENT,
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        ).body
    )
    assert env["SCRIPT_NAME"] == script_name
    assert env["PATH_INFO"] == "/a b/c"
    assert env["QUERY_STRING"] == "q=1"
    assert env["HTTP_HOST"] == host
    assert env["REMOTE_ADDR"] == CLIENT
    assert "HTTP_X_FORWARDED_FOR" not in env
    assert "HTTP_X_FORWARDED_PROTO" not in env

    static = http_request(port, "/static/app.css", host=host)
    assert (static.status, static.body) == (200, b"body {}")
    assert http_request(port, f"{script_name}/", host="evil.test").status == 403
    if script_name:
        redirect = http_request(port, "/gw?x=1", host=host)
        assert (redirect.status, redirect.headers["Location"]) == (308, "/gw/?x=1")
        assert http_request(port, "/elsewhere", host=host).status == 403


def test_lighttpd_tls_redirects_http_and_tells_the_app_https(
    make_config: t.Callable[..., t.Any],
    tmp_path: Path,
    spawn_server: Spawn,
    tls_pair: tuple[Path, Path],
) -> None:
    require_module("flup")
    cert, key = tls_pair
    socket = tmp_path / "fcgi.sock"
    config = make_config(
        text=f"""
[gateway]
name = "live"
base_domain = "example.com"
default_app = "echo:app"

[server]
adapter = "fastcgi"
socket = "{socket}"
script_name = "/gw"
tls_cert = "{cert}"
tls_key = "{key}"
"""
    )
    start_fcgi_echo(spawn_server, socket)
    port, tls_port = free_port(), free_port()
    run = tmp_path / "run"
    run.mkdir()
    files = render(
        "lighttpd",
        config,
        standalone=True,
        runtime_dir=str(run),
        listen="127.0.0.1",
        http_port=port,
        https_port=tls_port,
    )
    conf = tmp_path / "lighttpd.conf"
    conf.write_text(files["lighttpd.conf"])
    start_lighttpd(spawn_server, conf, port)

    plain = http_request(port, "/gw/x?q=1", host=f"example.com:{port}")
    assert plain.status == 301
    assert plain.headers["Location"] == f"https://example.com:{tls_port}/gw/x?q=1"
    status, _, body = https_get(tls_port, "/gw/x?q=1", f"example.com:{tls_port}")
    assert status == 200
    env = json.loads(body)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/gw", "/x")
    assert env["wsgi.url_scheme"] == "https"
