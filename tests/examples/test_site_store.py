"""The example's pure rules (validation, redirects, networks) and its SQLite
tenant store."""

from __future__ import annotations

import sqlite3

import pytest
from hosting.admin import client_allowed, parse_networks
from hosting.store import (
    SEED,
    PostgresStore,
    SQLiteStore,
    StoreError,
    contact_errors,
    open_store,
    validate_slug,
)
from hosting.themes import THEMES
from hosting.ui import safe_next
from site_helpers import EXAMPLE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("acme", "acme", id="plain"),
        pytest.param("  Acme ", "acme", id="case-and-spaces-normalised"),
        pytest.param("a", "a", id="one-char"),
        pytest.param("big-co-2", "big-co-2", id="hyphens-digits"),
        pytest.param("x" * 40, "x" * 40, id="forty-chars"),
    ],
)
def test_validate_slug_accepts_dns_labels(value: str, expected: str) -> None:
    assert validate_slug(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("", "required", id="empty"),
        pytest.param("-acme", "not a valid sub-domain", id="leading-hyphen"),
        pytest.param("acme-", "not a valid sub-domain", id="trailing-hyphen"),
        pytest.param("a.b", "not a valid sub-domain", id="dot-would-nest"),
        pytest.param("a_b", "not a valid sub-domain", id="underscore"),
        pytest.param("x" * 41, "not a valid sub-domain", id="too-long"),
        pytest.param("café", "not a valid sub-domain", id="non-ascii"),
        pytest.param("admin", "reserved", id="reserved-admin"),
        pytest.param("WWW", "reserved", id="reserved-any-case"),
    ],
)
def test_validate_slug_rejects_with_a_reason(value: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        validate_slug(value)


@pytest.mark.parametrize(
    ("name", "email", "body", "count"),
    [
        pytest.param("Ann", "ann@example.org", "Hello", 0, id="valid"),
        pytest.param("", "ann@example.org", "Hello", 1, id="no-name"),
        pytest.param("Ann", "ann", "Hello", 1, id="bad-email"),
        pytest.param("Ann", "ann@example.org", "   ", 1, id="blank-body"),
        pytest.param("Ann", "ann@example.org", "x" * 2001, 1, id="long-body"),
        pytest.param("", "", "", 3, id="everything-wrong"),
    ],
)
def test_contact_errors_lists_each_problem(
    name: str, email: str, body: str, count: int
) -> None:
    assert len(contact_errors(name, email, body)) == count


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("/members/", "/members/", id="local-path"),
        pytest.param("/members/?page=2", "/members/?page=2", id="query-kept"),
        pytest.param(None, "/home", id="missing"),
        pytest.param("", "/home", id="empty"),
        pytest.param("http://evil.example/", "/home", id="absolute-url"),
        pytest.param("//evil.example/", "/home", id="scheme-relative"),
        pytest.param("/\\evil.example", "/home", id="backslash-trick"),
        pytest.param("members", "/home", id="relative-path"),
        pytest.param("/x\r\nSet-Cookie: a=b", "/home", id="control-chars"),
    ],
)
def test_safe_next_only_allows_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target, "/home") == expected


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        pytest.param("127.0.0.1", True, id="loopback-v4"),
        pytest.param("127.8.9.10", True, id="loopback-range"),
        pytest.param("::1", True, id="loopback-v6"),
        pytest.param("::ffff:127.0.0.1", True, id="v4-mapped"),
        pytest.param("10.1.2.3", False, id="private-net"),
        pytest.param("203.0.113.9", False, id="public"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="missing"),
        pytest.param("not-an-ip", False, id="garbage"),
    ],
)
def test_admin_client_allowed_by_network(address: str | None, allowed: bool) -> None:
    networks = parse_networks("127.0.0.0/8, ::1/128")
    assert client_allowed(address, networks) is allowed


def test_admin_networks_name_the_bad_entry() -> None:
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not a network"):
        parse_networks("127.0.0.1/32,10.0.0.0/33")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        pytest.param("sqlite:////tmp/x/t.sqlite3", SQLiteStore, id="sqlite-absolute"),
        pytest.param(
            "postgresql://u@127.0.0.1:5432/db", PostgresStore, id="postgresql"
        ),
        pytest.param("postgres://u@127.0.0.1/db", PostgresStore, id="postgres-alias"),
    ],
)
def test_open_store_by_url_scheme(url: str, kind: type) -> None:
    assert type(open_store(url)) is kind


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("mysql://u@h/db", id="unsupported-scheme"),
        pytest.param("sqlite://", id="sqlite-without-path"),
        pytest.param("tenants.sqlite3", id="no-scheme"),
    ],
)
def test_open_store_rejects_with_the_accepted_forms(url: str) -> None:
    with pytest.raises(StoreError, match="sqlite:///"):
        open_store(url)


def test_every_theme_ships_its_static_files() -> None:
    themes_dir = EXAMPLE / "hosting" / "tenant_site" / "themes"
    assert sorted(p.name for p in themes_dir.iterdir()) == sorted(THEMES)
    for name, theme in THEMES.items():
        css = (themes_dir / name / "theme.css").read_text()
        assert f"--primary: {theme.primary}" in css
        assert (themes_dir / name / "hero.svg").read_text().startswith("<svg")


# -- the SQLite store ---------------------------------------------------------


def test_seeded_store_has_the_seed_tenants_and_their_members(
    store: SQLiteStore,
) -> None:
    assert [t.slug for t in store.tenants()] == sorted(slug for slug, *_ in SEED)
    acme = store.get("acme")
    assert acme is not None and acme.name == "Acme Rockets" and acme.theme == "ocean"
    assert store.check_login(acme.id, "demo", "demo") is not None
    assert store.check_login(acme.id, "demo", "wrong") is None
    assert store.check_login(acme.id, "nobody", "demo") is None


def test_initialize_seeds_only_once(store: SQLiteStore) -> None:
    store.remove("acme")
    store.initialize()
    store.initialize()
    assert "acme" not in store.versions()
    assert len(store.tenants()) == len(SEED) - 1


def test_add_validates_and_refuses_a_taken_slug(store: SQLiteStore) -> None:
    tenant = store.add(
        "newco", "New Co", "grape", "Hello", username="owner", password="s3cret"
    )
    assert (tenant.slug, tenant.version) == ("newco", 1)
    assert store.check_login(tenant.id, "owner", "s3cret") is not None
    with pytest.raises(StoreError, match="already exists"):
        store.add("NewCo", "Other", "ocean")
    with pytest.raises(StoreError, match="Unknown theme"):
        store.add("other", "Other", "neon")
    with pytest.raises(StoreError, match="at least 4"):
        store.add("other", "Other", "ocean", password="abc")


def test_rename_keeps_members_and_bumps_the_version(store: SQLiteStore) -> None:
    before = store.versions()["bistro"]
    tenant = store.rename("bistro", "bistrot")
    assert store.get("bistro") is None
    assert tenant.id == before[0] and tenant.version == before[1] + 1
    assert store.check_login(tenant.id, "chef", "ratatouille") is not None
    with pytest.raises(StoreError, match="already exists"):
        store.rename("bistrot", "acme")
    with pytest.raises(StoreError, match="no tenant called"):
        store.rename("ghost", "ghost2")


def test_update_changes_theme_and_version(store: SQLiteStore) -> None:
    tenant = store.update("acme", "Acme Rocket Co", "sunset", "  New   tagline ")
    assert (tenant.name, tenant.theme, tenant.tagline, tenant.version) == (
        "Acme Rocket Co",
        "sunset",
        "New tagline",
        2,
    )
    with pytest.raises(StoreError, match="no tenant called"):
        store.update("ghost", "Ghost", "ocean", "")


def test_remove_deletes_members_and_messages(store: SQLiteStore, db_url: str) -> None:
    acme = store.get("acme")
    assert acme is not None
    store.add_message(acme.id, "Ann", "ann@example.org", "Hi")
    assert store.remove("acme") is True
    assert store.remove("acme") is False
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    try:
        for table in ("members", "messages"):
            count = conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE tenant_id = ?", (acme.id,)
            )
            assert count.fetchone()[0] == 0
    finally:
        conn.close()


def test_messages_are_per_tenant_newest_first(store: SQLiteStore) -> None:
    acme, bistro = store.get("acme"), store.get("bistro")
    assert acme is not None and bistro is not None
    store.add_message(acme.id, "Ann", "ann@example.org", "first")
    store.add_message(acme.id, "Bob", "bob@example.org", "second")
    store.add_message(bistro.id, "Cy", "cy@example.org", "elsewhere")
    assert [m.body for m in store.messages(acme.id)] == ["second", "first"]
    assert [m.body for m in store.messages(bistro.id)] == ["elsewhere"]
    with pytest.raises(StoreError, match="e-mail"):
        store.add_message(acme.id, "Ann", "nope", "x")


def test_concurrent_writers_all_land(store: SQLiteStore) -> None:
    """Threads writing at once wait for SQLite's lock instead of failing."""
    from concurrent.futures import ThreadPoolExecutor

    acme = store.get("acme")
    assert acme is not None

    def send(i: int) -> None:
        store.add_message(acme.id, f"Sender {i}", f"s{i}@example.org", f"message {i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, range(40)))
    bodies = {m.body for m in store.messages(acme.id, limit=100)}
    assert bodies == {f"message {i}" for i in range(40)}
