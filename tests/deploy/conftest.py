"""Fixtures for the deploy tests: gateway.toml shapes written to temporary
directories and loaded through the real loader, and a self-signed certificate
made by openssl for the TLS shapes."""

from __future__ import annotations

import textwrap
import typing as t
from pathlib import Path

import pytest

from gateway.toml import GatewayConfig, load_config

#: gateway.toml bodies by shape; ``{server}`` receives the [server] table lines.
SHAPES: dict[str, str] = {
    # Tenants by subdomain only, plus one exact host with its own static files.
    "tenants": """
        [gateway]
        name = "acme"
        base_domain = "example.com"
        default_app = "site.main:app"

        [tenants]
        factory = "site.tenants:create_tenant"

        [hosts]
        "status.example.com" = "site.status:app"

        [server]
        {server}

        [[server.static]]
        url = "/static"
        path = "static"

        [[server.static]]
        url = "/status-assets"
        path = "static"
        host = "status.example.com"
    """,
    # Path-prefix mounts only: no domain, so the site answers any host.
    "mounts": """
        [gateway]
        name = "paths"
        default_app = "site.main:app"

        [[mounts]]
        prefix = "/admin"
        app = "site.admin:create_app()"

        [[mounts]]
        prefix = "/api/v1"
        app = "site.api:app"

        [server]
        {server}

        [[server.static]]
        url = "/static"
        path = "static"
    """,
    # Tenants and mounts, published under a sub-path, believing more headers.
    "both": """
        [gateway]
        name = "both-site"
        base_domain = "example.org"
        default_app = "site.main:app"

        [tenants]
        factory = "site.tenants:create_tenant"

        [[mounts]]
        prefix = "/admin"
        app = "site.admin:create_app()"
        host = "*"

        [proxy]
        x_host = 1
        x_port = 1
        x_prefix = 1

        [server]
        script_name = "/gw"
        {server}

        [[server.static]]
        url = "/gw/static"
        path = "static"

        [[server.static]]
        url = "/media"
        path = "media"
        host = ""
    """,
    # TLS (certificate from the tls fixture).
    "tls": """
        [gateway]
        name = "secure"
        base_domain = "example.net"
        default_app = "site.main:app"

        [tenants]
        factory = "site.tenants:create_tenant"

        [server]
        tls_cert = "{cert}"
        tls_key = "{key}"
        {server}

        [[server.static]]
        url = "/static"
        path = "static"
    """,
    # Several backends behind one front server, a proxy in front of it
    # (two hops believed) and RFC 7239 Forwarded.
    "backends": """
        [gateway]
        name = "scaled"
        base_domain = "example.com"
        default_app = "site.main:app"

        [proxy]
        trusted = ["127.0.0.0/8", "10.0.0.0/8"]
        x_for = 2
        x_proto = 2
        x_host = 2
        forwarded = true

        [server]
        backends = ["10.0.0.2:8000", "10.0.0.3:8000"]
        {server}
    """,
}

#: The [server] lines per adapter (bind/socket inside the test directory
#: where a real server will create them).
ADAPTER_LINES: dict[str, str] = {
    "gunicorn": 'adapter = "gunicorn"\nbind = "127.0.0.1:8000"\nworkers = 3',
    "granian": 'adapter = "granian"\nbind = "127.0.0.1:8000"\nworkers = 2',
    "gevent": 'adapter = "gevent"\nbind = "127.0.0.1:8000"',
    "dev": 'adapter = "dev"\nbind = "127.0.0.1:5000"',
    "tornado": 'adapter = "tornado"\nbind = "127.0.0.1:8000"',
    "uwsgi": 'adapter = "uwsgi"\nworkers = 2\nthreads = 4',
    "fastcgi": 'adapter = "fastcgi"',
    "cgi": 'adapter = "cgi"',
    "mod_wsgi": 'adapter = "mod_wsgi"\nworkers = 2\nthreads = 15',
}


@pytest.fixture
def make_config(
    tmp_path: Path, request: pytest.FixtureRequest
) -> t.Callable[..., GatewayConfig]:
    """Write a gateway.toml of ``shape`` for ``adapter`` and load it.

    ``server`` adds [server] lines; ``text`` replaces the shape entirely.
    The static directories the shapes name are created.
    """

    def make(
        shape: str = "tenants",
        adapter: str = "gunicorn",
        server: str = "",
        *,
        text: str | None = None,
        directory: Path | None = None,
    ) -> GatewayConfig:
        root = directory or tmp_path / "site"
        root.mkdir(parents=True, exist_ok=True)
        for name in ("static", "media"):
            (root / name).mkdir(exist_ok=True)
        lines = "\n".join(filter(None, [ADAPTER_LINES[adapter], server]))
        cert = key = ""
        if shape == "tls" and text is None:
            cert_path, key_path = request.getfixturevalue("tls_pair")
            cert, key = str(cert_path), str(key_path)
        body = text if text is not None else SHAPES[shape]
        body = textwrap.dedent(body)
        server_block = textwrap.indent(lines, "") if lines else ""
        body = (
            body.replace("{server}", server_block)
            .replace("{cert}", cert)
            .replace("{key}", key)
        )
        path = root / "gateway.toml"
        path.write_text(body, encoding="utf-8")
        return load_config(path)

    return make
