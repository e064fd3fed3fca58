"""The admin's traffic page in a real browser, over real workers: the example
under ``gateway serve --adapter gunicorn --workers 2``, traffic to two
tenants, then Debian's headless Chromium loads ``/admin/traffic`` and its
rendered DOM (``--dump-dom``, after the page ran) has a row per tenant with
its SVG chart, and the counts of both workers in one table."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import typing as t

import pytest
from server_harness import (
    ServerProcess,
    free_port,
    http_ready,
    http_request,
    missing,
    require_module,
    world_readable_tempdir,
)
from site_helpers import CONFIG, EXAMPLE, ROOT, server_env, wait_until

pytestmark = pytest.mark.integration

SAMPLE = 0.5  # seconds between the admin's samples
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_PID_RE = re.compile(r"<span>Process (\d+)</span>")


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    missing("Chromium is not installed (apt-get install chromium)")


def dump_dom(browser: str, url: str) -> str:
    """The DOM of ``url`` after it loaded, from a fresh headless profile."""
    profile = tempfile.mkdtemp(prefix="gateway-chromium-")
    proc = subprocess.Popen(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        pytest.fail(f"chromium took more than 90 s on {url}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def test_the_traffic_page_renders_in_chromium(db_url: str) -> None:
    require_module("gunicorn")
    pytest.importorskip("prometheus_client")
    browser = chromium()
    directory = world_readable_tempdir("gateway-traffic-browser-")
    toml = directory / "gateway.toml"
    toml.write_text(
        CONFIG.read_text().replace(
            "[metrics]\n", f'[metrics]\ndirectory = "{directory / "metrics"}"\n'
        )
    )
    env = server_env(db_url)
    env["PYTHONPATH"] = str(EXAMPLE)
    env["MULTITENANT_TRAFFIC_SAMPLE"] = str(SAMPLE)
    port = free_port()
    process = ServerProcess(
        "gateway-traffic-browser",
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            str(toml),
            "--adapter",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        directory,
        env=env,
        cwd=ROOT,
    ).start()
    try:
        process.wait_ready(http_ready(port, "/_gateway/health", "localhost"))
        admin: dict[str, t.Any] = {"host": f"localhost:{port}"}
        seen: set[int] = set()

        def both_workers_sample() -> bool:
            page = http_request(
                port, "/admin/traffic", headers={"Connection": "close"}, **admin
            )
            assert page.status == 200, page.text[:300]
            seen.update(int(p) for p in _PID_RE.findall(page.text))
            return len(seen) == 2

        wait_until(both_workers_sample, 30, "both workers to show the page")
        for tenant, count in (("acme", 30), ("bistro", 10)):
            for _ in range(count):
                result = http_request(
                    port,
                    "/",
                    host=f"{tenant}.localhost:{port}",
                    headers={"Connection": "close"},
                )
                assert result.status == 200
        wait_until(
            lambda: all(
                'data-tenant="bistro"'
                in http_request(port, "/admin/traffic", **admin).text
                for _ in range(4)
            ),
            20,
            "every worker to have sampled the traffic",
        )
        dom = dump_dom(browser, f"http://localhost:{port}/admin/traffic")
    finally:
        process.stop()
        shutil.rmtree(directory, ignore_errors=True)
    table = dom.split('id="traffic"')[1].split("</table>")[0]
    tenants = re.findall(r'<tr data-tenant="([^"]+)">', table)
    assert tenants[:2] == ["acme", "bistro"], tenants  # busiest first
    for tenant in ("acme", "bistro"):
        row = table.split(f'data-tenant="{tenant}"')[1].split("</tr>")[0]
        assert re.search(r"<svg[^>]*class=\"spark\"", row), row
        assert re.search(r'<polyline points="[0-9., ]+"', row), row
    rates = {
        tenant: float(
            table.split(f'data-tenant="{tenant}"')[1]
            .split('class="num">')[1]
            .split("<")[0]
        )
        for tenant in ("acme", "bistro")
    }
    assert rates["acme"] > rates["bistro"] > 0, rates
