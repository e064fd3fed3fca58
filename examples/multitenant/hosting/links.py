"""Links between the applications of the site, through the running gateway.

Cross-application URLs are built by :func:`gateway.dispatch.url_for_app`
(``url_for_app("docs", "docs.page", name="scaling")``,
``url_for_app("acme", "pages.about")``), which keeps the request's scheme
and port. It needs the target app's URL map, so for a tenant it builds (or
reuses) that tenant's instance; pages that merely list every tenant use
:func:`tenant_home` (:func:`gateway.dispatch.url_for_tenant`), which only
needs the tenant's host name, so that viewing the list does not start every
tenant.
"""

from __future__ import annotations

import typing as t

from gateway.dispatch import current_gateway, url_for_app, url_for_tenant

__all__ = ["app_url", "current_gateway", "tenant_home"]


def tenant_home(slug: str) -> str | None:
    """``http://<slug>.<domain>[:port]/`` for the current request's scheme and
    port without creating the tenant's application, or None when there is no
    gateway (a template then shows the bare slug)."""
    if current_gateway() is None:
        return None
    try:
        return url_for_tenant(slug)
    except LookupError:
        return None


def app_url(target: str, endpoint: str, **values: t.Any) -> str | None:
    """``url_for_app(target, endpoint, **values)``, or None when there is no
    gateway or no such application (a template then leaves the link out)."""
    if current_gateway() is None:
        return None
    try:
        return url_for_app(target, endpoint, **values)
    except LookupError:
        return None
