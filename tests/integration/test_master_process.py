"""gateway's master process (gevent, tornado, fastcgi under ``gateway
serve``) with the real servers: Ctrl-C, a second signal, a child that dies,
a child that cannot start, the unix socket file."""

from __future__ import annotations

import os
import signal
import time

import pytest
from reload_clients import serve_site
from server_harness import (
    GatedStream,
    ServerProcess,
    eventually,
    free_port,
    wait_for_log,
)
from site_deployments import BASE_DOMAIN, DIRECT_PROXY, gateway_serve, write_site

pytestmark = pytest.mark.integration

HTTP_MANAGED = [
    pytest.param("gevent", "gevent", id="gevent"),
    pytest.param("tornado", "tornado", id="tornado"),
]


def serve_with_a_stream(
    server_dir, adapter: str, needs: str, graceful_timeout: int
) -> tuple[ServerProcess, GatedStream]:
    """The site under the master, and a streamed request parked on its gate."""
    process, client = serve_site(
        server_dir, adapter, needs, ["--graceful-timeout", str(graceful_timeout)]
    )
    stream = GatedStream(
        client.port,
        "/stream",
        server_dir / "gate",
        host=f"alpha.{BASE_DOMAIN}:{client.port}",
    )
    return process, stream


def child_pid(client) -> int:
    return client.get("/whoami").json()["pid"]


@pytest.mark.parametrize(("adapter", "needs"), HTTP_MANAGED)
def test_ctrl_c_to_the_process_group_is_one_graceful_stop(server_dir, adapter, needs):
    # A terminal's Ctrl-C reaches the master and its child: the child must
    # not take the master's SIGTERM that follows as a second signal.
    process, stream = serve_with_a_stream(server_dir, adapter, needs, 20)
    try:
        assert stream.first_line() == b"chunk-1\n"
        process.send_signal(signal.SIGINT)  # the whole process group
        time.sleep(0.5)
        stream.release()
        assert stream.rest() == b"released\nend\n"
    finally:
        stream.conn.close()
    assert process.wait(30) == 0


@pytest.mark.parametrize(("adapter", "needs"), HTTP_MANAGED)
def test_a_second_signal_stops_at_once(server_dir, adapter, needs):
    process, stream = serve_with_a_stream(server_dir, adapter, needs, 60)
    try:
        assert stream.first_line() == b"chunk-1\n"
        process.signal_leader(signal.SIGTERM)
        assert wait_for_log(process, "stopping (waiting up to 60s")
        process.signal_leader(signal.SIGTERM)
        # Well before the 60 s of grace (and the gate's own 10 s).
        assert process.wait(8) == 0
    finally:
        stream.conn.close()


def test_a_child_that_dies_is_started_again_under_the_same_master(server_dir):
    process, client = serve_site(server_dir, "gevent", "gevent")
    try:
        first = child_pid(client)
        os.kill(first, signal.SIGKILL)
        assert eventually(lambda: client.ready() and child_pid(client) != first, 30)
        assert process.proc is not None and process.proc.poll() is None
        assert wait_for_log(process, f"child {first} exited")
    finally:
        assert process.stop() == 0


@pytest.mark.parametrize(
    ("adapter", "status", "message"),
    [
        pytest.param("gevent", 1, "failed to start", id="gevent"),
        # gunicorn's own status for workers that fail to boot.
        pytest.param("gunicorn", 3, "Worker failed to boot.", id="gunicorn"),
    ],
)
def test_a_server_that_cannot_load_the_code_makes_gateway_serve_fail(
    server_dir, adapter, status, message
):
    pytest.importorskip(adapter)
    port = free_port()
    toml = write_site(
        server_dir, {"adapter": adapter, "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
    )
    (server_dir / "gwsite" / "main.py").write_text(
        "raise ImportError('broken on purpose')\n"
    )
    process = gateway_serve(toml, server_dir, adapter)
    try:
        assert process.wait(60) == status
        assert "broken on purpose" in process.logs()
        assert message in process.logs()
        assert "HaltServer" not in process.logs()
    finally:
        process.stop()


def test_a_child_stops_when_its_master_is_killed(server_dir):
    process, client = serve_site(server_dir, "gevent", "gevent")
    try:
        child = child_pid(client)
        os.kill(process.pid, signal.SIGKILL)  # the master alone
        assert eventually(lambda: not alive(child), 15)
    finally:
        process.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_fastcgi_master_removes_its_unix_socket_on_exit(server_dir):
    process, client = serve_site(server_dir, "fastcgi", "flup")
    path = client.socket_path
    try:
        assert os.path.exists(path)
        assert oct(os.stat(path).st_mode & 0o777) == "0o666"
    finally:
        assert process.stop() == 0
    assert not os.path.exists(path)
