"""URLs across applications: ``url_for_app(target, endpoint, **values)``.

``target`` names the application the way a reader of the gateway would:

- ``"acme"``: a mount named ``acme`` reachable from here, else tenant
  ``acme``, else the exact host ``acme`` from ``hosts``;
- ``"/admin"``: the mount with that prefix (on this tenant, or the bare
  domain);
- ``"acme/admin"``: mount ``admin`` as seen on tenant ``acme``;
- ``""``: the default app of the bare domain.

The ``"target:endpoint"`` form in one string is accepted too. Inside a
request the URL keeps the request's scheme and port and is relative when the
target is on the same host; outside one it is absolute. The target app must
have a Werkzeug ``url_map`` (a :class:`gateway.App` does).
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from .hostnames import host_port, parse_host

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

    from .gateway import Gateway
    from .path import Mount


def _current_environ() -> WSGIEnvironment | None:
    from ..globals import _cv_request

    ctx = _cv_request.get(None)
    return ctx.request.environ if ctx is not None else None


def url_for_app(
    target: str,
    endpoint: str | None = None,
    /,
    *,
    _gateway: Gateway | None = None,
    _external: bool | None = None,
    _scheme: str | None = None,
    _anchor: str | None = None,
    _method: str | None = None,
    **values: t.Any,
) -> str:
    """Build the URL of ``endpoint`` in the application named by ``target``.

    The gateway is the one serving the current request, else ``_gateway``,
    else the most recently built one. Raises :class:`LookupError` for an
    unknown target and Werkzeug's ``BuildError`` for an unknown endpoint.
    """
    from .gateway import last_gateway

    environ = _current_environ()
    gateway = _gateway
    if gateway is None and environ is not None:
        gateway = environ.get("gateway.gateway")
    if gateway is None:
        gateway = last_gateway()
    if gateway is None:
        raise RuntimeError(
            "url_for_app needs a Gateway: none is serving this request or built"
        )
    return build_url(
        gateway,
        target,
        endpoint,
        environ,
        values,
        external=_external,
        scheme=_scheme,
        anchor=_anchor,
        method=_method,
    )


def _find_mount(gateway: Gateway, ref: str, hosts: t.Sequence[str]) -> Mount | None:
    for host in hosts:
        for mount in gateway.mounts:
            if mount.host == host and ref in (
                mount.name,
                mount.prefix,
                "/" + mount.name,
            ):
                return mount
    return None


def resolve_target(
    gateway: Gateway, target: str, environ: WSGIEnvironment | None
) -> tuple[t.Any, str | None, str]:
    """``(app, host or None, path prefix)`` for a ``url_for_app`` target."""
    dispatcher = gateway.host_dispatcher
    current_host = parse_host(environ.get("HTTP_HOST")) if environ is not None else None
    current_tenant = environ.get("gateway.tenant") if environ is not None else None
    bare_host = gateway.base_domain or (current_host if dispatcher is None else None)

    def tenant_host(key: str) -> str:
        if dispatcher is None or dispatcher.pattern is None:
            raise LookupError(f"no tenants are configured (looking up {key!r})")
        return dispatcher.host_for(key)

    def tenant_app(key: str) -> t.Any:
        if gateway.registry is None:
            raise LookupError(f"no tenants are configured (looking up {key!r})")
        app = gateway.registry.get(key)
        if app is None:
            raise LookupError(f"no application for tenant {key!r}")
        return app

    def mount_result(mount: Mount, tenant: str | None) -> tuple[t.Any, str | None, str]:
        if mount.host == "*":
            if tenant is None:
                raise LookupError(
                    f"mount {mount.prefix!r} is per tenant: name the tenant, 'key/{mount.name}'"
                )
            host: str | None = tenant_host(tenant)
        elif mount.host == "":
            host = bare_host
        else:
            host = mount.host
        return mount.app, host, mount.wsgi_prefix

    if target == "":
        return gateway.default_app, bare_host, ""
    if "/" in target and not target.startswith("/"):
        key, ref = target.split("/", 1)
        mount = _find_mount(gateway, ref, ["*", tenant_host(key)])
        if mount is None:
            raise LookupError(f"tenant {key!r} has no mount {ref!r}")
        return mount_result(mount, key)
    search: list[str] = []
    if current_tenant is not None:
        search += ["*", tenant_host(current_tenant)]
    elif current_host is not None and current_host != gateway.base_domain:
        search.append(current_host)
    search.append("")
    mount = _find_mount(gateway, target, search)
    if mount is not None:
        return mount_result(mount, current_tenant)
    if target.startswith("/"):
        raise LookupError(f"no mount {target!r} here")
    if target in gateway.hosts:
        return gateway.hosts[target], target, ""
    if gateway.registry is not None:
        return tenant_app(target), tenant_host(target), ""
    raise LookupError(f"no mount, tenant or host named {target!r}")


def build_url(
    gateway: Gateway,
    target: str,
    endpoint: str | None,
    environ: WSGIEnvironment | None,
    values: dict[str, t.Any],
    *,
    external: bool | None = None,
    scheme: str | None = None,
    anchor: str | None = None,
    method: str | None = None,
) -> str:
    """The work of :func:`url_for_app` for a given gateway and environ."""
    if endpoint is None:
        target, sep, endpoint = target.partition(":")
        if not sep or not endpoint:
            raise ValueError(
                f"expected 'target:endpoint' or a separate endpoint, got {target!r}"
            )
    endpoint = endpoint.lstrip(".")
    app, host, prefix = resolve_target(gateway, target, environ)
    url_map = getattr(app, "url_map", None)
    if url_map is None:
        raise TypeError(f"cannot build URLs for {app!r}: it has no url_map")
    config = getattr(app, "config", None) or {}
    if environ is not None:
        current = parse_host(environ.get("HTTP_HOST"))
        port = host_port(environ.get("HTTP_HOST"))
        root = environ.get("gateway.root", gateway.script_name)
        url_scheme = scheme or environ.get("wsgi.url_scheme", "http")
        if host is None:
            host = current
        if external is None:
            external = scheme is not None or host != current
    else:
        port = ""
        root = gateway.script_name
        url_scheme = scheme or config.get("PREFERRED_URL_SCHEME") or "http"
        external = True if external is None else external
    if host is None:
        host = config.get("SERVER_NAME")
        if not host:
            raise RuntimeError(
                f"cannot tell the host of {target or 'the default app'!r}: set a base_domain"
            )
        port = ""
    netloc = f"{host}:{port}" if port else host
    adapter = url_map.bind(
        netloc, script_name=(root + prefix) or "/", url_scheme=url_scheme
    )
    inject = getattr(app, "inject_url_defaults", None)
    if inject is not None:
        inject(endpoint, values)
    rv: str = adapter.build(endpoint, values, method=method, force_external=external)
    if anchor is not None:
        rv = f"{rv}#{quote(anchor, safe='%!#$&()*+,/:;=?@')}"
    return rv
