"""Fixtures for the multi-tenant example (examples/multitenant).

The site is exercised three ways: in process through Werkzeug's test client
(:class:`~site_helpers.SiteClient`), over real HTTP from ``gateway serve`` on
127.0.0.1 (test_site_http.py), and with two servers sharing a real PostgreSQL
(test_site_postgres.py; behind a real nginx in test_site_scale_out.py). Every
test gets its own copy of a seeded SQLite store, made once per session because
seeding hashes passwords.
"""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path

import pytest
from site_helpers import (
    DATABASE_URL_ENV,
    PostgresServer,
    SiteClient,
    build_site,
    open_store,
    postgres_bindir,
)

# -- the tenant store ---------------------------------------------------------


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store created and seeded once for the whole session."""
    path = tmp_path_factory.mktemp("seed") / "tenants.sqlite3"
    store = open_store(f"sqlite:///{path}")
    store.initialize()
    return path


@pytest.fixture()
def db_url(seeded_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the seeded store, selected through the environment."""
    path = tmp_path / "tenants.sqlite3"
    shutil.copyfile(seeded_sqlite, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    return url


@pytest.fixture()
def store(db_url: str) -> t.Any:
    from hosting import get_store

    return get_store()


@pytest.fixture()
def site(db_url: str) -> SiteClient:
    """The example, built from its gateway.toml, on a fresh store."""
    return SiteClient(build_site())


# -- a real PostgreSQL server ---------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> t.Iterator[PostgresServer]:
    """One throw-away PostgreSQL server for the session (each module that
    uses it creates its own database); skipped when it is not installed."""
    bindir = postgres_bindir()
    if bindir is None:
        reason = "PostgreSQL server programs not found: apt-get install postgresql"
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
