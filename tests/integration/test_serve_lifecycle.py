"""``gateway serve`` with the real servers: stopping on SIGTERM while a
request is in flight, and many concurrent requests to several tenants."""

from __future__ import annotations

import signal
import threading

import pytest
from server_harness import (
    GatedStream,
    eventually,
    free_port,
    http_ready,
    http_request,
)
from site_deployments import BASE_DOMAIN, DIRECT_PROXY, gateway_serve, write_site

pytestmark = pytest.mark.integration

#: adapter, extra `gateway serve` arguments, Python package or program needed
SERVE = [
    pytest.param("gevent", [], "gevent", id="gevent"),
    pytest.param("tornado", [], "tornado", id="tornado"),
    pytest.param("gunicorn", ["--workers", "2"], "gunicorn", id="gunicorn"),
    pytest.param("granian", ["--workers", "2"], "granian", id="granian"),
    pytest.param("uwsgi", ["--http", "--workers", "2"], "uwsgi", id="uwsgi-http"),
]


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_sigterm_finishes_the_request_in_flight_then_exits(
    serve, server_dir, adapter, args, needs
):
    process, port = serve(adapter, ["--graceful-timeout", "20", *args], needs)
    stream = GatedStream(
        port, "/stream", server_dir / "gate", host=f"alpha.{BASE_DOMAIN}:{port}"
    )
    try:
        assert stream.first_line() == b"chunk-1\n"
        process.signal_leader(signal.SIGTERM)
        stream.release()
        assert stream.rest() == b"released\nend\n"
    finally:
        stream.conn.close()
    # (uWSGI 2.0 would *reload* on SIGTERM without the adapter's options.)
    assert process.wait(30) == 0


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVE)
def test_concurrent_requests_keep_their_own_context_and_tenant(
    serve, adapter, args, needs
):
    # 8 requests at once per tenant: 16 threads per process give each tenant
    # a concurrency limit of 8 (half of them), so none is turned away.
    process, port = serve(
        adapter, ["--graceful-timeout", "20", "--threads", "16", *args], needs
    )
    results: dict[int, dict] = {}

    def fetch(i: int) -> None:
        tenant = ("alpha", "beta")[i % 2]
        results[i] = http_request(
            port, f"/g?value=v{i}&seconds=0.3", host=f"{tenant}.{BASE_DOMAIN}:{port}"
        ).json()

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {
        i: {"label": f"tenant-{('alpha', 'beta')[i % 2]}", "value": f"v{i}"}
        for i in range(16)
    }


def test_dev_server_reloads_when_code_changes(server_dir):
    port = free_port()
    toml = write_site(
        server_dir, {"adapter": "dev", "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
    )
    process = gateway_serve(toml, server_dir, "dev", "--reload")
    try:
        host = f"{BASE_DOMAIN}:{port}"
        process.wait_ready(http_ready(port, host=host))
        assert http_request(port, "/", host=host).text == "main index"
        views = server_dir / "gwsite" / "views.py"
        views.write_text(
            views.read_text().replace('f"{label} index"', 'f"{label} index, reloaded"')
        )

        def reloaded() -> bool:
            try:
                return (
                    http_request(port, "/", host=host, timeout=2).text
                    == "main index, reloaded"
                )
            except OSError:
                return False  # the server is between processes

        assert eventually(reloaded, timeout=30), process.logs()
    finally:
        process.stop()
