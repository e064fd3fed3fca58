"""The tenant factory and lookup that ``gateway.toml`` names.

``create_tenant(key)`` builds a tenant's application from its row, or returns
None for a sub-domain nobody has (the gateway answers 404 and remembers that
for ``[tenants].negative_ttl`` seconds). While the database is down it
returns neither: the store raises :class:`~hosting.store.StoreUnavailable`,
and the gateway answers 503 with ``Retry-After`` and asks again a second
later, so a sub-domain first visited during an outage is never remembered as
missing. A failing ``tenant_versions()`` only skips that poll: no live tenant
is evicted. ``tenant_versions()`` is polled every
``[tenants].refresh_interval`` seconds by every gateway process: a tenant that
disappeared (removed or renamed) is evicted from that process's registry, and
one whose version changed is reloaded by it, without a restart or shared
memory.
"""

from __future__ import annotations

from gateway import App

from . import get_store
from .tenant_site import create_site


def create_tenant(key: str) -> App | None:
    """The application for sub-domain ``key``, or None if there is no tenant."""
    store = get_store()
    tenant = store.get(key)
    if tenant is None:
        return None
    return create_site(tenant, store)


def tenant_versions() -> dict[str, tuple[int, int]]:
    """``{sub-domain: (row id, version)}`` of every tenant, for
    ``[tenants].lookup``.

    The registry retires the instances of sub-domains missing from it, and
    reloads those whose version differs from the one they were built at: a
    row edited, or removed and added again, in any process.
    """
    return get_store().versions()
