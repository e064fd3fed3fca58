"""Pure host-name logic: parsing a ``Host`` header, tenant patterns, allow lists.

No I/O and no module state: every function takes what it needs and returns a
value, so the rules are tested with plain tables. The middleware in
:mod:`~gateway.dispatch.host` and :mod:`~gateway.dispatch.proxy` cache the
results per raw header value.

A *normalised host* is lower case ASCII (IDNA "xn--" labels for
international names), without port or trailing dot; an IPv6 literal keeps its
brackets in compressed form (``[::1]``).

A ``Host`` header is ASCII (RFC 9110's ``uri-host`` is RFC 3986's
``reg-name``: an international name travels as its "xn--" A-labels), and its
port is 1-65535 written without leading zeros, as Werkzeug's
``host_is_trusted`` requires. What dispatch accepts, the application must
read the same way: :func:`canonical_host` gives the value the application is
handed (``ACME.example.com.:`` is seen as ``acme.example.com``), and
everything else is refused with 400 before any application runs.

Dispatch routes requests with these rules and :mod:`gateway.toml` validates
the file with them, so the module sits below both and imports only the
standard library.
"""

from __future__ import annotations

import ipaddress
import typing as t

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_HOST_CHARS = _LABEL_CHARS | {"."}


def _valid_port(port: str) -> bool:
    # An empty port ("example.com:") is allowed by RFC 3986, which says to
    # normalise it away (canonical_host does). Port 0 and leading zeros are
    # not, as in Werkzeug, which would read such a Host as "" (isascii: "²"
    # is a digit to isdigit and not to int).
    return port == "" or (
        port.isascii()
        and port.isdigit()
        and port[0] != "0"
        and len(port) <= 5
        and int(port) <= 65535
    )


def split_host_port(value: str) -> tuple[str, str] | None:
    """Split a ``Host`` value into its host and port text (port may be "").

    Returns None when the shape is wrong: a bad port, an unclosed ``[``, or a
    bare IPv6 address without brackets.
    """
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        rest = value[end + 1 :]
        if rest and (rest[0] != ":" or not _valid_port(rest[1:])):
            return None
        return value[: end + 1], rest[1:]
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, ""
    if not _valid_port(port) or ":" in host:
        return None
    return host, port


def normalize_name(name: str) -> str | None:
    """Normalise a DNS name (no port): lower case, no trailing dot, IDNA.

    Text (a configured ``bücher.example``) is IDNA-encoded; a ``Host``
    header never gets here with non-ASCII (:func:`parse_host` refuses it).
    Returns None when it is not a valid host name.
    """
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 253:
        return None
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    if not _HOST_CHARS.issuperset(name):
        return None
    for label in name.split("."):
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return None
    return name


def parse_host(value: str | None) -> str | None:
    """Return the normalised host of a ``Host`` header value, or None.

    None means the value cannot be trusted to name a site: missing, empty,
    not ASCII (raw UTF-8 instead of "xn--" labels), a bad port (0, leading
    zeros, above 65535), user info or path characters
    (``example.com@evil.tld``), spaces, empty labels, an invalid IDNA name or
    IPv6 literal.
    """
    parts = canonical_host(value)
    return parts[0] if parts is not None else None


def canonical_host(value: str | None) -> tuple[str, str] | None:
    """``(normalised host, Host value the application is handed)``, or None.

    The second is the normalised host with the port as sent, and no ``:``
    when the port is empty: ``("acme.example.com", "acme.example.com:8080")``
    for ``ACME.Example.COM.:8080``. When it differs from ``value``, dispatch
    rewrites ``HTTP_HOST`` to it, so ``request.host`` and the URLs an
    application builds name the host dispatch routed on. None is a 400.
    """
    if not value or len(value) > 300 or not value.isascii():
        return None
    parts = split_host_port(value)
    if parts is None:
        return None
    host, port = parts
    name = _normalize_host(host)
    if name is None:
        return None
    return name, f"{name}:{port}" if port else name


def _normalize_host(host: str) -> str | None:
    if host.startswith("["):
        literal = host[1:-1]
        if "%" in literal:  # zone ids are meaningless to a remote client
            return None
        try:
            return f"[{ipaddress.IPv6Address(literal).compressed}]"
        except ValueError:
            return None
    return normalize_name(host)


def host_port(value: str | None) -> str:
    """The port text of a ``Host`` value ("" when absent or malformed)."""
    if not value:
        return ""
    parts = split_host_port(value)
    return parts[1] if parts else ""


def normalize_domain(value: str) -> str:
    """Validate a configured domain and return it normalised.

    Raises :class:`ValueError` with a message saying what is wrong.
    """
    if not isinstance(value, str) or not value:
        raise ValueError("expected a domain name such as 'example.com'")
    if ":" in value or "/" in value or "@" in value:
        raise ValueError(
            f"expected a bare domain name without port or path, got {value!r}"
        )
    name = normalize_name(value)
    if name is None:
        raise ValueError(f"{value!r} is not a valid domain name")
    return name


def normalize_host_entry(value: str) -> str:
    """Validate a configured host (a name or an IP literal, no port)."""
    if isinstance(value, str) and value.startswith("["):
        host = parse_host(value) if value.endswith("]") else None
        if host is None:
            raise ValueError(f"{value!r} is not a valid IPv6 literal")
        return host
    if isinstance(value, str) and ":" in value:
        try:
            return f"[{ipaddress.IPv6Address(value).compressed}]"
        except ValueError:
            raise ValueError(
                f"expected a host name without port, got {value!r}"
            ) from None
    return normalize_domain(value)


class HostPattern:
    """A tenant host pattern: ``{tenant}`` in the leftmost label(s).

    ``HostPattern("{tenant}.example.com").match("acme.example.com") == "acme"``.
    ``evilexample.com`` never matches (the suffix includes the dot), and keys
    with dots (``a.b``) match only when ``nested`` is true.
    """

    __slots__ = ("pattern", "domain", "suffix", "nested")

    def __init__(self, pattern: str, nested: bool = False) -> None:
        if not isinstance(pattern, str) or not pattern.startswith("{tenant}."):
            raise ValueError(
                "the {tenant} placeholder must be the leftmost label, as in"
                f" '{{tenant}}.example.com', got {pattern!r}"
            )
        rest = pattern[len("{tenant}.") :]
        if "{" in rest or "}" in rest:
            raise ValueError(f"only one {{tenant}} placeholder is allowed: {pattern!r}")
        self.domain = normalize_domain(rest)
        self.suffix = "." + self.domain
        self.pattern = "{tenant}" + self.suffix
        self.nested = nested

    def match(self, host: str) -> str | None:
        """The tenant key for a normalised host, or None."""
        if not host.endswith(self.suffix):
            return None
        key = host[: -len(self.suffix)]
        if not key or (not self.nested and "." in key):
            return None
        return key

    def host_for(self, key: str) -> str:
        """The host serving tenant ``key``."""
        return key + self.suffix

    def __repr__(self) -> str:
        return f"<HostPattern {self.pattern!r}{' nested' if self.nested else ''}>"


class HostAllowList:
    """Trusted hosts: exact names and ``.example.com`` (domain and subdomains).

    An empty list allows every host, as "not configured".
    """

    __slots__ = ("entries", "exact", "suffixes")

    def __init__(self, entries: t.Iterable[str]) -> None:
        exact: set[str] = set()
        suffixes: list[str] = []
        normalized: list[str] = []
        for entry in entries:
            if isinstance(entry, str) and entry.startswith("."):
                domain = normalize_domain(entry[1:])
                exact.add(domain)
                suffixes.append("." + domain)
                normalized.append("." + domain)
            else:
                host = normalize_host_entry(entry)
                exact.add(host)
                normalized.append(host)
        self.entries = tuple(normalized)
        self.exact = frozenset(exact)
        self.suffixes = tuple(suffixes)

    def allows(self, host: str) -> bool:
        """Whether a normalised host is trusted."""
        if not self.entries:
            return True
        return host in self.exact or (
            bool(self.suffixes) and host.endswith(self.suffixes)
        )

    def __repr__(self) -> str:
        return f"<HostAllowList {list(self.entries)!r}>"


def derive_trusted_hosts(
    base_domain: str, hosts: t.Iterable[str] = (), pattern_domain: str = ""
) -> tuple[str, ...]:
    """The default trusted hosts: the base domain and its subdomains, the
    tenant pattern's domain, and exact hosts outside them. Without a base
    domain there is no default (every valid host is allowed), because the
    default app then answers for any host."""
    if not base_domain:
        return ()
    allowed = [base_domain, "." + base_domain]
    if pattern_domain and not _within(pattern_domain, base_domain):
        allowed.append("." + pattern_domain)
    for host in hosts:
        if host in ("", "*") or _within(host, base_domain) or host in allowed:
            continue
        if pattern_domain and _within(host, pattern_domain):
            continue
        allowed.append(host)
    return tuple(allowed)


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)
