"""The generated uWSGI ini running the real gateway: behind the generated
nginx site (uwsgi protocol, under a sub-path), and in uWSGI's own HTTP mode."""

from __future__ import annotations

import signal
import subprocess
import typing as t
from pathlib import Path

import pytest
from deploy_live import CLIENT, nginx_up
from server_harness import (
    ServerProcess,
    free_port,
    http_ready,
    http_request,
    require_program,
    unix_ready,
    wait_for_log,
)

from gateway.adapters.options import GRACEFUL_TIMEOUT
from gateway.deploy import render

pytestmark = pytest.mark.integration

Spawn = t.Callable[..., ServerProcess]

ECHO_APP = """
import json


def app(environ, start_response):
    keys = ("SCRIPT_NAME", "PATH_INFO", "REMOTE_ADDR", "HTTP_HOST", "wsgi.url_scheme")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"""


def gateway_site(make_config: t.Callable[..., t.Any], server: str) -> t.Any:
    # root:root because this machine's Python lives under a private home
    # directory that uWSGI could not load after dropping to www-data.
    config = make_config(
        text=f"""
[gateway]
name = "live"
base_domain = "example.com"
default_app = "echo:app"

[proxy]
trusted = ["127.0.0.1/32"]

[server]
adapter = "uwsgi"
user = "root"
group = "root"
workers = 2
threads = 2
{server}
"""
    )
    (config.root / "echo.py").write_text(ECHO_APP)
    return config


def start_uwsgi(
    spawn: Spawn, config: t.Any, directory: Path, **options: t.Any
) -> ServerProcess:
    uwsgi = require_program("uwsgi")
    ini = directory / "live.uwsgi.ini"
    ini.write_text(render("uwsgi", config, **options)["live.uwsgi.ini"])
    return spawn("uwsgi", [uwsgi, "--ini", str(ini)])


def test_nginx_uwsgi_pass_serves_the_gateway_under_a_sub_path(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    """nginx (uwsgi_pass) -> uWSGI (mount + manage-script-name) -> the real
    gateway -> a WSGI app reporting its environ."""
    socket = tmp_path / "uwsgi.sock"
    config = gateway_site(make_config, f'socket = "{socket}"\nscript_name = "/gw"')
    start_uwsgi(spawn_server, config, tmp_path).wait_ready(unix_ready(socket))
    port = free_port()
    nginx_up(spawn_server, config, tmp_path, port)

    response = http_request(
        port,
        "/gw/x/y?q=1",
        host=f"example.com:{port}",
        source=CLIENT,
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status == 200, response.text
    seen = response.json()
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/gw", "/x/y")
    assert seen["REMOTE_ADDR"] == CLIENT
    assert seen["HTTP_HOST"] == f"example.com:{port}"


def test_uwsgi_http_socket_mode_ignores_a_clients_scheme_claim(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    """In HTTP mode uWSGI is an HTTP adapter like gunicorn: the front server
    strips the sub-path and the gateway puts it back in SCRIPT_NAME."""
    port = free_port()
    config = gateway_site(
        make_config, f'bind = "127.0.0.1:{port}"\nscript_name = "/gw"'
    )
    start_uwsgi(spawn_server, config, tmp_path, uwsgi_http=True).wait_ready(
        http_ready(port, "/", host="example.com")
    )
    seen = http_request(
        port,
        "/a",
        host="example.com",
        source=CLIENT,
        headers={"X-Forwarded-Proto": "https"},
    ).json()
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/gw", "/a")
    assert seen["wsgi.url_scheme"] == "http"


def test_nginx_proxy_pass_to_uwsgi_http_keeps_the_sub_path(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    """nginx (proxy_pass, stripping /gw) -> uWSGI's HTTP mode from the
    generated ini -> the gateway sees SCRIPT_NAME=/gw. (The ini once mounted
    the app at /gw instead, as if uWSGI were the front: behind nginx the
    stripped request matched no mount and the prefix was lost.)"""
    backend = free_port()
    config = gateway_site(
        make_config, f'bind = "127.0.0.1:{backend}"\nscript_name = "/gw"'
    )
    start_uwsgi(spawn_server, config, tmp_path, uwsgi_http=True).wait_ready(
        http_ready(backend, "/", host="example.com")
    )
    port = free_port()
    nginx_up(spawn_server, config, tmp_path, port, uwsgi_http=True)
    response = http_request(
        port, "/gw/x/y?q=1", host=f"example.com:{port}", source=CLIENT
    )
    assert response.status == 200, response.text
    seen = response.json()
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"]) == ("/gw", "/x/y")
    assert seen["REMOTE_ADDR"] == CLIENT


SLOW_APP = """
import time

time.sleep(2)  # a gateway whose applications take a while to import


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_sigterm_as_soon_as_it_runs_stops_the_generated_ini(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    """SIGTERM right after the master's start hook ran (a supervisor stopping
    a service that just started) stops uWSGI. The ini once set lazy-apps,
    which the adapter leaves out for this reason (gateway/adapters/uwsgi.py):
    the workers were then still importing the gateway, and uWSGI 2.0 waited
    for them forever, past every mercy."""
    socket = tmp_path / "uwsgi.sock"
    config = gateway_site(make_config, f'socket = "{socket}"')
    (config.root / "echo.py").write_text(SLOW_APP)
    server = start_uwsgi(spawn_server, config, tmp_path)
    assert wait_for_log(server, "(master-start)", timeout=30), server.logs()
    server.signal_leader(signal.SIGTERM)
    # Usually well under a second; the bound is the ini's mercy (the graceful
    # timeout) plus a margin, since a loaded machine may spend it, while the
    # lazy-apps hang never ends.
    bound = GRACEFUL_TIMEOUT + 15
    try:
        server.wait(bound)
    except subprocess.TimeoutExpired:
        pytest.fail(f"uWSGI did not stop within {bound}s of SIGTERM:\n{server.logs()}")
