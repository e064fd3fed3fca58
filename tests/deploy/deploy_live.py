"""Helpers of the live deploy tests: real front servers started on generated
configuration, in front of small backends that report exactly what reached
them (raw HTTP headers, FastCGI/CGI variables)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import sys
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from server_harness import (
    ServerProcess,
    free_port,
    http_ready,
    require_program,
    tcp_ready,
    unix_ready,
)

HERE = Path(__file__).parent

Spawn = t.Callable[..., ServerProcess]

#: The client's address in the live tests: not the front server's own
#: (127.0.0.1), so a header that kept the client's claim would show.
CLIENT = "127.0.0.2"


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        data = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("latin-1"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: t.Any) -> None:
        pass


class Echo(t.NamedTuple):
    port: int

    @property
    def bind(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.contextmanager
def raw_echo() -> t.Iterator[Echo]:
    """An HTTP backend on 127.0.0.1 answering with the request it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Echo(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def headers_of(seen: dict[str, t.Any]) -> dict[str, str]:
    """The echoed headers, names lower-cased (each expected once)."""
    out: dict[str, str] = {}
    for name, value in seen["headers"]:
        assert name.lower() not in out, f"{name} sent twice: {seen['headers']}"
        out[name.lower()] = value
    return out


def start_fcgi_echo(
    spawn: t.Callable[..., ServerProcess], socket: Path
) -> ServerProcess:
    process = spawn(
        "fcgi-echo", [sys.executable, str(HERE / "fcgi_echo.py"), str(socket)]
    )
    return process.wait_ready(unix_ready(socket))


def write_cgi_echo(path: Path) -> None:
    """A shell CGI program printing its environment (runs as www-data)."""
    path.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n")
    path.chmod(0o755)


def cgi_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def start_nginx(
    spawn: t.Callable[..., ServerProcess],
    conf: Path,
    port: int,
    address: str = "127.0.0.1",
) -> ServerProcess:
    nginx = require_program("nginx", "/usr/sbin/nginx")
    process = spawn("nginx", [nginx, "-c", str(conf), "-g", "daemon off;"])
    return process.wait_ready(tcp_ready(address, port))


def nginx_up(
    spawn: Spawn, config: t.Any, directory: Path, port: int, **options: t.Any
) -> ServerProcess:
    """Render the standalone nginx.conf of ``config`` (workers as root, on
    ``listen``/``port``) into ``directory`` and start nginx on it."""
    run = directory / "run"
    run.mkdir(exist_ok=True)
    address = options.pop("address", "127.0.0.1")
    from gateway.deploy import render

    files = render(
        "nginx",
        config,
        standalone=True,
        runtime_dir=str(run),
        listen=options.pop("listen", "127.0.0.1"),
        http_port=port,
        server_user="root",
        **options,
    )
    conf = directory / "nginx.conf"
    conf.write_text(files["nginx.conf"])
    return start_nginx(spawn, conf, port, address=address)


def start_apache(
    spawn: t.Callable[..., ServerProcess], conf: Path, port: int
) -> ServerProcess:
    apache = require_program("apache2", "/usr/sbin/apache2")
    process = spawn("apache2", [apache, "-f", str(conf), "-D", "FOREGROUND"])
    return process.wait_ready(http_ready(port, host="unknown.invalid"))


def start_lighttpd(
    spawn: t.Callable[..., ServerProcess], conf: Path, port: int
) -> ServerProcess:
    lighttpd = require_program("lighttpd", "/usr/sbin/lighttpd")
    process = spawn("lighttpd", [lighttpd, "-D", "-f", str(conf)])
    return process.wait_ready(tcp_ready("127.0.0.1", port))


def https_get(
    port: int, path: str, host: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A GET over TLS to 127.0.0.1 with SNI and Host ``host`` (the
    certificate is self-signed: not verified)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.sock = context.wrap_socket(raw, server_hostname=host.split(":")[0])
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


__all__ = ["CLIENT", "free_port"]


def site_toml(server: str, proxy: str = "", extra: str = "") -> str:
    """The gateway.toml of the live tests: an echo app on the bare domain,
    tenants, loopback trusted, a static folder; ``server``, ``proxy`` and
    ``extra`` are spliced in."""
    return f"""
[gateway]
name = "live"
base_domain = "example.com"
default_app = "echo:app"

[tenants]
factory = "tenants:create"

[proxy]
trusted = ["127.0.0.1/32"]
{proxy}

[server]
{server}

[[server.static]]
url = "/static"
path = "static"
{extra}
"""
