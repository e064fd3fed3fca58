"""The value rules of ``gateway.toml``: what a bind address, an import
string, a network or an account name may be.

Each check takes a value and returns it (normalised where there is a normal
form) or raises :class:`ValueError` with a message that does not repeat the
key: :mod:`gateway.toml.schema` prefixes it with ``[table].key: ``. The host
and prefix rules are those dispatch routes with (:mod:`gateway.hostnames`,
:mod:`gateway.prefixes`). Pure: nothing here reads files or imports
applications.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import re
import typing as t
from pathlib import Path

from ..hostnames import normalize_host_entry
from ..prefixes import normalize_prefix

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_DOTTED_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def show(value: t.Any) -> str:
    """A value as the user wrote it in TOML (strings in double quotes)."""
    return json.dumps(value, default=str)


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def kind(words: str) -> t.Callable[[F], F]:
    """Decorate a check with the type it accepts in words (``"path prefix"``),
    which the reference in docs/gateway-toml.md shows instead of the bare
    TOML type."""

    def mark(func: F) -> F:
        func.type_doc = words  # type: ignore[attr-defined]
        return func

    return mark


# -- addresses ---------------------------------------------------------------


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


@kind("array of host:port")
def hostports(values: tuple[str, ...]) -> tuple[str, ...]:
    """Every entry is ``host:port``."""
    for value in values:
        split_hostport(value)
    return values


def absolute(root: Path, value: str) -> str:
    """``value`` made absolute against ``root`` (``""`` stays ``""``)."""
    if not value:
        return ""
    return str((root / value).resolve()) if not Path(value).is_absolute() else value


def bind_address(value: str, root: Path) -> str:
    """``host:port``, or ``unix:PATH`` with the path made absolute."""
    if value.startswith("unix:"):
        rest = value[5:]
        if not rest:
            raise ValueError("expected 'unix:/path/to.sock' with a path")
        return "unix:" + absolute(root, rest)
    split_hostport(value)
    return value


@kind("array of CIDRs")
def networks(values: t.Iterable[str]) -> tuple[str, ...]:
    """CIDRs, in their normal form; host bits set are an error."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError as e:
            raise ValueError(
                f"{value!r} is not a network such as '10.0.0.0/8' or '::1/128' ({e})"
            ) from None
    return tuple(out)


# -- sizes ---------------------------------------------------------------------

_SIZE_RE = re.compile(r"([0-9]+)([KMG]?)\Z", re.IGNORECASE)
#: What a size unit multiplies by (1024-based, as nginx reads ``1m``).
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


@kind('size: bytes, or "512K", "10M", "1G"')
def size(value: t.Any) -> int:
    """A number of bytes: a non-negative integer, or a string of digits with
    an optional unit K, M or G (1024-based, any case): ``"10M"`` is
    10485760. ``0`` means no limit, as in nginx and Apache."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            'expected a size in bytes such as 1048576 or "1M" (units K, M, G,'
            f" 1024-based; 0 = no limit), got {show(value)}"
        )
    return int(match[1]) * SIZE_UNITS[match[2].upper()]


def format_size(value: int) -> str:
    """``value`` bytes in the largest unit that divides it exactly, the way
    nginx writes sizes: ``10485760`` is ``"10m"``, ``1000`` stays ``"1000"``."""
    for unit in ("G", "M", "K"):
        factor = SIZE_UNITS[unit]
        if value and value % factor == 0:
            return f"{value // factor}{unit.lower()}"
    return str(value)


# -- names ---------------------------------------------------------------------


@kind("name")
def file_name(value: str) -> str:
    """A name used in file, unit and socket names."""
    if not _NAME_RE.match(value):
        raise ValueError(
            "expected letters, digits, '.', '_' or '-' (used in file names),"
            f" got {show(value)}"
        )
    return value


@kind("account name")
def account(value: str) -> str:
    """A user or group name."""
    if not value or not _NAME_RE.match(value):
        raise ValueError(f"expected a user/group name, got {show(value)}")
    return value


@kind("path prefix")
def prefix(value: str) -> str:
    """A path prefix: ``/admin``, no trailing ``/``."""
    return normalize_prefix(value, strict=True)


@kind("path prefix")
def optional_prefix(value: str) -> str:
    """``""`` or a path prefix."""
    return prefix(value) if value else ""


@kind('host, "" or "*"')
def host_choice(value: str) -> str:
    """``""`` (the bare base domain), ``"*"`` (every tenant or host), or an
    exact host, normalised."""
    if value in ("", "*"):
        return value
    return normalize_host_entry(value)


# -- import strings --------------------------------------------------------------


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
    Nothing is imported (:func:`gateway.dispatch.import_string` does that).
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


@kind("import string")
def import_syntax(value: str) -> str:
    """An import string (checked, not imported)."""
    parse_import_string(value)
    return value


@kind("import string")
def optional_import(value: str) -> str:
    """``""`` or an import string."""
    return import_syntax(value) if value else ""
