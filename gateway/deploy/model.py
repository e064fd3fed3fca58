"""The deployment model: what every server configuration needs, decided once.

:func:`build_site` turns a :class:`~gateway.toml.GatewayConfig`
and the render options into a :class:`Site`: the host names to serve, the
virtual hosts (one per host that has host-specific static files), the
backends to forward to and over which protocol, TLS, the sub-path, and the
forwarded headers to set. The templates only spell these decisions in each
server's syntax, so nginx, Apache and lighttpd always agree with each other and
with the gateway's own ``[proxy]`` trust.

Everything here is pure: no file system access, no environment, no globals.
Defaults that depend on the machine (the interpreter, the mod_wsgi module)
are filled in by :mod:`gateway.deploy.render` before this runs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t
from dataclasses import dataclass

from gateway.toml import ADAPTERS, ConfigError, body_limit_under, split_hostport

if t.TYPE_CHECKING:  # pragma: no cover
    from gateway.toml import GatewayConfig, ProxyConfig

#: Adapters that speak HTTP, to which a front server proxies with ``proxy_pass``.
HTTP_ADAPTERS: tuple[str, ...] = tuple(
    name for name, adapter in ADAPTERS.items() if adapter.protocol == "http"
)


class DeployError(ConfigError):
    """The gateway.toml (or a render option) cannot be expressed for the
    requested server. The message names the key or option and the fix."""


# -- options -------------------------------------------------------------------


@dataclass(frozen=True)
class DeployOptions:
    """Render options: where things live on the target machine, beyond what
    gateway.toml says. Every field has a default; ``render(**options)`` and the
    ``gateway config`` command set them by name."""

    #: Absolute path of the gateway.toml the entry files and units load.
    toml_path: str = ""
    #: Directory of the entry files (``NAME.wsgi``, ``NAME.fcgi``...);
    #: default ``[server].workdir``.
    entry_dir: str = ""
    #: Interpreter for ``#!`` lines and ``python -m gateway serve``;
    #: default ``[server].python_home``/bin/python.
    python: str = ""
    #: Ports the front server listens on.
    http_port: int = 80
    https_port: int = 443
    #: Address the front server listens on: "" (all), ``127.0.0.1``, ``[::1]``.
    listen: str = ""
    #: With ``listen`` empty, listen on IPv6 (``[::]:port``) as well as IPv4.
    listen_ipv6: bool = True
    #: Write a complete main configuration (pid, logs, temp paths under
    #: ``runtime_dir``) instead of a site file for the distribution's server.
    standalone: bool = False
    #: Standalone: directory for pid, logs and temporary files; default
    #: ``<workdir>/run``.
    runtime_dir: str = ""
    #: Access/error log directory; default the distribution's for that server.
    log_dir: str = ""
    #: Standalone: the account the server's workers run as ("" = its default).
    server_user: str = ""
    #: Standalone Apache: directory of the ``mod_*.so`` files.
    modules_dir: str = "/usr/lib/apache2/modules"
    #: Standalone Apache: path of the mod_wsgi module (``mod_wsgi-express
    #: module-config`` tells it); found automatically when mod_wsgi is installed.
    mod_wsgi_module: str = ""
    #: Standalone: the MIME types file (nginx: ``/etc/nginx/mime.types``,
    #: Apache: ``/etc/mime.types``).
    mime_types: str = ""
    #: Seconds browsers may cache static files served by the front server.
    static_max_age: int = 3600
    #: Mode of unix sockets created by uWSGI, supervisor and systemd.
    socket_mode: str = "0660"
    #: nginx in front of the cgi adapter: the fcgiwrap socket.
    fcgiwrap_socket: str = "/run/fcgiwrap.socket"
    #: uWSGI speaks HTTP itself on ``[server].bind`` (``http-socket``) instead
    #: of the uwsgi protocol on ``[server].socket``.
    uwsgi_http: bool = False
    #: systemd: start the server from a ``.socket`` unit where it can inherit
    #: the listening socket (gunicorn, uwsgi).
    socket_activation: bool = True

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, values: t.Mapping[str, t.Any]) -> DeployOptions:
        """Build options from keyword arguments, rejecting unknown names and
        wrong types with a message naming the option."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        checked: dict[str, t.Any] = {}
        for key, value in values.items():
            field = known.get(key)
            if field is None:
                raise DeployError(
                    f"unknown render option {key!r}; known options: {', '.join(known)}"
                )
            expected = type(field.default)
            if expected is int and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise DeployError(f"option {key}: expected an integer, got {value!r}")
            if expected is bool and not isinstance(value, bool):
                raise DeployError(
                    f"option {key}: expected true or false, got {value!r}"
                )
            if expected is str:
                if hasattr(value, "__fspath__"):
                    value = str(value)
                if not isinstance(value, str):
                    raise DeployError(f"option {key}: expected a string, got {value!r}")
            checked[key] = value
        options = cls(**checked)
        options.validate()
        return options

    def validate(self) -> None:
        for key in ("http_port", "https_port"):
            port = getattr(self, key)
            if not 0 < port < 65536:
                raise DeployError(f"option {key}: expected a port 1-65535, got {port}")
        if self.http_port == self.https_port:
            raise DeployError(
                f"options http_port and https_port are both {self.http_port}: choose two ports"
            )
        if self.static_max_age < 0:
            raise DeployError(
                f"option static_max_age: expected seconds >= 0, got {self.static_max_age}"
            )
        if not re.fullmatch(r"0?[0-7]{3}", self.socket_mode):
            raise DeployError(
                f"option socket_mode: expected an octal mode such as '0660', got {self.socket_mode!r}"
            )
        if self.listen:
            listen_host(self.listen)
        for key in (
            "toml_path",
            "entry_dir",
            "python",
            "runtime_dir",
            "log_dir",
            "modules_dir",
            "mod_wsgi_module",
            "mime_types",
            "fcgiwrap_socket",
        ):
            value = getattr(self, key)
            if value and not value.startswith("/"):
                raise DeployError(
                    f"option {key}: expected an absolute path, got {value!r}"
                )


def listen_host(value: str) -> str:
    """Validate a listen address (an IP literal, IPv6 in brackets) and
    return it in bracketed form."""
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        raise DeployError(
            f"option listen: expected an IP address such as '127.0.0.1' or '[::1]', got {value!r}"
        ) from None
    return f"[{ip.compressed}]" if ip.version == 6 else str(ip)


# -- the pieces of a site -----------------------------------------------------------


@dataclass(frozen=True)
class StaticRoute:
    """A URL prefix served from a directory by the front server."""

    url: str
    path: str


@dataclass(frozen=True)
class VirtualHost:
    """One server block / VirtualHost: the names it answers and its static
    routes (longest URL first, so order-sensitive servers match correctly)."""

    names: tuple[str, ...]
    statics: tuple[StaticRoute, ...]

    @property
    def primary(self) -> str:
        return self.names[0] if self.names else ""

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.names[1:]

    @property
    def server_name(self) -> str:
        """A name for Apache's ``ServerName`` (which takes no wildcard): the
        first exact name, else the domain of the first wildcard. Every name,
        this one included, is also a ``ServerAlias``."""
        for name in self.names:
            if not name.startswith(("*", ".")):
                return name
        return self.names[0].lstrip("*.") if self.names else ""


@dataclass(frozen=True)
class BodyRoute:
    """A mount prefix under which the front server must accept a larger
    request body than at the root (``max_body`` bytes, 0 = no limit)."""

    prefix: str
    max_body: int


def body_routes(config: GatewayConfig) -> tuple[BodyRoute, ...]:
    """The mount prefixes whose body limit differs from the root's, longest
    first (each from :func:`gateway.toml.body_limit_under`)."""
    root = body_limit_under(config, "/")
    routes = {
        prefix: body_limit_under(config, prefix)
        for prefix in sorted({m.prefix for m in config.mounts}, key=len, reverse=True)
    }
    return tuple(BodyRoute(p, size) for p, size in routes.items() if size != root)


@dataclass(frozen=True)
class HeaderRule:
    """What the front server does with one forwarded header.

    ``mode`` is ``set`` (replace whatever the client sent: this server is
    the first proxy), ``append`` (add to what the proxy before it sent),
    ``clear`` (the gateway does not believe it: remove it) or ``keep``.
    ``source`` names the value: ``client``, ``scheme``, ``host``, ``port``,
    ``prefix`` or ``forwarded`` (an RFC 7239 element).
    """

    header: str
    mode: str
    source: str

    @property
    def environ_key(self) -> str:
        """The CGI variable the header becomes (``HTTP_X_FORWARDED_FOR``)."""
        return "HTTP_" + self.header.upper().replace("-", "_")

    @property
    def variable(self) -> str:
        """nginx's variable for the incoming header (``http_x_forwarded_for``)."""
        return "http_" + self.header.lower().replace("-", "_")

    @property
    def underscored(self) -> tuple[str, ...]:
        """Every other spelling of the name with ``_`` for some ``-``
        (``X_Forwarded_For``, ``X-Forwarded_For``...): a server that maps
        header names to environ keys by replacing ``-`` (granian, uWSGI's
        parser) reads them as this header, and Apache passes them on, so a
        client could stand in for the front server with one."""
        parts = self.header.split("-")
        spellings = []
        for mask in range(1, 2 ** (len(parts) - 1)):
            name = parts[0]
            for i, part in enumerate(parts[1:]):
                name += ("_" if mask >> i & 1 else "-") + part
            spellings.append(name)
        return tuple(spellings)


@dataclass(frozen=True)
class Upstream:
    """Where the front server sends requests: ``protocol`` is ``http``,
    ``uwsgi``, ``fastcgi`` or ``cgi`` (FastCGI to fcgiwrap); ``servers`` are
    ``host:port`` (IPv6 in brackets) or ``unix:/path``."""

    protocol: str
    servers: tuple[str, ...]

    @property
    def single(self) -> bool:
        return len(self.servers) == 1

    @property
    def tcp(self) -> tuple[tuple[str, int], ...]:
        """The TCP servers as ``(host, port)`` (host without brackets)."""
        return tuple(
            split_hostport(s) for s in self.servers if not s.startswith("unix:")
        )


@dataclass(frozen=True)
class Site:
    """Everything the templates of every kind need, resolved and validated."""

    kind: str
    name: str
    #: ``name`` as an identifier (nginx variables, upstream names).
    ident: str
    adapter: str
    toml_path: str
    workdir: str
    entry_dir: str
    python: str
    python_home: str
    user: str
    group: str
    #: Unix socket of the fastcgi / uwsgi adapters (no ``unix:`` prefix).
    socket: str
    #: ``[server].bind`` as written (``host:port`` or ``unix:/path``).
    bind: str
    workers: int
    threads: int
    #: The prefix the front server publishes the gateway under ("" = root).
    script_name: str
    #: Every name the front server answers; empty = any host.
    names: tuple[str, ...]
    vhosts: tuple[VirtualHost, ...]
    tls_cert: str
    tls_key: str
    http_port: int
    https_port: int
    #: Listen address, "" for all (IPv6 in brackets).
    listen: str
    headers: tuple[HeaderRule, ...]
    upstream: Upstream | None
    options: DeployOptions
    #: Largest request body (bytes, 0 = no limit) of the applications outside
    #: the mounts of ``body_routes``: nginx's server-level
    #: ``client_max_body_size`` (gateway.toml's ``[limits]``).
    root_max_body: int = 0
    #: Mount prefixes that accept larger bodies (nginx locations).
    body_routes: tuple[BodyRoute, ...] = ()
    #: Largest request body anywhere on the site: the single limit of the
    #: servers that have one (Apache, lighttpd, uWSGI's limit-post).
    max_body: int = 0

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    @property
    def catch_all(self) -> bool:
        """No host names are known: this site answers every host itself
        instead of refusing unknown ones."""
        return not self.names

    @property
    def runtime_dir(self) -> str:
        return self.options.runtime_dir or f"{self.workdir}/run"

    @property
    def standalone(self) -> bool:
        return self.options.standalone

    @property
    def has_header_maps(self) -> bool:
        return any(
            r.mode == "append" and r.source != "client" for r in self.headers
        ) or any(r.source == "forwarded" and r.mode != "clear" for r in self.headers)

    def entry(self, suffix: str) -> str:
        """Absolute path of this site's entry file with ``suffix``."""
        return f"{self.entry_dir}/{self.name}{suffix}"

    @property
    def listen_path(self) -> str:
        """The unix socket the gateway's own server listens on, or "" for TCP:
        ``[server].socket`` for fastcgi and uwsgi (the uwsgi protocol), else
        a ``unix:`` bind."""
        if self.adapter == "fastcgi" or (
            self.adapter == "uwsgi" and not self.options.uwsgi_http
        ):
            return self.socket
        return self.bind.removeprefix("unix:") if self.bind.startswith("unix:") else ""

    @property
    def run_dir(self) -> str:
        """``name`` when that socket lives in ``/run/<name>/``, a directory a
        service manager must create (systemd's ``RuntimeDirectory=``), else ""."""
        path = self.listen_path
        if path.startswith(f"/run/{self.name}/") and path.count("/") == 3:
            return self.name
        return ""

    def listen_on(self, port: int) -> tuple[str, ...]:
        """The ``address:port`` values to listen on: the configured address,
        or every IPv4 and IPv6 address."""
        if self.listen:
            return (f"{self.listen}:{port}",)
        return (str(port), f"[::]:{port}") if self.options.listen_ipv6 else (str(port),)


# -- pure decisions --------------------------------------------------------------------


def _covered(host: str, names: t.Iterable[str]) -> bool:
    """Whether ``host`` is matched by one of the server names (exact, or a
    ``*.domain`` / ``.domain`` wildcard, as nginx and Apache match them)."""
    for name in names:
        if name == host:
            return True
        if name.startswith("*.") and host.endswith(name[1:]):
            return True
        if name.startswith(".") and (host == name[1:] or host.endswith(name)):
            return True
    return False


def server_names(config: GatewayConfig) -> tuple[str, ...]:
    """The host names the front server must answer for this gateway.

    ``[server].server_name`` (the loader's default is the base domain and its
    wildcard), plus what it does not already cover: the tenants' wildcard,
    the exact ``[hosts]``, and hosts named by mounts and static routes.
    """
    names: list[str] = []
    for name in config.server.server_name.split():
        if name not in names and name != "_":
            names.append(name)
    wanted: list[str] = []
    if config.base_domain:
        wanted.append(config.base_domain)
    if config.tenants is not None:
        wanted.append("*" + config.tenants.base)
    wanted.extend(config.hosts)
    wanted.extend(m.host for m in config.mounts if m.host not in ("", "*"))
    wanted.extend(s.host for s in config.server.static if s.host not in ("", "*"))
    for host in wanted:
        if not _covered(host, names):
            names.append(host)
    return tuple(names)


def virtual_hosts(
    config: GatewayConfig, names: tuple[str, ...]
) -> tuple[VirtualHost, ...]:
    """Split the names into virtual hosts: one per host that has static routes
    of its own (listed first: more specific), then one for the rest."""
    shared: list[StaticRoute] = []
    by_host: dict[str, list[StaticRoute]] = {}
    for index, static in enumerate(config.server.static, 1):
        route = StaticRoute(url=static.url, path=str(static.path))
        if static.host == "*":
            shared.append(route)
            continue
        host = static.host or config.base_domain
        if not host:
            raise DeployError(
                f'[[server.static]] #{index} .host: "" means the bare base domain, but'
                ' [gateway].base_domain is not set; set it, or use host = "*" or an exact host'
            )
        by_host.setdefault(host, []).append(route)

    def ordered(routes: list[StaticRoute]) -> tuple[StaticRoute, ...]:
        return tuple(sorted(routes, key=lambda r: (-len(r.url), r.url)))

    vhosts = [
        VirtualHost(names=(host,), statics=ordered(routes + shared))
        for host, routes in by_host.items()
    ]
    rest = tuple(n for n in names if n not in by_host)
    if rest or not names:
        vhosts.append(VirtualHost(names=rest, statics=ordered(shared)))
    return tuple(vhosts)


_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("x_for", "X-Forwarded-For", "client"),
    ("x_proto", "X-Forwarded-Proto", "scheme"),
    ("x_host", "X-Forwarded-Host", "host"),
    ("x_port", "X-Forwarded-Port", "port"),
    ("x_prefix", "X-Forwarded-Prefix", "prefix"),
)


def _mode(hops: int) -> str:
    return "clear" if hops == 0 else "set" if hops == 1 else "append"


def header_rules(proxy: ProxyConfig, script_name: str) -> tuple[HeaderRule, ...]:
    """The forwarded headers the front server sends, matching ``[proxy]``.

    A header the gateway believes from one hop is *set* (whatever the client
    sent is replaced: it could be forged); from more hops it is *appended*
    to (a proxy in front of this one wrote the earlier values); a header the
    gateway does not believe is *cleared*. With ``forwarded = true`` the
    gateway reads RFC 7239 ``Forwarded`` for address, scheme and host, so
    those X-Forwarded headers are cleared and one ``Forwarded`` element is
    sent instead. ``X-Forwarded-Prefix`` carries ``script_name``.
    """
    rules: list[HeaderRule] = []
    for attr, header, source in _HEADERS:
        hops = getattr(proxy, attr)
        mode = _mode(hops)
        if proxy.forwarded and source != "prefix":
            mode = "clear"
        if source == "prefix" and not script_name and mode != "clear":
            # Nothing of ours to add: a client's value must not survive, an
            # earlier proxy's passes through untouched.
            mode = "clear" if mode == "set" else "keep"
        rules.append(HeaderRule(header, mode, source))
    hops = max(proxy.x_for, proxy.x_proto, proxy.x_host, proxy.x_port)
    rules.append(
        HeaderRule(
            "Forwarded", _mode(hops) if proxy.forwarded else "clear", "forwarded"
        )
    )
    return tuple(rules)


def loopback_of(host: str) -> str:
    """The address to connect to for a listen address: the wildcard
    addresses become loopback."""
    if host == "0.0.0.0":
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _server(hostport: str) -> str:
    if hostport.startswith("unix:"):
        return hostport
    host, port = split_hostport(hostport)
    host = loopback_of(host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def upstream_for(
    config: GatewayConfig, kind: str, options: DeployOptions
) -> Upstream | None:
    """Where a front server of ``kind`` sends requests, and how."""
    server = config.server
    adapter = server.adapter
    backends = tuple(_server(b) for b in server.backends)
    socket = "unix:" + server.socket.removeprefix("unix:")
    protocol = ADAPTERS[adapter].protocol
    if protocol == "http" or (protocol == "uwsgi" and options.uwsgi_http):
        return Upstream("http", (_server(server.bind), *backends))
    if protocol in ("uwsgi", "fastcgi"):
        return Upstream(protocol, (socket, *backends))
    if protocol == "cgi" and kind == "nginx":
        if backends:
            raise DeployError(
                "[server].backends: the cgi adapter runs one process per request on"
                " this machine (through fcgiwrap); remove backends or use fastcgi"
            )
        return Upstream("cgi", ("unix:" + options.fcgiwrap_socket,))
    return None


def _trusts(proxy: ProxyConfig, address: str) -> bool:
    ip = ipaddress.ip_address(address)
    for entry in proxy.trusted:
        network = ipaddress.ip_network(entry, strict=False)
        if ip.version == network.version and ip in network:
            return True
    return False


def check_proxy_trust(config: GatewayConfig, upstream: Upstream, server: str) -> None:
    """With ``proxy_pass``, the gateway sees the front server as its peer: it
    must trust that peer, or every forwarded header set here is ignored and
    each request seems to come from the proxy itself."""
    proxy = config.proxy
    believes = (
        proxy.x_for or proxy.x_proto or proxy.x_host or proxy.x_port or proxy.x_prefix
    )
    if upstream.protocol != "http" or not believes:
        return
    for host, port in upstream.tcp:
        ip = ipaddress.ip_address(host) if _is_ip(host) else None
        if ip is None or not ip.is_loopback:
            continue  # the proxy's address as seen from another host is unknown here
        if not _trusts(proxy, str(ip)):
            net = "127.0.0.1/32" if ip.version == 4 else "::1/128"
            raise DeployError(
                f"[proxy].trusted does not include {ip}, the address {server} connects"
                f" from to the gateway on {host}:{port}: the forwarded headers it sets"
                f' would be ignored. Add "{net}" to [proxy].trusted'
            )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"'$;{}\\`]")


def check_path(where: str, value: str) -> str:
    """Paths end up unquoted or double-quoted in five config languages: refuse
    the characters none of them can carry safely (quotes, ``$``, ``;``,
    braces, backslashes, control characters)."""
    bad = _UNSAFE.search(value)
    if bad:
        raise DeployError(
            f"{where}: the path {value!r} contains {bad.group()!r}, which server"
            " configuration files cannot carry safely; move it to a plainer path"
        )
    return value


def build_site(kind: str, config: GatewayConfig, options: DeployOptions) -> Site:
    """Decide what every server needs for ``config`` (shared by all kinds).

    Kind-specific checks (an adapter a server cannot run, TLS where it is
    not supported...) are in :mod:`gateway.deploy.kinds`.
    """
    server = config.server
    toml_path = options.toml_path or (
        str(config.path) if config.path is not None else ""
    )
    workdir = server.workdir or str(config.root)
    python_home = server.python_home.rstrip("/")
    python = options.python or (f"{python_home}/bin/python" if python_home else "")
    entry_dir = (options.entry_dir or workdir).rstrip("/") or "/"
    if bool(server.tls_cert) != bool(server.tls_key):
        missing = "tls_key" if server.tls_cert else "tls_cert"
        raise DeployError(
            f"[server].{missing} is empty: TLS needs both tls_cert and tls_key (or neither)"
        )
    for where, value in (
        ("[server].workdir", workdir),
        ("[server].python_home", python_home),
        ("[server].socket", server.socket),
        ("[server].tls_cert", server.tls_cert),
        ("[server].tls_key", server.tls_key),
        ("option toml_path", toml_path),
        ("option entry_dir", entry_dir),
        ("option python", python),
        ("option runtime_dir", options.runtime_dir),
        ("option log_dir", options.log_dir),
    ):
        check_path(where, value)
    for index, static in enumerate(server.static, 1):
        check_path(f"[[server.static]] #{index} .path", str(static.path))
    if len(server.socket.encode()) > 107:
        raise DeployError(
            f"[server].socket: {server.socket!r} is longer than the 107 bytes a unix"
            " socket path may have; choose a shorter path"
        )
    names = server_names(config)
    upstream = upstream_for(config, kind, options)
    ident = re.sub(r"\W", "_", config.name)
    return Site(
        kind=kind,
        name=config.name,
        ident=ident,
        adapter=server.adapter,
        toml_path=toml_path,
        workdir=workdir,
        entry_dir=entry_dir,
        python=python,
        python_home=python_home,
        user=server.user,
        group=server.group,
        socket=server.socket.removeprefix("unix:"),
        bind=server.bind,
        workers=server.workers,
        threads=server.threads,
        script_name=server.script_name.rstrip("/"),
        names=names,
        vhosts=virtual_hosts(config, names),
        tls_cert=server.tls_cert,
        tls_key=server.tls_key,
        http_port=options.http_port,
        https_port=options.https_port,
        listen=listen_host(options.listen) if options.listen else "",
        headers=header_rules(config.proxy, server.script_name.rstrip("/")),
        upstream=upstream,
        options=options,
        root_max_body=body_limit_under(config, "/"),
        body_routes=body_routes(config),
        max_body=body_limit_under(config),
    )
