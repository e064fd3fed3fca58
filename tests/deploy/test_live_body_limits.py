"""The body limit of gateway.toml's [limits] in the generated Apache and
lighttpd configurations, on the real servers (issue 18, point 5): a body
announced above it is refused by its length, before any of it is sent, and
one of exactly the limit reaches the application.

nginx is checked against the whole site in
tests/integration/test_body_limits_live.py.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from deploy_live import (
    cgi_env,
    site_toml,
    start_apache,
    start_fcgi_echo,
    start_lighttpd,
    write_cgi_echo,
)
from server_harness import (
    ServerProcess,
    announce_body,
    free_port,
    http_request,
    require_module,
)

from gateway.deploy import render

pytestmark = pytest.mark.integration

Spawn = t.Callable[..., ServerProcess]

LIMIT = 64 * 1024
#: A mount may only raise the front server's limit: this one lowers its own.
LIMITS = f"""
[limits]
max_body = "{LIMIT // 1024}K"

[[mounts]]
prefix = "/small"
app = "echo:app"
max_body = "1K"
"""


def _render(kind: str, config: t.Any, directory: Path, port: int) -> Path:
    run = directory / "run"
    run.mkdir(exist_ok=True)
    files = render(
        kind,
        config,
        standalone=True,
        runtime_dir=str(run),
        listen="127.0.0.1",
        http_port=port,
    )
    name = "httpd.conf" if kind.startswith("apache") else "lighttpd.conf"
    conf = directory / name
    conf.write_text(files[name])
    return conf


def test_apache_refuses_a_body_over_the_limit_by_its_length(
    make_config: t.Callable[..., t.Any], server_dir: Path, spawn_server: Spawn
) -> None:
    """Apache in front of the CGI entry (a shell echo stands in for it).
    In front of an HTTP adapter (mod_proxy) Apache 2.4 does not apply
    LimitRequestBody at all: the gateway's own 413 answers there."""
    config = make_config(
        text=site_toml('adapter = "cgi"', extra=LIMITS), directory=server_dir / "site"
    )
    # The CGI echo, reading its body first (Apache cuts the answer of a CGI
    # program that leaves it unread).
    entry = config.root / "live.cgi"
    write_cgi_echo(entry)
    entry.write_text(entry.read_text().replace("\n", "\ncat >/dev/null\n", 1))
    port = free_port()
    conf = _render("apache-cgi", config, server_dir, port)
    assert f"LimitRequestBody {LIMIT}\n" in conf.read_text()
    start_apache(spawn_server, conf, port)
    host = f"example.com:{port}"

    status, body, _ = announce_body(port, "/upload", host, LIMIT + 1)
    assert status == 413, body
    exact = http_request(port, "/upload", method="POST", host=host, body=b"x" * LIMIT)
    assert exact.status == 200, exact.text
    assert cgi_env(exact.text)["CONTENT_LENGTH"] == str(LIMIT)


def test_lighttpd_refuses_a_body_over_the_limit_by_its_length(
    make_config: t.Callable[..., t.Any], tmp_path: Path, spawn_server: Spawn
) -> None:
    require_module("flup")
    socket = tmp_path / "fcgi.sock"
    config = make_config(
        text=site_toml(f'adapter = "fastcgi"\nsocket = "{socket}"', extra=LIMITS)
    )
    start_fcgi_echo(spawn_server, socket)
    port = free_port()
    conf = _render("lighttpd", config, tmp_path, port)
    assert f"server.max-request-size = {LIMIT // 1024}\n" in conf.read_text()
    start_lighttpd(spawn_server, conf, port)
    host = f"example.com:{port}"

    status, body, _ = announce_body(port, "/upload", host, LIMIT + 1)
    assert status == 413, body
    exact = http_request(port, "/upload", method="POST", host=host, body=b"x" * LIMIT)
    assert exact.status == 200
    assert json.loads(exact.body)["CONTENT_LENGTH"] == str(LIMIT)
