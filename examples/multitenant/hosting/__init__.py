"""A multi-tenant hosting platform built on the gateway: the README's main job.

- :mod:`hosting.factory`: the ``[tenants]`` factory and lookup named in
  ``gateway.toml`` (a tenant's application is built from its database row);
- :mod:`hosting.tenant_site`: the application each tenant gets;
- :mod:`hosting.admin`, :mod:`hosting.docs`: mounted at ``/admin`` and
  ``/docs`` on the bare domain; :mod:`hosting.home`: the bare domain itself;
- :mod:`hosting.store`: the tenant store (SQLite or PostgreSQL).

The store's location comes from the environment, so one ``gateway.toml``
serves a laptop (SQLite under ``var/``) and a cluster of machines sharing a
PostgreSQL database::

    MULTITENANT_DATABASE_URL=postgresql://app@db.internal/hosting gateway serve gateway.toml
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .store import Store, open_store

#: Environment variable holding the database URL.
DATABASE_URL_ENV = "MULTITENANT_DATABASE_URL"

#: The example's directory (the one holding gateway.toml).
EXAMPLE_ROOT = Path(__file__).resolve().parent.parent

#: Where the SQLite store lives when no URL is given.
DEFAULT_DATABASE = EXAMPLE_ROOT / "var" / "tenants.sqlite3"

_stores: dict[str, Store] = {}
_lock = threading.Lock()


def database_url() -> str:
    """The configured database URL, or the default SQLite file's."""
    return (
        os.environ.get(DATABASE_URL_ENV, "").strip() or f"sqlite:///{DEFAULT_DATABASE}"
    )


def get_store() -> Store:
    """The process's store for the configured URL, created (and seeded the
    very first time) on first use, so the server starts without touching it."""
    url = database_url()
    store = _stores.get(url)
    if store is None:
        with _lock:
            store = _stores.get(url)
            if store is None:
                store = open_store(url)
                store.initialize()
                _stores[url] = store
    return store
