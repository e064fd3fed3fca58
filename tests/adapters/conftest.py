"""Fixtures for the adapter tests: one adapter's ``serve()`` running the plain
WSGI app of plain_app.py in a real server process on 127.0.0.1."""

from __future__ import annotations

import json
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
from server_harness import ServerProcess, free_port, http_ready, require_module

HERE = Path(__file__).parent
SERVER_MODULES = {
    "gevent": "gevent",
    "tornado": "tornado",
    "gunicorn": "gunicorn",
    "granian": "granian",
    "fastcgi": "flup",
}


@dataclass
class PlainServer:
    process: ServerProcess
    port: int


@pytest.fixture
def serve_plain(
    spawn_server: t.Callable[..., ServerProcess],
) -> t.Callable[..., PlainServer]:
    """Start ``serve_plain.py ADAPTER`` on a free port; wait until it answers."""

    def start(adapter: str, ready_path: str = "/env", **options: t.Any) -> PlainServer:
        if adapter in SERVER_MODULES:
            require_module(SERVER_MODULES[adapter])
        port = free_port()
        options.setdefault("bind", ["127.0.0.1", port])
        process = spawn_server(
            adapter,
            [
                sys.executable,
                str(HERE / "serve_plain.py"),
                adapter,
                json.dumps(options),
            ],
        )
        process.wait_ready(http_ready(port, ready_path))
        return PlainServer(process, port)

    return start


MINI_APP = """
import socket


def application(environ, start_response):
    print("print() during a request")
    if environ["PATH_INFO"] == "/socket-class":
        body = socket.socket.__module__.encode()
    else:
        body = ("mini " + environ["SCRIPT_NAME"] + "|" + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


@pytest.fixture
def mini_site(server_dir: Path) -> Path:
    """A gateway.toml (in a world-readable directory) whose default app is a
    plain WSGI function; returns the toml's absolute path."""
    (server_dir / "mini_app.py").write_text(MINI_APP)
    toml = server_dir / "gateway.toml"
    toml.write_text(
        '[gateway]\nname = "mini"\nbase_domain = "mini.test"\n'
        'default_app = "mini_app:application"\ntrusted_hosts = []\n'
        f'[server]\nadapter = "cgi"\nsocket = "{server_dir}/mini.sock"\n'
    )
    return toml
