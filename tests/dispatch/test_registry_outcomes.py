"""The factory and lookup contract of AppRegistry (gateway/dispatch/failures.py):
an application means "exists", None means "no such key" (404, remembered),
raising means "unavailable" (503 + Retry-After, retried, never remembered as
missing); a failing lookup retires nothing and forgets no version."""

from __future__ import annotations

import logging
import typing as t
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.exceptions import ServiceUnavailable

from gateway.dispatch import AppRegistry, FactoryFailed
from gateway.dispatch.failures import back_off, is_outage
from gateway.dispatch.responses import not_found
from gateway.unavailable import Unavailable


def tenant_app(environ: t.Any, start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"tenant"]


class Scripted:
    """A factory whose outcome the test sets: an app, None, or an exception
    to raise; it counts its calls."""

    def __init__(self, outcome: t.Any) -> None:
        self.outcome = outcome
        self.calls = 0

    def __call__(self, key: str) -> t.Any:
        self.calls += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def request(registry: AppRegistry, key: str = "acme") -> tuple[int, dict[str, str]]:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    body = registry.serve(key, {}, lambda s, h, e=None: seen.append((s, h)), not_found)
    b"".join(body)
    getattr(body, "close", lambda: None)()
    status, headers = seen[0]
    return int(status.split()[0]), dict(headers)


REGISTRY_RETRY = 5
NEGATIVE_TTL = 60


@pytest.mark.parametrize(
    ("outcome", "status", "retry_header", "negative", "again_after", "level", "traceback"),
    [
        pytest.param(tenant_app, 200, None, 0, None, None, False, id="app-exists"),
        pytest.param(None, 404, None, 1, NEGATIVE_TTL, None, False, id="none-no-such-key"),
        pytest.param(
            RuntimeError("bug in the factory"),
            503, "5", 0, REGISTRY_RETRY, logging.ERROR, True,
            id="raises-bug-503-with-traceback",
        ),
        pytest.param(
            OSError("connection refused"),
            503, "5", 0, REGISTRY_RETRY, logging.ERROR, True,
            id="raises-driver-error-503",
        ),
        pytest.param(
            Unavailable(),
            503, "5", 0, REGISTRY_RETRY, logging.WARNING, False,
            id="unavailable-uses-registry-back-off",
        ),
        pytest.param(
            Unavailable(retry_after=2),
            503, "2", 0, 2, logging.WARNING, False,
            id="unavailable-own-retry-after",
        ),
        pytest.param(
            Unavailable(retry_after=0.25),
            503, "1", 0, 0.25, logging.WARNING, False,
            id="unavailable-fraction-header-rounds-up",
        ),
        pytest.param(
            ServiceUnavailable(retry_after=3),
            503, "3", 0, 3, logging.WARNING, False,
            id="werkzeug-service-unavailable",
        ),
    ],
)  # fmt: skip
def test_factory_outcome_decides_status_caching_and_retry(
    clock: t.Any,
    caplog: pytest.LogCaptureFixture,
    outcome: t.Any,
    status: int,
    retry_header: str | None,
    negative: int,
    again_after: float | None,
    level: int | None,
    traceback: bool,
) -> None:
    factory = Scripted(outcome)
    registry = AppRegistry(
        factory, retry_after=REGISTRY_RETRY, negative_ttl=NEGATIVE_TTL, clock=clock
    )
    with caplog.at_level(logging.DEBUG, "gateway.dispatch"):
        got, headers = request(registry)
    assert got == status
    assert headers.get("Retry-After") == retry_header
    assert registry.stats()["negative"] == negative
    records = [r for r in caplog.records if r.name == "gateway.dispatch"]
    assert [r.levelno for r in records] == ([] if level is None else [level])
    if records:
        assert (records[0].exc_info is not None) is traceback
        assert "'acme'" in records[0].getMessage()
    if again_after is None:  # cached: the factory never runs again
        clock.advance(10_000)
        assert request(registry)[0] == 200 and factory.calls == 1
        return
    clock.advance(again_after * 0.9)
    assert request(registry)[0] == status and factory.calls == 1
    clock.advance(again_after * 0.2)
    request(registry)
    assert factory.calls == 2


def test_key_first_asked_during_an_outage_serves_once_the_store_is_back(
    clock: t.Any,
) -> None:
    """Not after negative_ttl: a raising factory leaves no "no such key"."""
    factory = Scripted(Unavailable(retry_after=1))
    registry = AppRegistry(factory, retry_after=30, negative_ttl=600, clock=clock)
    for _ in range(3):
        assert request(registry, "new")[0] == 503
    factory.outcome = tenant_app  # the store is back
    clock.advance(1)
    assert request(registry, "new")[0] == 200
    assert registry.stats()["negative"] == 0 and registry.stats()["failures"] == 1


def test_get_raises_factory_failed_with_the_outage_as_cause(clock: t.Any) -> None:
    down = Unavailable(retry_after=7)
    registry = AppRegistry(Scripted(down), clock=clock)
    with pytest.raises(FactoryFailed) as info:
        registry.get("acme")
    assert info.value.retry_after == 7 and info.value.__cause__ is down


class Lookup:
    def __init__(self, versions: dict[str, int]) -> None:
        self.versions = versions
        self.error: Exception | None = None

    def __call__(self) -> dict[str, int]:
        if self.error is not None:
            raise self.error
        return dict(self.versions)


@pytest.mark.parametrize(
    ("error", "level", "traceback"),
    [
        pytest.param(OSError("database unreachable"), logging.ERROR, True, id="driver-error"),
        pytest.param(Unavailable("store down"), logging.WARNING, False, id="unavailable"),
    ],
)  # fmt: skip
def test_failing_lookup_retires_nothing_and_forgets_no_version(
    clock: t.Any,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    level: int,
    traceback: bool,
) -> None:
    lookup = Lookup({"a": 1, "b": 1})
    built: list[str] = []

    def factory(key: str) -> t.Any:
        built.append(key)
        return tenant_app

    registry = AppRegistry(factory, lookup=lookup, refresh_interval=2, clock=clock)
    assert request(registry, "a")[0] == 200 and request(registry, "b")[0] == 200
    lookup.error = error
    with caplog.at_level(logging.DEBUG, "gateway.dispatch"):
        for _ in range(5):  # several polls during the outage
            clock.advance(3)
            registry.sweep()
    assert sorted(registry.keys()) == ["a", "b"]
    records = [r for r in caplog.records if r.name == "gateway.dispatch"]
    assert records and {r.levelno for r in records} == {level}
    assert all((r.exc_info is not None) is traceback for r in records)
    lookup.error = None  # back, versions unchanged: nothing is rebuilt
    clock.advance(3)
    registry.sweep()
    assert request(registry, "a")[0] == 200 and request(registry, "b")[0] == 200
    assert built == ["a", "b"]
    lookup.versions["a"] = 2  # and a real change is still noticed
    clock.advance(3)
    registry.sweep()
    request(registry, "a")
    assert built == ["a", "b", "a"]


def test_exists_counts_an_unavailable_key_as_existing(clock: t.Any) -> None:
    lookup = Lookup({})
    lookup.error = Unavailable()
    registry = AppRegistry(Scripted(Unavailable()), lookup=lookup, clock=clock)
    assert registry.exists("acme")  # unknown for now, so never refused
    assert registry.stats()["negative"] == 0


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(RuntimeError("x"), 5, id="other-exception-default"),
        pytest.param(Unavailable(), 5, id="no-retry-after-default"),
        pytest.param(Unavailable(retry_after=0), 0, id="zero-at-once"),
        pytest.param(Unavailable(retry_after=12.5), 12.5, id="seconds"),
        pytest.param(ServiceUnavailable(retry_after=4), 4, id="werkzeug-seconds"),
        pytest.param(
            ServiceUnavailable(retry_after=NOW - timedelta(seconds=30)), 0,
            id="date-in-the-past-at-once",
        ),
    ],
)  # fmt: skip
def test_back_off_takes_the_exceptions_retry_after(
    exc: BaseException, expected: float
) -> None:
    assert back_off(exc, 5) == expected


def test_back_off_reads_a_future_date_as_seconds_from_now() -> None:
    later = datetime.now(UTC) + timedelta(seconds=100)
    assert 90 < back_off(Unavailable(retry_after=later), 5) <= 100


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        pytest.param(Unavailable(), True, id="unavailable"),
        pytest.param(ServiceUnavailable(), True, id="werkzeug-503"),
        pytest.param(OSError(), False, id="os-error"),
        pytest.param(LookupError(), False, id="lookup-error"),
    ],
)
def test_is_outage(exc: BaseException, outage: bool) -> None:
    assert is_outage(exc) is outage
