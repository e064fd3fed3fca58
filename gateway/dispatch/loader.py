"""Read ``gateway.toml`` into a :class:`~.settings.GatewayConfig`, and build it.

:func:`load_config` only parses and validates (it imports nothing), so
``gateway config`` can render server files on a machine without the
application. :func:`build_gateway` imports the applications and composes the
:class:`~gateway.dispatch.gateway.Gateway`.

Every problem raises :class:`ConfigError` with the key spelled as in the file,
``[tenants].max_instances: expected an integer >= 1, got "ten"``; entries of
arrays of tables are numbered from 1: ``[[mounts]] #2 .prefix``.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import ipaddress
import json
import re
import sys
import tomllib
import typing as t
from pathlib import Path

from ..compat.names import TOML_KEY as _FLASK_COMPAT_KEY
from ..hostnames import (
    HostAllowList,
    HostPattern,
    derive_trusted_hosts,
    normalize_domain,
    normalize_host_entry,
)
from ..prefixes import normalize_prefix
from .settings import (
    ADAPTERS,
    ConfigError,
    GatewayConfig,
    HealthConfig,
    MountConfig,
    ProxyConfig,
    ServerConfig,
    StaticConfig,
    TenantsConfig,
    split_hostport,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from .gateway import Gateway

__all__ = [
    "ConfigError",
    "build_gateway",
    "import_string",
    "load_config",
    "parse_config",
    "parse_import_string",
]

_MISSING = object()

_KEYS: dict[str, tuple[str, ...]] = {
    "gateway": (
        "name",
        "base_domain",
        "default_app",
        "secret_key",
        "trusted_hosts",
        "debug",
        _FLASK_COMPAT_KEY,
    ),
    "tenants": (
        "factory",
        "pattern",
        "nested",
        "max_instances",
        "idle_timeout",
        "negative_ttl",
        "retry_after",
        "max_concurrent_factories",
        "refresh_interval",
        "lookup",
    ),
    "hosts": (),
    "mounts": ("prefix", "app", "host", "redirect_slash"),
    "proxy": (
        "trusted",
        "x_for",
        "x_proto",
        "x_host",
        "x_port",
        "x_prefix",
        "forwarded",
    ),
    "health": ("path", "allow"),
    "server": (
        "adapter",
        "bind",
        "backends",
        "workers",
        "threads",
        "script_name",
        "server_name",
        "user",
        "group",
        "python_home",
        "workdir",
        "socket",
        "tls_cert",
        "tls_key",
        "static",
    ),
    "server.static": ("url", "path", "host"),
}

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_DOTTED_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def _show(value: t.Any) -> str:
    """A value as the user wrote it in TOML (strings in double quotes)."""
    return json.dumps(value, default=str)


def _suggest(word: str, choices: t.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


class _Table:
    """One TOML table being read: typed getters that name the key on error,
    and a final check that no unknown key is left."""

    def __init__(self, data: t.Any, where: str, known: t.Sequence[str]) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table, got {_show(data)}")
        self.data = data
        self.where = where
        self.known = known
        for key in data:
            if key not in known:
                raise ConfigError(
                    f"{where}.{key}: unknown key{_suggest(key, known)}"
                    f" (known keys: {', '.join(known)})"
                )

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}.{key}: {message}")

    def raw(self, key: str, default: t.Any = _MISSING) -> t.Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "missing required key")
        return default

    def text(self, key: str, default: t.Any = _MISSING) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_show(value)}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_show(value)}")
        return value

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(
                key, f"expected an integer >= {minimum}, got {_show(value)}"
            )
        return value

    def number(self, key: str, default: float, minimum: float = 0) -> float:
        value = self.raw(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != value  # NaN
            or value < minimum
            or value == float("inf")
        ):
            raise self.error(
                key, f"expected a number of seconds >= {minimum:g}, got {_show(value)}"
            )
        return value

    def str_list(self, key: str, default: t.Sequence[str]) -> tuple[str, ...]:
        value = self.raw(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected an array of strings, got {_show(value)}")
        return tuple(value)

    def check(self, key: str, value: t.Any, func: t.Callable[[t.Any], t.Any]) -> t.Any:
        """Run a validator raising ValueError; re-raise it naming the key."""
        try:
            return func(value)
        except ValueError as e:
            raise self.error(key, str(e)) from None


def _cidrs(values: t.Iterable[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError as e:
            raise ValueError(
                f"{value!r} is not a network such as '10.0.0.0/8' or '::1/128' ({e})"
            ) from None
    return tuple(out)


def _import_syntax(value: str) -> str:
    parse_import_string(value)
    return value


def _optional_import(value: str) -> str:
    return value if value == "" else _import_syntax(value)


def _path(root: Path, value: str) -> str:
    """An absolute path string ("" stays "")."""
    if not value:
        return ""
    return str((root / value).resolve()) if not Path(value).is_absolute() else value


def _bind(root: Path, value: str) -> str:
    if value.startswith("unix:"):
        rest = value[5:]
        if not rest:
            raise ValueError("expected 'unix:/path/to.sock' with a path")
        return "unix:" + _path(root, rest)
    split_hostport(value)
    return value


def _mount_host(value: str) -> str:
    if value in ("", "*"):
        return value
    return normalize_host_entry(value)


def parse_config(
    data: t.Mapping[str, t.Any], root: Path | str, path: Path | str | None = None
) -> GatewayConfig:
    """Validate parsed TOML data (a dict) and resolve defaults.

    ``root`` is the directory relative paths are resolved against (the file's
    own directory for :func:`load_config`); the default ``name`` is its name.
    """
    root = Path(root).resolve()
    for key in data:
        if key not in _KEYS or key == "server.static":
            hint = _suggest(key, [k for k in _KEYS if k != "server.static"])
            owner = [tbl for tbl, keys in _KEYS.items() if key in keys]
            if owner and not isinstance(data[key], dict | list):
                hint = f'; did you mean to put it under "[{owner[0]}]"?'
            raise ConfigError(f"[{key}]: unknown table or top-level key{hint}")
    if "gateway" not in data:
        raise ConfigError(
            "[gateway]: missing table (it holds at least the name or base_domain)"
        )

    gw = _Table(data["gateway"], "[gateway]", _KEYS["gateway"])
    name = gw.text("name", root.name)
    if not _NAME_RE.match(name):
        raise gw.error(
            "name",
            f"expected letters, digits, '.', '_' or '-' (used in file names), got {_show(name)}",
        )
    base_domain = gw.text("base_domain", "")
    if base_domain:
        base_domain = gw.check("base_domain", base_domain, normalize_domain)
    default_app = gw.check("default_app", gw.text("default_app", ""), _optional_import)
    secret_key = gw.text("secret_key", "")
    debug = gw.flag("debug", False)
    flask_compat = gw.flag(_FLASK_COMPAT_KEY, False)

    tenants = None
    if "tenants" in data:
        tn = _Table(data["tenants"], "[tenants]", _KEYS["tenants"])
        factory = tn.check("factory", tn.text("factory"), _import_syntax)
        if "pattern" in tn.data:
            raw_pattern = tn.text("pattern")
        elif base_domain:
            raw_pattern = "{tenant}." + base_domain
        else:
            raise tn.error(
                "pattern",
                'missing: set [gateway].base_domain or [tenants].pattern = "{tenant}.example.com"',
            )
        nested = tn.flag("nested", False)
        pattern = tn.check(
            "pattern", raw_pattern, lambda v: HostPattern(v, nested).pattern
        )
        lookup = tn.check("lookup", tn.text("lookup", ""), _optional_import)
        refresh = tn.number("refresh_interval", 0)
        if refresh and not lookup:
            raise tn.error("refresh_interval", "needs [tenants].lookup to poll")
        tenants = TenantsConfig(
            factory=factory,
            pattern=pattern,
            nested=nested,
            max_instances=tn.integer("max_instances", 1000, 1),
            idle_timeout=tn.number("idle_timeout", 900),
            negative_ttl=tn.number("negative_ttl", 10),
            retry_after=tn.number("retry_after", 5),
            max_concurrent_factories=tn.integer("max_concurrent_factories", 0),
            refresh_interval=refresh,
            lookup=lookup,
        )

    hosts: dict[str, str] = {}
    if "hosts" in data:
        raw_hosts = data["hosts"]
        if not isinstance(raw_hosts, dict):
            raise ConfigError(
                f"[hosts]: expected a table of host = app, got {_show(raw_hosts)}"
            )
        for host, spec in raw_hosts.items():
            where = f'[hosts]."{host}"'
            if not isinstance(spec, str):
                raise ConfigError(
                    f"{where}: expected an import string, got {_show(spec)}"
                )
            try:
                normalized = normalize_host_entry(host)
                parse_import_string(spec)
            except ValueError as e:
                raise ConfigError(f"{where}: {e}") from None
            if normalized in hosts:
                raise ConfigError(f"{where}: duplicate of host {normalized!r}")
            hosts[normalized] = spec

    mounts: list[MountConfig] = []
    raw_mounts = data.get("mounts", [])
    if not isinstance(raw_mounts, list):
        raise ConfigError(
            "[[mounts]]: expected an array of tables ([[mounts]] entries)"
        )
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(raw_mounts, 1):
        mt = _Table(raw, f"[[mounts]] #{index} ", _KEYS["mounts"])
        prefix = mt.check(
            "prefix", mt.text("prefix"), lambda v: normalize_prefix(v, strict=True)
        )
        app = mt.check("app", mt.text("app"), _import_syntax)
        host = mt.check("host", mt.text("host", ""), _mount_host)
        if host == "*" and tenants is None:
            raise mt.error(
                "host", '"*" mounts on every tenant, but there is no [tenants] table'
            )
        if (host, prefix) in seen:
            raise mt.error(
                "prefix",
                f"duplicate mount {prefix!r} for host {host or 'bare domain'!r}",
            )
        seen.add((host, prefix))
        mounts.append(MountConfig(prefix, app, host, mt.flag("redirect_slash", True)))

    if not (default_app or tenants or hosts or mounts):
        raise ConfigError(
            "[gateway]: nothing to serve: set [gateway].default_app, [tenants],"
            " [hosts] or [[mounts]]"
        )

    if "trusted_hosts" in gw.data:
        trusted_hosts = gw.check(
            "trusted_hosts",
            gw.str_list("trusted_hosts", ()),
            lambda v: HostAllowList(v).entries,
        )
    else:
        trusted_hosts = derive_trusted_hosts(
            base_domain,
            [*hosts, *(m.host for m in mounts)],
            tenants.base.lstrip(".") if tenants is not None else "",
        )

    proxy = ProxyConfig()
    if "proxy" in data:
        px = _Table(data["proxy"], "[proxy]", _KEYS["proxy"])
        proxy = ProxyConfig(
            trusted=px.check("trusted", px.str_list("trusted", proxy.trusted), _cidrs),
            x_for=px.integer("x_for", 1),
            x_proto=px.integer("x_proto", 1),
            x_host=px.integer("x_host", 0),
            x_port=px.integer("x_port", 0),
            x_prefix=px.integer("x_prefix", 0),
            forwarded=px.flag("forwarded", False),
        )

    health = HealthConfig()
    if "health" in data:
        hl = _Table(data["health"], "[health]", _KEYS["health"])
        health = HealthConfig(
            path=hl.check(
                "path",
                hl.text("path", health.path),
                lambda v: normalize_prefix(v, strict=True),
            ),
            allow=hl.check("allow", hl.str_list("allow", health.allow), _cidrs),
        )

    server = _parse_server(data.get("server", {}), root, name, base_domain)

    return GatewayConfig(
        name=name,
        root=root,
        path=Path(path).resolve() if path is not None else None,
        base_domain=base_domain,
        default_app=default_app,
        secret_key=secret_key,
        trusted_hosts=tuple(trusted_hosts),
        debug=debug,
        flask_compat=flask_compat,
        tenants=tenants,
        hosts=hosts,
        mounts=tuple(mounts),
        proxy=proxy,
        health=health,
        server=server,
    )


def _parse_server(raw: t.Any, root: Path, name: str, base_domain: str) -> ServerConfig:
    sv = _Table(raw, "[server]", _KEYS["server"])
    adapter = sv.text("adapter", "gevent")
    if adapter not in ADAPTERS:
        raise sv.error(
            "adapter",
            f"expected one of {', '.join(ADAPTERS)}, got {_show(adapter)}{_suggest(adapter, ADAPTERS)}",
        )
    backends = sv.str_list("backends", ())
    for backend in backends:
        sv.check("backends", backend, split_hostport)
    script_name = sv.text("script_name", "")
    if script_name:
        script_name = sv.check(
            "script_name", script_name, lambda v: normalize_prefix(v, strict=True)
        )
    server_name = sv.text("server_name", "")
    if not server_name and base_domain:
        server_name = f"{base_domain} *.{base_domain}"
    tls_cert = _path(root, sv.text("tls_cert", ""))
    tls_key = _path(root, sv.text("tls_key", ""))
    if bool(tls_cert) != bool(tls_key):
        missing = "tls_key" if tls_cert else "tls_cert"
        raise sv.error(missing, "tls_cert and tls_key must be set together")
    raw_static = sv.raw("static", [])
    if not isinstance(raw_static, list):
        raise sv.error(
            "static", "expected an array of tables ([[server.static]] entries)"
        )
    static = []
    for index, entry in enumerate(raw_static, 1):
        st = _Table(entry, f"[[server.static]] #{index} ", _KEYS["server.static"])
        url = st.check(
            "url", st.text("url"), lambda v: normalize_prefix(v, strict=True)
        )
        static.append(
            StaticConfig(
                url=url,
                path=Path(_path(root, st.text("path"))),
                host=st.check("host", st.text("host", "*"), _mount_host),
            )
        )
    user = sv.text("user", "www-data")
    group = sv.text("group", "www-data")
    for key, value in (("user", user), ("group", group)):
        if not value or not _NAME_RE.match(value):
            raise sv.error(key, f"expected a user/group name, got {_show(value)}")
    return ServerConfig(
        adapter=adapter,
        bind=sv.check(
            "bind", sv.text("bind", "127.0.0.1:8000"), lambda v: _bind(root, v)
        ),
        backends=backends,
        workers=sv.integer("workers", 1, 1),
        threads=sv.integer("threads", 8, 1),
        script_name=script_name,
        server_name=server_name,
        user=user,
        group=group,
        python_home=_path(root, sv.text("python_home", "")) or sys.prefix,
        workdir=_path(root, sv.text("workdir", "")) or str(root),
        socket=_path(root, sv.text("socket", "")) or f"/run/{name}/{name}.sock",
        tls_cert=tls_cert,
        tls_key=tls_key,
        static=tuple(static),
    )


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a ``gateway.toml``.

    Raises :class:`ConfigError` for a missing file, invalid TOML, an unknown
    key (with the closest known key suggested) or a bad value (naming the key).
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a directory, expected a gateway.toml file"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 ({e})") from None
    return parse_config(data, path.resolve().parent, path)


# -- import strings ---------------------------------------------------------


class ImportSpec(t.NamedTuple):
    """A parsed import string: ``module:attr`` or ``module:attr(args)``."""

    module: str
    attr: str
    call: bool
    args: tuple[t.Any, ...]
    kwargs: dict[str, t.Any]


def parse_import_string(spec: str) -> ImportSpec:
    """Parse ``module:attr``, ``module:attr()`` or ``module:attr(1, x="y")``.

    Arguments must be literals. Raises :class:`ValueError` on bad syntax.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(
            f"expected 'module:attribute' (such as 'site.main:app'), got {spec!r}"
        )
    module, _, rest = spec.partition(":")
    module, rest = module.strip(), rest.strip()
    if not _DOTTED_RE.match(module):
        raise ValueError(f"{module!r} is not a module name in {spec!r}")
    try:
        node = ast.parse(rest, mode="eval").body
    except SyntaxError:
        raise ValueError(
            f"{rest!r} is not an attribute or a call in {spec!r}"
        ) from None
    call = isinstance(node, ast.Call)
    target = node.func if isinstance(node, ast.Call) else node
    attr = ast.unparse(target)
    if not _DOTTED_RE.match(attr):
        raise ValueError(f"{rest!r} is not an attribute name or a call in {spec!r}")
    args: tuple[t.Any, ...] = ()
    kwargs: dict[str, t.Any] = {}
    if isinstance(node, ast.Call):
        try:
            args = tuple(ast.literal_eval(a) for a in node.args)
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            raise ValueError(
                f"only literal arguments are allowed in {spec!r}"
            ) from None
        if any(k.arg is None for k in node.keywords) or any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            raise ValueError(f"only literal arguments are allowed in {spec!r}")
    return ImportSpec(module, attr, call, args, kwargs)


def import_string(spec: str, root: Path | str | None = None, where: str = "") -> t.Any:
    """Import ``module:attr`` (calling ``module:factory(args)``) and return it.

    ``root`` is put first on ``sys.path``. Errors are :class:`ConfigError`
    prefixed with ``where`` and tell apart a missing module, a missing
    attribute, an exception raised while importing the module, and one raised
    by the factory call.
    """
    prefix = f"{where}: " if where else ""
    try:
        parsed = parse_import_string(spec)
    except ValueError as e:
        raise ConfigError(f"{prefix}{e}") from None
    if root is not None:
        root_s = str(Path(root).resolve())
        if not sys.path or sys.path[0] != root_s:
            sys.path.insert(0, root_s)
    try:
        module = importlib.import_module(parsed.module)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing == parsed.module or parsed.module.startswith(missing + "."):
            looked = f" (searched {root_s} first)" if root is not None else ""
            raise ConfigError(f"{prefix}no module named {missing!r}{looked}") from None
        raise ConfigError(
            f"{prefix}importing {parsed.module!r} failed: {type(e).__name__}: {e}"
        ) from e
    except Exception as e:
        raise ConfigError(
            f"{prefix}importing {parsed.module!r} failed: {type(e).__name__}: {e}"
        ) from e
    obj: t.Any = module
    for part in parsed.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ConfigError(
                f"{prefix}module {parsed.module!r} has no attribute {parsed.attr!r}"
                f"{_suggest(part, names)}"
            ) from None
    if parsed.call:
        if not callable(obj):
            raise ConfigError(f"{prefix}{parsed.module}:{parsed.attr} is not callable")
        try:
            obj = obj(*parsed.args, **parsed.kwargs)
        except Exception as e:
            raise ConfigError(
                f"{prefix}calling {spec.strip()} raised {type(e).__name__}: {e}"
            ) from e
    return obj


def import_app(spec: str, root: Path | str | None = None, where: str = "") -> t.Any:
    """:func:`import_string` that also checks the result is a WSGI callable."""
    app = import_string(spec, root, where)
    if not callable(app):
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}{spec!r} is a {type(app).__name__}, not a WSGI application"
            " (use 'module:factory()' to call a factory)"
        )
    return app


def build_gateway(config: GatewayConfig) -> Gateway:
    """Import every application named in ``config`` and compose a Gateway."""
    from .gateway import Gateway

    return Gateway.from_config(config)
