"""Every table and key of ``gateway.toml``, declared once.

One frozen dataclass per table; each field is a key, with its type, default,
check and one line of doc (see :mod:`gateway.toml.schema`). The loader
(:func:`gateway.toml.load_config`), its error messages, the defaults of
:class:`gateway.dispatch.Gateway` and the reference table in
docs/gateway-toml.md all come from here; code may also build these classes
directly in Python.

A loaded config has every default resolved: the defaults that depend on other
keys (``name``, ``trusted_hosts``, ``pattern``, ``server_name``, ``workdir``,
``socket``, ``python_home``) are filled in, relative paths are absolute, so
consumers (dispatch, adapters, deploy) never re-derive them; in ``[server]``,
``""`` means "not set" too. The one exception is ``max_concurrent``
(``[tenants]`` and ``[[mounts]]``): None when absent, derived from the
threads the server really runs when the gateway is built
(:func:`gateway.dispatch.limits.default_limit`), since ``gateway serve
--threads`` may change ``[server].threads``. Import strings stay strings: nothing is imported
until :func:`gateway.dispatch.build_gateway` runs, so ``gateway config`` can
render server files without importing the application.

Adding a key is one field here (and its test); docs/gateway-toml.md's
reference is regenerated with ``python -m gateway.toml.reference``.
"""

from __future__ import annotations

import dataclasses
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

from ..hostnames import (
    HostAllowList,
    HostPattern,
    derive_trusted_hosts,
    normalize_domain,
    normalize_host_entry,
)
from . import values
from .schema import Invalid, Reader, key
from .values import kind

# -- [server].adapter -----------------------------------------------------------------


@dataclass(frozen=True)
class Adapter:
    """A server ``[server].adapter`` may name; its module is
    ``gateway.adapters.<name>``."""

    name: str
    #: What a front server speaks to it: ``"http"`` (proxy_pass), ``"uwsgi"``
    #: (the uwsgi protocol, or HTTP with uwsgi_http), ``"fastcgi"``, ``"cgi"``
    #: (a process per request) or ``"mod_wsgi"`` (inside Apache).
    protocol: str
    #: Whether it runs as a service of its own (systemd, supervisor).
    service: bool
    doc: str
    #: Whether its HTTP listener gives each connection a worker thread before
    #: the request head has arrived, so a few hundred slow clients hold every
    #: thread: it must listen on loopback or sit behind a buffering proxy
    #: (``[server].behind_proxy``). uwsgi only in its http mode.
    needs_buffering_proxy: bool = False
    #: Whether ``gateway serve`` can make it speak TLS to clients itself
    #: (``[server].serve_tls``).
    tls: bool = False


#: Every adapter, in the order ``--help`` and error messages list them.
ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter("dev", "http", False, "Werkzeug's development server"),
        Adapter("gevent", "http", True, "gevent's WSGI server"),
        Adapter("tornado", "http", True, "tornado's HTTP server, a thread pool"),
        Adapter("gunicorn", "http", True, "gunicorn, gthread workers", True),
        Adapter(
            "granian", "http", True, "granian (Rust), processes of threads", tls=True
        ),
        Adapter("uwsgi", "uwsgi", True, "the uwsgi program", True),
        Adapter("fastcgi", "fastcgi", True, "flup's FastCGI server"),
        Adapter("cgi", "cgi", False, "one process per request"),
        Adapter("mod_wsgi", "mod_wsgi", False, "Apache's mod_wsgi"),
    )
}


# -- checks that need more than one key -------------------------------------------------


@kind("domain name")
def _domain(value: str) -> str:
    return normalize_domain(value) if value else ""


@kind("array of hosts")
def _host_list(value: tuple[str, ...]) -> tuple[str, ...]:
    return HostAllowList(value).entries


def _trusted_hosts(r: Reader) -> tuple[str, ...]:
    tenants = r["tenants"]
    return derive_trusted_hosts(
        r["base_domain"],
        [*r["hosts"], *(m.host for m in r["mounts"])],
        tenants.base.lstrip(".") if tenants is not None else "",
    )


def _hosts(value: t.Mapping[str, t.Any]) -> dict[str, str]:
    hosts: dict[str, str] = {}
    for host, spec in value.items():
        where = f'"{host}"'
        if not isinstance(spec, str):
            raise Invalid(
                f"expected an import string, got {values.show(spec)}", key=where
            )
        try:
            normalized = normalize_host_entry(host)
            values.parse_import_string(spec)
        except ValueError as e:
            raise Invalid(str(e), key=where) from None
        if normalized in hosts:
            raise Invalid(f"duplicate of host {normalized!r}", key=where)
        hosts[normalized] = spec
    return hosts


def _unique_mounts(mounts: tuple[MountConfig, ...]) -> tuple[MountConfig, ...]:
    seen: set[tuple[str, str]] = set()
    for index, m in enumerate(mounts, 1):
        if (m.host, m.prefix) in seen:
            raise Invalid(
                f"duplicate mount {m.prefix!r} for host {m.host or 'bare domain'!r}",
                entry=index,
                key="prefix",
            )
        seen.add((m.host, m.prefix))
    return mounts


def _on_tenants(host: str, r: Reader) -> str:
    if host == "*" and r.top["tenants"] is None:
        raise ValueError('"*" mounts on every tenant, but there is no [tenants] table')
    return host


def _pattern(r: Reader) -> str:
    base: str = r.top["base_domain"]
    if not base:
        raise ValueError(
            'missing: set [gateway].base_domain or [tenants].pattern = "{tenant}.example.com"'
        )
    return "{tenant}." + base


def _needs_lookup(seconds: float, r: Reader) -> float:
    if seconds and not r["lookup"]:
        raise ValueError("needs [tenants].lookup to poll")
    return seconds


def _server_name(r: Reader) -> str:
    base = r.top["base_domain"]
    return f"{base} *.{base}" if base else ""


def _socket(r: Reader) -> str:
    name = r.top["name"]
    return f"/run/{name}/{name}.sock"


def _tls_pair(r: Reader) -> None:
    if bool(r["tls_cert"]) != bool(r["tls_key"]):
        missing = "tls_key" if r["tls_cert"] else "tls_cert"
        raise Invalid("tls_cert and tls_key must be set together", key=missing)
    if r["serve_tls"] and not r["tls_cert"]:
        raise Invalid("needs tls_cert and tls_key", key="serve_tls")


def _something_to_serve(r: Reader) -> None:
    if not (r["default_app"] or r["tenants"] or r["hosts"] or r["mounts"]):
        raise Invalid(
            "nothing to serve: set [gateway].default_app, [tenants], [hosts] or [[mounts]]"
        )


#: The default of the ``max_concurrent`` keys, in words (the rule is
#: :func:`gateway.dispatch.limits.default_limit`).
_LIMIT_DEFAULT = "half of `[server].threads`, at least 1"


# -- body and form limits --------------------------------------------------------------


@dataclass(frozen=True)
class LimitsConfig:
    """``[limits]``: the request body and form limits of every application,
    enforced by dispatch before the application runs, written into the
    front server's configuration, and given to each application as its
    ``MAX_CONTENT_LENGTH``, ``MAX_FORM_MEMORY_SIZE`` and ``MAX_FORM_PARTS``
    defaults. ``[[mounts]]`` entries and ``[tenants]`` may override each key.
    ``0`` means no limit."""

    #: The application config key each limit is the default of.
    APP_CONFIG: t.ClassVar[t.Mapping[str, str]] = {
        "max_body": "MAX_CONTENT_LENGTH",
        "max_form_memory": "MAX_FORM_MEMORY_SIZE",
        "max_form_parts": "MAX_FORM_PARTS",
    }

    max_body: int = key(
        1 << 20,
        doc="largest request body: a longer one gets 413 before it is read",
        default_doc='`"1M"` (nginx\'s default)',
        check=values.size,
        raw=True,
    )
    max_form_memory: int = key(
        500_000,
        doc="largest text field of a multipart form, held in memory (Flask's default)",
        check=values.size,
        raw=True,
    )
    max_form_parts: int = key(
        1000, doc="most fields of a multipart form (Flask's default)"
    )

    def override(self, changes: t.Mapping[str, int | None]) -> LimitsConfig:
        """A copy with the limits of ``changes`` that are not None."""
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **given) if given else self

    def app_config(self) -> dict[str, int | None]:
        """The application config defaults: ``{"MAX_CONTENT_LENGTH": ...}``,
        None where the limit is 0 (none)."""
        return {
            config_key: getattr(self, name) or None
            for name, config_key in self.APP_CONFIG.items()
        }


#: The names of the limits, which ``[[mounts]]`` and ``[tenants]`` override.
LIMIT_KEYS: tuple[str, ...] = tuple(LimitsConfig.APP_CONFIG)


@kind("integer >= 0")
def _count(value: t.Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected an integer >= 0, got {values.show(value)}")
    return int(value)


def _limit_override(name: str) -> t.Any:
    """An optional key overriding ``[limits].<name>`` for one table."""
    spec = LimitsConfig.__dataclass_fields__[name]
    raw = spec.metadata["toml"].raw
    return key(
        None,
        doc=f"overrides [limits].{name} here",
        default_doc=f"`[limits].{name}`",
        check=values.size if raw else _count,
        raw=True,
    )


def limit_overrides(table: t.Any) -> dict[str, int]:
    """The limits a ``[[mounts]]`` entry or ``[tenants]`` sets itself."""
    found = {name: getattr(table, name, None) for name in LIMIT_KEYS}
    return {name: value for name, value in found.items() if value is not None}


def larger_size(*sizes: int) -> int:
    """The largest of some size limits, where 0 (no limit) is the largest."""
    return 0 if 0 in sizes else max(sizes)


def body_limit_under(config: GatewayConfig, prefix: str | None = None) -> int:
    """The largest ``max_body`` of an application that may serve a request
    under path ``prefix``: what a front server must accept there. ``None``
    is the whole site, ``"/"`` the paths outside every mount. The
    applications at the root (default, hosts, tenants) always count, since a
    mount exists on some hosts only; a mount counts under its own prefix and
    below it. An application's own ``MAX_CONTENT_LENGTH`` is not known
    without importing it."""
    limits = config.limits
    sizes = [limits.max_body]
    if config.tenants is not None:
        sizes.append(limits.override(limit_overrides(config.tenants)).max_body)
    for mount in config.mounts:
        if (
            prefix is None
            or prefix == mount.prefix
            or prefix.startswith(mount.prefix + "/")
        ):
            sizes.append(limits.override(limit_overrides(mount)).max_body)
    return larger_size(*sizes)


# -- the tables ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantsConfig:
    """``[tenants]``: applications created per subdomain by a factory."""

    factory: str = key(
        doc="`callable(key: str) -> WSGI app | None`", check=values.import_syntax
    )
    pattern: str = key(
        doc="host pattern, {tenant} in the leftmost label(s)",
        derive=_pattern,
        default_doc='`"{tenant}." + base_domain`',
        resolve=lambda value, r: HostPattern(value, r["nested"]).pattern,
    )
    nested: bool = key(False, doc='allow a.b.example.com (key "a.b")')
    max_instances: int = key(1000, doc="LRU bound on live tenant apps", minimum=1)
    idle_timeout: float = key(900, doc="evict an app idle this long; 0 = never")
    negative_ttl: float = key(
        10, doc="how long a key whose factory returned None is remembered"
    )
    retry_after: float = key(
        5,
        doc="back-off after a factory raised (an Unavailable's own retry_after"
        " wins); also the Retry-After header",
    )
    max_concurrent_factories: int = key(
        0, doc="bound on factories running at once; 0 = unbounded"
    )
    factory_timeout: float = key(
        30,
        doc="deadline of a factory call: past it the key answers 503 and is"
        " retried after retry_after; 0 = none",
    )
    refresh_interval: float = key(
        0,
        doc="how often lookup is polled to retire removed or changed tenants; 0 = off",
        resolve=_needs_lookup,
    )
    lookup: str = key(
        "",
        doc="`callable()` returning the live keys, or a mapping key -> version",
        check=values.optional_import,
    )
    max_concurrent: int | None = key(
        None,
        doc="requests one tenant serves at once per process; more get a 503 with"
        " Retry-After; 0 = unlimited",
        default_doc=_LIMIT_DEFAULT,
    )
    max_body: int | None = _limit_override("max_body")
    max_form_memory: int | None = _limit_override("max_form_memory")
    max_form_parts: int | None = _limit_override("max_form_parts")

    @property
    def base(self) -> str:
        """The pattern without its placeholder: ``".example.com"``."""
        return self.pattern.replace("{tenant}", "", 1)


@dataclass(frozen=True)
class MountConfig:
    """``[[mounts]]``: an application under a path prefix."""

    prefix: str = key(
        doc='starts with "/", no trailing "/", no "//" or "..", unique per host',
        check=values.prefix,
    )
    app: str = key(doc="the application", check=values.import_syntax)
    host: str = key(
        "",
        doc='"" the bare base domain, "*" every tenant, or an exact host',
        check=values.host_choice,
        resolve=_on_tenants,
    )
    redirect_slash: bool = key(
        True, doc='"/admin" -> 308 "/admin/" (query kept); false = serve it as "/"'
    )
    max_concurrent: int | None = key(
        None,
        doc="requests the mounted app serves at once per process; more get a 503"
        " with Retry-After; 0 = unlimited",
        default_doc=_LIMIT_DEFAULT,
    )
    max_body: int | None = _limit_override("max_body")
    max_form_memory: int | None = _limit_override("max_form_memory")
    max_form_parts: int | None = _limit_override("max_form_parts")


@dataclass(frozen=True)
class ProxyConfig:
    """``[proxy]``: which peers' forwarded headers are believed, and how far."""

    trusted: tuple[str, ...] = key(
        ("127.0.0.1/32", "::1/128"),
        doc="peers (REMOTE_ADDR) whose forwarded headers are believed",
        check=values.networks,
    )
    x_for: int = key(1, doc="hops believed in X-Forwarded-For (werkzeug's ProxyFix)")
    x_proto: int = key(1, doc="hops believed in X-Forwarded-Proto")
    x_host: int = key(0, doc="hops believed in X-Forwarded-Host")
    x_port: int = key(0, doc="hops believed in X-Forwarded-Port")
    x_prefix: int = key(0, doc="hops believed in X-Forwarded-Prefix")
    forwarded: bool = key(
        False, doc='believe RFC 7239 "Forwarded" instead of X-Forwarded-*'
    )


@dataclass(frozen=True)
class HealthConfig:
    """``[health]``: the health endpoint, answered before tenant resolution."""

    path: str = key("/_gateway/health", doc="where it answers", check=values.prefix)
    allow: tuple[str, ...] = key(
        ("127.0.0.0/8", "::1/128"),
        doc="clients that may see it; others get a 404",
        check=values.networks,
    )


#: ``[logging].access`` values that are not a file.
ACCESS_LOG_OFF = "off"
ACCESS_LOG_STREAMS = ("on", "stdout", "stderr")


def _access_destination(value: str, r: Reader) -> str:
    """``"off"``, a stream, or a file path made absolute against the file's
    directory; ``""`` is refused (say ``"off"``)."""
    if value == ACCESS_LOG_OFF or value in ACCESS_LOG_STREAMS:
        return value
    if not value or value != value.strip():
        raise ValueError(
            'expected "off", "on", "stdout", "stderr" or a file path,'
            f" got {values.show(value)}"
        )
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else r.root / path)


@dataclass(frozen=True)
class LoggingConfig:
    """``[logging]``: the access log (one line per request, with a request
    id) and OpenTelemetry tracing."""

    access: str = key(
        ACCESS_LOG_OFF,
        doc='where one line per request goes: "on" is "stdout"; a file is appended'
        " to and reopened when log rotation moves it",
        type_doc='"off", "on", "stdout", "stderr" or a path',
        resolve=_access_destination,
    )
    format: str = key(
        "text",
        doc="one line of text or one JSON object per request",
        choices=("text", "json"),
    )
    tracing: bool = key(
        False,
        doc="wrap the gateway in OpenTelemetry's WSGI middleware, tenant and mount"
        " as span attributes (pip install 'gateway[otel]')",
    )


@dataclass(frozen=True)
class MetricsConfig:
    """``[metrics]``: Prometheus metrics per tenant and mount, answered before
    tenant resolution to the clients of ``[health].allow``."""

    enabled: bool = key(
        False, doc="serve the metrics (needs the `metrics` extra: prometheus_client)"
    )
    path: str = key("/_gateway/metrics", doc="where it answers", check=values.prefix)
    max_tenants: int = key(
        100,
        doc='tenants with series of their own; the others share tenant="_other"',
        minimum=1,
    )
    directory: str = key(
        "",
        doc="prometheus_client's multiprocess directory, emptied by gateway serve"
        " or, under mod_wsgi, by the first process after Apache starts (which"
        " must be able to create it)",
        default_doc="gateway-NAME-BIND-metrics (under mod_wsgi gateway-NAME-metrics)"
        " in the temporary directory",
        path=True,
    )


@dataclass(frozen=True)
class StaticConfig:
    """``[[server.static]]``: files served directly by the front server."""

    url: str = key(doc="URL prefix", check=values.prefix)
    path: Path = key(doc="the directory")
    host: str = key(
        "*",
        doc='"" the bare base domain, "*" every host, or an exact host',
        check=values.host_choice,
    )


@dataclass(frozen=True)
class ServerConfig:
    """``[server]``: how ``gateway serve`` runs it and what ``gateway config``
    writes."""

    rules: t.ClassVar = (_tls_pair,)

    adapter: str = key(
        "gevent", doc="the server that runs the gateway", choices=tuple(ADAPTERS)
    )
    bind: str = key(
        "127.0.0.1:8000",
        doc='where an HTTP adapter listens ("[::1]:8000" for IPv6)',
        type_doc='"host:port" or "unix:PATH"',
        resolve=lambda value, r: values.bind_address(value, r.root),
    )
    behind_proxy: bool = key(
        False,
        doc="a buffering proxy (nginx, Apache) is in front: lets "
        + " and ".join(n for n, a in ADAPTERS.items() if a.needs_buffering_proxy)
        + " (http mode) listen on a non-loopback address",
    )
    backends: tuple[str, ...] = key(
        (),
        doc="extra host:port entries of an nginx upstream",
        check=values.hostports,
    )
    workers: int = key(
        1, doc="processes (gunicorn, granian, uwsgi, mod_wsgi)", minimum=1
    )
    threads: int = key(
        8,
        doc="threads per process (gunicorn gthread, granian, uwsgi, mod_wsgi,"
        " tornado pool)",
        minimum=1,
    )
    script_name: str = key(
        "", doc="a prefix the front server strips", check=values.optional_prefix
    )
    header_timeout: float = key(
        20.0,
        doc="seconds a new connection has to send its first request line and"
        " headers (gevent, tornado, granian); then it is closed",
        minimum=1,
    )
    keepalive_timeout: float = key(
        5.0,
        doc="seconds a kept-alive connection has to send its next request head"
        " (gevent, tornado, gunicorn; granian: header_timeout); 0 closes it after"
        " each response",
    )
    server_name: str = key(
        "",
        doc="nginx/Apache server names, space-separated",
        derive=_server_name,
        default_doc='`base_domain + " *." + base_domain`',
    )
    user: str = key(
        "www-data", doc="the account the server runs as", check=values.account
    )
    group: str = key("www-data", doc="its group", check=values.account)
    python_home: str = key(
        "",
        doc="the virtualenv of mod_wsgi's python-home and of systemd's ExecStart",
        path=True,
        derive=lambda r: sys.prefix,
        default_doc="`sys.prefix` of the Python reading the file",
    )
    workdir: str = key(
        "",
        doc="the working directory of the server",
        path=True,
        derive=lambda r: str(r.root),
        default_doc="the file's directory",
    )
    socket: str = key(
        "",
        doc="unix socket of the fastcgi and uwsgi adapters",
        path=True,
        derive=_socket,
        default_doc="`/run/NAME/NAME.sock` (`[gateway].name`)",
    )
    tls_cert: str = key(
        "", doc="with tls_key: the front server listens 443 ssl", path=True
    )
    tls_key: str = key("", doc="the certificate's private key", path=True)
    serve_tls: bool = key(
        False,
        doc="the adapter itself speaks TLS with tls_cert and tls_key, for clients"
        " without a front server ("
        + ", ".join(n for n, a in ADAPTERS.items() if a.tls)
        + ")",
    )
    static: tuple[StaticConfig, ...] = key(
        (), doc="directories the front server serves itself"
    )

    @property
    def bind_unix(self) -> str | None:
        """The socket path when ``bind`` is ``unix:PATH``, else None."""
        if self.bind.startswith("unix:"):
            return self.bind[5:]
        return None

    @property
    def bind_host(self) -> str | None:
        """The host part of a TCP ``bind`` (IPv6 without brackets)."""
        if self.bind_unix is not None:
            return None
        return values.split_hostport(self.bind)[0]

    @property
    def bind_port(self) -> int | None:
        """The port of a TCP ``bind``."""
        if self.bind_unix is not None:
            return None
        return values.split_hostport(self.bind)[1]

    @property
    def tls(self) -> bool:
        """Whether both a certificate and a key are configured."""
        return bool(self.tls_cert and self.tls_key)


@dataclass(frozen=True)
class GatewayConfig:
    """The whole ``gateway.toml``: the keys of ``[gateway]``, then the other
    tables.

    ``path`` is the file the config came from (None when built in Python) and
    ``root`` the directory relative paths and import strings resolve from.
    """

    rules: t.ClassVar = (_something_to_serve,)

    name: str = key(
        doc="used in unit, socket and log names",
        derive=lambda r: r.root.name,
        default_doc="the file's directory name",
        check=values.file_name,
    )
    # mypy takes every key() for a default, so it sees this field without one
    # after fields with one; name's key() has none (field(default=MISSING)).
    root: Path  # type: ignore[misc]
    path: Path | None = None
    base_domain: str = key(
        "",
        doc="tenants are `KEY.base_domain`; the bare domain serves default_app",
        check=_domain,
    )
    default_app: str = key(
        "",
        doc="the app of the bare domain and of unknown path prefixes",
        check=values.optional_import,
    )
    secret_key: str = key(
        "", doc="shared root secret: apps without a SECRET_KEY get one derived from it"
    )
    trusted_hosts: tuple[str, ...] = key(
        (),
        doc='allowed Host names, ".example.com" = it and its subdomains; [] = any',
        derive=_trusted_hosts,
        default_doc="base_domain, .base_domain and the hosts outside it",
        check=_host_list,
    )
    debug: bool = key(False, doc="debug mode for every application")
    flask_compat: bool = key(
        False,
        doc="turn the Flask compatibility switch on before any app is imported",
    )
    tenants: TenantsConfig | None = key(
        None, doc="applications created per subdomain by a factory"
    )
    hosts: t.Mapping[str, str] = key(
        default_factory=dict,
        doc="exact host -> app, checked before tenant patterns",
        type_doc="a table of host = app",
        check=_hosts,
    )
    mounts: tuple[MountConfig, ...] = key(
        (), doc="applications under path prefixes", check=_unique_mounts
    )
    proxy: ProxyConfig = key(
        default_factory=ProxyConfig,
        doc="which peers' forwarded headers are believed, and how far",
    )
    health: HealthConfig = key(
        default_factory=HealthConfig,
        doc="the health endpoint, answered before tenant resolution",
    )
    limits: LimitsConfig = key(
        default_factory=LimitsConfig,
        doc="request body and form limits, enforced before an application runs",
    )
    metrics: MetricsConfig = key(
        default_factory=MetricsConfig,
        doc="Prometheus metrics per tenant and mount",
    )
    logging: LoggingConfig = key(
        default_factory=LoggingConfig,
        doc="the access log and request ids; OpenTelemetry tracing",
    )
    server: ServerConfig = key(
        default_factory=ServerConfig,
        doc="how gateway serve runs it and what gateway config writes",
    )

    def replace(self, **changes: t.Any) -> GatewayConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)
