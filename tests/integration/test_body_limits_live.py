"""A body above the limit gets 413 before it is read, on real servers
(issue 18, point 5).

The example site (tests/integration/site) has ``[limits] max_body = "1M"``
and ``max_body = "8M"`` on its ``/admin`` mount. A 4 MiB urlencoded form is
announced with its ``Content-Length`` and not a byte of it is sent: the 413
arriving anyway is the evidence that nothing waited for the body, let alone
parsed it. Directly under ``gateway serve`` the answer is the dispatcher's
own plain-text 413 (the application, whose 413 would be an HTML page, never
ran); behind the generated nginx it is nginx's, and the backend never sees
the request. A chunked body has no length to check: it is read up to the
limit and then refused.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
import typing as t

import pytest
from server_harness import HTTPResult, http_request
from server_harness import announce_body as announce
from site_deployments import BASE_DOMAIN, DEPLOYMENTS, Deployment

pytestmark = pytest.mark.integration

MIB = 1 << 20
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: The body of the dispatcher's own 413 (gateway/dispatch/bodies.py).
DISPATCHER_413 = b"the body is larger than 1048576 bytes"

#: adapter, extra `gateway serve` arguments, Python package or program needed
SERVE = [
    pytest.param("gevent", [], "gevent", id="gevent"),
    pytest.param("gunicorn", ["--workers", "1"], "gunicorn", id="gunicorn"),
    pytest.param("granian", ["--workers", "1"], "granian", id="granian"),
    pytest.param("uwsgi", ["--http", "--workers", "1"], "uwsgi", id="uwsgi-http"),
]


def chunked_post(
    port: int, path: str, host: str, total: int, timeout: float = 20.0
) -> tuple[int, bytes, int]:
    """POST a chunked urlencoded form of ``total`` bytes, sending until the
    server answers; return the status, the body and the bytes sent."""
    piece = b"x" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        first = b"f="
        deadline = time.monotonic() + timeout
        try:
            while sent < total:
                assert time.monotonic() < deadline, (
                    "the server neither read nor answered"
                )
                readable, writable, _ = select.select([sock], [sock], [], 1.0)
                if readable:
                    break
                if writable:
                    data = first + piece[: min(len(piece), total - sent) - len(first)]
                    first = b""
                    sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                    sent += len(data)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            # The server answered and closed between the select and a send
            # (the kernel's buffers had taken the whole body by then): its
            # answer is still there to read.
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read(), sent


def exact_form(size: int) -> bytes:
    """An urlencoded form of exactly ``size`` bytes."""
    return b"f=" + b"x" * (size - 2)


def post(port: int, path: str, host: str, body: bytes) -> HTTPResult:
    return http_request(
        port, path, method="POST", host=host, body=body, headers=FORM, timeout=60
    )


# -- directly under gateway serve ---------------------------------------------------------


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_an_announced_body_over_the_limit_is_413_before_any_of_it_is_sent(
    serve: t.Any, adapter: str, args: list[str], needs: str
) -> None:
    process, port = serve(adapter, args, needs)
    host = f"{BASE_DOMAIN}:{port}"
    status, body, took = announce(port, "/echo", host, 4 * MIB)
    assert status == 413, (body, process.logs())
    assert DISPATCHER_413 in body  # the application's 413 would be HTML
    print(f"{adapter}: 413 for 4 MiB announced, body unsent, in {took * 1000:.1f} ms")
    # A tenant has the same limit; the server keeps serving.
    status, body, _ = announce(port, "/echo", f"alpha.{host}", 4 * MIB)
    assert status == 413 and DISPATCHER_413 in body
    assert http_request(port, "/", host=host, timeout=10).status == 200


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_a_form_of_exactly_the_limit_is_parsed_and_a_mount_accepts_more(
    serve: t.Any, adapter: str, args: list[str], needs: str
) -> None:
    process, port = serve(adapter, args, needs)
    host = f"{BASE_DOMAIN}:{port}"
    result = post(port, "/echo", host, exact_form(MIB))
    assert result.status == 200, (result.text[:300], process.logs())
    assert len(result.json()["form"]["f"]) == MIB - 2
    # /admin has max_body = "8M": a 4 MiB form is read and parsed there.
    result = post(port, "/admin/echo", host, exact_form(4 * MIB))
    assert result.status == 200, (result.text[:300], process.logs())
    assert len(result.json()["form"]["f"]) == 4 * MIB - 2
    status, body, _ = announce(port, "/admin/echo", host, 8 * MIB + 1)
    assert status == 413 and b"larger than 8388608 bytes" in body


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_a_chunked_form_over_the_limit_is_413_once_the_limit_is_read(
    serve: t.Any, adapter: str, args: list[str], needs: str
) -> None:
    process, port = serve(adapter, args, needs)
    host = f"{BASE_DOMAIN}:{port}"
    status, body, sent = chunked_post(port, "/echo", host, 4 * MIB)
    assert status == 413, (body[:300], process.logs())
    assert b"Traceback" not in body
    print(f"{adapter}: chunked 4 MiB form refused after {sent} bytes were sent")
    assert http_request(port, "/", host=host, timeout=10).status == 200


# -- behind the generated nginx -------------------------------------------------------------

BEHIND_NGINX = ["gunicorn+nginx", "uwsgi+nginx", "gevent+nginx-subpath"]


@pytest.fixture(scope="module", params=BEHIND_NGINX)
def behind_nginx(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Deployment]:
    from server_harness import world_readable_tempdir

    workdir = world_readable_tempdir(f"gateway-limits-{request.param}-")
    built = None
    try:
        built = DEPLOYMENTS[request.param](workdir)
        yield built
    finally:
        if built is not None:
            built.stop()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


def test_nginx_refuses_an_announced_body_over_the_limit_without_the_backend(
    behind_nginx: Deployment,
) -> None:
    d = behind_nginx
    backend = d.processes[0]
    before = backend.logs(100000).count("POST")
    status, body, took = announce(d.port, d.prefix + "/echo", d.host(), 4 * MIB)
    assert status == 413, body
    assert b"nginx" in body  # nginx's own page: the gateway never saw it
    print(f"{d.name}: nginx 413 for 4 MiB announced in {took * 1000:.1f} ms")
    time.sleep(0.2)
    assert backend.logs(100000).count("POST") == before


def test_behind_nginx_the_mount_location_lets_its_larger_limit_through(
    behind_nginx: Deployment,
) -> None:
    d = behind_nginx
    result = post(d.port, d.prefix + "/admin/echo", d.host(), exact_form(4 * MIB))
    assert result.status == 200, result.text[:300]
    assert result.json()["form"]["f"] == "x" * (4 * MIB - 2)
    status, body, _ = announce(d.port, d.prefix + "/admin/echo", d.host(), 8 * MIB + 1)
    assert status == 413 and b"nginx" in body
    result = post(d.port, d.prefix + "/echo", d.host(), exact_form(MIB))
    assert result.status == 200, result.text[:300]
