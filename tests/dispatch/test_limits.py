"""Per-tenant and per-mount concurrency limits (gateway/dispatch/limits.py):
the rules as tables, then real threads hammering several tenants at once."""

from __future__ import annotations

import dataclasses
import threading
import typing as t
from types import SimpleNamespace

import pytest

from gateway import App
from gateway.config import ConfigError
from gateway.dispatch import AppRegistry, Gateway, Mount, PathDispatcher
from gateway.dispatch.limits import (
    RETRY_AFTER,
    UNLIMITED,
    Limited,
    ceiling,
    check_limit,
    default_limit,
    limit_of,
    limited,
    resolve_limit,
)
from gateway.toml import parse_config

# -- the rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("threads", "limit"),
    [
        pytest.param(1, 1, id="one thread: nothing to leave, limit 1"),
        pytest.param(2, 1, id="two threads: one left to the others"),
        pytest.param(3, 1, id="odd count rounds down"),
        pytest.param(4, 2, id="gunicorn 2x4: two per process"),
        pytest.param(8, 4, id="the [server] default of 8"),
        pytest.param(64, 32, id="large pool"),
    ],
)
def test_the_default_limit_is_half_the_threads_at_least_one(
    threads: int, limit: int
) -> None:
    assert default_limit(threads) == limit


@pytest.mark.parametrize(
    "threads",
    [
        pytest.param(0, id="zero"),
        pytest.param(-4, id="negative"),
        pytest.param(True, id="bool"),
        pytest.param(2.5, id="float"),
    ],
)
def test_a_bad_thread_count_is_refused(threads: t.Any) -> None:
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        default_limit(threads)


@pytest.mark.parametrize(
    ("value", "threads", "limit"),
    [
        pytest.param(None, 8, 4, id="not set: derived"),
        pytest.param(None, 4, 2, id="not set: derived from 4"),
        pytest.param(0, 8, 0, id="0 stays unlimited"),
        pytest.param(7, 4, 7, id="explicit wins over the threads"),
    ],
)
def test_resolve_limit(value: int | None, threads: int, limit: int) -> None:
    assert resolve_limit(value, threads) == limit


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-1, id="negative"),
        pytest.param(True, id="bool"),
        pytest.param("3", id="string"),
        pytest.param(1.5, id="float"),
    ],
)
def test_check_limit_names_where_and_what_to_write(value: t.Any) -> None:
    with pytest.raises(ValueError, match=r"here must be an integer >= 0 \(0 = unl"):
        check_limit(value, "here")


def _config_app(value: t.Any) -> App:
    app = App(__name__)
    app.config["GATEWAY_MAX_CONCURRENT"] = value
    return app


def _attr_app(value: t.Any) -> t.Any:
    return SimpleNamespace(gateway_max_concurrent=value)


@pytest.mark.parametrize(
    ("app", "limit"),
    [
        pytest.param(SimpleNamespace(), 4, id="no override: the default"),
        pytest.param(_config_app(1), 1, id="config key"),
        pytest.param(_config_app(0), 0, id="config key 0: unlimited"),
        pytest.param(_config_app(None), 4, id="config key None: not set"),
        pytest.param(_attr_app(9), 9, id="attribute"),
        pytest.param(_attr_app(None), 4, id="attribute None: not set"),
        pytest.param(
            SimpleNamespace(
                config={"GATEWAY_MAX_CONCURRENT": 2}, gateway_max_concurrent=6
            ),
            2,
            id="config first",
        ),
        pytest.param(
            SimpleNamespace(config="not a mapping", gateway_max_concurrent=3),
            3,
            id="config not a mapping: attribute",
        ),
    ],
)
def test_limit_of_an_application(app: t.Any, limit: int) -> None:
    assert limit_of(app, 4) == limit


@pytest.mark.parametrize(
    ("app", "where"),
    [
        pytest.param(
            _config_app("2"), 'app.config["GATEWAY_MAX_CONCURRENT"]', id="config"
        ),
        pytest.param(_attr_app(-3), "app.gateway_max_concurrent", id="attribute"),
    ],
)
def test_a_bad_override_names_itself(app: t.Any, where: str) -> None:
    with pytest.raises(ValueError) as info:
        limit_of(app, 4)
    assert str(info.value).startswith(where + " must be an integer >= 0")


@pytest.mark.parametrize(
    ("limit", "expected"),
    [pytest.param(0, UNLIMITED, id="0: unlimited"), pytest.param(3, 3, id="3")],
)
def test_ceiling(limit: int, expected: int) -> None:
    assert ceiling(limit) == expected


def test_limited_with_zero_is_the_app_itself(echo) -> None:
    app = echo("a")
    assert limited(app, 0) is app
    assert isinstance(limited(app, 2), Limited)


# -- configuration -------------------------------------------------------------------


def test_gateway_toml_keys_and_their_derived_defaults() -> None:
    config = parse_config(
        {
            "gateway": {"base_domain": "example.com"},
            "server": {"threads": 6},
            "tenants": {"factory": "m:f", "max_concurrent": 2},
            "mounts": [
                {"prefix": "/a", "app": "m:a"},
                {"prefix": "/b", "app": "m:b", "max_concurrent": 0},
            ],
        },
        ".",
    )
    assert config.tenants is not None and config.tenants.max_concurrent == 2
    assert [m.max_concurrent for m in config.mounts] == [None, 0]


@pytest.mark.parametrize(
    ("table", "where"),
    [
        pytest.param(
            {"tenants": {"factory": "m:f", "max_concurrent": -1}},
            "[tenants].max_concurrent: expected an integer >= 0",
            id="tenants negative",
        ),
        pytest.param(
            {"mounts": [{"prefix": "/a", "app": "m:a", "max_concurrent": "4"}]},
            "[[mounts]] #1 .max_concurrent: expected an integer >= 0",
            id="mount string",
        ),
    ],
)
def test_gateway_toml_refuses_a_bad_limit_naming_the_key(
    table: dict[str, t.Any], where: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^{__import__('re').escape(where)}"):
        parse_config({"gateway": {"base_domain": "example.com"}, **table}, ".")


def test_a_gateway_derives_its_limits_from_its_threads(echo) -> None:
    gateway = Gateway(
        echo("bare"),
        base_domain="example.com",
        tenants=lambda key: echo(key),
        mounts=[Mount("/a", echo("a")), Mount("/b", echo("b"), max_concurrent=0)],
        threads=6,
    )
    assert gateway.registry is not None and gateway.registry.max_concurrent == 3
    a, b = gateway.mounts
    assert (a.max_concurrent, b.max_concurrent) == (3, 0)
    assert isinstance(a.served, Limited) and b.served is b.app
    explicit = Gateway(
        base_domain="example.com", tenants=lambda key: echo(key), max_concurrent=0
    )
    assert explicit.registry is not None and explicit.registry.max_concurrent == 0


def test_a_bad_limit_given_in_python_fails_at_construction(echo) -> None:
    with pytest.raises(ValueError, match="max_concurrent must be an integer >= 0"):
        Gateway(base_domain="example.com", tenants=echo, max_concurrent=-2)
    with pytest.raises(ValueError, match="max_concurrent of mount '/a' must be"):
        Mount("/a", echo("a"), max_concurrent=-1)
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        Gateway(echo("bare"), threads=0)


def test_a_factory_returning_a_bad_limit_gets_a_503_and_a_log(call, caplog) -> None:
    registry = AppRegistry(lambda key: _config_app("many"), max_concurrent=2)
    gateway = Gateway(base_domain="example.com", tenants=registry)
    result = call(gateway, host="acme.example.com")
    assert result.status == 503
    assert b"Traceback" not in result.body
    assert 'app.config["GATEWAY_MAX_CONCURRENT"] must be an integer' in caplog.text


# -- real concurrency ----------------------------------------------------------------


class Gate:
    """A WSGI app whose requests wait for ``release`` and which records the
    most requests it ever saw at once (and whether any ever overlapped
    more than allowed)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.entered = threading.Semaphore(0)

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        self.entered.release()
        try:
            assert self.release.wait(30), "the test never released the gate"
        finally:
            with self.lock:
                self.now -= 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slow done"]


def _hammer(
    gateway: t.Any, call, make_environ, host: str, path: str, count: int
) -> tuple[list[threading.Thread], list[t.Any]]:
    """Start ``count`` threads each making one request (``call``, the
    fixture); results collect in the returned list."""
    results: list[t.Any] = []

    def one() -> None:
        results.append(call(gateway, make_environ(path, host)))

    threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "a request thread never finished"


@pytest.mark.parametrize("limit", [1, 3])
def test_a_slow_tenant_holds_at_most_its_limit_and_others_are_unaffected(
    limit: int, call, make_environ, echo
) -> None:
    slow = Gate()
    gateway = Gateway(
        echo("bare"),
        base_domain="example.com",
        tenants=lambda key: slow if key == "slow" else echo(key),
        max_concurrent=limit,
    )
    assert gateway.registry is not None
    slow_threads, slow_results = _hammer(
        gateway, call, make_environ, "slow.example.com", "/", 20
    )
    for _ in range(limit):  # the ones let in are inside the app
        assert slow.entered.acquire(timeout=10)
    # Everyone else was turned away while the slow ones hold their places.
    deadline = threading.Event()
    for _ in range(200):
        if len(slow_results) == 20 - limit:
            break
        deadline.wait(0.05)
    assert len(slow_results) == 20 - limit
    assert all(r.status == 503 for r in slow_results)
    assert all(r.headers["Retry-After"] == str(RETRY_AFTER) for r in slow_results)
    # Meanwhile other tenants and the bare domain, from many threads at once.
    others: list[threading.Thread] = []
    other_results: list[t.Any] = []
    for host in ("a.example.com", "b.example.com", "example.com"):
        threads, results = _hammer(gateway, call, make_environ, host, "/", 30)
        others += threads
        other_results.append(results)
    _join(others)
    assert [len(r) for r in other_results] == [30, 30, 30]
    assert all(r.status == 200 for rs in other_results for r in rs)
    slow.release.set()
    _join(slow_threads)
    assert sorted(r.status for r in slow_results) == [200] * limit + [503] * (
        20 - limit
    )
    assert slow.most == limit
    stats = gateway.registry.stats()
    assert stats["busy"] == 20 - limit
    # Every place was given back: the slow tenant serves again.
    slow.release.clear()
    threads, results = _hammer(
        gateway, call, make_environ, "slow.example.com", "/", limit
    )
    for _ in range(limit):
        assert slow.entered.acquire(timeout=10)
    slow.release.set()
    _join(threads)
    assert [r.status for r in results] == [200] * limit


def test_a_streamed_response_holds_its_place_until_closed(make_environ) -> None:
    def stream(environ: dict[str, t.Any], start_response: t.Any) -> t.Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"part"

    registry = AppRegistry(lambda key: stream, max_concurrent=1)
    replies: list[str] = []

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        replies.append(status)

    first = registry.serve("k", make_environ(), start_response, stream)
    assert list(first) == [b"part"]
    second = registry.serve("k", make_environ(), start_response, stream)
    assert replies[-1].startswith("503")
    assert second == [] or b"".join(second).startswith(b"Service Unavailable")
    t.cast(t.Any, first).close()
    third = registry.serve("k", make_environ(), start_response, stream)
    assert list(third) == [b"part"]
    t.cast(t.Any, third).close()
    assert replies == ["200 OK", "503 Service Unavailable", "200 OK"]


def test_a_factory_override_beats_the_registry_default(call, make_environ) -> None:
    slow = Gate()
    slow.gateway_max_concurrent = 2  # type: ignore[attr-defined]
    other = Gate()
    registry = AppRegistry(
        lambda key: slow if key == "vip" else other, max_concurrent=1
    )
    gateway = Gateway(base_domain="example.com", tenants=registry)
    vip, vip_results = _hammer(gateway, call, make_environ, "vip.example.com", "/", 6)
    plain, plain_results = _hammer(
        gateway, call, make_environ, "plain.example.com", "/", 6
    )
    for gate, count in ((slow, 2), (other, 1)):
        for _ in range(count):
            assert gate.entered.acquire(timeout=10)
    slow.release.set()
    other.release.set()
    _join(vip + plain)
    assert (slow.most, other.most) == (2, 1)
    assert sorted(r.status for r in vip_results) == [200] * 2 + [503] * 4
    assert sorted(r.status for r in plain_results) == [200] + [503] * 5


def test_a_mount_is_limited_across_threads_and_the_rest_is_not(
    call, make_environ, echo
) -> None:
    slow = Gate()
    gateway = Gateway(
        echo("bare"),
        base_domain="example.com",
        mounts=[Mount("/slow", slow, max_concurrent=2), Mount("/fast", echo("fast"))],
        max_concurrent=0,
        tenants=lambda key: echo(key),
    )
    threads, slow_results = _hammer(
        gateway, call, make_environ, "example.com", "/slow/x", 10
    )
    for _ in range(2):
        assert slow.entered.acquire(timeout=10)
    fast, fast_results = _hammer(
        gateway, call, make_environ, "example.com", "/fast/y", 40
    )
    _join(fast)
    assert [r.status for r in fast_results] == [200] * 40
    slow.release.set()
    _join(threads)
    assert slow.most == 2
    assert sorted(r.status for r in slow_results) == [200] * 2 + [503] * 8
    assert {r.headers.get("Retry-After") for r in slow_results if r.status == 503} == {
        str(RETRY_AFTER)
    }


def test_a_limited_mount_alone_in_a_path_dispatcher(call, echo) -> None:
    gate = Gate()
    gate.release.set()
    dispatcher = PathDispatcher(
        echo("root"), mounts=[Mount("/g", gate, max_concurrent=1)]
    )
    assert call(dispatcher, path="/g/").status == 200
    assert call(dispatcher, path="/g/", method="HEAD").status == 200
    assert gate.most == 1


def test_a_gateway_built_from_gateway_toml_takes_its_limits() -> None:
    config = parse_config(
        {
            "gateway": {"base_domain": "example.com"},
            "server": {"threads": 6},
            "tenants": {"factory": "gateway.dispatch.responses:error_app"},
            "mounts": [
                {"prefix": "/a", "app": "gateway.dispatch.responses:not_found"},
                {
                    "prefix": "/b",
                    "app": "gateway.dispatch.responses:not_found",
                    "max_concurrent": 1,
                },
            ],
        },
        ".",
    )
    gateway = Gateway.from_config(config)
    assert gateway.registry is not None and gateway.registry.max_concurrent == 3
    assert [m.max_concurrent for m in gateway.mounts] == [3, 1]
    explicit = Gateway.from_config(
        config.replace(tenants=dataclasses.replace(config.tenants, max_concurrent=0))
    )
    assert explicit.registry is not None and explicit.registry.max_concurrent == 0
