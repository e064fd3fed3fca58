"""A tenant store outage under traffic (issue 18, point 9): the example on a
real PostgreSQL, served by ``gateway serve`` under gevent and under gunicorn
(two workers) at once, while client threads request every kind of page;
PostgreSQL is stopped (``pg_ctl stop -m fast``) for several seconds, then
started again.

What must hold: no 500 and no traceback, ever; every 503 carries
Retry-After; during the outage every page that reads the store answers 503
(a known tenant never built, a sub-domain nobody has: 503, never a 404
"no such tenant") while built tenants' pages that do not read it answer 200;
no worker exits and no live tenant is rebuilt; after the restart every page
answers 200 again within a bound (the issue's target is about a second: the
figures are printed). This module runs its own PostgreSQL, since it stops it.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import typing as t
from collections import Counter
from pathlib import Path

import pytest
from hosting.store import OUTAGE_RETRY_AFTER
from site_helpers import (
    CONFIG,
    PostgresServer,
    Server,
    open_store,
    postgres_bindir,
    raw_request,
    server_env,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Seconds PostgreSQL stays down.
OUTAGE = 6.0
#: Traffic goes on this long after PostgreSQL accepts connections again.
AFTER = 6.0
#: Bound on "everything answers 200 again" after the restart (the target is
#: about 1 s: one back-off of hosting.store.OUTAGE_RETRY_AFTER); generous for
#: a busy two-core machine.
RECOVERY_BOUND = 4.0
CLIENTS_PER_SERVER = 3
LATE = "latecomer"  # a tenant that exists but is first asked for in the outage

#: What a 503 page says: the store's description (the apps' pages) or the
#: gateway's "try again shortly" (a tenant it could not build).
CLEAR = (b"The tenant database is not answering right now", b"try again")

ADAPTERS = {
    "gevent": ("--adapter", "gevent"),
    "gunicorn": ("--adapter", "gunicorn", "--workers", "2"),
}


class Probe(t.NamedTuple):
    name: str
    tenant: str  # "" for the bare domain; "*" a new unknown sub-domain each time
    path: str
    reads_store: bool


PROBES = (
    Probe("tenant home", "acme", "/", True),
    Probe("tenant about", "acme", "/about", False),
    Probe("tenant static", "acme", "/static/theme.css", False),
    Probe("landing", "", "/", True),
    Probe("admin", "", "/admin/", True),
    Probe("late tenant", LATE, "/", True),
    Probe("unknown", "*", "/", True),
    Probe("health", "", "/_gateway/health", False),
)


class Answer(t.NamedTuple):
    server: str
    probe: Probe
    start: float
    end: float
    status: int
    retry_after: bool
    traceback: bool
    clear: bool  # the body says to come back (a 503's page)


@pytest.fixture(scope="module")
def pg() -> t.Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server programs not found: apt-get install postgresql")
    pytest.importorskip("psycopg")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def children(pid: int) -> set[int]:
    """The child processes of ``pid`` (gunicorn's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()}


def built_stamp(server: Server) -> str:
    """acme's "Instance built HH:MM:SS UTC in process N" footer."""
    status, _, body = raw_request(server.port, "GET", "acme.localhost", "/about")
    assert status == 200
    match = re.search(r"Instance built (\S+) UTC in process (\d+)", body.decode())
    assert match is not None
    return match.group(0)


class Traffic:
    """Client threads cycling through :data:`PROBES` against each server,
    recording every answer with its start and end time."""

    def __init__(self, servers: dict[str, Server]) -> None:
        self.servers = servers
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        #: Set once PostgreSQL is down: the late tenant is asked for from then.
        self.late = threading.Event()
        self._unknown = itertools.count()
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(name, i), daemon=True)
            for name in servers
            for i in range(CLIENTS_PER_SERVER)
        ]

    def _run(self, name: str, offset: int) -> None:
        port = self.servers[name].port
        for probe in itertools.islice(itertools.cycle(PROBES), offset, None):
            if self.stop.is_set():
                return
            if probe.tenant == LATE and not self.late.is_set():
                continue
            tenant = (
                f"nobody{next(self._unknown)}" if probe.tenant == "*" else probe.tenant
            )
            host = f"{tenant}.localhost" if tenant else "localhost"
            start = time.monotonic()
            try:
                status, headers, body = raw_request(port, "GET", host, probe.path)
            except OSError as e:  # a refused or reset connection: a failure
                with self._lock:
                    self.errors.append(f"{name} {probe.name}: {e!r}")
                continue
            answer = Answer(
                name,
                probe,
                start,
                time.monotonic(),
                status,
                "retry-after" in headers,
                b"Traceback" in body,
                any(words in body for words in CLEAR),
            )
            with self._lock:
                self.answers.append(answer)

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(40)
        assert not any(th.is_alive() for th in self.threads), "a client is stuck"


def table(answers: t.Iterable[Answer]) -> str:
    counts = Counter((a.server, a.probe.name, a.status) for a in answers)
    return "\n".join(
        f"  {server:9} {probe:14} {status}: {n}"
        for (server, probe, status), n in sorted(counts.items())
    )


def test_store_outage_under_traffic(pg: PostgresServer, tmp_path: Path) -> None:
    url = pg.create_database("outage")
    store = open_store(url)
    store.initialize()
    store.add(LATE, "Late Comer", "forest")  # exists, never requested before
    store.close()
    env = server_env(url)
    servers = {
        name: Server(CONFIG, env, tmp_path / f"{name}.log", args)
        for name, args in ADAPTERS.items()
    }
    try:
        for server in servers.values():
            server.wait_ready()
        # Build acme in every process (gunicorn spreads these over its workers).
        for server in servers.values():
            for _ in range(20):
                assert raw_request(server.port, "GET", "acme.localhost", "/")[0] == 200
        stamp = built_stamp(servers["gevent"])
        workers = children(servers["gunicorn"].proc.pid)
        assert len(workers) == 2

        with Traffic(servers) as traffic:
            time.sleep(1.5)  # steady traffic before the outage
            down_start = time.monotonic()
            pg.pause()
            down = time.monotonic()  # every connection is refused from here
            traffic.late.set()
            time.sleep(OUTAGE)
            up_start = time.monotonic()
            pg.resume()
            up = time.monotonic()  # PostgreSQL accepts connections again
            time.sleep(AFTER)
        print(
            f"\nPostgreSQL stopped in {down - down_start:.2f}s, down {up_start - down:.2f}s,"
            f" started in {up - up_start:.2f}s; {len(traffic.answers)} answers"
        )

        assert traffic.errors == []
        answers = traffic.answers
        outage = [a for a in answers if a.start >= down and a.end <= up_start]
        print("during the outage:\n" + table(outage))
        print("all answers:\n" + table(answers))

        # Never a 500 nor a traceback; a 503 always says when to come back.
        statuses = Counter(a.status for a in answers)
        print(f"statuses over the whole run: {dict(sorted(statuses.items()))}")
        assert statuses[500] == 0
        assert not [a for a in answers if a.traceback]
        assert not [a for a in answers if a.status == 503 and not a.retry_after]
        assert not [a for a in answers if a.status == 503 and not a.clear]
        for a in answers:
            allowed = {404, 503} if a.probe.tenant == "*" else {200, 503}
            assert a.status in allowed, a
        # The late tenant is never "no such tenant", whatever the timing.
        assert all(a.status != 404 for a in answers if a.probe.name == "late tenant")

        # During the outage: the store's pages are 503, the others still 200
        # (gevent's one process built acme before; gunicorn's workers too).
        assert outage
        for a in outage:
            expected = 503 if a.probe.reads_store else 200
            assert a.status == expected, a

        # After the restart: everything is 200 (an unknown tenant 404) within
        # the bound, counted from the first answer that read the store again
        # (pg_ctl may return a little after PostgreSQL accepted its first
        # connection; a request that started just after that one may have
        # connected just before).
        back = min(
            a.start
            for a in answers
            if a.start >= down and a.probe.reads_store and a.status == 200
        )
        print(
            f"first page read from the store again {back - up_start:.2f}s after"
            f" 'pg_ctl start', {back - up:+.2f}s from its return"
        )
        worst = 0.0
        for server in servers:
            for probe in PROBES:
                recovered = 404 if probe.tenant == "*" else 200
                mine = [
                    a
                    for a in answers
                    if a.server == server and a.probe == probe and a.start >= back
                ]
                assert mine, f"no {probe.name} request to {server} after the restart"
                failing = [a for a in mine if a.status != recovered]
                took = (failing[-1].end - back) if failing else 0.0
                print(f"  {server:9} {probe.name:14} all {recovered} after {took:.2f}s")
                worst = max(worst, took)
        print(f"everything answered again {worst:.2f}s after the store did")
        assert worst <= RECOVERY_BOUND
        unknown_after = [
            a.status
            for a in answers
            if a.probe.tenant == "*" and a.start >= back + worst
        ]
        assert unknown_after and set(unknown_after) == {404}  # never 200 either

        # No worker exited, no live tenant was rebuilt (a failing lookup
        # retires nothing), and the logs hold no traceback.
        for server in servers.values():
            assert server.proc.poll() is None, server.log()
        assert children(servers["gunicorn"].proc.pid) == workers
        assert built_stamp(servers["gevent"]) == stamp
        wait_until(
            lambda: (
                raw_request(servers["gevent"].port, "GET", f"{LATE}.localhost", "/")[0]
                == 200
            ),
            5,
            "late tenant served",
        )
    finally:
        exits = {name: server.stop() for name, server in servers.items()}
    logs = {
        name: server.log_path.read_text(errors="replace")
        for name, server in servers.items()
    }
    for name, log in logs.items():
        # The late tenant's factory ran about once a back-off per process,
        # not once per request (about 70 per process reached it).
        tries = log.count(f"tenant {LATE!r} unavailable")
        processes = 2 if name == "gunicorn" else 1
        print(f"{name}: the late tenant's factory raised {tries} times")
        assert 1 <= tries <= processes * (OUTAGE / OUTAGE_RETRY_AFTER + 3)
        assert "Traceback" not in log, f"{name} logged a traceback:\n{log[-5000:]}"
        assert "StoreUnavailable" in log, f"{name} logged no outage:\n{log[-3000:]}"
    assert exits == {"gevent": 0, "gunicorn": 0}, logs
