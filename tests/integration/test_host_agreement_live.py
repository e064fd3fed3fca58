"""The Host rule of issue 18, point 2, through real servers: raw-socket
requests with the Hosts a client library would refuse to send or rewrite.

Each Host is either refused with 400 before any application runs, or the
tenant's ``request.host`` is the host dispatch routed on and the absolute
URL it builds names that host (never ``http:///``). Behind nginx, nginx
may refuse a Host itself or pass on its own spelling; whatever reaches the
application must still agree.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import typing as t

import pytest
from server_harness import world_readable_tempdir
from site_deployments import BASE_DOMAIN, DEPLOYMENTS, Deployment

pytestmark = pytest.mark.integration

TENANT = f"alpha.{BASE_DOMAIN}"

#: Host bytes sent -> the host the application must read, or None for a 400.
#: port-zero, port-leading-zeros, empty-port and raw-utf8 are the issue's
#: (its UTF-8 tenant was served as "xn--t-bga" with request.host ""; it is
#: refused now, as every non-ASCII Host is). nginx's catch-all server closes
#: the connection for localhost; the rest it passes on to the gateway.
CASES = [
    pytest.param(b"localhost:0", None, id="port-zero"),
    pytest.param(TENANT.encode() + b":0080", None, id="port-leading-zeros"),
    pytest.param(TENANT.encode() + b":0", None, id="tenant-port-zero"),
    pytest.param(TENANT.encode() + b":", TENANT, id="empty-port"),
    pytest.param("té.".encode() + BASE_DOMAIN.encode(), None, id="raw-utf8"),
    pytest.param(TENANT.upper().encode() + b".", TENANT, id="case-and-dot"),
    pytest.param(TENANT.encode(), TENANT, id="canonical"),
]


@pytest.fixture(scope="module", params=["gevent", "gevent+nginx-subpath"])
def deployment(request: pytest.FixtureRequest) -> t.Iterator[Deployment]:
    workdir = world_readable_tempdir("gateway-it-host-")
    built: Deployment | None = None
    try:
        built = DEPLOYMENTS[request.param](workdir)
        yield built
    finally:
        if built is not None:
            built.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def raw_get(port: int, path: str, host: bytes) -> tuple[int, bytes]:
    """GET ``path`` with the Host bytes as they are; status and body (status
    0 when the server closed the connection without answering, as nginx's
    catch-all server does for a name it does not serve)."""
    request = (
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: "
        + host
        + b"\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
        except http.client.RemoteDisconnected:
            return 0, b""
        try:
            return response.status, response.read()
        finally:
            response.close()


@pytest.mark.parametrize(("host", "seen"), CASES)
def test_the_app_reads_the_host_dispatch_routed_on(
    deployment: Deployment, host: bytes, seen: str | None
) -> None:
    prefix = deployment.prefix
    status, body = raw_get(deployment.port, f"{prefix}/whoami", host)
    assert b"Traceback" not in body
    if status in (0, 400):  # refused, by the gateway or by nginx
        assert seen is None, (host, status, body)
        assert status == 400 or deployment.name != "gevent"
        return
    assert seen is not None, (host, status, body)
    assert status == 200, body
    data = json.loads(body)
    assert data["label"] == "tenant-alpha"
    # Direct, the app reads the routed host; behind nginx, the host nginx
    # passed on (its $host, or X-Forwarded-Host): the same name.
    assert data["host"].split(":")[0] == seen
    assert data["index_url"] == f"http://{data['host']}{prefix}/"
