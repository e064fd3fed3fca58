"""Metrics summed over worker processes, end to end: the multi-tenant
example under ``gateway serve --adapter gunicorn --workers 2`` and under
uWSGI with two workers. After exactly N requests to each of three tenants
(spread over both workers, which the tenant page's process id shows), every
scrape of ``/_gateway/metrics``, whichever worker answers it, reports exactly
N for each of them. A client outside ``[health].allow`` cannot scrape
(tested in process: tests/dispatch/test_metrics.py)."""

from __future__ import annotations

import re
import shutil
import sys
import typing as t
from pathlib import Path

import pytest
from server_harness import (
    ServerProcess,
    eventually,
    free_port,
    http_ready,
    http_request,
    require_module,
    require_program,
    scrape_metrics,
    world_readable_tempdir,
)
from site_helpers import CONFIG, EXAMPLE, ROOT, server_env

pytest.importorskip("prometheus_client")

pytestmark = pytest.mark.integration

TENANTS = ("acme", "bistro", "nimbus")
N = 40
SCRAPES = 6
_PID_RE = re.compile(r"<dt>Process</dt><dd>(\d+)</dd>")


@pytest.fixture
def site_copy(db_url: str) -> t.Iterator[tuple[Path, dict[str, str]]]:
    """The example's gateway.toml in a directory of its own, with its own
    metrics directory; the environment to serve it with."""
    directory = world_readable_tempdir("gateway-metrics-live-")
    text = CONFIG.read_text()
    assert "[metrics]\nenabled = true\n" in text  # the example has them on
    text = text.replace(
        "[metrics]\n", f'[metrics]\ndirectory = "{directory / "metrics"}"\n'
    )
    (directory / "gateway.toml").write_text(text)
    env = server_env(db_url)
    env["PYTHONPATH"] = str(EXAMPLE)
    try:
        yield directory / "gateway.toml", env
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(
    ("adapter", "args"),
    [
        pytest.param("gunicorn", [], id="gunicorn"),
        pytest.param("uwsgi", ["--http"], id="uwsgi"),
    ],
)
def test_every_scrape_reports_exact_counts_summed_over_workers(
    site_copy: tuple[Path, dict[str, str]], adapter: str, args: list[str]
) -> None:
    if adapter == "uwsgi":
        require_program("uwsgi")
    else:
        require_module(adapter)
    toml, env = site_copy
    port = free_port()
    process = ServerProcess(
        f"gateway-metrics-{adapter}",
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            str(toml),
            "--adapter",
            adapter,
            "--workers",
            "2",
            "--threads",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            *args,
        ],
        toml.parent,
        env=env,
        cwd=ROOT,
    ).start()
    try:
        process.wait_ready(http_ready(port, "/_gateway/health", "localhost"))
        pids: set[int] = set()
        for tenant in TENANTS:
            for _ in range(N):
                result = http_request(
                    port,
                    "/",
                    host=f"{tenant}.localhost:{port}",
                    headers={"Connection": "close"},
                )
                assert result.status == 200, result.text[:300]
                match = _PID_RE.search(result.text)
                assert match is not None
                pids.add(int(match.group(1)))
        assert len(pids) == 2, f"one worker served everything: {pids}"

        def counts() -> dict[str, float | None]:
            found = scrape_metrics(port, f"localhost:{port}", process.logs)
            return {k: found[k].requests if k in found else None for k in TENANTS}

        # A busy worker writes its counts within FLUSH_AFTER; from then on
        # every scrape, whichever worker answers, is exact.
        expected = dict.fromkeys(TENANTS, N)
        assert eventually(lambda: counts() == expected, timeout=10), counts()
        for _ in range(SCRAPES):
            assert counts() == expected
    finally:
        process.stop()
    metrics_dir = toml.parent / "metrics"
    assert any(metrics_dir.glob("counter_*.db"))  # the workers wrote there
