"""Links between the applications of the site, through the running gateway.

Cross-application URLs are built by :func:`gateway.dispatch.url_for_app`
(``url_for_app("docs", "docs.page", name="scaling")``,
``url_for_app("acme", "pages.about")``), which keeps the request's scheme
and port. It needs the target app's URL map, so for a tenant it builds (or
reuses) that tenant's instance; pages that merely list every tenant use
:func:`tenant_home`, which only needs the tenant's host name, so that viewing
the list does not start every tenant.
"""

from __future__ import annotations

import typing as t

from gateway import has_request_context, request
from gateway.dispatch import url_for_app

if t.TYPE_CHECKING:  # pragma: no cover
    from gateway.dispatch import Gateway


def current_gateway() -> Gateway | None:
    """The gateway serving this request (None outside one, or when the app is
    run on its own)."""
    if not has_request_context():
        return None
    return request.environ.get("gateway.gateway")


def tenant_home(slug: str) -> str | None:
    """``http://<slug>.<domain>[:port]/`` for the current request's scheme and
    port, without creating the tenant's application."""
    gw = current_gateway()
    if gw is None or gw.host_dispatcher is None or gw.host_dispatcher.pattern is None:
        return None
    host = gw.host_dispatcher.host_for(slug)
    _, sep, port = request.host.rpartition(":")
    if sep and port.isdigit():
        host = f"{host}:{port}"
    root = request.environ.get("gateway.root", "")
    return f"{request.scheme}://{host}{root}/"


def app_url(target: str, endpoint: str, **values: t.Any) -> str | None:
    """``url_for_app(target, endpoint, **values)``, or None when there is no
    gateway or no such application (a template then leaves the link out)."""
    if current_gateway() is None:
        return None
    try:
        return url_for_app(target, endpoint, **values)
    except LookupError:
        return None
