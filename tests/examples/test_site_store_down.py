"""The example with its PostgreSQL store down (a real psycopg connection to a
loopback port nobody listens on, so every connection is refused): every page
that reads the store answers 503 with Retry-After and a clear page, never a
500 or a traceback; pages that do not read it still answer; an unknown
sub-domain is not remembered as missing. test_site_outage.py stops a real
PostgreSQL under traffic."""

from __future__ import annotations

import pytest
from hosting.store import OUTAGE_RETRY_AFTER, StoreUnavailable
from server_harness import free_port
from site_helpers import DATABASE_URL_ENV, SiteClient, build_site

pytest.importorskip("psycopg")

RETRY = str(OUTAGE_RETRY_AFTER)


@pytest.fixture()
def down(monkeypatch: pytest.MonkeyPatch) -> SiteClient:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/hosting"
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    return SiteClient(build_site())


@pytest.mark.parametrize(
    ("host", "path", "status", "retry_after", "text"),
    [
        pytest.param("", "/", 503, RETRY, StoreUnavailable.description, id="landing"),
        pytest.param("", "/admin/", 503, RETRY, StoreUnavailable.description, id="admin"),
        pytest.param(
            "", "/admin/tenants/acme/edit", 503, RETRY, "Back in a moment",
            id="admin-edit",
        ),
        pytest.param("acme", "/", 503, RETRY, "try again", id="tenant-not-built"),
        pytest.param("nosuch", "/", 503, RETRY, "try again", id="unknown-sub-domain"),
        pytest.param("", "/docs/", 200, None, "gateway", id="docs-without-example-link"),
        pytest.param("", "/docs/tenants", 200, None, "StoreUnavailable", id="docs-tenants"),
        pytest.param("", "/docs/scaling", 200, None, "PostgreSQL", id="docs-reads-no-store"),
        pytest.param("", "/admin/stats.json", 200, None, "stats", id="stats-json"),
        pytest.param("", "/_gateway/health", 200, None, "", id="health"),
    ],
)  # fmt: skip
def test_pages_while_the_store_is_down(
    down: SiteClient,
    host: str,
    path: str,
    status: int,
    retry_after: str | None,
    text: str,
) -> None:
    response = down.get(host, path)
    assert response.status_code == status, response.text[:500]
    assert response.headers.get("Retry-After") == retry_after
    assert text in response.text
    assert "Traceback" not in response.text


def test_an_outage_leaves_no_negative_record(down: SiteClient) -> None:
    for host in ("acme", "nosuch", "acme"):
        assert down.get(host, "/").status_code == 503
    stats = down.registry.stats()
    assert stats["negative"] == 0 and stats["live"] == 0
    assert stats["failures"] == 2  # one per key: the second acme is in back-off


def test_head_of_a_down_page_has_no_body(down: SiteClient) -> None:
    response = down.client.head(
        "/", base_url=down.url(""), environ_base={"REMOTE_ADDR": "127.0.0.1"}
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == RETRY
    assert response.data == b""
