"""The parsed form of ``gateway.toml``: frozen dataclasses, one per table.

:func:`gateway.dispatch.loader.load_config` builds a :class:`GatewayConfig`
from a file; code may also build one directly in Python. Defaults that depend
on other keys (``name``, ``trusted_hosts``, ``pattern``, ``server_name``,
``workdir``, ``socket``, ``python_home``) are already resolved by the loader, and
relative paths are absolute, so consumers (dispatch, adapters, deploy) never
re-derive them. Import strings stay strings here: nothing is imported until
:func:`~gateway.dispatch.loader.build_gateway` runs, so ``gateway config`` can
render server files without importing the application.

See docs/gateway-toml.md for the meaning of every key.
"""

from __future__ import annotations

import dataclasses
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError as ConfigError

#: Adapter names accepted by ``[server].adapter``.
ADAPTERS: tuple[str, ...] = (
    "dev",
    "gevent",
    "tornado",
    "gunicorn",
    "uwsgi",
    "fastcgi",
    "cgi",
    "mod_wsgi",
)


@dataclass(frozen=True)
class TenantsConfig:
    """``[tenants]``: applications created per subdomain by a factory."""

    #: Import string of ``callable(key: str) -> WSGI app | None``.
    factory: str
    #: Host pattern with exactly one ``{tenant}`` placeholder in the leftmost
    #: label(s), e.g. ``"{tenant}.example.com"``.
    pattern: str
    #: Allow dotted keys (``a.b.example.com`` -> key ``"a.b"``).
    nested: bool = False
    #: LRU bound on live tenant apps.
    max_instances: int = 1000
    #: Seconds without a request before an app is evicted; 0 = never.
    idle_timeout: float = 900
    #: Seconds a key whose factory returned None is remembered.
    negative_ttl: float = 10
    #: Seconds of back-off after a factory raised; also the Retry-After value.
    retry_after: float = 5
    #: Bound on factories running at once; 0 = unbounded.
    max_concurrent_factories: int = 0
    #: Seconds between polls of ``lookup``; 0 = off.
    refresh_interval: float = 0
    #: Optional import string of ``callable() -> iterable of live keys`` or
    #: ``-> mapping of key to version`` (a changed version reloads the tenant).
    lookup: str = ""

    @property
    def base(self) -> str:
        """The pattern without its placeholder: ``".example.com"``."""
        return self.pattern.replace("{tenant}", "", 1)


@dataclass(frozen=True)
class MountConfig:
    """One ``[[mounts]]`` entry: an application under a path prefix."""

    #: Normalised prefix: starts with ``/``, no trailing ``/``, no ``//`` or ``..``.
    prefix: str
    #: Import string of the application.
    app: str
    #: ``""`` the bare base domain, ``"*"`` every tenant, or an exact host.
    host: str = ""
    #: ``/prefix`` -> 308 ``/prefix/`` (query kept); False serves it as ``/``.
    redirect_slash: bool = True


@dataclass(frozen=True)
class ProxyConfig:
    """``[proxy]``: which peers' forwarded headers are believed, and how far."""

    #: CIDRs of peers (``REMOTE_ADDR``) whose forwarded headers are believed.
    trusted: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    x_for: int = 1
    x_proto: int = 1
    x_host: int = 0
    x_port: int = 0
    x_prefix: int = 0
    #: Believe RFC 7239 ``Forwarded`` instead of ``X-Forwarded-*``.
    forwarded: bool = False


@dataclass(frozen=True)
class HealthConfig:
    """``[health]``: the health endpoint answered before tenant resolution."""

    path: str = "/_gateway/health"
    #: CIDRs allowed to see it; others get a 404 as if it did not exist.
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class StaticConfig:
    """One ``[[server.static]]`` entry, served directly by the front server."""

    #: URL prefix, normalised like a mount prefix.
    url: str
    #: Absolute directory.
    path: Path
    #: ``""`` bare domain, ``"*"`` every host, or an exact host.
    host: str = "*"


@dataclass(frozen=True)
class ServerConfig:
    """``[server]``: how ``gateway serve`` runs it and what ``gateway config``
    writes. Paths are absolute; empty strings mean "not set"."""

    adapter: str = "gevent"
    #: ``"host:port"`` (``"[::1]:8000"`` for IPv6) or ``"unix:/abs/path.sock"``.
    bind: str = "127.0.0.1:8000"
    #: Extra ``host:port`` entries of an nginx upstream.
    backends: tuple[str, ...] = ()
    workers: int = 1
    threads: int = 8
    #: A prefix the front server strips: ``""`` or ``"/app"``.
    script_name: str = ""
    #: Space-separated names, default ``"example.com *.example.com"``.
    server_name: str = ""
    user: str = "www-data"
    group: str = "www-data"
    python_home: str = ""
    workdir: str = ""
    #: Unix socket for fastcgi/uwsgi, default ``/run/<name>/<name>.sock``.
    socket: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    static: tuple[StaticConfig, ...] = ()

    @property
    def bind_unix(self) -> str | None:
        """The socket path when ``bind`` is ``unix:PATH``, else None."""
        if self.bind.startswith("unix:"):
            return self.bind[5:]
        return None

    @property
    def bind_host(self) -> str | None:
        """The host part of a TCP ``bind`` (IPv6 without brackets)."""
        return None if self.bind_unix is not None else split_hostport(self.bind)[0]

    @property
    def bind_port(self) -> int | None:
        """The port of a TCP ``bind``."""
        return None if self.bind_unix is not None else split_hostport(self.bind)[1]

    @property
    def tls(self) -> bool:
        """Whether both a certificate and a key are configured."""
        return bool(self.tls_cert and self.tls_key)


@dataclass(frozen=True)
class GatewayConfig:
    """The whole ``gateway.toml``.

    ``path`` is the file the config came from (None when built in Python) and
    ``root`` the directory relative paths and import strings resolve from.
    """

    name: str
    root: Path
    path: Path | None = None
    base_domain: str = ""
    #: Import string of the app for the bare domain / unknown prefixes.
    default_app: str = ""
    #: Shared root secret; per-tenant SECRET_KEYs are HMACs of it.
    secret_key: str = ""
    #: Resolved: default ``(base_domain, "." + base_domain)`` plus exact
    #: ``[hosts]``; empty means "any host".
    trusted_hosts: tuple[str, ...] = ()
    debug: bool = False
    #: Turn the Flask compatibility switch on before any app is imported.
    flask_compat: bool = False
    tenants: TenantsConfig | None = None
    #: Exact host -> import string, checked before tenant patterns.
    hosts: t.Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[MountConfig, ...] = ()
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    server: ServerConfig = field(default_factory=ServerConfig)

    def replace(self, **changes: t.Any) -> GatewayConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def split_hostport(value: str) -> tuple[str, int]:
    """Split ``"host:port"`` / ``"[v6]:port"`` into ``(host, port)``.

    Raises :class:`ValueError` with a readable message on malformed input.
    """
    if value.startswith("["):
        end = value.find("]")
        if end == -1 or value[end + 1 : end + 2] != ":":
            raise ValueError(f"expected '[ipv6]:port', got {value!r}")
        host, port_s = value[1:end], value[end + 2 :]
    else:
        host, sep, port_s = value.rpartition(":")
        if not sep or not host or ":" in host:
            raise ValueError(f"expected 'host:port', got {value!r}")
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise ValueError(f"expected a port 1-65535 in {value!r}")
    return host, int(port_s)
