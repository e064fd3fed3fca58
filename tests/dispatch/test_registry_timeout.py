"""AppRegistry's ``factory_timeout``: a factory that hangs does not hold its
key hostage (issue 18, point 11).

Real threads and a short real deadline (0.2 s); the back-off runs on a fake
clock the tests move. No timing is asserted beyond generous bounds: a
thread that should be answered must be within 10 s.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import typing as t
from dataclasses import dataclass, field

import pytest

from gateway.dispatch import AppRegistry, FactoryFailed, FactoryTimeout
from gateway.dispatch.responses import not_found

DEADLINE = 0.2
BACK_OFF = 5

#: What the first, hung call of the factory does once the test lets it go.
LATE_OUTCOMES = ["app", "none", "raise"]


class App:
    """A WSGI app naming its generation; records its teardown."""

    def __init__(self, key: str, generation: int) -> None:
        self.name = f"{key}{generation}"
        self.closed = 0

    def __call__(self, environ: t.Any, start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [self.name.encode()]

    def close(self) -> None:
        self.closed += 1


@dataclass
class HangingFactory:
    """The first call for ``"hung"`` blocks until ``release`` is set (the
    test's "forever", bounded so a failing test still ends), then does what
    ``late`` says; every other call returns an :class:`App` at once."""

    late: str = "app"
    release: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    calls: list[str] = field(default_factory=list)
    built: list[App] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, key: str) -> t.Any:
        with self.lock:
            self.calls.append(key)
            generation = self.calls.count(key)  # this call's: 1, 2, ...
        if key == "hung" and generation == 1:
            self.started.set()
            assert self.release.wait(30), "the test never released the factory"
            if self.late == "none":
                return None
            if self.late == "raise":
                raise RuntimeError("late failure")
        app = App(key, generation)
        with self.lock:
            self.built.append(app)
        return app

    def count(self, key: str) -> int:
        with self.lock:
            return self.calls.count(key)


class FakeClock:
    """The registry's clock (back-off, negative cache): moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(registry: AppRegistry, key: str) -> tuple[str, dict[str, str], bytes]:
    """One request through ``serve``: status, headers, body."""
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    result = registry.serve(
        key, {}, lambda s, h, e=None: seen.append((s, h)), not_found
    )
    body = b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return seen[0][0], dict(seen[0][1]), body


class Background:
    """``registry.get(key)`` in a thread: what it returned or raised."""

    def __init__(self, registry: AppRegistry, key: str) -> None:
        self.outcome: t.Any = None
        self.thread = threading.Thread(target=self._run, args=(registry, key))
        self.thread.start()

    def _run(self, registry: AppRegistry, key: str) -> None:
        try:
            self.outcome = registry.get(key)
        except BaseException as e:  # reported to the test
            self.outcome = e

    def join(self) -> t.Any:
        self.thread.join(10)
        assert not self.thread.is_alive(), "a request is stuck"
        return self.outcome


def run_threads(target: t.Callable[[], t.Any], count: int) -> list[t.Any]:
    """``target()`` in ``count`` threads at once; their results (or errors)."""
    results: list[t.Any] = []
    lock = threading.Lock()
    go = threading.Event()

    def run() -> None:
        go.wait(10)
        try:
            outcome = target()
        except BaseException as e:  # reported to the test
            outcome = e
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "a request is stuck"
    return results


@pytest.fixture
def factory() -> t.Iterator[HangingFactory]:
    """A :class:`HangingFactory`, released at the end of the test whatever
    happens, so no thread outlives it by long."""
    factory = HangingFactory()
    yield factory
    factory.release.set()


def hung_registry(
    factory: HangingFactory, clock: FakeClock, **options: t.Any
) -> tuple[AppRegistry, list[tuple[str, str]]]:
    """A registry whose ``"hung"`` creation is running (and hanging) in a
    background request; and the list its ``on_evict`` records."""
    torn: list[tuple[str, str]] = []
    registry = AppRegistry(
        factory,
        factory_timeout=DEADLINE,
        retry_after=BACK_OFF,
        clock=clock,
        on_evict=lambda key, app: torn.append((key, app.name)),
        **options,
    )
    return registry, torn


@pytest.mark.parametrize("late", LATE_OUTCOMES)
def test_a_hung_factory_answers_503_at_its_deadline_then_a_new_call_succeeds(
    factory: HangingFactory, late: str, caplog: pytest.LogCaptureFixture
) -> None:
    factory.late = late
    clock = FakeClock()
    registry, torn = hung_registry(factory, clock)
    caplog.set_level(logging.WARNING, "gateway.dispatch")
    assert request(registry, "other")[0] == "200 OK"
    leader = Background(registry, "hung")  # runs the factory, which hangs
    assert factory.started.wait(10)

    # Waiters get the registry's 503 once the deadline passed; a cached key
    # and a new key are served meanwhile.
    waiters = run_threads(lambda: request(registry, "hung"), 5)
    assert [(s, h["Retry-After"]) for s, h, _ in waiters] == [
        ("503 Service Unavailable", str(BACK_OFF))
    ] * 5
    assert request(registry, "other")[2] == b"other1"
    assert request(registry, "fresh")[2] == b"fresh1"
    with pytest.raises(FactoryFailed):
        registry.get("hung")  # in the back-off now: no waiting at all
    assert registry.exists("hung")  # a failing factory counts as existing
    timeouts = [r.getMessage() for r in caplog.records if "deadline" in r.message]
    assert len(timeouts) == 1  # logged once, naming the key and the deadline
    assert "'hung'" in timeouts[0] and f"{DEADLINE:g}s" in timeouts[0]
    stats = registry.stats()
    assert (stats["timeouts"], stats["failures"], stats["pending"]) == (1, 0, 0)

    # After the back-off the next request starts a new call, which succeeds.
    clock.now += BACK_OFF
    status, _, body = request(registry, "hung")
    assert (status, body) == ("200 OK", b"hung2")
    assert factory.count("hung") == 2

    # The first call returns at last: its result is discarded (an app torn
    # down unserved), its request gets the 503, the new instance stays.
    factory.release.set()
    assert isinstance(leader.join(), FactoryTimeout)
    assert torn == ([("hung", "hung1")] if late == "app" else [])
    assert request(registry, "hung")[2] == b"hung2"
    assert registry.keys() == ["other", "fresh", "hung"]
    assert registry.stats()["negative"] == 0  # a late None is not remembered
    assert registry.stats()["failures"] == 0  # nor a late exception counted
    late_logs = [r for r in caplog.records if "after its" in r.message]
    assert len(late_logs) == 2  # the timeout, then the late result
    assert (late_logs[1].exc_info is not None) is (late == "raise")


def test_a_late_result_before_the_retry_is_discarded_too() -> None:
    """Returned after the deadline but before any new creation: not
    installed either; the key stays in its back-off."""
    factory = HangingFactory()
    clock = FakeClock()
    registry, torn = hung_registry(factory, clock)
    leader = Background(registry, "hung")
    assert factory.started.wait(10)
    assert request(registry, "hung")[0].startswith("503")
    factory.release.set()
    assert isinstance(leader.join(), FactoryTimeout)
    assert torn == [("hung", "hung1")] and registry.keys() == []
    assert request(registry, "hung")[0].startswith("503")  # the back-off
    clock.now += BACK_OFF
    assert request(registry, "hung")[2] == b"hung2"


def test_many_threads_on_a_hung_key_all_get_503_and_one_call_each_time(
    factory: HangingFactory,
) -> None:
    clock = FakeClock()
    registry, _ = hung_registry(factory, clock)
    leader = Background(registry, "hung")
    assert factory.started.wait(10)
    statuses = [s for s, _, _ in run_threads(lambda: request(registry, "hung"), 40)]
    assert statuses == ["503 Service Unavailable"] * 40
    assert factory.count("hung") == 1  # nobody started a second call meanwhile
    clock.now += BACK_OFF
    bodies = [b for _, _, b in run_threads(lambda: request(registry, "hung"), 40)]
    assert bodies == [b"hung2"] * 40  # one new call, single flight again
    assert factory.count("hung") == 2
    assert registry.stats()["timeouts"] == 1
    factory.release.set()
    leader.join()


def test_without_back_off_the_next_request_retries_at_once(
    factory: HangingFactory,
) -> None:
    registry = AppRegistry(factory, factory_timeout=DEADLINE, retry_after=0)
    leader = Background(registry, "hung")
    assert factory.started.wait(10)
    status, headers, _ = request(registry, "hung")
    assert status.startswith("503") and headers["Retry-After"] == "1"
    assert request(registry, "hung")[2] == b"hung2"
    factory.release.set()
    leader.join()


def test_waiting_for_a_factory_slot_ends_at_the_deadline_too() -> None:
    """With ``max_concurrent_factories``, a hung call keeps its slot: a new
    key waiting for one answers 503 at its deadline instead of waiting
    forever, and is created once the slot is free. (The slow call itself,
    which no request for its key gave up on, is installed as usual.)"""
    factory = HangingFactory()
    clock = FakeClock()
    registry, torn = hung_registry(factory, clock, max_concurrent_factories=1)
    leader = Background(registry, "hung")
    assert factory.started.wait(10)
    results = run_threads(lambda: request(registry, "b"), 3)
    assert [s for s, _, _ in results] == ["503 Service Unavailable"] * 3
    assert factory.count("b") == 0  # it never got a slot
    factory.release.set()
    assert leader.join().name == "hung1"
    assert torn == [] and registry.keys() == ["hung"]
    clock.now += BACK_OFF
    assert request(registry, "b")[2] == b"b1"


def test_a_zero_timeout_waits_as_long_as_the_factory_takes(
    factory: HangingFactory,
) -> None:
    registry = AppRegistry(factory, factory_timeout=0)
    assert registry.factory_timeout == 0
    leader = Background(registry, "hung")
    assert factory.started.wait(10)
    waiter = Background(registry, "hung")
    waiter.thread.join(3 * DEADLINE)
    assert waiter.thread.is_alive()  # still waiting, well past a deadline
    factory.release.set()
    assert leader.join() is waiter.join()
    assert registry.stats()["timeouts"] == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, 30, id="default"),
        pytest.param(0.5, 0.5, id="seconds"),
        pytest.param(float("inf"), 0, id="infinite-is-none"),
    ],
)
def test_factory_timeout_option(value: float | None, expected: float) -> None:
    options = {} if value is None else {"factory_timeout": value}
    assert AppRegistry(lambda k: None, **options).factory_timeout == expected


@pytest.mark.parametrize("value", [-1, "30"])
def test_invalid_factory_timeout(value: t.Any) -> None:
    with pytest.raises(ValueError, match="factory_timeout must be a number"):
        AppRegistry(lambda k: None, factory_timeout=value)


GEVENT_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import json, gevent
from gevent.event import Event
from gateway.dispatch import AppRegistry, FactoryTimeout
from gateway.dispatch.responses import not_found

release, calls, torn = Event(), [], []

def factory(key):
    calls.append(key)
    if key == "hung" and calls.count(key) == 1:
        release.wait()
    generation = calls.count(key)
    def app(environ, start_response):
        start_response("200 OK", [])
        return [f"{key}{generation}".encode()]
    return app

registry = AppRegistry(
    factory, factory_timeout=0.2, retry_after=0,
    on_evict=lambda key, app: torn.append(key),
)
registry.get("cached")

def hit(key):
    statuses = []
    body = b"".join(registry.serve(
        key, {}, lambda s, h, e=None: statuses.append(s), not_found))
    return statuses[0][:3], body.decode()

leader = gevent.spawn(registry.get, "hung")
gevent.sleep(0)
waiters = [gevent.spawn(hit, "hung") for _ in range(20)]
others = [gevent.spawn(hit, "cached") for _ in range(5)] + [gevent.spawn(hit, "fresh")]
gevent.joinall(others, timeout=10)
served_meanwhile = sorted({g.value for g in others})
gevent.joinall(waiters, timeout=10)
waited = sorted({g.value for g in waiters})
retried = hit("hung")
release.set()
leader.join(timeout=10)
print(json.dumps({
    "served_meanwhile": served_meanwhile,
    "waited": waited,
    "retried": retried,
    "leader_timed_out": isinstance(leader.exception, FactoryTimeout),
    "torn": torn,
    "after": hit("hung"),
    "calls": calls.count("hung"),
}))
"""


def test_a_hung_factory_under_gevent_greenlets() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [status for status, _ in out.pop("waited")] == ["503"]  # all of them
    assert out == {
        "served_meanwhile": [["200", "cached1"], ["200", "fresh1"]],
        "retried": ["200", "hung2"],
        "leader_timed_out": True,
        "torn": ["hung"],
        "after": ["200", "hung2"],
        "calls": 2,
    }
