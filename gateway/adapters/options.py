"""What ``gateway serve`` passes to an adapter: the ``[server]`` table of a
gateway.toml with the command line's overrides applied, validated once.

Everything here is pure (no I/O), so it is tested with plain parameter tables.
"""

from __future__ import annotations

import dataclasses
import typing as t
from dataclasses import dataclass

from gateway.toml import GatewayConfig, ServerConfig, split_hostport

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
    #: Restart on code changes (development server only).
    reload: bool = False
    #: uWSGI: speak HTTP on ``bind`` instead of the uwsgi protocol on ``socket``.
    http: bool = False
    #: The account a server started as root drops to (mod_wsgi-express).
    user: str = ServerConfig.user
    group: str = ServerConfig.group
    debug: bool = False

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
    debug: bool = False,
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
        reload=reload,
        http=http,
        user=server.user,
        group=server.group,
        debug=debug,
    )


def with_threads(config: GatewayConfig, threads: int) -> GatewayConfig:
    """``config`` with ``[server].threads`` set to the threads the server
    really runs (``--threads``), which the gateway derives its concurrency
    limits from (:func:`gateway.dispatch.limits.default_limit`)."""
    if threads == config.server.threads:
        return config
    return config.replace(server=dataclasses.replace(config.server, threads=threads))
