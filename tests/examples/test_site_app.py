"""The multi-tenant example through the test client: landing page, tenant
sites (pages, contact form, login, members), per-tenant isolation, the docs
and their cross-app links, and the health endpoint."""

from __future__ import annotations

import json

import pytest
from site_helpers import SiteClient, build_site


def test_landing_lists_tenants_without_starting_them(site: SiteClient) -> None:
    response = site.get("", "/")
    assert response.status_code == 200
    for slug, name in (("acme", "Acme Rockets"), ("bistro", "Le Petit Bistro")):
        assert name in response.text
        assert f'href="http://{slug}.localhost:8000/"' in response.text
    assert 'href="/admin/"' in response.text and 'href="/docs/"' in response.text
    assert site.registry.stats()["live"] == 0


def test_tenant_home_is_built_from_its_row(site: SiteClient) -> None:
    response = site.get("acme", "/")
    assert response.status_code == 200
    assert "<h1>Acme Rockets</h1>" in response.text
    assert "Reliable rockets since 1949" in response.text
    assert 'href="/static/theme.css"' in response.text
    assert site.registry.keys() == ["acme"]


@pytest.mark.parametrize(
    ("slug", "colour"),
    [
        pytest.param("acme", "#1d4ed8", id="acme-ocean"),
        pytest.param("bistro", "#c2410c", id="bistro-sunset"),
        pytest.param("nimbus", "#047857", id="nimbus-forest"),
    ],
)
def test_each_tenant_serves_its_own_theme(
    site: SiteClient, slug: str, colour: str
) -> None:
    css = site.get(slug, "/static/theme.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert f"--primary: {colour}" in css.text
    assert site.get(slug, "/static/hero.svg").status_code == 200
    assert site.get(slug, "/ui/base.css").status_code == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("ghost.localhost:8000", 404, id="unknown-tenant"),
        pytest.param("a.b.localhost:8000", 404, id="nested-not-a-tenant"),
        pytest.param("ACME.localhost.:8000", 200, id="case-and-trailing-dot"),
        pytest.param("example.com", 400, id="outside-the-domain"),
        pytest.param("acme.localhost.evil.com", 400, id="suffix-poison"),
    ],
)
def test_hosts_route_or_fail_cleanly(site: SiteClient, host: str, status: int) -> None:
    response = site.client.get(
        "/",
        headers={"Host": host},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        buffered=True,
    )
    assert response.status_code == status


def test_contact_form_stores_flashes_and_redirects(
    site: SiteClient, store: object
) -> None:
    response = site.form(
        "bistro",
        "/about",
        "/about",
        {"name": "Ann", "email": "ann@example.org", "message": "A table for two?"},
    )
    assert response.status_code == 302 and response.location == "/about"
    page = site.get("bistro", "/about")
    assert "Thank you, Ann!" in page.text and "flash-success" in page.text
    assert "Thank you" not in site.get("bistro", "/about").text  # flashed once
    bistro = store.get("bistro")  # type: ignore[attr-defined]
    assert [m.body for m in store.messages(bistro.id)] == ["A table for two?"]  # type: ignore[attr-defined]


def test_invalid_contact_form_keeps_input_and_flashes_each_error(
    site: SiteClient,
) -> None:
    response = site.form(
        "acme", "/about", "/about", {"name": "Ann", "email": "nope", "message": ""}
    )
    assert response.status_code == 400
    assert response.text.count("flash-error") == 2
    assert 'value="Ann"' in response.text and 'value="nope"' in response.text


def test_post_without_csrf_token_is_refused(site: SiteClient) -> None:
    site.get("acme", "/about")
    response = site.post(
        "acme", "/about", {"name": "Ann", "email": "ann@example.org", "message": "hi"}
    )
    assert response.status_code == 400
    assert "This form has expired" in response.text


def test_members_page_needs_a_login_and_comes_back_after(site: SiteClient) -> None:
    response = site.get("acme", "/members/")
    assert response.status_code == 302
    assert response.location == "/login?next=/members/"
    token_page = site.get("acme", "/login?next=/members/")
    assert "Please sign in" in token_page.text
    response = site.form(
        "acme",
        "/login?next=/members/",
        "/login?next=/members/",
        {"username": "wile", "password": "beepbeep"},
    )
    assert response.status_code == 302 and response.location == "/members/"
    page = site.get("acme", "/members/")
    assert page.status_code == 200
    assert "Welcome back, Wile E. Coyote." in page.text
    assert "Members' area" in page.text and "<code>demo</code>" in page.text


def test_wrong_password_is_401_with_a_flash(site: SiteClient) -> None:
    response = site.login("acme", "demo", "not-it")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert site.get("acme", "/members/").status_code == 302


def test_login_next_never_leaves_the_site(site: SiteClient) -> None:
    response = site.form(
        "acme",
        "/login",
        "/login?next=http://evil.example/",
        {"username": "demo", "password": "demo"},
    )
    assert response.status_code == 302 and response.location == "/members/"


def test_logout_ends_the_session(site: SiteClient) -> None:
    site.login("nimbus")
    assert site.get("nimbus", "/members/").status_code == 200
    response = site.form("nimbus", "/", "/logout", {})
    assert response.status_code == 302
    assert "You are signed out." in site.get("nimbus", "/").text
    assert site.get("nimbus", "/members/").status_code == 302


def test_sessions_are_isolated_per_tenant(site: SiteClient) -> None:
    login = site.login("acme")
    cookie = login.headers["Set-Cookie"]
    assert "Domain=" not in cookie  # host-only: never sent to another tenant
    assert site.get("acme", "/members/").status_code == 200
    assert site.get("bistro", "/members/").status_code == 302
    # Even replayed by hand, acme's cookie is not a session for bistro: each
    # tenant signs with its own key.
    session_cookie = cookie.split(";", 1)[0]
    assert session_cookie.startswith("session=")
    assert site.get_with_cookie("acme", "/members/", session_cookie).status_code == 200
    replay = site.get_with_cookie("bistro", "/members/", session_cookie)
    assert replay.status_code == 302


def test_tenant_secret_keys_are_derived_and_distinct(site: SiteClient) -> None:
    from gateway.dispatch import derive_secret

    site.get("acme", "/")
    site.get("bistro", "/")
    acme = site.registry.peek("acme").config["SECRET_KEY"]
    bistro = site.registry.peek("bistro").config["SECRET_KEY"]
    assert acme != bistro
    assert acme == derive_secret("multitenant-example-change-me", "tenant:acme")
    # Another process (here: another gateway) derives the very same key.
    other = SiteClient(build_site())
    other.get("acme", "/")
    assert other.registry.peek("acme").config["SECRET_KEY"] == acme


def test_tenant_error_pages_are_themed(site: SiteClient) -> None:
    response = site.get("acme", "/no/such/page")
    assert response.status_code == 404
    assert "Back to Acme Rockets" in response.text


def test_tenant_links_to_the_platform_docs(site: SiteClient) -> None:
    assert 'href="http://localhost:8000/docs/"' in site.get("acme", "/").text


DOC_PAGES = [
    "",
    "tenants",
    "mounts",
    "registry",
    "sessions",
    "proxies",
    "health",
    "scaling",
    "config",
]


@pytest.mark.parametrize("page", DOC_PAGES, ids=[p or "overview" for p in DOC_PAGES])
def test_every_docs_page_renders_under_its_mount(site: SiteClient, page: str) -> None:
    response = site.get("", f"/docs/{page}")
    assert response.status_code == 200
    assert 'href="/docs/ui/base.css"' in response.text
    assert 'href="/docs/scaling"' in response.text


def test_docs_build_cross_app_links(site: SiteClient) -> None:
    text = site.get("", "/docs/mounts").text
    assert '<a href="/admin/">/admin/</a>' in text
    assert '<a href="/docs/scaling">/docs/scaling</a>' in text
    assert '<a href="http://acme.localhost:8000/about">' in text


def test_docs_show_this_sites_config(site: SiteClient) -> None:
    text = site.get("", "/docs/config").text
    assert "hosting.factory:create_tenant" in text


def test_bare_mount_redirects_with_slash(site: SiteClient) -> None:
    response = site.get("", "/docs?x=1")
    assert response.status_code == 308 and response.location.endswith("/docs/?x=1")


def test_health_is_answered_by_the_gateway(site: SiteClient) -> None:
    site.get("acme", "/")
    response = site.get("", "/_gateway/health")
    assert response.status_code == 200
    body = json.loads(response.text)
    assert body["status"] == "ok" and body["name"] == "multitenant"
    assert body["tenants"]["live"] == 1
    outsider = site.get(
        "", "/_gateway/health", environ_base={"REMOTE_ADDR": "203.0.113.5"}
    )
    assert outsider.status_code == 404
    assert (
        site.get("", "/_gateway/health/tenant?host=acme.localhost").status_code == 200
    )
    assert (
        site.get("", "/_gateway/health/tenant?host=ghost.localhost").status_code == 404
    )


def test_a_contact_form_over_the_example_s_limit_is_413_and_stores_nothing(
    site: SiteClient, store: object
) -> None:
    """gateway.toml's [limits] max_body = "1M" reaches the tenant sites."""
    site.get("bistro", "/about")
    response = site.post(
        "bistro",
        "/about",
        {"name": "Ann", "email": "ann@example.org", "message": "x" * (2 << 20)},
    )
    assert response.status_code == 413
    assert b"larger than 1048576 bytes" in response.data
    bistro = store.get("bistro")  # type: ignore[attr-defined]
    assert store.messages(bistro.id) == []  # type: ignore[attr-defined]
