"""Generated Apache configurations on a real Apache (127.0.0.1, free ports,
workers as www-data): mod_proxy's forwarded headers, the CGI variables of
ScriptAlias and of the shared-hosting .htaccess, static files, unknown hosts.

mod_wsgi and mod_fcgid run the gateway's Python as www-data, which this
machine's Python under a private home directory does not allow; the
integration tests cover them (see notes/servers.md)."""

from __future__ import annotations

import dataclasses
import json
import typing as t
from pathlib import Path

import deploy_checks as checks
import pytest
from deploy_live import (
    CLIENT,
    cgi_env,
    headers_of,
    https_get,
    raw_echo,
    site_toml,
    start_apache,
    write_cgi_echo,
)
from server_harness import ServerProcess, free_port, http_request

from gateway.deploy import render

pytestmark = pytest.mark.integration

Spawn = t.Callable[..., ServerProcess]


def apache_up(
    spawn: Spawn, kind: str, config: t.Any, directory: Path, port: int, **options: t.Any
) -> ServerProcess:
    run = directory / "run"
    run.mkdir(exist_ok=True)
    files = render(
        kind,
        config,
        standalone=True,
        runtime_dir=str(run),
        listen="127.0.0.1",
        http_port=port,
        **options,
    )
    conf = directory / "httpd.conf"
    conf.write_text(files["httpd.conf"])
    return start_apache(spawn, conf, port)


def test_mod_proxy_sets_exactly_the_headers_the_gateway_believes(
    make_config: t.Callable[..., t.Any], server_dir: Path, spawn_server: Spawn
) -> None:
    with raw_echo() as echo:
        config = make_config(
            text=site_toml(
                f'adapter = "gunicorn"\nbind = "{echo.bind}"\nscript_name = "/gw"',
                proxy="x_host = 1\nx_prefix = 1",
            ),
            directory=server_dir / "site",
        )
        (config.root / "static" / "app.css").write_text("body {}")
        port = free_port()
        apache_up(spawn_server, "apache-proxy", config, server_dir, port)
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
                    "Forwarded": "for=203.0.113.9",
                },
            ).body
        )
        assert seen["path"] == "/a%20b/c?q=1"
        headers = headers_of(seen)
        assert headers["host"] == host  # ProxyPreserveHost
        assert headers["x-forwarded-for"] == CLIENT
        assert headers["x-forwarded-proto"] == "http"
        assert headers["x-forwarded-host"] == host
        assert headers["x-forwarded-prefix"] == "/gw"
        assert "x-forwarded-port" not in headers
        assert "x-forwarded-server" not in headers  # ProxyAddHeaders Off
        assert "forwarded" not in headers

        redirect = http_request(port, "/gw?x=1", host=host)
        assert redirect.status == 308
        assert redirect.headers["Location"].endswith("/gw/?x=1")

        static = http_request(port, "/static/app.css", host=host)
        assert (static.status, static.body) == (200, b"body {}")
        assert static.headers["Cache-Control"] == "public, max-age=3600"

        assert http_request(port, "/gw/", host="evil.test").status == 403


def test_tls_redirects_http_and_forwards_https(
    make_config: t.Callable[..., t.Any],
    server_dir: Path,
    spawn_server: Spawn,
    tls_pair: tuple[Path, Path],
) -> None:
    cert, key = tls_pair
    with raw_echo() as echo:
        config = make_config(
            text=site_toml(
                f'adapter = "gunicorn"\nbind = "{echo.bind}"\n'
                f'tls_cert = "{cert}"\ntls_key = "{key}"'
            ),
            directory=server_dir / "site",
        )
        port, tls_port = free_port(), free_port()
        apache_up(
            spawn_server, "apache-proxy", config, server_dir, port, https_port=tls_port
        )

        plain = http_request(port, "/a?b=1", host=f"shop.example.com:{port}")
        assert plain.status == 301
        assert plain.headers["Location"] == f"https://shop.example.com:{tls_port}/a?b=1"

        status, _, body = https_get(tls_port, "/a?b=1", f"shop.example.com:{tls_port}")
        assert status == 200
        headers = headers_of(json.loads(body))
        assert headers["x-forwarded-proto"] == "https"
        assert headers["host"] == f"shop.example.com:{tls_port}"


def test_mod_proxy_balances_several_backends_and_sends_rfc7239(
    make_config: t.Callable[..., t.Any], server_dir: Path, spawn_server: Spawn
) -> None:
    with raw_echo() as first, raw_echo() as second:
        config = make_config(
            text=site_toml(
                f'adapter = "gunicorn"\nbind = "{first.bind}"\nbackends = ["{second.bind}"]',
                proxy="forwarded = true",
            ),
            directory=server_dir / "site",
        )
        port = free_port()
        apache_up(spawn_server, "apache-proxy", config, server_dir, port)
        for _ in range(4):
            seen = http_request(port, "/", host="example.com", source=CLIENT).json()
            assert (
                headers_of(seen)["forwarded"]
                == f'for={CLIENT};proto=http;host="example.com"'
            )


@pytest.mark.parametrize("script_name", ["", "/gw"], ids=["root", "sub-path"])
def test_script_alias_gives_cgi_its_script_name_and_path_info(
    script_name: str,
    make_config: t.Callable[..., t.Any],
    server_dir: Path,
    spawn_server: Spawn,
) -> None:
    config = make_config(
        text=site_toml(f'adapter = "cgi"\nscript_name = "{script_name}"'),
        directory=server_dir / "site",
    )
    # The generated config runs <entry_dir>/live.cgi: here a shell program
    # printing its environment stands in for the gateway's CGI entry.
    write_cgi_echo(config.root / "live.cgi")
    port = free_port()
    apache_up(spawn_server, "apache-cgi", config, server_dir, port)
    response = http_request(
        port,
        f"{script_name}/a%20b/c?q=1",
        host=f"acme.example.com:{port}",
        source=CLIENT,
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status == 200, response.text
    env = cgi_env(response.text)
    assert env["SCRIPT_NAME"] == script_name
    assert env["PATH_INFO"] == "/a b/c"
    assert env["QUERY_STRING"] == "q=1"
    assert env["HTTP_HOST"] == f"acme.example.com:{port}"
    assert env["REMOTE_ADDR"] == CLIENT
    assert env["HTTP_X_FORWARDED_FOR"] == CLIENT


def test_htaccess_cgi_rewrites_to_the_program_and_serves_files(
    make_config: t.Callable[..., t.Any], server_dir: Path, spawn_server: Spawn
) -> None:
    config = make_config(
        text=site_toml('adapter = "cgi"'), directory=server_dir / "site"
    )
    shared = tuple(s for s in config.server.static if s.host == "*")
    config = config.replace(server=dataclasses.replace(config.server, static=shared))
    files = render("htaccess-cgi", config)
    public = server_dir / "public"
    public.mkdir()
    (public / ".htaccess").write_text(files[".htaccess"])
    (public / "robots.txt").write_text("User-agent: *\n")
    (public / "gateway.toml").write_text("secret = 1\n")
    write_cgi_echo(public / "live.cgi")
    run = server_dir / "run"
    run.mkdir()
    port = free_port()
    main = checks.apache_harness(
        run,
        None,
        "cgi",
        tls=False,
        document_root=public,
        extra=(
            f"Listen 127.0.0.1:{port}\n"
            f'<Directory "{public}">\n'
            "    AllowOverride All\n"
            "    Require all granted\n"
            "</Directory>\n"
        ),
    )
    start_apache(spawn_server, main, port)

    response = http_request(port, "/shop/item?id=3", host="example.com", source=CLIENT)
    assert response.status == 200, response.text
    env = cgi_env(response.text)
    assert env["PATH_INFO"] == "/shop/item"
    assert env["QUERY_STRING"] == "id=3"
    assert env["REMOTE_ADDR"] == CLIENT
    # Apache names the rewritten program in SCRIPT_NAME; the cgi adapter
    # replaces it with [server].script_name (see the deploy notes).
    assert env["SCRIPT_NAME"] == "/live.cgi"
    assert (
        http_request(port, "/robots.txt", host="example.com").body == b"User-agent: *\n"
    )
    assert http_request(port, "/gateway.toml", host="example.com").status == 403
