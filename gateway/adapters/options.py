"""What ``gateway serve`` passes to an adapter: the ``[server]`` table of a
gateway.toml with the command line's overrides applied, validated once.

Everything here is pure (no I/O), so it is tested with plain parameter tables.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import typing as t
from dataclasses import dataclass

from gateway.toml import ADAPTERS, GatewayConfig, ServerConfig, split_hostport

#: A parsed bind address: ``(host, port)`` for TCP, a path for a unix socket.
Address = tuple[str, int] | str

#: Seconds in-flight requests get to finish after SIGTERM / SIGINT, unless
#: ``--graceful-timeout`` says otherwise; process managers (systemd, supervisor)
#: and uWSGI's mercy are written from it too (:mod:`gateway.deploy`).
GRACEFUL_TIMEOUT = 30.0


class OptionError(ValueError):
    """A server option that cannot work; the message names the option and the fix."""


def parse_bind(value: str, option: str = "bind") -> Address:
    """Parse ``"host:port"``, ``"[::1]:port"`` or ``"unix:/abs/path.sock"``.

    >>> parse_bind("127.0.0.1:8000")
    ('127.0.0.1', 8000)
    >>> parse_bind("unix:/run/app.sock")
    '/run/app.sock'
    """
    if value.startswith("unix:"):
        path = value[5:]
        if not path.startswith("/"):
            raise OptionError(
                f"{option}: a unix socket needs an absolute path, as"
                f" 'unix:/run/app/app.sock', got {value!r}"
            )
        return path
    try:
        return split_hostport(value)
    except ValueError as e:
        raise OptionError(
            f"{option}: {e} (use 'host:port', '[::1]:port' or 'unix:/abs/path.sock')"
        ) from None


def format_bind(address: Address) -> str:
    """The inverse of :func:`parse_bind`."""
    if isinstance(address, str):
        return f"unix:{address}"
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def normalize_script_name(value: str, option: str = "script_name") -> str:
    """``""`` or a prefix starting with ``/`` without a trailing ``/``."""
    if value in ("", "/"):
        return ""
    if not value.startswith("/") or "//" in value or "/../" in value + "/":
        raise OptionError(
            f"{option}: expected '' or a path prefix such as '/app', got {value!r}"
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class ServeOptions:
    """How one adapter runs: the resolved, validated ``[server]`` settings."""

    #: Where an HTTP server listens: ``(host, port)`` or a unix socket path.
    bind: Address = parse_bind(ServerConfig.bind)
    #: Where a FastCGI / uwsgi-protocol server listens.
    socket: Address = ""
    workers: int = ServerConfig.workers
    threads: int = ServerConfig.threads
    #: The prefix a front server strips from the URL; becomes SCRIPT_NAME.
    script_name: str = ""
    #: Seconds in-flight requests get to finish after SIGTERM / SIGINT.
    graceful_timeout: float = GRACEFUL_TIMEOUT
    #: Seconds a new connection has to send its first request head.
    header_timeout: float = ServerConfig.header_timeout
    #: Seconds a kept-alive connection has to send its next request head;
    #: 0 closes the connection after each response.
    keepalive_timeout: float = ServerConfig.keepalive_timeout
    #: Restart on code changes (development server only).
    reload: bool = False
    #: uWSGI: speak HTTP on ``bind`` instead of the uwsgi protocol on ``socket``.
    http: bool = False
    #: A buffering proxy is in front (see :func:`check_exposure`).
    behind_proxy: bool = ServerConfig.behind_proxy
    #: Certificate and key when the adapter speaks TLS itself
    #: (``[server].serve_tls``), else empty (see :func:`check_tls`).
    tls_cert: str = ""
    tls_key: str = ""
    #: The account a server started as root drops to (mod_wsgi-express).
    user: str = ServerConfig.user
    group: str = ServerConfig.group
    debug: bool = False
    #: Set in a child of gateway's master process (:mod:`.master`): the
    #: listening socket it inherited (``bind`` / ``socket`` then only name it)
    #: and the pipe on which it reports that it accepts connections.
    listen_fd: int | None = None
    ready_fd: int | None = None

    def replace(self, **changes: t.Any) -> ServeOptions:
        return dataclasses.replace(self, **changes)


def resolve_options(
    server: ServerConfig,
    *,
    bind: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    script_name: str | None = None,
    graceful_timeout: float | None = None,
    reload: bool = False,
    http: bool = False,
    behind_proxy: bool | None = None,
    debug: bool = False,
    listen_fd: int | None = None,
    ready_fd: int | None = None,
) -> ServeOptions:
    """Merge command-line overrides (``None`` = not given) into the config.

    A ``--bind`` given on the command line is where the adapter listens,
    whatever its protocol: for ``fastcgi`` and ``uwsgi`` (without ``http``) it
    replaces ``[server].socket``, which is otherwise used.
    """
    chosen_workers = server.workers if workers is None else workers
    chosen_threads = server.threads if threads is None else threads
    if chosen_workers < 1:
        raise OptionError(f"workers: expected an integer >= 1, got {chosen_workers}")
    if chosen_threads < 1:
        raise OptionError(f"threads: expected an integer >= 1, got {chosen_threads}")
    timeout = GRACEFUL_TIMEOUT if graceful_timeout is None else graceful_timeout
    if timeout < 0:
        raise OptionError(f"graceful_timeout: expected seconds >= 0, got {timeout}")

    http_bind = parse_bind(bind if bind is not None else server.bind)
    socket_spec = server.socket or server.bind
    if bind is not None:
        socket_spec = bind
    elif server.socket and not server.socket.startswith("unix:"):
        socket_spec = "unix:" + server.socket
    return ServeOptions(
        bind=http_bind,
        socket=parse_bind(socket_spec, "socket"),
        workers=chosen_workers,
        threads=chosen_threads,
        script_name=normalize_script_name(
            server.script_name if script_name is None else script_name
        ),
        graceful_timeout=timeout,
        header_timeout=server.header_timeout,
        keepalive_timeout=server.keepalive_timeout,
        reload=reload,
        http=http,
        behind_proxy=server.behind_proxy if behind_proxy is None else behind_proxy,
        tls_cert=server.tls_cert if server.serve_tls else "",
        tls_key=server.tls_key if server.serve_tls else "",
        user=server.user,
        group=server.group,
        debug=debug,
        listen_fd=listen_fd,
        ready_fd=ready_fd,
    )


def with_threads(config: GatewayConfig, threads: int) -> GatewayConfig:
    """``config`` with ``[server].threads`` set to the threads the server
    really runs (``--threads``), which the gateway derives its concurrency
    limits from (:func:`gateway.dispatch.limits.default_limit`)."""
    if threads == config.server.threads:
        return config
    return config.replace(server=dataclasses.replace(config.server, threads=threads))


def is_loopback(address: Address) -> bool:
    """Whether only this machine can connect: a unix socket, ``localhost``,
    127.0.0.0/8 or ``::1``. A name other than ``localhost`` counts as not
    loopback (it is not resolved here)."""
    if isinstance(address, str):
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(adapter: str, options: ServeOptions) -> str | None:
    """Refuse to let a server that slow clients can starve face them.

    gunicorn's workers and uWSGI's http-socket give a connection a thread
    before its request head has arrived, and wait for it without a deadline:
    a few hundred clients that send half a request line hold every thread and
    nobody else is answered. Such an adapter may listen on loopback (a proxy
    on this machine connects) or anywhere when ``behind_proxy`` says a
    buffering proxy is in front; otherwise :class:`OptionError` names the
    ways out. Returns the line to print where the server starts, or None for
    an adapter that is not at risk.
    """
    if not ADAPTERS[adapter].needs_buffering_proxy:
        return None
    if adapter == "uwsgi" and not options.http:
        return None  # the uwsgi protocol: only a front server speaks it
    address = format_bind(options.bind)
    if not options.behind_proxy and not is_loopback(options.bind):
        raise OptionError(
            f"bind: {adapter} would listen on {address}, where clients reach it directly,"
            " and slow clients can hold all its threads (it waits for a request"
            " head without a deadline). Put a buffering proxy in front (gateway"
            " config nginx) and set [server].behind_proxy = true (or pass"
            " --behind-proxy), bind 127.0.0.1 or a unix socket, or serve with"
            " the gevent adapter, which times slow clients out."
        )
    return (
        f"{adapter} on {address} expects a buffering proxy (nginx, Apache) in"
        " front: slow clients could hold all its threads."
    )


def check_tls(adapter: str, options: ServeOptions) -> None:
    """Refuse ``[server].serve_tls`` for an adapter that cannot speak TLS
    itself, rather than serve plain HTTP where TLS was asked for."""
    if options.tls_cert and not ADAPTERS[adapter].tls:
        able = ", ".join(name for name, a in ADAPTERS.items() if a.tls)
        raise OptionError(
            f"serve_tls: the {adapter} adapter does not speak TLS itself; serve"
            f" with {able}, or set serve_tls = false and let a front server"
            " (gateway config nginx) terminate TLS"
        )
