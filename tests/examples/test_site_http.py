"""The multi-tenant example over real HTTP: ``gateway serve
examples/multitenant/gateway.toml`` (its configured adapter) on a free port
of 127.0.0.1, with a private copy of the seeded SQLite store."""

from __future__ import annotations

import json
import shutil
import typing as t
from pathlib import Path

import pytest
from site_helpers import CONFIG, HttpClient, Server, raw_request, server_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(
    seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory
) -> t.Iterator[Server]:
    tmp = tmp_path_factory.mktemp("http")
    db = tmp / "tenants.sqlite3"
    shutil.copyfile(seeded_sqlite, db)
    srv = Server(CONFIG, server_env(f"sqlite:///{db}"), tmp / "serve.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        status = srv.stop()
    assert status == 0, f"gateway serve exited with {status}:\n{srv.log()}"


@pytest.fixture()
def browser(server: Server) -> HttpClient:
    return HttpClient(server.port)


def test_landing_page_links_tenants_with_the_servers_port(
    server: Server, browser: HttpClient
) -> None:
    status, headers, html = browser.get("", "/")
    assert status == 200 and headers["content-type"] == ["text/html; charset=utf-8"]
    assert f'href="http://acme.localhost:{server.port}/"' in html


def test_tenant_pages_and_static_files(browser: HttpClient) -> None:
    status, _, html = browser.get("bistro", "/")
    assert status == 200 and "<h1>Le Petit Bistro</h1>" in html
    status, headers, css = browser.get("bistro", "/static/theme.css")
    assert status == 200 and headers["content-type"][0].startswith("text/css")
    assert "--primary: #c2410c" in css
    status, headers, _ = browser.get("bistro", "/static/hero.svg")
    assert status == 200 and headers["content-type"] == ["image/svg+xml; charset=utf-8"]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("ghost.localhost", 404, id="unknown-tenant"),
        pytest.param("example.com", 400, id="outside-the-domain"),
        pytest.param("acme.localhost@evil.example", 400, id="userinfo-poison"),
    ],
)
def test_bad_hosts_get_clean_errors(server: Server, host: str, status: int) -> None:
    got, _, body = raw_request(server.port, "GET", host, "/")
    assert got == status
    assert b"Traceback" not in body


def test_login_session_and_isolation_over_http(browser: HttpClient) -> None:
    status, headers, _ = browser.submit(
        "acme", "/login", "/login", {"username": "demo", "password": "demo"}
    )
    assert status == 302 and headers["location"] == ["/members/"]
    status, _, html = browser.get("acme", "/members/")
    assert status == 200 and "Welcome back, Demo Member." in html
    status, headers, _ = browser.get("nimbus", "/members/")
    assert status == 302 and headers["location"][0].startswith("/login")


def test_contact_form_flash_over_http(browser: HttpClient) -> None:
    status, headers, _ = browser.submit(
        "nimbus",
        "/about",
        "/about",
        {"name": "Ann", "email": "ann@example.org", "message": "Hello over HTTP"},
    )
    assert status == 302
    _, _, html = browser.get("nimbus", "/about")
    assert "Thank you, Ann!" in html


def test_admin_add_and_remove_take_effect_at_once(browser: HttpClient) -> None:
    assert browser.get("httpco", "/")[0] == 404
    status, _, _ = browser.submit(
        "",
        "/admin/",
        "/admin/tenants",
        {
            "slug": "httpco",
            "name": "HTTP Co",
            "tagline": "",
            "theme": "grape",
            "username": "owner",
            "password": "pass1234",
        },
    )
    assert status == 302
    status, _, html = browser.get("httpco", "/")
    assert status == 200 and "<h1>HTTP Co</h1>" in html
    status, _, _ = browser.submit("", "/admin/", "/admin/tenants/httpco/delete", {})
    assert status == 302
    assert browser.get("httpco", "/")[0] == 404


def test_health_and_admin_stats(server: Server, browser: HttpClient) -> None:
    browser.get("acme", "/")
    status, headers, body = raw_request(
        server.port, "GET", "localhost", "/_gateway/health"
    )
    assert status == 200 and headers["content-type"] == ["application/json"]
    health = json.loads(body)
    assert health["status"] == "ok" and health["tenants"]["live"] >= 1
    status, _, text = browser.get("", "/admin/stats.json")
    stats = json.loads(text)
    assert status == 200 and "acme" in stats["live"]
    # gateway serve's master process runs the server in a child.
    assert parent_pid(stats["pid"]) == server.proc.pid


def parent_pid(pid: int) -> int:
    """Linux's /proc: the 4th field of /proc/PID/stat, after the command."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_concurrent_requests_to_many_tenants(server: Server) -> None:
    """Parallel connections across tenants: each gets its own tenant's page."""
    from concurrent.futures import ThreadPoolExecutor

    names = {
        "acme": "Acme Rockets",
        "bistro": "Le Petit Bistro",
        "nimbus": "Nimbus Studio",
    }

    def fetch(slug: str) -> tuple[str, int, bytes]:
        status, _, body = raw_request(server.port, "GET", f"{slug}.localhost", "/")
        return slug, status, body

    # Each tenant built first: requests that waited for a build all enter at
    # once and could exceed its concurrency limit (half of the example's 8
    # threads); then interleaved, 6 at a time, at most 2 per tenant at once.
    for slug in names:
        assert fetch(slug)[1] == 200
    jobs = [slug for _ in range(15) for slug in names]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(fetch, jobs))
    for slug, status, body in results:
        assert status == 200, (slug, body[:300])
        assert f"<h1>{names[slug]}</h1>".encode() in body
