"""Pure logic of forwarded headers: which values to believe, and checking them.

A proxy appends to ``X-Forwarded-For`` (and friends); the *last* ``n`` values
were written by the ``n`` proxies we run, everything before them came from
the client and may be forged. So with ``x_for=1`` the real client is the last
value, with ``x_for=2`` the second to last, and with fewer values than hops
nothing is believed (Werkzeug's ProxyFix rule). RFC 7239 ``Forwarded``
elements follow the same rule.

Values are validated before use: an address must be an IP address, a scheme
``http`` or ``https``, a host a valid host (port allowed), a port 1-65535, a
prefix an absolute path without dot segments. A value that fails is ignored,
never passed on.
"""

from __future__ import annotations

import ipaddress
import typing as t

from ..hostnames import parse_host, split_host_port
from ..prefixes import canonical_path

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The environ keys of the forwarded headers this module understands.
FORWARDED_KEYS: tuple[str, ...] = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


def pick(value: str | None, hops: int) -> str | None:
    """The value written ``hops`` proxies back in a comma list, or None."""
    if not hops or not value:
        return None
    values = value.split(",")
    if len(values) < hops:
        return None
    return values[-hops].strip() or None


def _split_quoted(value: str, sep: str) -> list[str] | None:
    """Split on ``sep`` outside double quotes; None on an unclosed quote."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted or escaped:
        return None
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str | None:
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            return None
        inner = value[1:-1]
        out = []
        escaped = False
        for char in inner:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        return "".join(out)
    if not value or any(c in value for c in ' "\t,;='):
        return None
    return value


def parse_forwarded(value: str | None) -> list[dict[str, str]]:
    """Parse an RFC 7239 ``Forwarded`` header into one dict per element.

    Parameter names are lower-cased. A malformed header (unclosed quote, a
    pair without ``=``, a bad token) yields ``[]``: a broken header is not
    evidence of anything, so none of it is believed.
    """
    if not value:
        return []
    elements = _split_quoted(value, ",")
    if elements is None:
        return []
    out: list[dict[str, str]] = []
    for element in elements:
        pairs = _split_quoted(element, ";")
        if pairs is None:  # pragma: no cover - unbalanced quotes caught above
            return []
        params: dict[str, str] = {}
        for pair in pairs:
            pair = pair.strip()
            if not pair:
                continue
            name, eq, raw = pair.partition("=")
            name = name.strip().lower()
            if (
                not eq
                or not name
                or not name.isascii()
                or not name.replace("-", "").isalnum()
            ):
                return []
            unquoted = _unquote(raw.strip())
            if unquoted is None:
                return []
            params[name] = unquoted
        out.append(params)
    return out


def pick_forwarded(elements: list[dict[str, str]], hops: int, name: str) -> str | None:
    """Parameter ``name`` of the element written ``hops`` proxies back."""
    if not hops or len(elements) < hops:
        return None
    return elements[-hops].get(name) or None


def clean_addr(value: str | None) -> str | None:
    """An IP address from an ``X-Forwarded-For`` or ``for=`` value.

    Accepts ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``, ``[2001:db8::1]``
    and ``[2001:db8::1]:4711``; returns the bare address or None (``unknown``,
    obfuscated ``_names`` and junk are not addresses).
    """
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        rest = value[end + 1 :]
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return None
        value = value[1:end]
    elif value.count(":") == 1:
        value, _, port = value.partition(":")
        if not port.isdigit():
            return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def clean_proto(value: str | None) -> str | None:
    """``http`` or ``https`` (any case), else None."""
    if not value:
        return None
    value = value.strip().lower()
    return value if value in ("http", "https") else None


def clean_host(value: str | None) -> str | None:
    """A forwarded host (with optional port) that parses as a host, else None."""
    if not value:
        return None
    value = value.strip()
    return value if parse_host(value) is not None else None


def clean_port(value: str | None) -> str | None:
    """A port number 1-65535 as text, else None."""
    if not value:
        return None
    value = value.strip()
    # isascii: "\xb2" (a latin-1 header's "²") is a digit to isdigit, not to int.
    if (
        value.isascii()
        and value.isdigit()
        and len(value) <= 5
        and 0 < int(value) <= 65535
    ):
        return str(int(value))
    return None


def clean_prefix(value: str | None) -> str | None:
    """A forwarded path prefix: absolute, no dot segments, no trailing slash.

    ``/`` and the empty prefix both mean "no prefix" and return ``""``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value.startswith("/") or "\\" in value or not value.isprintable():
        return None
    if any(seg in (".", "..") for seg in value.split("/")):
        return None
    value = canonical_path(value).rstrip("/")
    if "?" in value or "#" in value or " " in value:
        return None
    return value


class TrustedNetworks:
    """CIDR networks of trusted peers, with a membership test on text addresses.

    ``None`` entries means "every peer" (Werkzeug's ProxyFix, which trusts
    whoever sends the headers). Results are cached per address, the cache
    bounded so that random addresses cannot grow it without limit.
    """

    __slots__ = ("networks", "trust_all", "_cache", "_limit")

    def __init__(self, entries: t.Iterable[str] | None, cache_size: int = 1024) -> None:
        self.trust_all = entries is None
        networks: list[Network] = []
        for entry in entries or ():
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as e:
                raise ValueError(
                    f"trusted proxy {entry!r} is not a network: {e}"
                ) from None
        self.networks = tuple(networks)
        self._cache: dict[str, bool] = {}
        self._limit = cache_size

    def __contains__(self, addr: object) -> bool:
        if self.trust_all:
            return True
        if not isinstance(addr, str):
            return False
        cached = self._cache.get(addr)
        if cached is not None:
            return cached
        result = self._check(addr)
        if len(self._cache) >= self._limit:
            self._cache.clear()
        self._cache[addr] = result
        return result

    def _check(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)

    def __repr__(self) -> str:
        if self.trust_all:
            return "<TrustedNetworks any>"
        return f"<TrustedNetworks {[str(n) for n in self.networks]!r}>"


class Hops(t.NamedTuple):
    """How many proxies to believe for each forwarded value."""

    x_for: int = 1
    x_proto: int = 1
    x_host: int = 0
    x_port: int = 0
    x_prefix: int = 0


class Forwarded(t.NamedTuple):
    """The believed, validated values (None: keep what the server said)."""

    remote_addr: str | None
    scheme: str | None
    host: str | None
    port: str | None
    prefix: str | None


def resolve(
    headers: t.Mapping[str, str], hops: Hops, rfc7239: bool = False
) -> Forwarded:
    """Decide the forwarded values from the headers of a trusted peer.

    ``headers`` maps WSGI environ keys (``HTTP_X_FORWARDED_FOR``...) to
    values. With ``rfc7239`` the ``Forwarded`` header supplies for/proto/host
    (and the port inside host); ``X-Forwarded-Prefix`` has no RFC 7239
    equivalent and is read either way.
    """
    get = headers.get
    if rfc7239:
        elements = parse_forwarded(get("HTTP_FORWARDED"))
        addr = pick_forwarded(elements, hops.x_for, "for")
        proto = pick_forwarded(elements, hops.x_proto, "proto")
        host = pick_forwarded(elements, hops.x_host, "host")
        port = None
        if hops.x_port:
            port_host = pick_forwarded(elements, hops.x_port, "host")
            parts = split_host_port(port_host) if port_host else None
            port = parts[1] if parts else None
    else:
        addr = pick(get("HTTP_X_FORWARDED_FOR"), hops.x_for)
        proto = pick(get("HTTP_X_FORWARDED_PROTO"), hops.x_proto)
        host = pick(get("HTTP_X_FORWARDED_HOST"), hops.x_host)
        port = pick(get("HTTP_X_FORWARDED_PORT"), hops.x_port)
    prefix = pick(get("HTTP_X_FORWARDED_PREFIX"), hops.x_prefix)
    return Forwarded(
        remote_addr=clean_addr(addr),
        scheme=clean_proto(proto),
        host=clean_host(host),
        port=clean_port(port),
        prefix=clean_prefix(prefix),
    )
