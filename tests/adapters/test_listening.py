"""Refusing an address another server holds (gateway.adapters.sockets)."""

from __future__ import annotations

import errno
import socket
import typing as t
from pathlib import Path

import pytest

from gateway.adapters import CannotServe
from gateway.adapters.granian import serve
from gateway.adapters.sockets import ensure_free


@pytest.fixture
def held_port() -> t.Iterator[int]:
    """A loopback port a listener holds with SO_REUSEPORT, as granian binds."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_free_port_passes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ensure_free(("127.0.0.1", port))


def test_a_port_held_with_reuseport_is_refused_by_name(held_port: int) -> None:
    with pytest.raises(OSError) as caught:
        ensure_free(("127.0.0.1", held_port))
    assert caught.value.errno == errno.EADDRINUSE
    assert f"127.0.0.1:{held_port}" in str(caught.value)


def test_a_live_unix_socket_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "gw.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)
        sock.listen()
        with pytest.raises(OSError, match="another server is listening"):
            ensure_free(path)


def test_granian_does_not_start_next_to_a_server_on_its_port(held_port: int) -> None:
    def never_built() -> t.Any:
        raise AssertionError("granian started")

    with pytest.raises(CannotServe, match=f"127.0.0.1:{held_port}.*--bind"):
        serve(never_built, bind=("127.0.0.1", held_port), lazy=True)
