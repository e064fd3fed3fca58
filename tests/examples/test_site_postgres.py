"""Scaling past one process: two ``gateway serve`` processes share one tenant
table in a real PostgreSQL server started here (Debian's postgresql, a
temporary data directory, a loopback port, stopped afterwards).

A tenant added through one process is served by the other within the
configured time (``[tenants].negative_ttl``/``refresh_interval`` plus a
margin: a bound on waiting, not a timing assertion); a removed one stops
being served by both; edits and renames follow; sessions move between the
processes because both derive the same per-tenant key.
"""

from __future__ import annotations

import itertools
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
from site_helpers import (
    CONFIG,
    HttpClient,
    PostgresServer,
    Server,
    add_tenant,
    server_env,
    wait_until,
)

from gateway.dispatch import load_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_TENANTS = load_config(CONFIG).tenants
assert _TENANTS is not None
#: How long another process may take to see a change: its next poll (or the
#: end of a remembered "no such tenant"), with a generous margin for a busy CI.
PROPAGATION_BOUND = max(_TENANTS.refresh_interval, _TENANTS.negative_ttl) + 15

_names = itertools.count(1)


class Pair(t.NamedTuple):
    a: Server
    b: Server
    database_url: str


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Pair]:
    """Two gateway processes on one empty database (the first request of
    either creates and seeds the tables)."""
    url = postgres.create_database("hosting")
    tmp = tmp_path_factory.mktemp("pg-servers")
    env = server_env(url)
    a = Server(CONFIG, env, tmp / "a.log")
    b = Server(CONFIG, env, tmp / "b.log")
    try:
        a.wait_ready()
        b.wait_ready()
        yield Pair(a, b, url)
    finally:
        statuses = (a.stop(), b.stop())
    assert statuses == (0, 0), f"exit statuses {statuses}:\n{a.log()}\n{b.log()}"


def new_slug() -> str:
    return f"pg{next(_names)}"


def status_of(browser: HttpClient, slug: str, path: str = "/") -> int:
    return browser.get(slug, path)[0]


def test_both_processes_seed_the_new_database_once(pair: Pair) -> None:
    import psycopg

    # The store is opened on first use: send both processes their first
    # requests at the same moment, so both try to create and seed it.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda port: HttpClient(port).get("acme", "/"),
                [pair.a.port, pair.b.port] * 2,
            )
        )
    for status, _, html in results:
        assert status == 200 and "<h1>Acme Rockets</h1>" in html
    with psycopg.connect(pair.database_url) as conn:
        count = conn.execute("SELECT COUNT(*) FROM tenants").fetchone()
    assert count == (3,)


def test_tenant_added_through_one_is_served_by_the_other(pair: Pair) -> None:
    slug = new_slug()
    a, b = HttpClient(pair.a.port), HttpClient(pair.b.port)
    assert status_of(b, slug) == 404  # b now remembers "no such tenant"
    add_tenant(a, slug, "Postgres Co")
    assert status_of(a, slug) == 200  # at once in the process that added it
    took = wait_until(
        lambda: status_of(b, slug) == 200, PROPAGATION_BOUND, f"{slug} served by b"
    )
    print(f"added tenant reached the other process in {took:.2f}s")
    assert "<h1>Postgres Co</h1>" in b.get(slug, "/")[2]


def test_removed_tenant_stops_being_served_by_both(pair: Pair) -> None:
    slug = new_slug()
    a, b = HttpClient(pair.a.port), HttpClient(pair.b.port)
    add_tenant(b, slug, "Short Lived")
    assert status_of(a, slug) == 200 and status_of(b, slug) == 200
    status, _, _ = b.submit("", "/admin/", f"/admin/tenants/{slug}/delete", {})
    assert status == 302
    assert status_of(b, slug) == 404  # at once where it was removed
    took = wait_until(
        lambda: status_of(a, slug) == 404, PROPAGATION_BOUND, f"{slug} gone from a"
    )
    print(f"removed tenant left the other process in {took:.2f}s")


def test_rename_moves_the_tenant_in_both(pair: Pair) -> None:
    slug, renamed = new_slug(), new_slug()
    a, b = HttpClient(pair.a.port), HttpClient(pair.b.port)
    add_tenant(a, slug, "Moving Co")
    assert status_of(b, slug) == 200
    status, _, _ = a.submit(
        "", "/admin/", f"/admin/tenants/{slug}/rename", {"new_slug": renamed}
    )
    assert status == 302
    assert status_of(b, renamed) == 200
    wait_until(
        lambda: status_of(b, slug) == 404, PROPAGATION_BOUND, f"{slug} renamed in b"
    )


def test_edit_reaches_the_other_process(pair: Pair) -> None:
    slug = new_slug()
    a, b = HttpClient(pair.a.port), HttpClient(pair.b.port)
    add_tenant(a, slug, "Before Co")
    assert "<h1>Before Co</h1>" in b.get(slug, "/")[2]
    status, _, _ = a.submit(
        "",
        f"/admin/tenants/{slug}/edit",
        f"/admin/tenants/{slug}/edit",
        {"name": "After Co", "tagline": "", "theme": "sunset"},
    )
    assert status == 302
    wait_until(
        lambda: "<h1>After Co</h1>" in b.get(slug, "/")[2],
        PROPAGATION_BOUND,
        f"{slug} edited in b",
    )
    assert "--primary: #c2410c" in b.get(slug, "/static/theme.css")[2]


def test_session_moves_between_processes(pair: Pair) -> None:
    a = HttpClient(pair.a.port)
    status, _, _ = a.submit(
        "bistro", "/login", "/login", {"username": "chef", "password": "ratatouille"}
    )
    assert status == 302
    b = HttpClient(pair.b.port)
    b.jars = a.jars  # the same browser, routed to the other process
    status, _, html = b.get("bistro", "/members/")
    assert status == 200 and "Camille (chef)" in html
