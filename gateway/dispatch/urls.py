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
have a Werkzeug ``url_map`` (a :class:`gateway.App` does), so a tenant's
application is created (or reused) to build it.

The gateway is the one serving the current request (it puts itself in the
environ as ``gateway.gateway``), or the one passed in (``_gateway=`` /
``gateway=``, or the :class:`~gateway.dispatch.Gateway`'s own methods).
Outside a request nothing else is guessed: without one passed in, both raise
:class:`RuntimeError`.

``url_for_tenant(key, path)`` needs no application: it builds the absolute
URL of a path on a tenant's host from the tenant pattern alone, so a page
listing many tenants does not start them all.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar
from urllib.parse import quote

from ..ctx import has_request_context
from ..globals import request
from ..hostnames import host_port, parse_host
from .responses import wsgi_path_to_url

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

    from .gateway import Gateway
    from .path import Mount


#: Characters kept as they are in a path given to :func:`url_for_tenant`.
_PATH_SAFE = "/:@!$&'()*+,;=%?#[]~"


#: The environ of the request a Gateway is dispatching in this thread or
#: task, set by ``Gateway`` for the duration of the call into the app. It is
#: how an app that is not a gateway.App (a real Flask app, any WSGI app) finds
#: its request when it builds URLs across applications.
serving_environ: ContextVar[WSGIEnvironment | None] = ContextVar(
    "gateway.dispatch.serving_environ", default=None
)


def _current_environ() -> WSGIEnvironment | None:
    """The environ of the current request: the gateway.App request context's
    (kept while a streamed response runs), else the one the Gateway is
    dispatching."""
    if has_request_context():
        environ: WSGIEnvironment = request.environ
        return environ
    return serving_environ.get()


def current_gateway() -> Gateway | None:
    """The :class:`~gateway.dispatch.Gateway` serving the current request;
    None outside a request or when the app is served without a gateway."""
    environ = _current_environ()
    return environ.get("gateway.gateway") if environ is not None else None


def _find_gateway(
    explicit: Gateway | None, caller: str, argument: str
) -> tuple[Gateway, WSGIEnvironment | None]:
    """The gateway to build with (``explicit``, else the one serving this
    request) and the request's environ."""
    environ = _current_environ()
    gateway = explicit
    if gateway is None and environ is not None:
        gateway = environ.get("gateway.gateway")
    if gateway is None:
        where = (
            "this request is not served by a Gateway"
            if environ is not None
            else "it was called outside a request"
        )
        raise RuntimeError(
            f"{caller} has no Gateway to build with: {where}. Pass one,"
            f" {caller}(..., {argument}=gateway), or call gateway.{caller}(...)"
        )
    return gateway, environ


def _origin(
    gateway: Gateway, environ: WSGIEnvironment | None, scheme: str | None
) -> tuple[str | None, str, str, str | None]:
    """``(current host, port, root, scheme)`` of URLs built now: the
    request's, or outside a request no host or port, the gateway's
    ``script_name`` and only an explicit scheme."""
    if environ is None:
        return None, "", gateway.script_name, scheme
    raw = environ.get("HTTP_HOST")
    return (
        parse_host(raw),
        host_port(raw),
        environ.get("gateway.root", gateway.script_name),
        scheme or environ.get("wsgi.url_scheme", "http"),
    )


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

    The gateway is ``_gateway``, else the one serving the current request.
    Raises :class:`RuntimeError` when there is neither, :class:`LookupError`
    for an unknown target and Werkzeug's ``BuildError`` for an unknown
    endpoint.
    """
    gateway, environ = _find_gateway(_gateway, "url_for_app", "_gateway")
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
    current, port, root, url_scheme = _origin(gateway, environ, scheme)
    if environ is not None:
        if host is None:
            host = current
        if external is None:
            external = scheme is not None or host != current
    else:
        url_scheme = url_scheme or config.get("PREFERRED_URL_SCHEME") or "http"
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
        netloc, script_name=(root + prefix) or "/", url_scheme=url_scheme or "http"
    )
    inject = getattr(app, "inject_url_defaults", None)
    if inject is not None:
        inject(endpoint, values)
    rv: str = adapter.build(endpoint, values, method=method, force_external=external)
    if anchor is not None:
        rv = f"{rv}#{quote(anchor, safe='%!#$&()*+,/:;=?@')}"
    return rv


def url_for_tenant(
    key: str,
    path: str = "/",
    *,
    scheme: str | None = None,
    gateway: Gateway | None = None,
) -> str:
    """The absolute URL of ``path`` on tenant ``key``'s host, without creating
    (or even asking for) the tenant's application.

    ``url_for_tenant("acme")`` is ``http://acme.example.com/``. Inside a
    request the URL keeps the request's scheme, port and script root (the
    tenant is served by the same server); outside one it has no port, the
    gateway's ``script_name`` and ``scheme`` or ``http``. The gateway is
    ``gateway``, else the one serving the current request; with neither,
    :class:`RuntimeError`. Raises :class:`LookupError` when there are no
    tenants and :class:`ValueError` for a key the tenant pattern would never
    route to (upper case, a dot without ``nested``, ...).
    """
    gateway, environ = _find_gateway(gateway, "url_for_tenant", "gateway")
    return tenant_url(gateway, key, path, environ, scheme=scheme)


def tenant_url(
    gateway: Gateway,
    key: str,
    path: str = "/",
    environ: WSGIEnvironment | None = None,
    *,
    scheme: str | None = None,
) -> str:
    """The work of :func:`url_for_tenant` for a given gateway and environ."""
    dispatcher = gateway.host_dispatcher
    if dispatcher is None or dispatcher.pattern is None:
        raise LookupError(f"no tenants are configured (looking up {key!r})")
    host = dispatcher.host_for(key)
    if parse_host(host) != host or dispatcher.pattern.match(host) != key:
        raise ValueError(
            f"{key!r} is not a tenant key: requests for {host!r} never reach it"
        )
    if not path.startswith("/"):
        raise ValueError(f"expected a path starting with '/', got {path!r}")
    _, port, root, url_scheme = _origin(gateway, environ, scheme)
    netloc = f"{host}:{port}" if port else host
    url_path = wsgi_path_to_url(root) + quote(path, safe=_PATH_SAFE)
    return f"{url_scheme or 'http'}://{netloc}{url_path}"
