"""AppRegistry: single flight, no head-of-line blocking, failures, negative
cache, LRU and idle eviction, reload and eviction with requests in flight."""

from __future__ import annotations

import gc
import logging
import threading
import typing as t
import weakref

import pytest

from gateway.dispatch import AppRegistry, FactoryFailed
from gateway.dispatch.registry import close_app
from gateway.dispatch.responses import not_found


def wait_until(predicate: t.Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``predicate()`` is true; fail (not hang) after ``timeout``."""
    done = threading.Event()
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return
        done.wait(0.005)
    raise AssertionError("condition not reached in time")


def run_threads(target: t.Callable[[int], None], count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrapper(i: int) -> None:
        try:
            target(i)
        except BaseException as e:  # reported to the test
            errors.append(e)

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive(), "a thread is stuck"
    return errors


class StreamingApp:
    """A WSGI app whose response stays open until the test closes it, and
    which records misuse: a call or an open response after teardown."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.in_flight = 0
        self.lock = threading.Lock()
        self.torn_down = False
        self.violations: list[str] = []

    def __call__(
        self, environ: dict[str, t.Any], start_response: t.Any
    ) -> t.Iterable[bytes]:
        if self.torn_down:
            self.violations.append("called after teardown")
        with self.lock:
            self.in_flight += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return StreamingBody(self)

    def teardown(self) -> None:
        if self.torn_down:
            self.violations.append("torn down twice")
        if self.in_flight:
            self.violations.append(f"torn down with {self.in_flight} in flight")
        self.torn_down = True


class StreamingBody:
    def __init__(self, app: StreamingApp) -> None:
        self.app = app

    def __iter__(self) -> t.Iterator[bytes]:
        yield self.app.key.encode()

    def close(self) -> None:
        with self.app.lock:
            self.app.in_flight -= 1


def start(
    registry: AppRegistry, key: str, environ: dict[str, t.Any] | None = None
) -> t.Any:
    """Begin a request through the registry without closing its response."""
    statuses: list[str] = []
    result = registry.serve(
        key, environ or {}, lambda s, h, e=None: statuses.append(s), not_found
    )
    return result, statuses


def finish(result: t.Any) -> bytes:
    body = b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return body


# -- single flight -------------------------------------------------------------


def test_factory_runs_once_under_50_concurrent_first_hits(factory) -> None:
    gate = threading.Event()
    factory.gate = gate
    factory.slow_keys = {"acme"}
    registry = AppRegistry(factory)
    apps: list[t.Any] = []

    def hit(i: int) -> None:
        apps.append(registry.get("acme"))

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    # Every other request is parked on the same flight before it may finish.
    wait_until(lambda: registry.stats()["waiting"] == 49)
    assert factory.count("acme") == 1
    gate.set()
    for thread in threads:
        thread.join(20)
    assert factory.count("acme") == 1
    assert len(apps) == 50 and len({id(a) for a in apps}) == 1
    assert registry.stats()["creations"] == 1


GEVENT_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import json, gevent
from gevent.event import Event
from gateway.dispatch import AppRegistry
from gateway.dispatch.responses import not_found

calls = []
gate = Event()

def factory(key):
    calls.append(key)
    if key == "slow":
        gate.wait()
    def app(environ, start_response):
        start_response("200 OK", [])
        return [key.encode()]
    return app

registry = AppRegistry(factory)
registry.get("cached")
results = []

def hit(key):
    statuses = []
    body = b"".join(registry.serve(key, {}, lambda s, h, e=None: statuses.append(s), not_found))
    results.append((key, statuses[0], body.decode()))

slow = [gevent.spawn(hit, "slow") for _ in range(50)]
gevent.sleep(0)
while registry.stats()["waiting"] < 49:
    gevent.sleep(0.001)
# The slow factory is parked: cached and brand-new keys are still served.
others = [gevent.spawn(hit, "cached") for _ in range(10)] + [gevent.spawn(hit, "fresh")]
gevent.joinall(others, timeout=10)
served_while_blocked = len(results)
gate.set()
gevent.joinall(slow, timeout=10)
print(json.dumps({
    "slow_calls": calls.count("slow"),
    "served_while_blocked": served_while_blocked,
    "results": len(results),
    "slow_bodies": sorted({b for k, s, b in results if k == "slow"}),
}))
"""


def test_single_flight_and_no_blocking_under_gevent_greenlets() -> None:
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["slow_calls"] == 1
    assert out["served_while_blocked"] == 11
    assert out["results"] == 61
    assert out["slow_bodies"] == ["slow"]


def test_slow_factory_never_blocks_other_keys(factory, call, make_environ) -> None:
    gate = threading.Event()
    factory.gate = gate
    factory.slow_keys = {"slow"}
    registry = AppRegistry(factory)
    registry.get("cached")
    slow = threading.Thread(target=registry.get, args=("slow",))
    slow.start()
    factory.started.wait(10)
    results: list[bytes] = []

    def others() -> None:
        for key in ("cached", "fresh", "cached"):
            result, _ = start(registry, key)
            results.append(finish(result))

    helper = threading.Thread(target=others)
    helper.start()
    helper.join(10)
    assert not helper.is_alive(), "a cached key waited for another key's factory"
    assert registry.stats()["pending"] == 1  # the slow factory is still running
    assert [r.decode().count('"app"') for r in results] == [1, 1, 1]
    gate.set()
    slow.join(10)
    assert sorted(registry.keys()) == ["cached", "fresh", "slow"]


def test_concurrent_factory_bound_delays_only_new_keys(factory) -> None:
    gate = threading.Event()
    factory.gate = gate
    factory.slow_keys = {"a"}
    registry = AppRegistry(factory, max_concurrent_factories=1)
    registry.get("cached")
    first = threading.Thread(target=registry.get, args=("a",))
    first.start()
    factory.started.wait(10)
    second = threading.Thread(target=registry.get, args=("b",))
    second.start()
    # "b" waits for a factory slot, "cached" is served meanwhile.
    assert registry.get("cached") is not None
    wait_until(lambda: registry.stats()["pending"] == 2)
    assert factory.calls == ["cached", "a"]
    gate.set()
    first.join(10)
    second.join(10)
    assert factory.calls == ["cached", "a", "b"]


# -- failures ------------------------------------------------------------------


def test_failing_factory_503_logged_once_then_recovers(
    factory, clock, call, caplog
) -> None:
    factory.failing = {"acme"}
    registry = AppRegistry(factory, retry_after=5, clock=clock)
    caplog.set_level(logging.ERROR, "gateway.dispatch")

    def request() -> tuple[str, dict[str, str]]:
        statuses: list[tuple[str, list[tuple[str, str]]]] = []
        finish(
            registry.serve(
                "acme", {}, lambda s, h, e=None: statuses.append((s, h)), not_found
            )
        )
        return statuses[0][0], dict(statuses[0][1])

    status, headers = request()
    assert status == "503 Service Unavailable" and headers["Retry-After"] == "5"
    clock.advance(3.5)
    status, headers = request()
    assert status.startswith("503") and headers["Retry-After"] == "2"
    assert factory.count("acme") == 1  # not retried during the back-off
    records = [r for r in caplog.records if r.name == "gateway.dispatch"]
    assert len(records) == 1
    assert "'acme'" in records[0].getMessage() and records[0].exc_info is not None
    assert "cannot build acme" in caplog.text  # the traceback is in the log
    assert registry.keys() == []  # nothing cached
    factory.failing.clear()
    clock.advance(2)
    status, _ = request()
    assert status == "200 OK"
    assert factory.count("acme") == 2
    assert registry.stats()["failures"] == 1 and registry.stats()["creations"] == 1


def test_waiters_of_a_failing_factory_all_get_503(factory, caplog) -> None:
    gate = threading.Event()
    factory.gate = gate
    factory.slow_keys = {"acme"}
    factory.failing = {"acme"}
    registry = AppRegistry(factory)
    caplog.set_level(logging.ERROR, "gateway.dispatch")
    outcomes: list[str] = []

    def hit(i: int) -> None:
        try:
            registry.get("acme")
        except FactoryFailed as e:
            outcomes.append(e.key)

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    wait_until(lambda: registry.stats()["waiting"] == 9)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert outcomes == ["acme"] * 10
    assert factory.count("acme") == 1
    assert len([r for r in caplog.records if r.name == "gateway.dispatch"]) == 1


def test_zero_retry_after_retries_at_once(factory) -> None:
    factory.failing = {"acme"}
    registry = AppRegistry(factory, retry_after=0)
    for _ in range(2):
        with pytest.raises(FactoryFailed):
            registry.get("acme")
    assert factory.count("acme") == 2


def test_interrupted_factory_releases_waiters(factory) -> None:
    def interrupted(key: str) -> t.Any:
        raise KeyboardInterrupt

    registry = AppRegistry(interrupted)
    with pytest.raises(KeyboardInterrupt):
        registry.get("acme")
    assert registry.stats()["pending"] == 0


# -- negative cache ------------------------------------------------------------


def test_none_goes_to_fallback_and_is_remembered(factory, clock) -> None:
    factory.unknown = {"ghost"}
    registry = AppRegistry(factory, negative_ttl=10, clock=clock)
    for _ in range(3):
        result, statuses = start(registry, "ghost")
        finish(result)
        assert statuses == ["404 Not Found"]
    assert factory.count("ghost") == 1
    clock.advance(10)
    assert registry.get("ghost") is None
    assert factory.count("ghost") == 2
    assert registry.keys() == []


def test_negative_cache_is_bounded(factory) -> None:
    factory.unknown = {f"k{i}" for i in range(200)}
    registry = AppRegistry(factory, negative_limit=50)
    for i in range(200):
        registry.get(f"k{i}")
    assert registry.stats()["negative"] <= 50
    assert registry.get("k199") is None and factory.count("k199") == 1  # newest kept


# -- bounds and eviction ---------------------------------------------------------


@pytest.mark.parametrize(
    "touch",
    [
        pytest.param(lambda registry, key: registry.get(key), id="get"),
        pytest.param(
            lambda registry, key: finish(start(registry, key)[0]), id="request"
        ),
    ],
)
def test_lru_bound_evicts_least_recently_used(factory, clock, touch) -> None:
    evicted: list[str] = []
    registry = AppRegistry(
        factory, max_instances=2, clock=clock, on_evict=lambda k, a: evicted.append(k)
    )
    registry.get("a")
    clock.advance(1)
    registry.get("b")
    clock.advance(1)
    touch(registry, "a")  # a is now more recent than b
    clock.advance(1)
    registry.get("c")
    assert sorted(registry.keys()) == ["a", "c"]
    assert evicted == ["b"]
    assert registry.stats()["evictions"] == 1


def test_idle_instances_are_evicted_on_the_request_path(factory, clock) -> None:
    evicted: list[str] = []
    registry = AppRegistry(
        factory, idle_timeout=60, clock=clock, on_evict=lambda k, a: evicted.append(k)
    )
    registry.get("old")
    clock.advance(30)
    finish(start(registry, "young")[0])
    clock.advance(31)  # old idle 61 s, young 31 s
    finish(start(registry, "young")[0])
    assert registry.keys() == ["young"]
    assert evicted == ["old"]


def test_idle_sweep_skips_instances_with_requests_in_flight(clock) -> None:
    apps: dict[str, StreamingApp] = {}
    registry = AppRegistry(
        lambda k: apps.setdefault(k, StreamingApp(k)), idle_timeout=10, clock=clock
    )
    result, _ = start(registry, "busy")
    clock.advance(100)
    registry.sweep()
    assert registry.keys() == ["busy"]
    finish(result)
    registry.sweep()
    assert registry.keys() == []


def test_lookup_refresh_evicts_removed_tenants(factory, clock) -> None:
    live = {"a", "b"}
    registry = AppRegistry(
        factory, lookup=lambda: live, refresh_interval=30, clock=clock
    )
    registry.get("a")
    registry.get("b")
    live.discard("b")
    clock.advance(31)
    registry.sweep()
    assert registry.keys() == ["a"]
    assert registry.exists("a") and not registry.exists("b")


def test_refresh_runs_from_requests_when_due(factory, clock) -> None:
    live = {"a", "b"}
    registry = AppRegistry(
        factory, lookup=lambda: live, refresh_interval=30, clock=clock
    )
    finish(start(registry, "a")[0])
    finish(start(registry, "b")[0])
    live.discard("b")
    clock.advance(29)
    finish(start(registry, "a")[0])
    assert registry.keys() == ["a", "b"]  # not due yet
    clock.advance(2)
    finish(start(registry, "a")[0])  # no sweep() call: the request runs it
    assert registry.keys() == ["a"]


def test_drain_timeout_tears_down_a_response_never_closed(clock, caplog) -> None:
    # Only the default drain_timeout (300 s): no idle timeout, LRU or refresh.
    apps: dict[str, StreamingApp] = {}
    torn: list[str] = []
    registry = AppRegistry(
        lambda k: apps.setdefault(k, StreamingApp(k)),
        on_evict=lambda k, app: torn.append(k),
        clock=clock,
    )
    start(registry, "leaky")  # its response is never closed
    registry.evict("leaky")
    clock.advance(200)
    finish(start(registry, "other")[0])
    assert torn == []  # still draining
    clock.advance(101)
    with caplog.at_level(logging.WARNING, logger="gateway.dispatch"):
        finish(start(registry, "other")[0])  # the request path sweeps
    assert torn == ["leaky"]
    assert "'leaky': 1 response(s) never closed after 300s" in caplog.text
    assert registry.stats()["draining"] == 0


class Versions:
    """A ``lookup`` returning key -> version (or plain keys), counting polls;
    ``fail`` makes it raise."""

    def __init__(self, versions: dict[str, t.Any], plain: bool = False) -> None:
        self.versions = versions
        self.plain = plain
        self.fail = False
        self.polls = 0

    def __call__(self) -> t.Any:
        self.polls += 1
        if self.fail:
            raise OSError("database unreachable")
        return set(self.versions) if self.plain else dict(self.versions)


@pytest.mark.parametrize(
    ("plain", "before", "after", "rebuilt"),
    [
        pytest.param(False, {"a": 1}, {"a": 1}, False, id="same-version-kept"),
        pytest.param(False, {"a": 1}, {"a": 2}, True, id="new-version-reloaded"),
        pytest.param(
            False, {"a": (7, 1)}, {"a": (8, 1)}, True, id="removed-and-added-again"
        ),
        pytest.param(False, {}, {"a": 1}, True, id="built-before-listed-unknown"),
        pytest.param(True, {"a": 1}, {"a": 2}, False, id="plain-keys-ignore-versions"),
    ],
)
def test_versioned_lookup_reloads_instances_whose_version_changed(
    factory, clock, plain: bool, before: dict, after: dict, rebuilt: bool
) -> None:
    lookup = Versions(before, plain)
    registry = AppRegistry(factory, lookup=lookup, refresh_interval=30, clock=clock)
    first = registry.get("a")
    lookup.versions = after
    clock.advance(31)
    registry.sweep()
    assert ("a" in registry) is not rebuilt
    assert (registry.get("a") is first) is not rebuilt
    assert factory.count("a") == (2 if rebuilt else 1)
    clock.advance(31)
    registry.sweep()  # the rebuilt instance knows its version: no more rebuilds
    assert factory.count("a") == (2 if rebuilt else 1)


def test_versioned_lookup_keeps_others_and_retires_removed(factory, clock) -> None:
    lookup = Versions({"a": 1, "b": 1, "c": 1})
    registry = AppRegistry(factory, lookup=lookup, refresh_interval=30, clock=clock)
    apps = {key: registry.get(key) for key in "abc"}
    lookup.versions = {"a": 2, "b": 1}
    clock.advance(31)
    registry.sweep()
    assert registry.keys() == ["b"] and registry.peek("b") is apps["b"]
    assert registry.stats()["evictions"] == 2
    assert registry.exists("a") and not registry.exists("c")
    assert registry.get("a") is not apps["a"] and factory.count("a") == 2


def test_first_build_polls_once_so_early_instances_know_their_version(
    factory, clock
) -> None:
    lookup = Versions({"a": 1, "b": 1})
    registry = AppRegistry(factory, lookup=lookup, refresh_interval=30, clock=clock)
    registry.get("a")
    registry.get("b")
    assert lookup.polls == 1
    clock.advance(31)
    registry.sweep()
    assert lookup.polls == 2
    assert (factory.count("a"), factory.count("b")) == (1, 1)


def test_version_is_the_one_polled_before_the_factory_ran(clock) -> None:
    """An edit and a poll that land while the factory is building must not
    mark the instance as built from the new version."""
    rows = {"a": 1}
    lookup = Versions(dict(rows))
    built_from: list[int] = []
    registry: AppRegistry

    def make(key: str) -> t.Any:
        built_from.append(rows[key])
        if len(built_from) == 1:  # meanwhile: the row changes, a poll sees it
            rows[key] = lookup.versions[key] = 2
            clock.advance(31)
            registry.sweep()
        return object()

    registry = AppRegistry(make, lookup=lookup, refresh_interval=30, clock=clock)
    registry.get("a")
    clock.advance(31)
    registry.sweep()
    registry.get("a")
    assert built_from == [1, 2]


def test_reload_by_version_drains_the_request_in_flight(clock) -> None:
    apps: list[StreamingApp] = []

    def make(key: str) -> StreamingApp:
        apps.append(StreamingApp(key))
        return apps[-1]

    lookup = Versions({"acme": 1})
    registry = AppRegistry(
        make,
        lookup=lookup,
        refresh_interval=30,
        on_evict=lambda k, a: a.teardown(),
        clock=clock,
    )
    old_result, _ = start(registry, "acme")
    lookup.versions = {"acme": 2}
    clock.advance(31)
    registry.sweep()
    new_result, _ = start(registry, "acme")  # a fresh instance for new requests
    assert len(apps) == 2 and apps[1].in_flight == 1
    assert not apps[0].torn_down  # still serving the older request
    assert finish(old_result) == b"acme"
    assert apps[0].torn_down and apps[0].violations == []
    finish(new_result)
    assert not apps[1].torn_down


def test_refresh_forgets_unknown_keys_the_lookup_now_lists(factory, clock) -> None:
    factory.unknown = {"new"}
    lookup = Versions({"a": 1})
    registry = AppRegistry(
        factory, lookup=lookup, refresh_interval=5, negative_ttl=60, clock=clock
    )
    assert registry.get("new") is None  # remembered as unknown for 60 s
    factory.unknown = set()
    assert registry.get("new") is None and factory.count("new") == 1
    lookup.versions = {"a": 1, "new": 1}
    clock.advance(6)
    registry.sweep()
    assert registry.get("new") is not None and factory.count("new") == 2


def test_failing_lookup_keeps_instances_and_exists_asks_the_factory(
    factory, clock, caplog
) -> None:
    factory.unknown = {"ghost"}
    lookup = Versions({"a": 1})
    registry = AppRegistry(factory, lookup=lookup, refresh_interval=30, clock=clock)
    app = registry.get("a")
    lookup.fail = True
    clock.advance(31)
    with caplog.at_level(logging.ERROR, "gateway.dispatch"):
        registry.sweep()
        assert registry.exists("b") and not registry.exists("ghost")
    assert registry.peek("a") is app
    assert "lookup failed" in caplog.text and "database unreachable" in caplog.text


def test_reload_during_a_creation_flight_retires_the_replaced_instance() -> None:
    """reload() builds while an evict lets a request start a new flight: the
    instance installed first is torn down when the other replaces it."""
    gates = [threading.Event(), threading.Event(), threading.Event()]
    entered = [threading.Event(), threading.Event(), threading.Event()]
    built: list[object] = []
    torn: list[object] = []
    lock = threading.Lock()

    def make(key: str) -> object:
        with lock:
            index = len(built)
            built.append(app := object())
        entered[index].set()
        gates[index].wait(10)
        return app

    registry = AppRegistry(make, on_evict=lambda k, a: torn.append(a))
    gates[0].set()
    registry.get("a")  # instance 0 live
    reloader = threading.Thread(target=registry.reload, args=("a",))
    reloader.start()
    entered[1].wait(10)  # reload() is building instance 1
    registry.evict("a")  # instance 0 retired
    requester = threading.Thread(target=registry.get, args=("a",))
    requester.start()
    entered[2].wait(10)  # a request's flight is building instance 2
    gates[1].set()
    reloader.join(10)
    assert registry.peek("a") is built[1]
    gates[2].set()
    requester.join(10)
    assert registry.peek("a") is built[2]
    assert torn == [built[0], built[1]]


def test_evict_waits_for_the_request_in_flight(clock) -> None:
    apps: list[StreamingApp] = []

    def make(key: str) -> StreamingApp:
        apps.append(StreamingApp(key))
        return apps[-1]

    registry = AppRegistry(make, on_evict=lambda k, a: a.teardown(), clock=clock)
    result, _ = start(registry, "acme")
    assert registry.evict("acme") is True
    assert not apps[0].torn_down  # still serving a response
    assert registry.stats()["draining"] == 1
    assert finish(result) == b"acme"
    assert apps[0].torn_down and apps[0].violations == []
    assert registry.stats()["draining"] == 0
    finish(start(registry, "acme")[0])  # a fresh instance for the next request
    assert len(apps) == 2
    assert registry.evict("nothing") is False


def test_reload_swaps_instances_and_drains_the_old_one() -> None:
    apps: list[StreamingApp] = []

    def make(key: str) -> StreamingApp:
        apps.append(StreamingApp(key))
        return apps[-1]

    registry = AppRegistry(make, on_evict=lambda k, a: a.teardown())
    old_result, _ = start(registry, "acme")
    new_app = registry.reload("acme")
    assert new_app is apps[1] and registry.get("acme") is apps[1]
    new_result, _ = start(registry, "acme")
    assert apps[1].in_flight == 1 and apps[0].in_flight == 1
    assert not apps[0].torn_down
    finish(old_result)
    assert apps[0].torn_down and apps[0].violations == []
    finish(new_result)
    assert not apps[1].torn_down


def test_reload_keeps_the_old_instance_when_the_factory_raises(factory) -> None:
    registry = AppRegistry(factory)
    old = registry.get("acme")
    factory.failing = {"acme"}
    with pytest.raises(RuntimeError):
        registry.reload("acme")
    assert registry.get("acme") is old


def test_reload_of_a_key_that_is_not_live_creates_it(factory) -> None:
    registry = AppRegistry(factory)
    assert registry.reload("acme") is not None
    assert registry.keys() == ["acme"]


def test_teardown_never_runs_under_a_live_request() -> None:
    """Requests hammer one key while it is reloaded over and over: no instance
    is torn down with a response open or called after its teardown."""
    apps: list[StreamingApp] = []
    lock = threading.Lock()

    def make(key: str) -> StreamingApp:
        app = StreamingApp(key)
        with lock:
            apps.append(app)
        return app

    registry = AppRegistry(make, on_evict=lambda k, a: a.teardown())
    registry.get("acme")
    stop = threading.Event()

    def hammer(i: int) -> None:
        while not stop.is_set():
            assert finish(start(registry, "acme")[0]) == b"acme"

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(200):
        registry.reload("acme")
    stop.set()
    for thread in threads:
        thread.join(20)
    registry.clear()
    assert len(apps) == 201
    assert all(app.torn_down for app in apps)
    assert [v for app in apps for v in app.violations] == []


def test_exception_in_app_ends_the_in_flight_count() -> None:
    def broken(environ: t.Any, start_response: t.Any) -> t.Any:
        raise ValueError("boom")

    torn: list[str] = []
    registry = AppRegistry(lambda k: broken, on_evict=lambda k, a: torn.append(k))
    with pytest.raises(ValueError):
        start(registry, "acme")
    registry.evict("acme")
    assert torn == ["acme"]


def test_closing_twice_counts_once() -> None:
    registry = AppRegistry(lambda k: StreamingApp(k))
    result, _ = start(registry, "acme")
    other, _ = start(registry, "acme")
    finish(result)
    result.close()
    entry = registry._entries["acme"]
    assert len(entry.active) == 1
    finish(other)
    assert len(entry.active) == 0


def test_a_failing_close_still_ends_the_in_flight_count() -> None:
    """The app's own close step raising (here a Werkzeug ClosingIterator's
    callback) still counts the request out, so the instance drains."""
    from werkzeug.wsgi import ClosingIterator

    def fail() -> None:
        raise RuntimeError("close failed")

    def app(environ: t.Any, start_response: t.Any) -> t.Any:
        start_response("200 OK", [])
        return ClosingIterator([b"x"], fail)

    torn: list[str] = []
    registry = AppRegistry(lambda k: app, on_evict=lambda k, a: torn.append(k))
    result, _ = start(registry, "acme")
    assert b"".join(result) == b"x"
    with pytest.raises(RuntimeError, match="close failed"):
        result.close()
    registry.evict("acme")
    assert torn == ["acme"]


def test_default_on_evict_calls_close() -> None:
    class Closable:
        closed = 0

        def __call__(self, environ: t.Any, start_response: t.Any) -> list[bytes]:
            start_response("200 OK", [])
            return [b""]

        def close(self) -> None:
            self.closed += 1

    app = Closable()
    registry = AppRegistry(lambda k: app)
    registry.get("x")
    registry.evict("x")
    assert app.closed == 1
    close_app("key", object())  # no close(): nothing to do


def test_on_evict_error_is_logged_not_raised(factory, caplog) -> None:
    def bad(key: str, app: t.Any) -> None:
        raise RuntimeError("teardown failed")

    registry = AppRegistry(factory, on_evict=bad)
    registry.get("acme")
    registry.evict("acme")
    assert "on_evict failed" in caplog.text and "teardown failed" in caplog.text


def test_stats_and_keys(factory) -> None:
    factory.unknown = {"ghost"}
    registry = AppRegistry(factory)
    registry.get("a")
    registry.get("a")
    registry.get("ghost")
    registry.get("ghost")  # remembered: answered from the negative cache
    finish(start(registry, "a")[0])
    stats = registry.stats()
    assert (stats["hits"], stats["misses"], stats["creations"]) == (2, 3, 1)
    assert (stats["live"], stats["negative"], stats["evictions"]) == (1, 1, 0)
    assert stats["negative_hits"] == 1
    assert registry.keys() == ["a"] and "a" in registry and len(registry) == 1
    assert registry.peek("b") is None and factory.count("b") == 0


def ok_app(environ: t.Any, start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def test_stats_reads_leave_the_counts_exact_under_threads() -> None:
    """The counts are stepped without a lock and read while other threads
    step them: reads never go back, and reading changes no count."""
    registry = AppRegistry(lambda key: ok_app)
    registry.get("k")
    stop = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(registry.stats()["hits"])

    def hitter() -> None:
        for _ in range(2000):
            registry.serve("k", {}, lambda *a: None, not_found)

    reading = threading.Thread(target=reader)
    reading.start()
    hitting = [threading.Thread(target=hitter) for _ in range(4)]
    for thread in hitting:
        thread.start()
    for thread in hitting:
        thread.join(30)
    stop.set()
    reading.join(30)
    assert seen == sorted(seen) and all(0 <= n <= 8000 for n in seen)
    stats = registry.stats()
    assert (stats["hits"], stats["misses"], stats["creations"]) == (8000, 1, 1)
    assert registry.stats() == stats


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"max_instances": -1},
            "max_instances must be an integer >= 0",
            id="max-instances",
        ),
        pytest.param(
            {"idle_timeout": -1}, "idle_timeout must be a number", id="idle-timeout"
        ),
        pytest.param(
            {"refresh_interval": 5},
            "refresh_interval needs a lookup",
            id="refresh-without-lookup",
        ),
    ],
)
def test_invalid_options(options: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AppRegistry(lambda k: None, **options)


def test_factory_must_be_callable() -> None:
    with pytest.raises(TypeError, match="factory must be callable"):
        AppRegistry("not callable")  # type: ignore[arg-type]


# -- leaks ---------------------------------------------------------------------


def test_creating_and_evicting_1000_tenants_leaks_nothing(clock) -> None:
    import gateway

    refs: list[weakref.ref[t.Any]] = []

    def make(key: str) -> t.Any:
        app = gateway.App(f"tenant_{key}")
        app.config["SECRET_KEY"] = key

        @app.route("/")
        def index() -> str:
            return key

        refs.append(weakref.ref(app))
        return app

    from gateway.dispatch import Gateway

    gw = Gateway(
        base_domain="example.com",
        tenants=make,
        max_instances=10,
        secret_key="root",
        health=False,
    )
    from werkzeug.test import Client

    client = Client(gw)

    def round_of(start_at: int, count: int) -> None:
        for i in range(start_at, start_at + count):
            with client.get("/", headers={"Host": f"t{i}.example.com"}) as response:
                assert response.status_code == 200 and response.text == f"t{i}"
        gw.registry.clear()

    def live_objects() -> int:
        gc.collect()
        # The test's own weak references are not the gateway's objects.
        return sum(1 for o in gc.get_objects() if type(o) is not weakref.ref)

    round_of(0, 100)  # warm up caches, code paths, logging handlers
    baseline = live_objects()
    round_of(100, 1000)
    grown = live_objects() - baseline
    assert all(ref() is None for ref in refs), "an evicted tenant app is still alive"
    assert grown < 200, f"{grown} more live objects after 1000 tenants"
    assert gw.registry.stats()["live"] == 0


def test_factory_failure_carries_its_cause(factory) -> None:
    factory.failing = {"acme"}
    registry = AppRegistry(factory)
    with pytest.raises(FactoryFailed) as info:
        registry.get("acme")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "cannot build acme"


def test_gateway_app_streaming_response_is_drained_before_teardown(
    make_environ,
) -> None:
    """A gateway.App response (a Werkzeug ClosingIterator) counts as in flight
    until the server closes it, even while it is still streaming."""
    import gateway

    torn: list[str] = []

    def make(key: str) -> t.Any:
        app = gateway.App(f"stream_{key}")

        @app.route("/")
        def stream() -> t.Any:
            def chunks() -> t.Iterator[str]:
                yield "one "
                yield "two"

            return app.response_class(chunks())

        return app

    registry = AppRegistry(make, on_evict=lambda k, a: torn.append(k))
    result, statuses = start(registry, "acme", make_environ("/"))
    iterator = iter(result)
    assert next(iterator) == b"one "
    registry.evict("acme")
    assert torn == []  # still streaming
    assert next(iterator) == b"two"
    result.close()
    assert torn == ["acme"] and statuses == ["200 OK"]
