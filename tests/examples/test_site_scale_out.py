"""Scaling out behind nginx, end to end: two ``gateway serve`` processes of
the multi-tenant example share one tenant table in a real PostgreSQL, and a
real nginx, started on the configuration ``gateway config nginx`` renders
(standalone, loopback, free ports), lists both in its upstream
(``[server].bind`` plus ``[server].backends``).

Everything is asserted through nginx only. The tenant page names the process
that served it ("Behind this page"), which tells the backends apart: both
answer a tenant's requests, a tenant added through the admin is then served
by both, and a removed one stops being served by both, each within the
configured refresh time plus a margin (a bound on waiting, not a timing
assertion).
"""

from __future__ import annotations

import itertools
import re
import shutil
import sys
import typing as t
from pathlib import Path

import pytest
from server_harness import (
    ServerProcess,
    free_port,
    http_ready,
    world_readable_tempdir,
)
from site_helpers import (
    CONFIG,
    EXAMPLE,
    ROOT,
    HttpClient,
    PostgresServer,
    add_tenant,
    server_env,
    wait_until,
)

from gateway.dispatch import load_config

# nginx_up (render the standalone nginx.conf, start nginx) lives with the
# live deploy tests; tests/ has no packages, so its folder is put on the path.
_DEPLOY_TESTS = str(Path(__file__).resolve().parents[1] / "deploy")
if _DEPLOY_TESTS not in sys.path:
    sys.path.append(_DEPLOY_TESTS)

from deploy_live import nginx_up  # noqa: E402

pytestmark = pytest.mark.integration

_TENANTS = load_config(CONFIG).tenants
assert _TENANTS is not None
#: How long the other process may take to see a change (see test_site_postgres).
PROPAGATION_BOUND = max(_TENANTS.refresh_interval, _TENANTS.negative_ttl) + 15
#: Consecutive requests through nginx that must agree: with round robin over
#: two backends, enough to reach each of them more than once.
WINDOW = 6

_PID_RE = re.compile(r"<dt>Process</dt><dd>(\d+)</dd>")
_names = itertools.count(1)


class Site(t.NamedTuple):
    port: int  # nginx's
    backend_pids: frozenset[int]  # the serving children of the two masters


@pytest.fixture(scope="module")
def site(postgres: PostgresServer) -> t.Iterator[Site]:
    """The example's gateway.toml with [server].bind and [server].backends
    on two free loopback ports, a ``gateway serve`` on each, nginx in front.
    Every process is stopped by pid (its process group) at the end."""
    directory = world_readable_tempdir("gateway-scale-out-")
    url = postgres.create_database("scaleout")
    bind, backend = free_port(), free_port()
    text = CONFIG.read_text()
    example_bind = 'bind = "127.0.0.1:8000"'
    assert example_bind in text
    toml = directory / "gateway.toml"
    toml.write_text(
        text.replace(
            example_bind,
            f'bind = "127.0.0.1:{bind}"\nbackends = ["127.0.0.1:{backend}"]',
        )
    )
    # The copy is outside the example: its ``hosting`` package comes from
    # PYTHONPATH instead of the file's own directory.
    env = server_env(url)
    env["PYTHONPATH"] = str(EXAMPLE)
    started: list[ServerProcess] = []

    def spawn(name: str, argv: t.Sequence[str], **kwargs: t.Any) -> ServerProcess:
        process = ServerProcess(name, argv, directory, **kwargs).start()
        started.append(process)
        return process

    try:
        serve = [sys.executable, "-m", "gateway", "serve", str(toml)]
        backends = [
            spawn("gateway-a", serve, env=env, cwd=ROOT),  # on [server].bind
            spawn(
                "gateway-b",
                [*serve, "--bind", f"127.0.0.1:{backend}"],
                env=env,
                cwd=ROOT,
            ),
        ]
        for process, port in zip(backends, (bind, backend), strict=True):
            process.wait_ready(http_ready(port, "/_gateway/health", "localhost"))
        port = free_port()
        nginx_up(spawn, load_config(toml), directory, port)
        # gateway serve's master process runs the server in a child.
        yield Site(port, frozenset(pid for p in backends for pid in children(p.pid)))
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(directory, ignore_errors=True)


def children(pid: int) -> set[int]:
    """The PIDs of the processes ``pid`` started (Linux's /proc)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(child) for child in f.read().split()}


def pids_serving(browser: HttpClient, slug: str, name: str) -> set[int] | None:
    """The processes behind ``WINDOW`` consecutive requests for ``slug``, or
    None unless every one was answered with that tenant's page."""
    pids = set()
    for _ in range(WINDOW):
        status, _, html = browser.get(slug, "/")
        if status != 200 or f"<h1>{name}</h1>" not in html:
            return None
        match = _PID_RE.search(html)
        assert match is not None, html
        pids.add(int(match.group(1)))
    return pids


def all_not_found(browser: HttpClient, slug: str) -> bool:
    return all(browser.get(slug, "/")[0] == 404 for _ in range(WINDOW))


def test_nginx_spreads_a_tenant_over_both_backends(site: Site) -> None:
    browser = HttpClient(site.port)
    pids = set()
    for _ in range(20):
        status, _, html = browser.get("acme", "/")
        assert status == 200 and "<h1>Acme Rockets</h1>" in html
        match = _PID_RE.search(html)
        assert match is not None, html
        pids.add(int(match.group(1)))
    assert pids == site.backend_pids


def test_added_tenant_is_served_by_both_backends(site: Site) -> None:
    browser = HttpClient(site.port)
    slug = f"scale{next(_names)}"
    assert all_not_found(browser, slug)  # both now remember "no such tenant"
    add_tenant(browser, slug, "Scale Co")  # through the admin, on one of them
    took = wait_until(
        lambda: pids_serving(browser, slug, "Scale Co") == site.backend_pids,
        PROPAGATION_BOUND,
        f"{slug} served by both backends",
    )
    print(f"added tenant served by both backends after {took:.2f}s")


def test_removed_tenant_stops_being_served_by_both(site: Site) -> None:
    browser = HttpClient(site.port)
    slug = f"scale{next(_names)}"
    add_tenant(browser, slug, "Short Lived")
    wait_until(
        lambda: pids_serving(browser, slug, "Short Lived") == site.backend_pids,
        PROPAGATION_BOUND,
        f"{slug} served by both backends",
    )
    status, _, _ = browser.submit("", "/admin/", f"/admin/tenants/{slug}/delete", {})
    assert status == 302
    took = wait_until(
        lambda: all_not_found(browser, slug),
        PROPAGATION_BOUND,
        f"{slug} gone from both backends",
    )
    print(f"removed tenant gone from both backends after {took:.2f}s")
