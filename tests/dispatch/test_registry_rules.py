"""The rules the registry's request path relies on, pinned.

The request path of :class:`AppRegistry` (and of the wrapper of a dynamic
path segment) keeps a few tricks that each earn their place on a benchmark
row: the figures are in the comments beside them, counted with cachegrind as
``benchmarks/instructions.py`` does, or from paired wall-clock runs. Each one
rests on a rule that nothing else enforces; these tests fail when a change
breaks one.
"""

from __future__ import annotations

import dis
import json
import subprocess
import sys
import textwrap
import typing as t
from collections import deque

import pytest

from gateway.dispatch import AppRegistry

#: CPython keeps the attribute values of an instance inline, and specialises
#: reading them (LOAD_ATTR_INSTANCE_VALUE), for at most this many attributes
#: per class: its shared keys stop at 30 (SHARED_KEYS_MAX_SIZE). With a 30th,
#: every read is a hinted dict lookup instead (LOAD_ATTR_WITH_HINT); measured
#: on 3.11, 3.12 and 3.13.
SPECIALISED_ATTRIBUTES = 29


def ok_app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def exercise(registry: AppRegistry) -> None:
    """Every path that could set an attribute: hits, misses, creation,
    failure, eviction, reload, sweep, refresh, exists, stats."""
    for key in ("a", "a", "b", "gone", "boom"):  # boom: a 503, gone: the fallback
        registry.serve(key, {}, lambda *a: None, ok_app)
    registry.get("a")
    registry.reload("a")
    registry.evict("b")
    registry.exists("c")
    registry.sweep(registry.clock() + 3600)
    registry.stats()
    registry.clear()


def full_registry() -> AppRegistry:
    def factory(key: str) -> t.Any:
        if key == "boom":
            raise RuntimeError("boom")
        return None if key == "gone" else ok_app

    return AppRegistry(
        factory,
        max_instances=10,
        idle_timeout=60,
        max_concurrent_factories=2,
        prepare=lambda key, app: app,
        on_evict=lambda key, app: None,
        lookup=lambda: {"a": 1, "b": 1, "c": 1},
        refresh_interval=30,
    )


def test_an_app_registry_keeps_under_cpythons_attribute_limit(caplog) -> None:
    """Counted after every path has run, logging the factory's failure."""
    registry = full_registry()
    exercise(registry)
    names = sorted(vars(registry))
    assert len(names) <= SPECIALISED_ATTRIBUTES, (
        f"AppRegistry instances have {len(names)} attributes: CPython specialises"
        f" attribute reads only up to {SPECIALISED_ATTRIBUTES} (its shared-keys"
        " limit of 30 keys); past it every read on the request path is a dict"
        " lookup, about 320 instructions more a request (7% of what host"
        " dispatch adds, counted as benchmarks/instructions.py does). Group"
        f" new attributes in an object, as Counters does. Attributes: {names}"
    )


@pytest.mark.skipif(
    sys.implementation.name != "cpython", reason="CPython's specialising interpreter"
)
def test_the_request_paths_attribute_reads_are_specialised() -> None:
    """Run in a fresh interpreter: after some requests, every read of a
    registry attribute in ``AppRegistry.serve`` is the specialised one."""
    script = textwrap.dedent(
        """
        import dis, importlib.util, json, sys
        from gateway.dispatch import AppRegistry

        spec = importlib.util.spec_from_file_location("rules", sys.argv[1])
        rules = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rules)
        exercise, full_registry, ok_app = rules.exercise, rules.full_registry, rules.ok_app

        untimed = AppRegistry(lambda key: ok_app)
        timed = full_registry()
        exercise(full_registry())
        for registry in (untimed, timed):
            for _ in range(500):
                registry.serve("a", {}, lambda *a: None, ok_app)
        attributes = set(vars(timed)) | set(vars(untimed))
        reads = sorted(
            {
                (ins.argval, ins.opname)
                for ins in dis.get_instructions(AppRegistry.serve, adaptive=True)
                if ins.opname.startswith("LOAD_ATTR") and ins.argval in attributes
            }
        )
        print(json.dumps(reads))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, __file__],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    reads = json.loads(out)
    if all(opname in ("LOAD_ATTR", "LOAD_ATTR_ADAPTIVE") for _, opname in reads):
        pytest.skip(f"this interpreter does not specialise these reads: {reads}")
    dict_reads = [name for name, opname in reads if opname == "LOAD_ATTR_WITH_HINT"]
    assert dict_reads == [], (
        f"AppRegistry.serve reads {dict_reads} as dict lookups: an AppRegistry"
        " has more attributes than CPython keeps inline (see"
        " test_an_app_registry_keeps_under_cpythons_attribute_limit)"
    )


def test_the_lock_free_request_path_has_the_gil() -> None:
    """``serve`` counts a request in flight, and the teardown checks that
    count, without a lock: it relies on the GIL to run each step in one
    order that every thread sees (see the comment in ``AppRegistry.serve``).
    A lock there costs about 4,100 instructions a request, nearly doubling
    what host dispatch adds; without the GIL it is needed."""
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    assert gil, (
        "free-threaded interpreter without the GIL: AppRegistry.serve, release"
        " and _retire need a lock around the in-flight count and the retired flag"
    )


def test_an_entry_retired_between_lookup_and_count_is_not_served() -> None:
    """The step ``serve`` relies on the GIL for: an instance retired after
    the request found it but before the request was counted in flight is
    left (and torn down once), and the request goes to a fresh instance."""
    built: list[str] = []
    torn: list[str] = []
    called: list[str] = []

    def factory(key: str) -> t.Any:
        name = f"{key}{len(built)}"
        built.append(name)

        def app(environ: t.Any, start_response: t.Any) -> list[bytes]:
            called.append(name)
            return ok_app(environ, start_response)

        app.name = name  # type: ignore[attr-defined]
        return app

    registry = AppRegistry(factory, on_evict=lambda key, app: torn.append(app.name))
    registry.get("k")

    class EvictedAfterLookup(dict):  # type: ignore[type-arg]
        armed = True

        def __getitem__(self, key: t.Any) -> t.Any:
            entry = dict.__getitem__(self, key)
            if self.armed:
                self.armed = False
                registry.evict(key)  # another thread, right after the lookup
            return entry

    registry._entries = EvictedAfterLookup(registry._entries)
    assert registry.serve("k", {}, lambda *a: None, ok_app) == [b"ok"]
    assert built == ["k0", "k1"]
    assert called == ["k1"]  # never the retired instance
    assert torn == ["k0"]
    assert registry.stats()["draining"] == 0


def test_a_list_body_ends_the_count_at_return_even_when_retired_meanwhile() -> None:
    """The list path ends the in-flight count inline (not through
    ``release``): it must still tear down an instance retired during the
    call, once, after the call."""
    torn: list[str] = []
    registry: AppRegistry

    def app(environ: t.Any, start_response: t.Any) -> list[bytes]:
        registry.evict("k")  # retired while this request is in flight
        assert torn == []
        return ok_app(environ, start_response)

    registry = AppRegistry(lambda key: app, on_evict=lambda key, a: torn.append(key))
    assert registry.serve("k", {}, lambda *a: None, ok_app) == [b"ok"]
    assert torn == ["k"]
    assert registry.stats()["draining"] == 0


def test_the_in_flight_count_is_a_deque() -> None:
    registry = AppRegistry(lambda key: ok_app)
    registry.serve("k", {}, lambda *a: None, ok_app)
    active = registry._entries["k"].active
    assert type(active) is deque, (
        "an entry counts requests in flight in a deque: thread-safe append and"
        " pop without a lock, and an empty deque keeps its block where a list"
        " allocates on every append (a list costs about 390 instructions a"
        " request, 8% of what host dispatch adds)"
    )


@pytest.mark.parametrize(
    ("function", "name", "cost"),
    [
        pytest.param(
            AppRegistry.serve, "served", "4.5% of what host dispatch adds", id="serve"
        ),
    ],
)
def test_callables_held_in_slots_are_read_into_a_local_before_the_call(
    function: t.Any, name: str, cost: str
) -> None:
    """CPython specialises a plain attribute read, not a method lookup that
    finds a slot: ``obj.attr(...)`` on such an attribute is slower than
    ``f = obj.attr; f(...)`` (figures from paired wall-clock runs)."""
    loads = [
        ins
        for ins in dis.get_instructions(function)
        if ins.argval == name and ins.opname in ("LOAD_ATTR", "LOAD_METHOD")
    ]
    assert loads, f"{function.__qualname__} no longer reads {name}"
    # A method-style load: LOAD_METHOD up to 3.11, LOAD_ATTR "NULL|self + name"
    # from 3.12.
    calls = [
        ins for ins in loads if ins.opname == "LOAD_METHOD" or "NULL" in ins.argrepr
    ]
    assert calls == [], (
        f"{function.__qualname__} calls .{name}(...) directly: read it into a"
        f" local first, calling it as a method costs {cost}"
    )


def test_a_request_looks_at_the_retired_flag_and_limit_only_when_guarded() -> None:
    """``serve`` checks one flag before ``retired`` and the limit: set for an
    entry with a limit, and by the retirement."""
    plain = AppRegistry(lambda key: ok_app)
    limited = AppRegistry(lambda key: ok_app, max_concurrent=2)
    for registry in (plain, limited):
        registry.serve("k", {}, lambda *a: None, ok_app)
    entry = plain._entries["k"]
    assert entry.guarded is False
    assert limited._entries["k"].guarded is True
    plain.evict("k")
    assert entry.retired is True and entry.guarded is True
