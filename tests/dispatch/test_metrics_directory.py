"""prometheus_client's multiprocess directory (gateway/dispatch/multiprocess.py):
created and emptied before the workers start, named in the environment they
inherit, and a bad one refused with the key to fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.dispatch.multiprocess import (
    ENV,
    SERVER_FILE,
    alive,
    directory_for,
    join,
    prepare,
    sweep_dead,
)
from gateway.toml import parse_config


@pytest.fixture(autouse=True)
def _restore() -> t.Iterator[None]:
    """prepare() sets the variable and switches an imported
    prometheus_client to files: undo both."""
    values = sys.modules.get("prometheus_client.values")
    saved = getattr(values, "ValueClass", None)
    variable = os.environ.pop(ENV, None)
    yield
    if values is not None:
        values.ValueClass = saved  # type: ignore[attr-defined]
    os.environ.pop(ENV, None)
    if variable is not None:
        os.environ[ENV] = variable


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        pytest.param({}, "gateway-site-127.0.0.1_8000-metrics", id="default-in-tmp"),
        pytest.param({"directory": "/run/site/m"}, "/run/site/m", id="given"),
    ],
)
def test_the_directory_comes_from_the_config(
    tmp_path: Path, metrics: dict[str, t.Any], expected: str
) -> None:
    config = parse_config(
        {"gateway": {"name": "site", "default_app": "x:app"}, "metrics": metrics},
        tmp_path,
    )
    assert directory_for(config, "127.0.0.1:8000").endswith(expected)


def test_prepare_creates_it_empties_it_and_exports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    assert prepare(str(directory)) == str(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]
    assert os.environ[ENV] == str(directory)
    fresh = tmp_path / "a" / "b"
    prepare(str(fresh))
    assert fresh.is_dir() and os.environ[ENV] == str(fresh)


def test_an_unusable_directory_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"\[metrics\].directory"):
        prepare(str(blocker / "metrics"))
    assert ENV not in os.environ


def test_values_written_after_prepare_go_to_files(tmp_path: Path) -> None:
    """In a fresh interpreter that imported prometheus_client first: a
    gateway's counts land in the directory, one file per process."""
    pytest.importorskip("prometheus_client")
    code = f"""
import prometheus_client
from gateway.dispatch.multiprocess import prepare
prepare({str(tmp_path)!r})
from gateway.dispatch import Gateway
from gateway.toml import MetricsConfig
from werkzeug.test import Client
app = lambda e, s: (s("200 OK", []), [b"ok"])[1]
gw = Gateway(app, base_domain="example.com", tenants=lambda k: app,
             metrics=MetricsConfig(enabled=True))
assert Client(gw).get("/", headers={{"Host": "acme.example.com"}}).status_code == 200
text = Client(gw).get("/_gateway/metrics", headers={{"Host": "example.com"}},
                      environ_base={{"REMOTE_ADDR": "127.0.0.1"}}).text
print([l for l in text.splitlines() if l.startswith("gateway_requests_total")])
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != ENV},
    )
    assert out.returncode == 0, out.stderr
    assert 'tenant="acme"' in out.stdout and "1.0" in out.stdout, out.stdout
    assert any(tmp_path.glob("counter_*.db"))


def test_a_request_ending_beside_a_longer_one_is_written_soon(tmp_path: Path) -> None:
    """Multiprocess: a request that ends while another is still open in the
    same process is in the files within a bound, without any further
    request (read from the files, as another worker's scrape would)."""
    pytest.importorskip("prometheus_client")
    code = f"""
import time
from gateway.dispatch.multiprocess import prepare
prepare({str(tmp_path)!r})
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from gateway.dispatch import Gateway
from gateway.toml import MetricsConfig
from werkzeug.test import EnvironBuilder

def app(environ, start_response):
    start_response("200 OK", [])
    return iter([b"a"]) if environ["PATH_INFO"] == "/long" else [b"ok"]

gw = Gateway(app, base_domain="example.com", tenants=lambda k: app,
             metrics=MetricsConfig(enabled=True))
def environ(path):
    return EnvironBuilder(path=path, headers={{"Host": "acme.example.com"}}).get_environ()
sr = lambda status, headers, exc_info=None: None
assert gw(environ("/"), sr) == [b"ok"]  # written at once: nothing else runs
long = gw(environ("/long"), sr)  # open: in flight
assert gw(environ("/"), sr) == [b"ok"]  # ends beside it, just after a write
def files():
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path={str(tmp_path)!r})
    return generate_latest(registry).decode()
deadline = time.monotonic() + 10
while 'status="2xx",tenant="acme"}} 2.0' not in files():
    assert time.monotonic() < deadline, files()
    time.sleep(0.05)
long.close()
print("written")
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != ENV},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "written" in out.stdout


EXITING_WORKER = """
import multiprocessing, sys
from gateway.dispatch.multiprocess import prepare
prepare({directory!r})
from gateway.dispatch import Gateway
from gateway.toml import MetricsConfig
from werkzeug.test import EnvironBuilder

def app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]

def serve():
    gw = Gateway(app, base_domain="example.com", tenants=lambda k: app,
                 metrics=MetricsConfig(enabled=True))
    environ = EnvironBuilder(headers={{"Host": "acme.example.com"}}).get_environ
    for _ in range(3):  # the first is written at once, the others wait
        assert gw(environ(), lambda *a: None) == [b"ok"]

if sys.argv[1] == "multiprocessing":  # a worker as granian starts them
    worker = multiprocessing.get_context("fork").Process(target=serve)
    worker.start()
    worker.join(30)
    assert worker.exitcode == 0, worker.exitcode
else:
    serve()
"""


@pytest.mark.parametrize("how", ["exit", "multiprocessing"])
def test_a_worker_that_exits_writes_the_counts_that_wait(
    tmp_path: Path, how: str
) -> None:
    """Requests within FLUSH_AFTER of a write wait for the flusher; a worker
    that exits, the usual way or as a multiprocessing child (which ends with
    os._exit), writes them first."""
    prometheus_client = pytest.importorskip("prometheus_client")
    from prometheus_client.multiprocess import MultiProcessCollector

    out = subprocess.run(
        [sys.executable, "-c", EXITING_WORKER.format(directory=str(tmp_path)), how],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != ENV},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    registry = prometheus_client.CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    text = prometheus_client.generate_latest(registry).decode()
    assert 'status="2xx",tenant="acme"} 3.0' in text, text


def test_negative_cache_hits_are_summed_over_processes(tmp_path: Path) -> None:
    """Two processes sharing one directory, each answering an unknown tenant
    K times (one factory call, then K - 1 negative-cache hits) and exiting:
    a scrape from a third process reports the sum, like the other registry
    counters."""
    pytest.importorskip("prometheus_client")
    k = 5
    worker = f"""
from gateway.dispatch import Gateway
from gateway.toml import MetricsConfig
from werkzeug.test import Client
app = lambda e, s: (s("200 OK", []), [b"ok"])[1]
gw = Gateway(app, base_domain="example.com",
             tenants=lambda k: None if k == "ghost" else app,
             metrics=MetricsConfig(enabled=True))
client = Client(gw)
for _ in range({k}):
    assert client.get("/", headers={{"Host": "ghost.example.com"}}).status_code == 404
scrape = client.get("/_gateway/metrics", headers={{"Host": "example.com"}},
                    environ_base={{"REMOTE_ADDR": "127.0.0.1"}})
assert scrape.status_code == 200
"""
    reader = f"""
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
registry = CollectorRegistry()
MultiProcessCollector(registry, path={str(tmp_path)!r})
print(generate_latest(registry).decode())
"""
    env = {**os.environ, ENV: str(tmp_path)}  # as a worker inherits it
    for code in (worker, worker, reader):  # two workers, then a scrape
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert out.returncode == 0, out.stderr[-3000:]
    assert f"gateway_registry_negative_hits_total {2.0 * (k - 1)}" in out.stdout


def test_a_sweep_drops_the_live_gauges_of_processes_that_ended(tmp_path: Path) -> None:
    """Files of a process that ended, or that is a zombie its parent has not
    reaped yet, lose their live gauges; counters stay, and so does every
    file of a process that runs."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait(30)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        names = {
            f"gauge_livesum_{ended.pid}.db",
            f"gauge_liveall_{ended.pid}.db",
            f"counter_{ended.pid}.db",
            f"histogram_{ended.pid}.db",
            f"gauge_livesum_{zombie.pid}.db",
            f"gauge_livesum_{running.pid}.db",
            f"gauge_livesum_{os.getpid()}.db",
            "gauge_livesum_notapid.db",
        }
        for name in names:
            (tmp_path / name).write_bytes(b"")
        assert alive(running.pid) and not alive(ended.pid) and not alive(zombie.pid)
        assert sweep_dead(str(tmp_path)) == sorted([ended.pid, zombie.pid])
        assert {p.name for p in tmp_path.iterdir()} == names - {
            f"gauge_livesum_{ended.pid}.db",
            f"gauge_liveall_{ended.pid}.db",
            f"gauge_livesum_{zombie.pid}.db",
        }
        assert sweep_dead(str(tmp_path)) == []  # nothing left to do
    finally:
        running.kill()
        running.wait(30)
        zombie.wait(30)


def test_a_sweep_without_a_directory_does_nothing(tmp_path: Path) -> None:
    assert sweep_dead() == []  # no variable set (the fixture removed it)
    assert sweep_dead(str(tmp_path / "missing")) == []


def test_the_first_process_of_a_server_run_empties_the_directory(
    tmp_path: Path,
) -> None:
    """join(): the first process to join for a server run empties what an
    earlier run left; later ones (and replacements) keep the counts; a new
    run of the server, even one with the same pid, empties it again."""
    directory = tmp_path / "m"
    assert join(str(directory), os.getpid()) == str(directory)
    assert directory.is_dir() and os.environ[ENV] == str(directory)
    (directory / "counter_1.db").write_bytes(b"this run")
    join(str(directory), os.getpid())  # another process of the same run
    assert (directory / "counter_1.db").exists()
    # The same pid, started at another time: a new run.
    marker = directory / SERVER_FILE
    pid, start = marker.read_text().split()
    assert start.isdigit()
    marker.write_text(f"{pid} {int(start) - 1}\n")
    join(str(directory), os.getpid())
    assert not (directory / "counter_1.db").exists()
    (directory / "counter_1.db").write_bytes(b"")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        join(str(directory), other.pid)  # another server
        assert not (directory / "counter_1.db").exists()
        assert marker.read_text().split()[0] == str(other.pid)
    finally:
        other.kill()
        other.wait(30)


def test_joining_an_unusable_directory_names_the_key(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"\[metrics\].directory"):
        join(str(blocker / "metrics"), os.getpid())
    assert ENV not in os.environ
