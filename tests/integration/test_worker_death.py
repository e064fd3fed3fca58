"""A worker killed under load (issue 18, point 10): ``gateway serve`` with
gunicorn or uWSGI, two worker processes, clients sending requests without
pause; one worker gets SIGKILL mid-run.

What must hold: the clients lose no more requests than were on that worker
(at most one per client connection, so at most the number of clients); the
master starts a new worker; and once it has, a second round of load sees no
error at all. Each run prints its figures (``-s`` shows them).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from server_harness import (
    eventually,
)
from site_deployments import BASE_DOMAIN

pytestmark = pytest.mark.integration

#: Client threads, each with its own connection (kept alive where the server
#: allows it).
CLIENTS = 8
#: Seconds of load before the kill, and of the round after the respawn.
WARMUP = 1.0
SECOND_ROUND = 2.0
#: Seconds every other request of the load takes.
SLOW = 0.05
#: Seconds the master gets to start a new worker.
RESPAWN_TIMEOUT = 20.0

SERVERS = [
    pytest.param("gunicorn", ["--workers", "2"], "gunicorn", id="gunicorn"),
    pytest.param("granian", ["--workers", "2"], "granian", id="granian"),
    pytest.param("uwsgi", ["--http", "--workers", "2"], "uwsgi", id="uwsgi-http"),
]


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.add(int(entry.name))
    return out


@dataclass
class Load:
    """``CLIENTS`` threads sending GETs of /whoami (which names the worker)
    and of a slower view until stopped."""

    port: int
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    #: Responses per worker pid.
    by_pid: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self.threads = [
            threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> Load:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in self.threads)
        return self

    def _client(self) -> None:
        host = f"{BASE_DOMAIN}:{self.port}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = 0
        while not self.stop.is_set():
            n += 1
            # Every other request takes SLOW seconds, so that requests are
            # in flight on the worker when it is killed.
            path = "/whoami" if n % 2 else f"/g?value=v{n}&seconds={SLOW}"
            try:
                conn.request("GET", path, headers={"Host": host})
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise http.client.HTTPException(f"status {response.status}")
                data = json.loads(body)
                if "pid" not in data and data["value"] != f"v{n}":
                    raise ValueError(f"another request's answer: {data}")
            except (OSError, http.client.HTTPException, ValueError) as exc:
                conn.close()  # the next request opens a new connection
                with self.lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with self.lock:
                self.requests += 1
                if "pid" in data:
                    pid = int(data["pid"])
                    self.by_pid[pid] = self.by_pid.get(pid, 0) + 1
        conn.close()


@pytest.mark.parametrize(("adapter", "args", "needs"), SERVERS)
def test_a_worker_killed_under_load_loses_only_its_requests_and_is_replaced(
    serve, adapter, args, needs
):
    process, port = serve(adapter, args, needs)
    # gateway serve runs gunicorn's arbiter itself and execs uwsgi: its pid
    # is the master, whose children are the workers.
    assert eventually(lambda: len(children(process.pid)) == 2, timeout=20), (
        process.logs()
    )
    workers = children(process.pid)

    first = Load(port).start()
    time.sleep(WARMUP)
    with first.lock:
        served = dict(first.by_pid)
    assert set(served) <= workers, (served, workers)
    # The busiest worker: the one with requests on it.
    victim = max(workers, key=lambda pid: served.get(pid, 0))
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)

    def respawned() -> bool:
        now = children(process.pid)
        return victim not in now and len(now) == 2

    replaced = eventually(respawned, timeout=RESPAWN_TIMEOUT)
    respawn_seconds = time.monotonic() - killed_at
    time.sleep(0.5)
    first.finish()
    assert replaced, f"no new worker after {RESPAWN_TIMEOUT}s\n{process.logs()}"
    new_workers = children(process.pid) - workers
    assert len(new_workers) == 1, (workers, children(process.pid))

    second = Load(port).start()
    time.sleep(SECOND_ROUND)
    second.finish()

    print(
        f"\n{adapter}: killed worker {victim} after {WARMUP:g}s of load"
        f" ({served.get(victim, 0)} of {sum(served.values())} /whoami so far);"
        f" {len(first.errors)} errors in {first.requests + len(first.errors)}"
        f" requests of the first round; new worker {sorted(new_workers)} seen"
        f" {respawn_seconds:.2f}s after the kill; second round:"
        f" {len(second.errors)} errors in {second.requests} requests,"
        f" by worker {second.by_pid}; errors: {sorted(set(first.errors))}"
    )
    assert process.proc is not None and process.proc.poll() is None
    # Each client had at most one request (or kept-alive connection) on the
    # killed worker.
    assert len(first.errors) <= CLIENTS, first.errors
    assert first.requests > 0
    assert second.errors == [], second.errors
    assert second.requests > 0
    # The new worker takes its share.
    assert set(second.by_pid) <= (workers - {victim}) | new_workers
