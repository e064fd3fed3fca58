"""Helpers of the compatibility tests (``test_compat_*.py``).

Those tests run the same application code on ``gateway`` and, when it is
installed, on Flask 3.1 (the reference), and compare what comes out. Two ways
to get an application for both frameworks:

- :meth:`Framework.load` reads a module written for Flask (under
  ``compat_apps/``) and executes it with its ``flask`` imports rewritten to
  ``gateway`` ones: the "port by changing imports only" of a real application.
- :attr:`Framework.F` / :attr:`Framework.App` give the framework's top-level
  module and application class to code that builds an app inline.

:data:`FRAMEWORKS` parametrizes a test over both; the Flask run is skipped when
Flask is not installed, so the gateway run (with its own assertions) always
happens.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
import types
import typing as t
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

COMPAT_APPS = Path(__file__).resolve().parent / "compat_apps"

#: Flask names that gateway exposes under another name (the naming map of
#: docs/architecture.md).
RENAMED = {
    "Flask": "App",
    "FlaskClient": "AppClient",
    "FlaskCliRunner": "AppCliRunner",
    "FlaskGroup": "GatewayGroup",
}

HAS_FLASK = importlib.util.find_spec("flask") is not None

_FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+flask(?P<sub>(?:\.\w+)*)[ \t]+import[ \t]+"
    r"(?P<names>\([^)]*\)|(?:\\\n|[^\n])*)",
    re.MULTILINE,
)
_IMPORT = re.compile(r"^(?P<indent>[ \t]*)import[ \t]+flask[ \t]*$", re.MULTILINE)


def _rename(names: str) -> str:
    names = re.sub(r"#[^\n]*", "", names).replace("\\\n", " ")
    parts = []
    for raw in names.strip().strip("()").split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, alias = item.partition(" as ")
        name = name.strip()
        new = RENAMED.get(name, name)
        alias = alias.strip() or (name if new != name else "")
        parts.append(f"{new} as {alias}" if alias else new)
    return ", ".join(parts)


def port_source(source: str) -> str:
    """Rewrite the ``flask`` import statements of ``source`` to import the
    same things from ``gateway`` (renamed classes keep their Flask names
    through ``as``). Nothing but import lines changes."""

    def from_import(m: re.Match[str]) -> str:
        return f"{m['indent']}from gateway{m['sub']} import ({_rename(m['names'])})"

    source = _FROM_IMPORT.sub(from_import, source)
    return _IMPORT.sub(lambda m: f"{m['indent']}import gateway as flask", source)


class Framework:
    """One of the two frameworks a compatibility test runs on."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Framework {self.name}>"

    @property
    def F(self) -> types.ModuleType:
        """The top-level module (``flask`` or ``gateway``)."""
        return importlib.import_module(self.name)

    @property
    def App(self) -> type[t.Any]:
        """The application class (``flask.Flask`` or ``gateway.App``)."""
        return getattr(self.F, "Flask" if self.name == "flask" else "App")  # type: ignore[no-any-return]

    def sub(self, name: str) -> types.ModuleType:
        """A submodule by its Flask name: ``sub("json.provider")``."""
        return importlib.import_module(f"{self.name}.{name}")

    def get(self, dotted: str) -> t.Any:
        """An object by its Flask name, e.g. ``get("cli.FlaskGroup")`` (the
        gateway name is used for the renamed classes)."""
        module, _, name = dotted.rpartition(".")
        if self.name == "gateway":
            name = RENAMED.get(name, name)
        return getattr(self.sub(module) if module else self.F, name)

    def load(self, relpath: str) -> types.ModuleType:
        """Execute ``compat_apps/<relpath>`` as a fresh module, its imports
        ported to this framework. The module's ``__file__`` is the real file,
        so templates, static files and resources beside it are found."""
        path = COMPAT_APPS / relpath
        source = path.read_text(encoding="utf-8")
        if self.name == "gateway":
            source = port_source(source)
        stem = relpath.removesuffix(".py").replace("/", "_")
        module = types.ModuleType(f"compat_{stem}_{self.name}")
        module.__file__ = str(path)
        sys.modules[module.__name__] = module
        exec(compile(source, str(path), "exec"), module.__dict__)
        return module


GATEWAY = Framework("gateway")
FLASK = Framework("flask")

#: Parametrize a test over both frameworks (``fw``); Flask's run is skipped
#: when it is not installed.
FRAMEWORKS = [
    pytest.param(GATEWAY, id="gateway"),
    pytest.param(
        FLASK,
        id="flask",
        marks=pytest.mark.skipif(not HAS_FLASK, reason="Flask is not installed"),
    ),
]

needs_flask = pytest.mark.skipif(not HAS_FLASK, reason="Flask is not installed")

_COOKIE_VALUE = re.compile(r"^(?P<name>[^=]+)=(?P<value>[^;]*)")
_EXPIRES = re.compile(r"Expires=[^;]+")
_EPOCH = "Expires=Thu, 01 Jan 1970 00:00:00 GMT"


def _cookie(header: str, signed: set[str]) -> str:
    """A Set-Cookie header without what depends on the clock or the
    framework's signature: the timestamp and signature of signed cookies,
    and future expiry dates (a deletion's epoch date is kept)."""
    m = _COOKIE_VALUE.match(header)
    if m and m["name"] in signed and m["value"]:
        payload = m["value"].rsplit(".", 2)[0]
        header = f"{m['name']}={payload}.<ts>.<sig>{header[m.end() :]}"
    if _EPOCH not in header:
        header = _EXPIRES.sub("Expires=<future>", header)
    return header


def observe(
    response: TestResponse, signed_cookies: t.Iterable[str] = ("session",)
) -> tuple[t.Any, ...]:
    """What a client can see of a response, made comparable across
    frameworks and runs: status, headers in order (no ``Date``, ``Expires``
    without its value; Set-Cookie as :func:`_cookie` leaves it) and the body."""
    signed = set(signed_cookies)
    headers = []
    for key, value in response.headers.items():
        if key == "Date":
            continue
        if key == "Expires":
            # now + max_age: the clock's, like Date (runs may straddle a second)
            value = "<now + max_age>"
        if key == "Set-Cookie":
            value = _cookie(value, signed)
        headers.append((key, value))
    return (response.status, headers, response.get_data())


class Recorder:
    """Wraps a test client and records :func:`observe` of every response,
    so a scenario run on both frameworks can be compared request by request."""

    def __init__(
        self, client: t.Any, signed_cookies: t.Iterable[str] = ("session",)
    ) -> None:
        self.client = client
        self.signed = tuple(signed_cookies)
        # The module name differs per framework (compat_<app>_<framework>).
        self.app_name: str = client.application.name
        self.log: list[tuple[str, str, tuple[t.Any, ...]]] = []

    def open(self, method: str, path: str, **kwargs: t.Any) -> TestResponse:
        rv = self.client.open(path, method=method, **kwargs)
        self.log.append((method, path, observe(rv, self.signed)))
        rv.close()  # a file body (static files, send_file) is released here
        return rv  # type: ignore[no-any-return]

    def get(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.open("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.open("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.open("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: t.Any) -> TestResponse:
        return self.open("OPTIONS", path, **kwargs)

    def note(self, label: str, value: t.Any) -> t.Any:
        """Record a value observed outside a response (CLI output, a
        context variable...), to be compared too."""
        self.log.append(("NOTE", label, (repr(value).replace(self.app_name, "<app>"),)))
        return value


def assert_same_log(
    gateway_log: list[tuple[str, str, tuple[t.Any, ...]]],
    flask_log: list[tuple[str, str, tuple[t.Any, ...]]],
) -> None:
    """Compare two recorded runs entry by entry, naming the first request
    whose response differs."""
    for index, (ours, theirs) in enumerate(zip(gateway_log, flask_log, strict=False)):
        assert ours == theirs, f"request #{index} {ours[0]} {ours[1]} differs"
    assert len(gateway_log) == len(flask_log)


# -- table-driven cases: an app built inline, a list of steps -----------------


class Step:
    """One request of a :class:`Case` and the status it must get, or a
    function called with ``(app, client, fw)`` and the value it must return
    (``expect``) or the exception type it must raise (``raises``)."""

    def __init__(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        kwargs: dict[str, t.Any] | t.Callable[[], dict[str, t.Any]] | None = None,
        func: t.Callable[..., t.Any] | None = None,
        expect: t.Any = None,
        raises: type[BaseException] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.kwargs = kwargs or {}
        self.func = func
        self.expect = expect
        self.raises = raises

    def __repr__(self) -> str:
        if self.func is not None:
            return f"<call {self.func.__name__}>"
        return f"<{self.method} {self.path}>"


def req(method: str, path: str, status: int | None, **kwargs: t.Any) -> Step:
    """A request step; ``kwargs`` go to the test client (a callable
    ``body=`` is called for fresh keyword arguments, e.g. new file objects).
    ``status=None`` asserts no status of its own: the step only has to answer
    as Flask does, for behaviour that the installed Werkzeug decides."""
    fresh = kwargs.pop("fresh", None)
    return Step(method, path, status, kwargs=fresh or kwargs)


def call(
    func: t.Callable[..., t.Any],
    expect: t.Any = None,
    raises: type[BaseException] | None = None,
) -> Step:
    """A step that calls ``func(app, client, fw)``."""
    return Step(func=func, expect=expect, raises=raises)


class Case:
    """An application built by ``build(fw)`` and the steps run against it."""

    def __init__(
        self,
        build: t.Callable[[Framework], t.Any],
        *steps: Step,
        signed_cookies: t.Iterable[str] = ("session",),
    ) -> None:
        self.build = build
        self.steps = steps
        #: Cookies whose signature and timestamp are left out of the
        #: comparison: the session cookie, under whatever name the app gives it.
        self.signed_cookies = tuple(signed_cookies)

    def run(self, fw: Framework) -> list[tuple[t.Any, ...]]:
        """Run every step on ``fw``, asserting each expectation; return the
        observations, comparable across frameworks."""
        app = self.build(fw)
        client = app.test_client()
        out: list[tuple[t.Any, ...]] = []
        for index, step in enumerate(self.steps):
            where = f"step #{index} {step!r} on {fw.name}"
            if step.func is not None:
                if step.raises is not None:
                    with pytest.raises(step.raises) as info:
                        step.func(app, client, fw)
                    out.append(("raised", type(info.value).__name__))
                    continue
                value = step.func(app, client, fw)
                if step.expect is not None:
                    assert value == step.expect, where
                out.append(("call", value))
                continue
            kwargs = step.kwargs() if callable(step.kwargs) else dict(step.kwargs)
            rv = client.open(step.path, method=step.method, **kwargs)
            observed = observe(rv, self.signed_cookies)
            rv.close()
            if step.status is not None:
                assert rv.status_code == step.status, f"{where}: {observed}"
            out.append(observed)
        return out


@contextlib.contextmanager
def environ_restored() -> t.Iterator[None]:
    """Undo what the code inside changes in ``os.environ``: invoking a CLI
    group marks the process as run from the CLI (``*_RUN_FROM_CLI``), which
    would make later ``app.run()`` calls in the same process return at once."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def case_tests(cases: list[t.Any]) -> tuple[t.Callable[..., None], ...]:
    """The two tests of a compat module over its ``cases``: each case on each
    framework (its own assertions), and gateway's observations equal to
    Flask's (skipped without Flask)."""

    @pytest.mark.parametrize("fw", FRAMEWORKS)
    @pytest.mark.parametrize("case", cases)
    def test_case(case: Case, fw: Framework) -> None:
        case.run(fw)

    @needs_flask
    @pytest.mark.parametrize("case", cases)
    def test_case_matches_flask(case: Case) -> None:
        assert case.run(GATEWAY) == case.run(FLASK)

    return test_case, test_case_matches_flask
