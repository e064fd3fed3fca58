"""The admin at /admin: tenant changes take effect without a restart, in this
process at once and in another process (another gateway on the same store)
after its next poll; the registry's stats; who may use it."""

from __future__ import annotations

import json
import time

import pytest
from site_helpers import SiteClient, build_site


def add_tenant(site: SiteClient, slug: str, **fields: str) -> object:
    data = {
        "slug": slug,
        "name": fields.get("name", slug.title()),
        "tagline": fields.get("tagline", ""),
        "theme": fields.get("theme", "grape"),
        "username": fields.get("username", "owner"),
        "password": fields.get("password", "pass1234"),
    }
    return site.form("", "/admin/", "/admin/tenants", data)


def poll_now(site: SiteClient) -> None:
    """Run the registry's periodic poll of the store as if it were due (a few
    seconds ahead: past ``refresh_interval``, far from ``idle_timeout``)."""
    site.registry.sweep(time.monotonic() + site.registry.refresh_interval + 1)


def stats(site: SiteClient) -> dict[str, object]:
    return json.loads(site.get("", "/admin/stats.json").text)


def test_admin_lists_tenants_and_live_stats(site: SiteClient) -> None:
    site.get("acme", "/")
    site.get("acme", "/about")
    page = site.get("", "/admin/")
    assert page.status_code == 200
    for name in ("Acme Rockets", "Le Petit Bistro", "Nimbus Studio"):
        assert name in page.text
    assert '<a href="http://bistro.localhost:8000/">' in page.text
    assert 'data-live="acme"><span class="badge live">' in page.text
    assert 'data-live="bistro"><span class="badge idle">' in page.text
    body = stats(site)
    assert body["live"] == ["acme"]
    assert body["stats"]["creations"] == 1 and body["stats"]["hits"] >= 2


def test_added_tenant_answers_at_once_even_after_a_404(site: SiteClient) -> None:
    assert site.get("studio", "/").status_code == 404  # now negative-cached
    response = add_tenant(site, "studio", name="Studio Nord", theme="forest")
    assert response.status_code == 302 and response.location == "/admin/"
    assert "Added Studio Nord" in site.get("", "/admin/").text
    home = site.get("studio", "/")
    assert home.status_code == 200 and "<h1>Studio Nord</h1>" in home.text
    assert site.login("studio", "owner", "pass1234").status_code == 302
    assert site.get("studio", "/members/").status_code == 200


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        pytest.param("acme", "already exists", id="duplicate"),
        pytest.param("docs", "reserved", id="reserved"),
        pytest.param("no_way", "not a valid sub-domain", id="invalid"),
        pytest.param("", "required", id="empty"),
    ],
)
def test_add_refuses_bad_input_with_a_message(
    site: SiteClient, slug: str, message: str
) -> None:
    response = add_tenant(site, slug, name="Whatever")
    assert response.status_code == 400
    assert message in response.text and "flash-error" in response.text
    assert 'value="Whatever"' in response.text  # the form keeps what was typed


def test_rename_moves_the_site_and_its_members(site: SiteClient) -> None:
    site.get("acme", "/")
    response = site.form(
        "", "/admin/", "/admin/tenants/acme/rename", {"new_slug": "rockets"}
    )
    assert response.status_code == 302
    assert site.get("acme", "/").status_code == 404
    assert "<h1>Acme Rockets</h1>" in site.get("rockets", "/").text
    assert site.login("rockets", "wile", "beepbeep").status_code == 302
    assert "acme" not in site.registry.keys()


def test_rename_to_a_taken_slug_is_refused(site: SiteClient) -> None:
    site.form("", "/admin/", "/admin/tenants/acme/rename", {"new_slug": "bistro"})
    assert "already exists" in site.get("", "/admin/").text
    assert "Acme Rockets" in site.get("acme", "/").text


def test_remove_answers_404_at_once_and_counts_an_eviction(site: SiteClient) -> None:
    assert site.get("nimbus", "/").status_code == 200
    before = stats(site)["stats"]["evictions"]
    response = site.form("", "/admin/", "/admin/tenants/nimbus/delete", {})
    assert response.status_code == 302
    assert site.get("nimbus", "/").status_code == 404
    assert stats(site)["stats"]["evictions"] == before + 1
    assert "Nimbus Studio" not in site.get("", "/admin/").text


def test_edit_rebuilds_the_tenant_with_its_new_theme(site: SiteClient) -> None:
    assert "--primary: #1d4ed8" in site.get("acme", "/static/theme.css").text
    form = site.get("", "/admin/tenants/acme/edit")
    assert form.status_code == 200 and 'value="Acme Rockets"' in form.text
    response = site.form(
        "",
        "/admin/tenants/acme/edit",
        "/admin/tenants/acme/edit",
        {"name": "Acme Orbital", "tagline": "Higher.", "theme": "grape"},
    )
    assert response.status_code == 302
    assert "--primary: #6d28d9" in site.get("acme", "/static/theme.css").text
    assert "<h1>Acme Orbital</h1>" in site.get("acme", "/").text
    assert site.get("", "/admin/tenants/ghost/edit").status_code == 404


def test_evict_button_retires_the_instance(site: SiteClient) -> None:
    site.get("bistro", "/")
    first = site.registry.peek("bistro")
    site.form("", "/admin/", "/admin/tenants/bistro/evict", {})
    assert "bistro" not in site.registry.keys()
    site.get("bistro", "/")
    assert site.registry.peek("bistro") is not first


@pytest.mark.parametrize(
    ("peer", "headers", "status"),
    [
        pytest.param("127.0.0.1", {}, 200, id="loopback"),
        pytest.param("203.0.113.7", {}, 403, id="outsider"),
        pytest.param(
            "203.0.113.7",
            {"X-Forwarded-For": "127.0.0.1"},
            403,
            id="forged-forwarded-for",
        ),
        pytest.param(
            "127.0.0.1",
            {"X-Forwarded-For": "203.0.113.7"},
            403,
            id="outsider-via-trusted-proxy",
        ),
    ],
)
def test_admin_is_only_open_to_allowed_clients(
    site: SiteClient, peer: str, headers: dict[str, str], status: int
) -> None:
    response = site.get(
        "", "/admin/", headers=headers, environ_base={"REMOTE_ADDR": peer}
    )
    assert response.status_code == status


# -- another process: a second gateway on the same store ---------------------


@pytest.fixture()
def other(db_url: str) -> SiteClient:
    """A second gateway on the same store, as another process would be."""
    return SiteClient(build_site())


def test_other_process_serves_a_tenant_added_here(
    site: SiteClient, other: SiteClient
) -> None:
    add_tenant(site, "newco", name="New Co")
    assert "<h1>New Co</h1>" in other.get("newco", "/").text


def test_other_process_drops_a_removed_tenant_at_its_next_poll(
    site: SiteClient, other: SiteClient
) -> None:
    assert other.get("bistro", "/").status_code == 200
    site.form("", "/admin/", "/admin/tenants/bistro/delete", {})
    assert other.get("bistro", "/").status_code == 200  # no poll yet: still cached
    poll_now(other)
    assert "bistro" not in other.registry.keys()
    assert other.get("bistro", "/").status_code == 404


def test_other_process_follows_a_rename_at_its_next_poll(
    site: SiteClient, other: SiteClient
) -> None:
    other.get("acme", "/")
    site.form("", "/admin/", "/admin/tenants/acme/rename", {"new_slug": "rockets"})
    assert other.get("rockets", "/").status_code == 200
    poll_now(other)
    assert other.get("acme", "/").status_code == 404


def test_other_process_rebuilds_an_edited_tenant_after_its_next_poll(
    site: SiteClient, other: SiteClient
) -> None:
    assert "<h1>Acme Rockets</h1>" in other.get("acme", "/").text
    site.form(
        "",
        "/admin/tenants/acme/edit",
        "/admin/tenants/acme/edit",
        {"name": "Acme Orbital", "tagline": "", "theme": "sunset"},
    )
    old = other.registry.peek("acme")
    assert "<h1>Acme Rockets</h1>" in other.get("acme", "/").text  # no poll yet
    poll_now(other)  # the version changed: the old instance is retired
    assert other.registry.peek("acme") is None
    assert "<h1>Acme Orbital</h1>" in other.get("acme", "/").text
    assert other.registry.peek("acme") is not old
    assert "--primary: #c2410c" in other.get("acme", "/static/theme.css").text


def test_other_process_keeps_unchanged_tenants_at_its_poll(
    site: SiteClient, other: SiteClient
) -> None:
    other.get("acme", "/")
    other.get("bistro", "/")
    kept = other.registry.peek("bistro")
    site.form(
        "",
        "/admin/tenants/acme/edit",
        "/admin/tenants/acme/edit",
        {"name": "Acme Orbital", "tagline": "", "theme": "sunset"},
    )
    poll_now(other)
    assert other.registry.keys() == ["bistro"]
    assert other.registry.peek("bistro") is kept
    assert other.registry.stats()["creations"] == 2


def test_other_process_keeps_sessions_across_processes(
    site: SiteClient, other: SiteClient
) -> None:
    login = site.login("acme")
    cookie = login.headers["Set-Cookie"].split(";", 1)[0]
    assert cookie.startswith("session=")
    response = other.get_with_cookie("acme", "/members/", cookie)
    assert response.status_code == 200 and "Members' area" in response.text
