"""HostDispatcher: pick the application from the ``Host`` header.

Routes, in order: exact hosts, the bare base domain (default app), tenant
subdomains from a pattern (``{tenant}.example.com``, via an
:class:`~.registry.AppRegistry`), and everything else (404 or a configured
app). A missing, empty or malformed Host is a 400. The decision for a raw
Host value is cached in a small bounded dict, so a cached tenant costs one
``environ.get`` and two dict lookups before the registry.

:class:`SubdomainDispatcher` is the drop-in face of the documented pattern.
"""

from __future__ import annotations

import typing as t

from ..hostnames import (
    HostPattern,
    canonical_host,
    normalize_domain,
    normalize_host_entry,
    parse_host,
)
from .registry import AppRegistry
from .responses import bad_request_host, not_found

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# A route: (tenant key, None) to serve through the registry, or (None, app).
Route = tuple[str | None, "WSGIApplication | None"]


class HostDispatcher:
    """Dispatch on the normalised ``Host`` (port, case and trailing dot ignored).

    :param base_domain: the domain whose subdomains are tenants.
    :param tenants: an :class:`AppRegistry`, or a factory ``key -> app | None``
        to build one with ``registry_options``.
    :param pattern: tenant host pattern, default ``"{tenant}." + base_domain``.
    :param nested: accept dotted keys (``a.b.example.com`` -> ``"a.b"``).
    :param hosts: exact host -> app, checked first.
    :param default: app for the bare base domain (404 when None).
    :param outside: app for hosts matching nothing (404 when None).
    :param unknown_tenant: app when the factory returned None (404 when None).
    """

    def __init__(
        self,
        base_domain: str | None = None,
        tenants: AppRegistry | t.Callable[[str], t.Any] | None = None,
        *,
        pattern: str | None = None,
        nested: bool = False,
        hosts: t.Mapping[str, WSGIApplication] | None = None,
        default: WSGIApplication | None = None,
        outside: WSGIApplication | None = None,
        unknown_tenant: WSGIApplication | None = None,
        cache_size: int = 1024,
        **registry_options: t.Any,
    ) -> None:
        self.base_domain = normalize_domain(base_domain) if base_domain else None
        if tenants is not None and pattern is None:
            if self.base_domain is None:
                raise ValueError(
                    "tenants need a base_domain or a pattern such as '{tenant}.example.com'"
                )
            pattern = "{tenant}." + self.base_domain
        self.pattern = HostPattern(pattern, nested) if pattern is not None else None
        if isinstance(tenants, AppRegistry) or tenants is None:
            if registry_options:
                raise TypeError(
                    f"registry options {sorted(registry_options)} need a factory, not a registry"
                )
            self.registry = tenants
        else:
            registry_options.setdefault("name", "tenant")
            self.registry = AppRegistry(tenants, **registry_options)
        self.hosts = {normalize_host_entry(h): app for h, app in (hosts or {}).items()}
        self.default = default
        self.outside = outside or not_found
        self.unknown_tenant = unknown_tenant or not_found
        self._routes: dict[str | None, Route] = {}
        # Raw Host values spelled otherwise than canonically: the
        # normalised host, the Host to put in the environ, and the route.
        self._rewrites: dict[str, tuple[str, str, Route]] = {}
        self._cache_size = cache_size

    def route(self, host: str | None) -> Route:
        """Decide where a *normalised* host goes (None: invalid -> 400)."""
        if host is None:
            return None, bad_request_host
        app = self.hosts.get(host)
        if app is not None:
            return None, app
        if host == self.base_domain:
            return self._bare_route()
        if self.pattern is not None and self.registry is not None:
            key = self.pattern.match(host)
            if key is not None:
                return key, None
        return None, self.outside

    def _bare_route(self) -> Route:
        return None, self.default or not_found

    def _lookup(self, environ: WSGIEnvironment, raw: str | None) -> Route:
        """The route of a Host not in the fast cache; rewrites the environ
        when the Host is not spelled canonically."""
        rewrite = self._rewrites.get(raw) if raw is not None else None
        if rewrite is None:
            parts = canonical_host(raw)
            route = self.route(parts[0] if parts is not None else None)
            if raw is None or len(raw) > 255:
                if parts is not None and parts[1] != raw:
                    rewrite_host(environ, *parts)
                return route
            if parts is None or parts[1] == raw:
                if len(self._routes) >= self._cache_size:
                    self._routes.clear()
                self._routes[raw] = route
                return route
            rewrite = parts[0], parts[1], route
            if len(self._rewrites) >= self._cache_size:
                self._rewrites.clear()
            self._rewrites[raw] = rewrite
        rewrite_host(environ, rewrite[0], rewrite[1])
        return rewrite[2]

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        # Subscripts, not .get(): a specialised dict read costs 70
        # instructions less than a method call, and a miss is rare.
        try:
            raw = environ["HTTP_HOST"]
        except KeyError:
            raw = None
        try:
            route = self._routes[raw]
        except KeyError:
            route = self._lookup(environ, raw)
        key, app = route
        if app is not None:
            return app(environ, start_response)
        environ["gateway.tenant"] = key
        registry: AppRegistry = self.registry  # type: ignore[assignment]
        return registry.serve(key, environ, start_response, self.unknown_tenant)

    # -- helpers for the gateway, url building and TLS front ends ----------

    def tenant_key(self, host: str) -> str | None:
        """The tenant key a Host value maps to, or None."""
        key, app = self.route(parse_host(host))
        return key if app is None else None

    def host_for(self, key: str) -> str:
        """The host name serving tenant ``key``."""
        if self.pattern is None:
            raise LookupError("this dispatcher has no tenant pattern")
        return self.pattern.host_for(key)

    def host_exists(self, host: str) -> bool:
        """Whether a request for ``host`` would reach an application (a tenant
        is checked through the registry, creating it if needed)."""
        parsed = parse_host(host)
        if parsed is None:
            return False
        key, app = self.route(parsed)
        if app is not None:
            return (
                app is not not_found
                and app is not bad_request_host
                and app is not self.outside
            )
        return self.registry is not None and self.registry.exists(key)

    def __repr__(self) -> str:
        parts = [repr(self.pattern.pattern)] if self.pattern else []
        if self.base_domain:
            parts.insert(0, f"base_domain={self.base_domain!r}")
        if self.hosts:
            parts.append(f"hosts={sorted(self.hosts)!r}")
        return f"<HostDispatcher {' '.join(parts)}>"


def rewrite_host(environ: WSGIEnvironment, host: str, header: str) -> None:
    """Hand the application the canonical Host ``header`` (normalised
    ``host`` and port): ``HTTP_HOST``, and ``SERVER_NAME`` when it names the
    same host in another spelling (as a proxy fix of ``X-Forwarded-Host``
    leaves it). A server's own ``SERVER_NAME`` is left alone."""
    environ["HTTP_HOST"] = header
    name = environ.get("SERVER_NAME")
    if name and name != host and name.lower().rstrip(".") == host:
        environ["SERVER_NAME"] = host


class SubdomainDispatcher(HostDispatcher):
    """The documented ``SubdomainDispatcher(domain, create_app)``, made safe.

    As documented, ``create_app(subdomain)`` is called with the part of the
    host before ``domain`` (``""`` for the bare domain) and its result is
    remembered. Unlike the pattern in the docs: creation is per-key single
    flight (one slow subdomain never stalls others), a factory returning None
    or a host outside ``domain`` gives 404 instead of an assertion or a crash,
    a missing Host is a 400, unknown subdomains are not kept forever, and
    ``a.b.example.com`` is refused unless ``nested=True``.
    """

    def __init__(
        self,
        domain: str,
        create_app: t.Callable[[str], t.Any],
        *,
        nested: bool = False,
        **registry_options: t.Any,
    ) -> None:
        super().__init__(domain, create_app, nested=nested, **registry_options)
        self.domain = self.base_domain
        self.create_app = create_app

    def _bare_route(self) -> Route:
        return "", None

    def get_application(self, host: str) -> t.Any:
        """The application for a Host value, as in the documented class
        (None when there is none)."""
        parsed = parse_host(host)
        key, app = self.route(parsed)
        if app is not None:
            return None
        return self.registry.get(key)  # type: ignore[union-attr]

    @property
    def instances(self) -> dict[str, t.Any]:
        """A snapshot of the live instances by subdomain."""
        registry = t.cast(AppRegistry, self.registry)
        return {key: registry.peek(key) for key in registry.keys()}
