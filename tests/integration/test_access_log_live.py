"""The access log on real servers (issue 19, point 2): every in-process
adapter writes the gateway's one format and none of its own lines, the
request id rule holds over real sockets, a streamed response is logged with
the bytes sent, and a log destination that fails never fails a request.

The example site trusts 127.0.0.1 as its proxy ([proxy].trusted); requests
from 127.0.0.2 are a client's, whose X-Request-ID is replaced.
"""

from __future__ import annotations

import json
import re
import typing as t
from concurrent.futures import ThreadPoolExecutor
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
)
from site_deployments import BASE_DOMAIN, DIRECT_PROXY, gateway_serve, write_site

pytestmark = pytest.mark.integration

#: adapter, extra `gateway serve` arguments, the Python package it needs
ADAPTERS = [
    pytest.param("gevent", [], "gevent", id="gevent"),
    pytest.param("tornado", [], "tornado", id="tornado"),
    pytest.param("gunicorn", ["--workers", "2"], "gunicorn", id="gunicorn"),
    pytest.param("granian", ["--workers", "2"], "granian", id="granian"),
]

JSON_KEYS = [
    "time",
    "remote_addr",
    "tenant",
    "mount",
    "method",
    "path",
    "query",
    "protocol",
    "status",
    "bytes",
    "duration_ms",
    "request_id",
]
TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<client>\S+) (?P<tenant>\S+)"
    r' (?P<mount>\S+) "(?P<method>\S+) (?P<target>\S+) HTTP/1\.1" (?P<status>\d{3})'
    r" (?P<bytes>\d+) \d+\.\d{3} (?P<rid>\S+)"
)


def start(
    workdir: Path, adapter: str, args: list[str], needs: str, logging: str
) -> tuple[ServerProcess, int]:
    if needs == "uwsgi":
        require_program("uwsgi")
    else:
        require_module(needs)
    port = free_port()
    toml = write_site(
        workdir, {"adapter": adapter, "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
    )
    with toml.open("a") as f:
        f.write("\n[logging]\n" + logging)
    process = gateway_serve(toml, workdir, adapter, *args)
    process.wait_ready(http_ready(port, host=f"{BASE_DOMAIN}:{port}"))
    return process, port


@pytest.fixture
def servers() -> t.Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def get(port: int, host: str, path: str, **kw: t.Any) -> t.Any:
    return http_request(port, path, host=f"{host}:{port}", **kw)


def json_lines(log: Path, ids: list[str]) -> dict[str, dict[str, t.Any]]:
    """The log's lines by request id, once every one of ``ids`` is there (a
    line is written when the server closes the response, which may be after
    the client read it)."""

    def lines() -> dict[str, dict[str, t.Any]]:
        if not log.exists():
            return {}
        found = [json.loads(line) for line in log.read_text().splitlines()]
        return {line["request_id"]: line for line in found}

    assert eventually(lambda: set(ids) <= set(lines()), timeout=10), (
        log.read_text() if log.exists() else "no log file"
    )
    return lines()


@pytest.mark.parametrize(("adapter", "args", "needs"), ADAPTERS)
def test_every_adapter_writes_the_one_json_format(
    tmp_path: Path,
    servers: list[ServerProcess],
    adapter: str,
    args: list[str],
    needs: str,
) -> None:
    log = tmp_path / "logs" / "access.log"
    log.parent.mkdir()
    process, port = start(
        tmp_path, adapter, args, needs, f'access = "{log}"\nformat = "json"\n'
    )
    servers.append(process)
    tenant = f"alpha.{BASE_DOMAIN}"
    kept = get(port, tenant, "/whoami?x=1", headers={"X-Request-ID": "proxy-id-7"})
    forged = get(
        port, tenant, "/", headers={"X-Request-ID": "forged-1"}, source="127.0.0.2"
    )
    mounted = get(port, BASE_DOMAIN, "/admin/")
    streamed = get(port, tenant, "/stream")
    missing = get(port, f"nobody.{BASE_DOMAIN}", "/")
    responses = [kept, forged, mounted, streamed, missing]
    ids = [r.headers["X-Request-ID"] for r in responses]
    assert len(set(ids)) == len(responses)
    by_id = json_lines(log, ids)

    assert {tuple(line) for line in by_id.values()} == {tuple(JSON_KEYS)}
    logged = [json.loads(line)["request_id"] for line in log.read_text().splitlines()]
    assert sorted(i for i in logged if i in ids) == sorted(ids)  # one line each
    for response in responses:  # every response names the line that logged it
        line = by_id[response.headers["X-Request-ID"]]
        assert line["status"] == response.status
        assert line["bytes"] == len(response.body)
    assert kept.headers["X-Request-ID"] == "proxy-id-7"
    assert forged.headers["X-Request-ID"] != "forged-1"
    first = by_id["proxy-id-7"]
    assert (first["tenant"], first["mount"], first["method"]) == ("alpha", None, "GET")
    assert (first["path"], first["query"], first["protocol"]) == (
        "/whoami",
        "x=1",
        "HTTP/1.1",
    )
    assert first["remote_addr"] == "127.0.0.1"
    assert by_id[forged.headers["X-Request-ID"]]["remote_addr"] == "127.0.0.2"
    admin = by_id[mounted.headers["X-Request-ID"]]
    assert (admin["tenant"], admin["mount"], admin["path"]) == (
        None,
        "/admin",
        "/admin/",
    )
    assert streamed.body == b"chunk-1\nreleased\nend\n"
    assert by_id[missing.headers["X-Request-ID"]]["status"] == 404
    assert by_id[missing.headers["X-Request-ID"]]["tenant"] == "nobody"

    # The server's own output has no access line of its own.
    own = process.log_path.read_text(errors="replace")
    assert "/whoami" not in own, own


@pytest.mark.parametrize(
    ("adapter", "args", "needs"),
    [ADAPTERS[0], ADAPTERS[2]],  # gevent: one process; gunicorn: workers
)
def test_text_lines_to_stdout(
    tmp_path: Path,
    servers: list[ServerProcess],
    adapter: str,
    args: list[str],
    needs: str,
) -> None:
    process, port = start(tmp_path, adapter, args, needs, 'access = "stdout"\n')
    servers.append(process)
    result = get(port, f"beta.{BASE_DOMAIN}", "/whoami?q=2")
    rid = result.headers["X-Request-ID"]

    def line() -> re.Match[str] | None:
        for text in process.log_path.read_text(errors="replace").splitlines():
            found = TEXT_LINE.fullmatch(text)
            if found and found["rid"] == rid:
                return found
        return None

    assert eventually(lambda: line() is not None, timeout=10), process.logs()
    found = line()
    assert found is not None
    assert found.group("client", "tenant", "mount", "method", "target") == (
        "127.0.0.1",
        "beta",
        "-",
        "GET",
        "/whoami?q=2",
    )
    assert (int(found["status"]), int(found["bytes"])) == (200, len(result.body))


@pytest.mark.parametrize(
    ("adapter", "args", "needs"),
    [ADAPTERS[0], ADAPTERS[3]],
)
def test_a_full_disk_never_fails_a_request(
    tmp_path: Path,
    servers: list[ServerProcess],
    adapter: str,
    args: list[str],
    needs: str,
) -> None:
    process, port = start(tmp_path, adapter, args, needs, 'access = "/dev/full"\n')
    servers.append(process)
    results = [get(port, f"alpha.{BASE_DOMAIN}", "/") for _ in range(5)]
    assert [(r.status, r.body) for r in results] == [(200, b"tenant-alpha index")] * 5
    assert eventually(
        lambda: "No space left on device" in process.log_path.read_text(), timeout=10
    ), process.logs()
    assert process.proc is not None and process.proc.poll() is None  # still serving


@pytest.mark.parametrize(
    ("adapter", "args", "needs"),
    [
        pytest.param("gunicorn", ["--workers", "2", "--threads", "1"], "gunicorn"),
        # uWSGI forks its workers from C, after its master built the gateway.
        pytest.param(
            "uwsgi", ["--http", "--workers", "2", "--threads", "1"], "uwsgi", id="uwsgi"
        ),
    ],
)
def test_request_ids_are_unique_across_worker_processes(
    tmp_path: Path,
    servers: list[ServerProcess],
    adapter: str,
    args: list[str],
    needs: str,
) -> None:
    process, port = start(tmp_path, adapter, args, needs, 'access = "stdout"\n')
    servers.append(process)

    def one(_: int) -> str:
        # 0.2 s each, six at a time, one thread per worker: both workers serve.
        result = get(port, f"alpha.{BASE_DOMAIN}", "/g?value=1&seconds=0.2")
        assert result.status == 200
        return str(result.headers["X-Request-ID"])

    with ThreadPoolExecutor(6) as pool:
        ids = list(pool.map(one, range(12)))
    assert len(set(ids)) == len(ids), sorted(ids)
    assert len({rid.rsplit("-", 1)[0] for rid in ids}) == 2  # a prefix per worker
