"""Metrics summed over mod_wsgi daemon processes (issue 19): the files
``gateway config apache`` and ``gateway config wsgi-file`` write, on a real
Apache with ``WSGIDaemonProcess processes=2``, daemons as www-data.

After exactly N requests to each of three tenants, spread over both daemon
processes (their pids come back in the responses), every scrape, whichever
process answers it, reports exactly N for each. Apache stopped and started
again (a new run: a new parent process) starts from zero: the first daemon
process to load the gateway empties the directory; a daemon process that
replaces another while Apache runs keeps the counts. The same sums under
``gateway serve --adapter mod_wsgi`` (mod_wsgi-express) started as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import tempfile
import threading
import typing as t
from pathlib import Path

import pytest
from server_harness import (
    ServerProcess,
    eventually,
    free_port,
    http_ready,
    http_request,
    require_program,
    scrape_metrics,
)
from site_deployments import (
    BASE_DOMAIN,
    DIRECT_PROXY,
    gateway_serve,
    render_files,
    start_apache,
    write_site,
)
from test_granian_metrics_live import in_flight_by_pid

pytest.importorskip("prometheus_client")


pytestmark = pytest.mark.integration

TENANTS = ("alpha", "beta", "gamma")
N = 30
#: Client threads sending the requests at once, so both processes serve;
#: no more than a tenant may have in one process (threads // 2).
CLIENTS = 4
SCRAPES = 8


class Site(t.NamedTuple):
    toml: Path
    entry_dir: Path
    metrics: Path


@pytest.fixture
def site(server_dir: Path) -> Site:
    """The integration site with a third tenant, two daemon processes and
    metrics in a directory only www-data (the daemons' user) may enter."""
    toml = write_site(
        server_dir,
        {"adapter": "mod_wsgi", "bind": "127.0.0.1:1", "workers": 2, "threads": 8},
        DIRECT_PROXY,
    )
    tenants = server_dir / "gwsite" / "tenants.py"
    text = tenants.read_text()
    assert 'KNOWN = ("alpha", "beta")' in text
    tenants.write_text(text.replace('("alpha", "beta")', str(TENANTS)))
    metrics = server_dir / "metrics"
    metrics.mkdir(mode=0o700)
    account = pwd.getpwnam("www-data")
    os.chown(metrics, account.pw_uid, account.pw_gid)
    with toml.open("a") as f:
        f.write(f'\n[metrics]\nenabled = true\ndirectory = "{metrics}"\n')
    entry_dir = server_dir / "www"
    render_files(
        "wsgi-file", toml, entry_dir, toml_path=str(toml), entry_dir=str(entry_dir)
    )
    return Site(toml, entry_dir, metrics)


def apache(site: Site, port: int) -> ServerProcess:
    process = start_apache(
        "apache",
        site.toml,
        site.toml.parent,
        port,
        toml_path=str(site.toml),
        entry_dir=str(site.entry_dir),
    )
    process.wait_ready(http_ready(port, "/", host=f"{BASE_DOMAIN}:{port}"))
    return process


def send_requests(port: int) -> tuple[set[int], int]:
    """Rounds of N requests to each tenant, until both daemon processes have
    answered some (mod_wsgi hands a request to whichever process takes it
    first, so one round may find a single process): the daemon pids that
    answered, and the requests each tenant got."""
    pids: set[int] = set()
    rounds = 0
    while len(pids) < 2 and rounds < 10:
        pids |= send_round(port)
        rounds += 1
    assert len(pids) == 2, f"one daemon process served everything: {pids}"
    return pids, N * rounds


def send_round(port: int) -> set[int]:
    """N requests to each tenant from CLIENTS threads; the daemon pids that
    answered them."""
    jobs = [tenant for _ in range(N) for tenant in TENANTS]
    lock = threading.Lock()
    pids: set[int] = set()
    errors: list[str] = []

    def client() -> None:
        while True:
            with lock:
                if not jobs:
                    return
                tenant = jobs.pop()
            try:
                result = http_request(
                    port,
                    "/whoami",
                    host=f"{tenant}.{BASE_DOMAIN}:{port}",
                    headers={"Connection": "close"},
                )
                assert result.status == 200, result.text[:300]
                pid = result.json()["pid"]
            except BaseException as e:  # reported below
                with lock:
                    errors.append(f"{tenant}: {e!r}")
                continue
            with lock:
                pids.add(pid)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors[:5]
    return pids


def scrape(port: int, process: ServerProcess) -> dict[str, float]:
    totals = scrape_metrics(port, f"{BASE_DOMAIN}:{port}", process.logs)
    return {tenant: totals[tenant].requests for tenant in TENANTS if tenant in totals}


def settled(port: int, process: ServerProcess, expected: dict[str, int]) -> None:
    """The scrape reaches ``expected`` (a busy process writes its counts
    within FLUSH_AFTER), then every scrape, whichever process answers, says
    exactly that."""
    assert eventually(lambda: scrape(port, process) == expected, timeout=10), (
        scrape(port, process),
        expected,
    )
    for _ in range(SCRAPES):
        assert scrape(port, process) == expected, process.logs()


def in_flight(port: int) -> float:
    """Requests of tenant alpha in flight, in one scrape."""
    totals = scrape_metrics(port, f"{BASE_DOMAIN}:{port}")
    return totals["alpha"].in_flight if "alpha" in totals else 0


def daemon_pids(metrics: Path) -> set[int]:
    """The processes with files in the metrics directory."""
    return {
        int(m.group(1))
        for p in metrics.iterdir()
        if (m := re.fullmatch(r"\w+_(\d+)\.db", p.name)) is not None
    }


def test_one_scrape_sums_every_daemon_process(site: Site) -> None:
    port = free_port()
    process = apache(site, port)
    try:
        pids, sent = send_requests(port)
        settled(port, process, dict.fromkeys(TENANTS, sent))
        assert pids <= daemon_pids(site.metrics)

        # A daemon process dies holding a request; Apache starts another.
        # Its counts stay, its request is no longer in flight.
        def park() -> None:
            with contextlib.suppress(Exception):  # its process dies under it
                http_request(
                    port, "/slow?seconds=60", host=f"alpha.{BASE_DOMAIN}:{port}"
                )

        threading.Thread(target=park, daemon=True).start()
        assert eventually(lambda: in_flight(port) == 1, timeout=10)
        busy = [pid for pid, n in in_flight_by_pid(site.metrics).items() if n == 1]
        assert len(busy) == 1 and busy[0] in pids, (busy, pids)
        os.kill(busy[0], signal.SIGKILL)
        extra = 0

        def replaced() -> bool:
            nonlocal extra
            result = http_request(
                port,
                "/whoami",
                host=f"beta.{BASE_DOMAIN}:{port}",
                headers={"Connection": "close"},
            )
            if result.status == 503 and "Retry-After" not in result.headers:
                # Apache's own answer while no daemon process accepts (the
                # replacement is starting): the gateway never saw it.
                return False
            assert result.status == 200, result.text[:300]
            extra += 1
            return result.json()["pid"] not in pids

        assert eventually(replaced, timeout=30), process.logs()
        settled(port, process, {"alpha": sent, "beta": sent + extra, "gamma": sent})
        assert in_flight(port) == 0

        # A graceful restart replaces every daemon process under the same
        # parent: the counts stay.
        pids = daemon_pids(site.metrics)
        process.signal_leader(signal.SIGUSR1)
        assert eventually(replaced, timeout=30), process.logs()
        settled(port, process, {"alpha": sent, "beta": sent + extra, "gamma": sent})
    finally:
        process.stop()

    # A new run of Apache: its first daemon process to load the gateway
    # empties the directory, so the counts start again from zero.
    port = free_port()
    process = apache(site, port)
    try:
        for _ in range(SCRAPES):
            assert scrape(port, process) == {}, process.logs()
        _, sent = send_requests(port)
        settled(port, process, dict.fromkeys(TENANTS, sent))
    finally:
        process.stop()


def test_gateway_serve_mod_wsgi_hands_the_directory_to_the_daemons(
    server_dir: Path,
) -> None:
    """``gateway serve --adapter mod_wsgi --workers 2`` as root creates the
    directory (root's, mode 0700) and gives it to the daemons' user, who
    write their files there; one scrape sums both processes."""
    require_program("mod_wsgi-express")
    if os.geteuid() != 0:
        pytest.skip("the hand-over happens when gateway serve runs as root")
    port = free_port()
    toml = write_site(
        server_dir,
        {"adapter": "mod_wsgi", "bind": f"127.0.0.1:{port}", "workers": 2},
        DIRECT_PROXY,
    )
    tenants = server_dir / "gwsite" / "tenants.py"
    tenants.write_text(tenants.read_text().replace('("alpha", "beta")', str(TENANTS)))
    metrics = server_dir / "metrics"
    with toml.open("a") as f:
        f.write(f'\n[metrics]\nenabled = true\ndirectory = "{metrics}"\n')
    process = gateway_serve(toml, server_dir, "mod_wsgi")
    try:
        process.wait_ready(
            http_ready(port, "/", host=f"{BASE_DOMAIN}:{port}"), timeout=60
        )
        assert metrics.stat().st_uid == pwd.getpwnam("www-data").pw_uid
        _, sent = send_requests(port)
        settled(port, process, dict.fromkeys(TENANTS, sent))
    finally:
        process.stop()
        shutil.rmtree(
            Path(tempfile.gettempdir()) / f"gateway-mod_wsgi-gwsite-{port}",
            ignore_errors=True,
        )
