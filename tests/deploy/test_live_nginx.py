"""Generated nginx configurations on a real nginx (127.0.0.1, free ports):
what reaches the backend over HTTP, FastCGI the refusal of unknown
hosts, the sub-path, static files and TLS (the uwsgi protocol: test_live_uwsgi)."""

from __future__ import annotations

import http.client
import json
import socket
import typing as t
from pathlib import Path

import pytest
from deploy_live import (
    CLIENT,
    headers_of,
    https_get,
    nginx_up,
    raw_echo,
    site_toml,
    start_fcgi_echo,
)
from server_harness import (
    ServerProcess,
    free_port,
    http_request,
    require_module,
)

pytestmark = pytest.mark.integration

Spawn = t.Callable[..., ServerProcess]


def test_proxy_pass_sets_exactly_the_headers_the_gateway_believes(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    with raw_echo() as echo:
        config = make_config(
            text=site_toml(
                f'adapter = "gunicorn"\nbind = "{echo.bind}"\nscript_name = "/gw"',
                proxy="x_host = 1\nx_prefix = 1",
            )
        )
        (config.root / "static" / "app.css").write_text("body {}")
        port = free_port()
        nginx_up(spawn_server, config, tmp_path, port)
        host = f"acme.example.com:{port}"

        seen = json.loads(
            http_request(
                port,
                "/gw/a%20b/c?q=1",
                host=host,
                source=CLIENT,
                headers={
                    "X-Forwarded-For": "203.0.113.9",
                    "X-Forwarded-Host": "evil.test",
                    "X-Forwarded-Port": "8443",
                    "X-Forwarded-Prefix": "/evil",
                    "Forwarded": "for=203.0.113.9",
                },
            ).body
        )
        assert (
            seen["path"] == "/a%20b/c?q=1"
        )  # the prefix is stripped, the rest untouched
        headers = headers_of(seen)
        assert headers["host"] == host  # the client's Host, port included
        assert (
            headers["x-forwarded-for"] == CLIENT
        )  # replaced: nginx is the first proxy
        assert headers["x-forwarded-proto"] == "http"
        assert headers["x-forwarded-host"] == host  # x_host = 1
        assert headers["x-forwarded-prefix"] == "/gw"  # x_prefix = 1
        assert "x-forwarded-port" not in headers  # x_port = 0: the client's is removed
        assert "forwarded" not in headers

        redirect = http_request(port, "/gw?x=1", host=host)
        assert (redirect.status, redirect.headers["Location"]) == (308, "/gw/?x=1")
        assert http_request(port, "/elsewhere", host=host).status == 404

        static = http_request(port, "/static/app.css", host=host)
        assert (static.status, static.body) == (200, b"body {}")
        assert static.headers["Cache-Control"] == "max-age=3600"

        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            http_request(
                port, "/gw/", host="evil.test"
            )  # 444: closed without an answer


def test_second_proxy_hops_are_appended_and_rfc7239_sent(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    with raw_echo() as echo:
        config = make_config(
            text=site_toml(
                f'adapter = "gevent"\nbind = "{echo.bind}"',
                proxy="x_for = 2\nx_proto = 2\nx_prefix = 2\nforwarded = true",
            )
        )
        port = free_port()
        nginx_up(spawn_server, config, tmp_path, port)
        seen = json.loads(
            http_request(
                port,
                "/x",
                host="example.com",
                source=CLIENT,
                headers={
                    "Forwarded": 'for=198.51.100.7;proto=https;host="example.com"',
                    "X-Forwarded-Prefix": "/outer",
                    "X-Forwarded-For": "198.51.100.7",
                },
            ).body
        )
        headers = headers_of(seen)
        assert headers["forwarded"] == (
            'for=198.51.100.7;proto=https;host="example.com", '
            f'for={CLIENT};proto=http;host="example.com"'
        )
        assert "x-forwarded-for" not in headers  # RFC 7239 replaces X-Forwarded-*
        assert (
            headers["x-forwarded-prefix"] == "/outer"
        )  # kept for the outer proxy's hop


def test_forwarded_quotes_an_ipv6_client(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    if not ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    with raw_echo() as echo:
        config = make_config(
            text=site_toml(
                f'adapter = "tornado"\nbind = "{echo.bind}"', proxy="forwarded = true"
            )
        )
        port = free_port()
        nginx_up(spawn_server, config, tmp_path, port, listen="[::1]", address="::1")
        seen = json.loads(
            http_request(port, "/", host="example.com", address="::1").body
        )
        assert (
            headers_of(seen)["forwarded"] == 'for="[::1]";proto=http;host="example.com"'
        )


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_tls_redirects_http_and_forwards_https(
    make_config: t.Callable[..., t.Any],
    tmp_path: Path,
    spawn_server: Spawn,
    tls_pair: tuple[Path, Path],
) -> None:
    cert, key = tls_pair
    with raw_echo() as echo:
        config = make_config(
            text=site_toml(
                f'adapter = "gunicorn"\nbind = "{echo.bind}"\n'
                f'tls_cert = "{cert}"\ntls_key = "{key}"'
            )
        )
        port, tls_port = free_port(), free_port()
        nginx_up(spawn_server, config, tmp_path, port, https_port=tls_port)

        plain = http_request(port, "/a?b=1", host=f"shop.example.com:{port}")
        assert plain.status == 301
        assert plain.headers["Location"] == f"https://shop.example.com:{tls_port}/a?b=1"

        status, _, body = https_get(tls_port, "/a?b=1", f"shop.example.com:{tls_port}")
        assert status == 200
        headers = headers_of(json.loads(body))
        assert headers["x-forwarded-proto"] == "https"
        assert headers["host"] == f"shop.example.com:{tls_port}"


@pytest.mark.parametrize("script_name", ["", "/gw"], ids=["root", "sub-path"])
def test_fastcgi_pass_gives_wsgi_its_script_name_and_path_info(
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
    start_fcgi_echo(spawn_server, socket)
    port = free_port()
    nginx_up(spawn_server, config, tmp_path, port)
    host = f"acme.example.com:{port}"
    env = json.loads(
        http_request(
            port,
            f"{script_name}/a%20b/c?q=1",
            host=host,
            source=CLIENT,
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.test"},
        ).body
    )
    assert env["SCRIPT_NAME"] == script_name
    assert env["PATH_INFO"] == "/a b/c"  # decoded, as CGI says
    assert env["QUERY_STRING"] == "q=1"
    assert env["REQUEST_URI"] == f"{script_name}/a%20b/c?q=1"
    assert (
        env["HTTP_HOST"] == host
    )  # the client's Host with its port (not Debian's $host)
    assert env["SERVER_PORT"] == str(port)
    assert env["REMOTE_ADDR"] == CLIENT
    assert env["HTTP_X_FORWARDED_FOR"] == CLIENT
    assert env.get("HTTP_X_FORWARDED_HOST", "") == ""  # not believed: blanked
    assert env["wsgi.url_scheme"] == "http"
