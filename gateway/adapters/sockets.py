"""Listening sockets shared by the adapters that open their own."""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
from pathlib import Path

from .options import Address

#: What a child writes to its readiness pipe when it accepts connections.
READY = b"ready\n"

#: Mode of a unix socket the adapters create: the front server usually runs as
#: another user (nginx workers as www-data) and must be able to connect.
UNIX_SOCKET_MODE = 0o666


def remove_stale_unix_socket(path: str) -> None:
    """Remove a leftover socket file nobody listens on any more, and create the
    parent directory. Refuses to touch a live socket or a non-socket file, so a
    second server on the same path fails loudly instead of stealing it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(
            errno.EEXIST,
            f"{path} exists and is not a socket; remove it or choose"
            " another socket path",
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        target.unlink()
    else:
        raise OSError(errno.EADDRINUSE, f"another server is listening on {path}")
    finally:
        probe.close()


def ensure_free(address: Address) -> None:
    """Fail with ``EADDRINUSE`` when another socket already holds ``address``.

    For servers that bind with ``SO_REUSEPORT`` (granian): their bind succeeds
    next to a running server on the same port, and the two then share its
    connections silently. A plain bind (``SO_REUSEADDR`` only, never listened
    on) conflicts with any bound socket, so it tells.
    """
    if isinstance(address, str):
        remove_stale_unix_socket(address)
        return
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            raise OSError(
                errno.EADDRINUSE,
                f"another server is listening on {host}:{port}; stop it or"
                " choose another [server].bind / --bind",
            ) from None


def bind_socket(address: Address, backlog: int = 1024) -> socket.socket:
    """A listening stream socket on ``(host, port)`` (IPv4 or IPv6, with
    ``SO_REUSEADDR``) or on a unix socket path (mode 0666)."""
    if isinstance(address, str):
        remove_stale_unix_socket(address)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(address)
            os.chmod(address, UNIX_SOCKET_MODE)
        except BaseException:
            sock.close()
            raise
    else:
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
    sock.listen(backlog)
    return sock


def listening_socket(
    address: Address, inherited_fd: int | None = None
) -> socket.socket:
    """The socket a server accepts on: the one inherited from gateway's master
    process (:mod:`gateway.adapters.master`) when ``inherited_fd`` is given,
    otherwise a new one bound to ``address``."""
    if inherited_fd is None:
        return bind_socket(address)
    sock = socket.socket(fileno=inherited_fd)
    sock.set_inheritable(False)  # not for the application's subprocesses
    return sock


def remove_socket_file(address: Address | None, inherited: bool) -> None:
    """Remove a unix socket file this server created, on exit. One inherited
    from the master is left alone: another child may be serving on it."""
    if inherited or not isinstance(address, str):
        return
    try:
        os.unlink(address)
    except OSError:
        pass


def set_nodelay(sock: socket.socket) -> None:
    """Disable Nagle's algorithm on an accepted TCP connection.

    A response written as headers then body would otherwise wait for the
    client's delayed ACK (40 ms on Linux) before its second segment leaves,
    capping a keep-alive connection at about 25 requests a second.
    """
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - connection already reset
            pass


def announce(adapter: str, where: str, ready_fd: int | None = None) -> None:
    """The one start-up line every adapter writes to stderr, once it accepts
    connections; with ``ready_fd`` (a pipe from the master process), also
    tells the master this child is ready, and closes the pipe."""
    print(
        f"gateway: {adapter} serving on {where} (pid {os.getpid()})",
        file=sys.stderr,
        flush=True,
    )
    if ready_fd is not None:
        try:
            os.write(ready_fd, READY)
        finally:
            os.close(ready_fd)


def describe(address: Address, scheme: str = "http") -> str:
    """``http://127.0.0.1:8000`` or ``unix:/path`` for log lines."""
    if isinstance(address, str):
        return f"unix:{address}"
    host, port = address
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"
