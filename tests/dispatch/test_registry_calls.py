"""The registry (and path dispatch entering a dynamic segment) calls what it
serves exactly as ``served(environ, start_response)`` would, whatever kind of
callable it is, even where it takes the shortcut of calling a class's
``__call__`` function itself."""

from __future__ import annotations

import functools
import typing as t

import pytest

import gateway
from gateway.dispatch import AppRegistry, PathDispatcher
from gateway.dispatch.instances import unwrap_call


def wsgi_text(start_response: t.Any, text: str) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [text.encode()]


def plain_function(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    return wsgi_text(start_response, "function")


class Callable:
    def __init__(self) -> None:
        self.seen: list[t.Any] = []

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        self.seen.append(environ)
        return wsgi_text(start_response, f"instance {type(self).__name__}")


class Inherited(Callable):
    pass


class Overriding(Callable):
    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        return wsgi_text(start_response, "overriding")


class Static:
    @staticmethod
    def __call__(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        return wsgi_text(start_response, "staticmethod")


class WithDefaults:
    def __call__(
        self, environ: dict[str, t.Any], start_response: t.Any, suffix: str = "!"
    ) -> list[bytes]:
        return wsgi_text(start_response, "defaults" + suffix)


class Meta(type):
    def __call__(cls, *args: t.Any) -> t.Any:  # the class is called, not instances
        return super().__call__(*args)


class WithMeta(Callable, metaclass=Meta):
    pass


class InstanceCallIgnored(Callable):
    """Python ignores ``__call__`` set on an instance; so must the registry."""

    def __init__(self) -> None:
        super().__init__()
        self.__call__ = lambda environ, start_response: wsgi_text(
            start_response, "instance attribute"
        )


class Holder:
    def app(self, environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        return wsgi_text(start_response, f"bound to {type(self).__name__}")


def tenant_app() -> gateway.App:
    app = gateway.App("registry_calls")

    @app.route("/")
    def index() -> str:
        return "gateway app"

    return app


KINDS = [
    pytest.param(lambda: plain_function, "function", False, id="plain function"),
    pytest.param(Callable, "instance Callable", True, id="python __call__"),
    pytest.param(Inherited, "instance Inherited", True, id="inherited __call__"),
    pytest.param(Overriding, "overriding", True, id="overridden __call__"),
    pytest.param(Static, "staticmethod", False, id="staticmethod __call__"),
    pytest.param(WithDefaults, "defaults!", True, id="__call__ with defaults"),
    pytest.param(WithMeta, "instance WithMeta", True, id="metaclass __call__"),
    pytest.param(
        InstanceCallIgnored, "instance InstanceCallIgnored", True, id="instance attr"
    ),
    pytest.param(lambda: Holder().app, "bound to Holder", True, id="bound method"),
    pytest.param(
        lambda: functools.partial(plain_function), "function", False, id="partial"
    ),
    pytest.param(tenant_app, "gateway app", True, id="gateway.App"),
    pytest.param(lambda: tenant_app().wsgi_app, "gateway app", True, id="App.wsgi_app"),
]


@pytest.mark.parametrize(("make", "body", "unwrapped"), KINDS)
def test_registry_serves_each_kind_of_callable_like_calling_it(
    make: t.Callable[[], t.Any], body: str, unwrapped: bool, call: t.Any
) -> None:
    served = make()
    registry = AppRegistry(lambda key: served)
    direct = call(served)
    for _ in range(3):  # the first request builds the instance, the rest hit it
        via = call(lambda environ, sr: registry.serve("k", environ, sr, None))
        assert (via.status, via.body) == (direct.status, direct.body)
    assert via.text == body
    assert (unwrap_call(served) is not None) is unwrapped


def test_the_unwrapped_call_receives_the_same_environ_and_start_response() -> None:
    served = Callable()
    registry = AppRegistry(lambda key: served)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}
    started: list[str] = []
    body = registry.serve(
        "k", environ, lambda status, headers: started.append(status), None
    )
    assert list(body) == [b"instance Callable"]
    assert served.seen == [environ] and served.seen[0] is environ
    assert started == ["200 OK"]


def test_an_exception_from_an_unwrapped_call_ends_the_in_flight_count() -> None:
    class Failing:
        def __call__(self, environ: t.Any, start_response: t.Any) -> t.NoReturn:
            raise RuntimeError("boom")

    registry = AppRegistry(lambda key: Failing())
    with pytest.raises(RuntimeError, match="boom"):
        registry.serve("k", {}, lambda *a: None, None)
    assert registry.stats()["live"] == 1
    registry.evict("k")  # drained at once: no request is counted in flight
    assert registry.stats()["draining"] == 0


@pytest.mark.parametrize(("make", "body", "unwrapped"), KINDS)
def test_path_dispatch_enters_each_kind_of_callable_like_calling_it(
    make: t.Callable[[], t.Any],
    body: str,
    unwrapped: bool,
    call: t.Any,
    make_environ: t.Any,
) -> None:
    served = make()
    dispatcher = PathDispatcher(None, lambda segment: served)
    for path in ("/k/", "/k/", "/./k/"):  # built, then cached; fast and slow path
        environ = make_environ(path)
        result = call(dispatcher, environ)
        assert (result.status, result.text) == (200, body)
        assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/k", "/")
    # The registry serves the app itself (no wrapper), with its shortcut.
    entry = dispatcher.registry._entries["k"]
    assert entry.served is served
    assert (entry.call is not None) is unwrapped
