"""Fixtures for the dispatch tests: plain WSGI apps that report what they saw,
and a small helper that runs one request through any WSGI callable."""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass, field

import pytest
from werkzeug.test import EnvironBuilder


@dataclass
class Result:
    """One response: status code, headers, body, and what the app saw."""

    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool = True

    @property
    def seen(self) -> dict[str, t.Any]:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def _make_environ(
    path: str = "/",
    host: str | None = "example.com",
    *,
    query: str = "",
    remote_addr: str = "127.0.0.1",
    script_name: str = "",
    method: str = "GET",
    headers: t.Mapping[str, str] | None = None,
) -> dict[str, t.Any]:
    """A WSGI environ with exactly the given PATH_INFO and Host (no
    normalisation by the test client), the way a server would pass them."""
    environ = EnvironBuilder(method=method).get_environ()
    environ["PATH_INFO"] = path
    environ["SCRIPT_NAME"] = script_name
    environ["QUERY_STRING"] = query
    environ["REMOTE_ADDR"] = remote_addr
    environ.pop("HTTP_HOST", None)
    if host is not None:
        environ["HTTP_HOST"] = host
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(
    app: t.Callable[..., t.Any],
    environ: dict[str, t.Any] | None = None,
    **kwargs: t.Any,
) -> Result:
    """Run one request through ``app`` as a server would: start_response,
    iterate the body, close it."""
    if environ is None:
        environ = _make_environ(**kwargs)
    captured: dict[str, t.Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Any:
        captured["status"] = status
        captured["headers"] = headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status = captured["status"]
    assert status[:3].isdigit() and status[3] == " ", status
    return Result(int(status[:3]), dict(captured["headers"]), body)


def _echo(name: str) -> t.Callable[..., list[bytes]]:
    """A WSGI app answering JSON with its name and the environ values that
    dispatch may change."""

    def app(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        body = json.dumps(
            {
                "app": name,
                "script_name": environ.get("SCRIPT_NAME"),
                "path_info": environ.get("PATH_INFO"),
                "host": environ.get("HTTP_HOST"),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "scheme": environ.get("wsgi.url_scheme"),
                "tenant": environ.get("gateway.tenant"),
                "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    app.__name__ = app.__qualname__ = f"echo_{name}"
    return app


@dataclass
class CountingFactory:
    """A tenant factory that records its calls; ``None`` for keys in
    ``unknown``, an exception for keys in ``failing``; may block on ``gate``."""

    unknown: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    gate: threading.Event | None = None
    slow_keys: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: threading.Event = field(default_factory=threading.Event)

    def __call__(self, key: str) -> t.Any:
        with self.lock:
            self.calls.append(key)
        if key in self.slow_keys and self.gate is not None:
            self.started.set()
            self.gate.wait(10)
        if key in self.failing:
            raise RuntimeError(f"cannot build {key}")
        if key in self.unknown:
            return None
        return _echo(key)

    def count(self, key: str) -> int:
        with self.lock:
            return self.calls.count(key)


@pytest.fixture
def factory() -> CountingFactory:
    return CountingFactory()


class FakeClock:
    """A monotonic clock the test moves by hand (no sleeping, no timing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_environ() -> t.Callable[..., dict[str, t.Any]]:
    """Build a raw WSGI environ: ``make_environ(path, host, query=...)``."""
    return _make_environ


@pytest.fixture
def call() -> t.Callable[..., Result]:
    """Run a request: ``call(app, environ)`` or ``call(app, path=..., host=...)``."""
    return _call


@pytest.fixture
def echo() -> t.Callable[[str], t.Callable[..., list[bytes]]]:
    """``echo(name)``: a WSGI app answering JSON of what it saw."""
    return _echo
