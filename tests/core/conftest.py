"""Shared fixtures for the framework-core tests.

The fixture names follow the reference framework's own test suite (``app``,
``app_ctx``, ``req_ctx``, ``client``, ``modules_tmp_path``, ...) so tests read the
same way and ported tests need no renaming.
"""

from __future__ import annotations

import os
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

import gateway
from gateway.globals import _cv_app, _cv_request

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def leak_detector() -> t.Iterator[None]:
    """Fail a test that leaves an application or request context pushed.

    A leaked context would make ``current_app``/``request`` resolve in the next
    test, hiding "working outside of context" bugs. The leftovers are popped so
    that one leak does not cascade into every following test.
    """
    yield
    leaked = []
    while (ctx := _cv_request.get(None)) is not None:
        leaked.append(ctx)
        ctx.pop()
    while (ctx := _cv_app.get(None)) is not None:
        leaked.append(ctx)
        ctx.pop()
    assert not leaked, f"contexts left pushed: {leaked!r}"


@pytest.fixture
def app() -> gateway.App:
    """A testing app rooted at this directory, with a secret key."""
    app = gateway.App("core_app", root_path=str(TESTS_DIR))
    app.config.update(TESTING=True, SECRET_KEY="test key")
    return app


@pytest.fixture
def app_ctx(app: gateway.App) -> t.Iterator[t.Any]:
    """An application context pushed for the duration of the test."""
    with app.app_context() as ctx:
        yield ctx


@pytest.fixture
def req_ctx(app: gateway.App) -> t.Iterator[t.Any]:
    """A request context for ``/`` pushed for the duration of the test."""
    with app.test_request_context() as ctx:
        yield ctx


@pytest.fixture
def client(app: gateway.App) -> t.Any:
    """A cookie-keeping test client for ``app``."""
    return app.test_client()


@pytest.fixture
def purge_module() -> t.Iterator[t.Callable[[str], None]]:
    """Register module names to drop from ``sys.modules`` after the test.

    Tests that import throwaway modules from a temp dir call it so the next
    test (or another tmp dir with the same module name) imports afresh.
    """
    names: list[str] = []
    yield names.append
    for name in names:
        for key in list(sys.modules):
            if key == name or key.startswith(f"{name}."):
                sys.modules.pop(key, None)


@pytest.fixture
def modules_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir put first on ``sys.path``, for throwaway modules."""
    path = tmp_path / "modules"
    path.mkdir()
    monkeypatch.syspath_prepend(os.fspath(path))
    return path


@pytest.fixture
def site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``<prefix>/lib/pythonX.Y/site-packages`` put on ``sys.path``.

    A package imported from here counts as *installed*, so its instance path
    is ``<prefix>/var/<name>-instance``.
    """
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    path = tmp_path / "prefix" / "lib" / py / "site-packages"
    path.mkdir(parents=True)
    monkeypatch.syspath_prepend(os.fspath(path))
    return path


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: dedented text}`` under ``root``; return root."""
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def make_tree() -> t.Callable[[Path, dict[str, str]], Path]:
    """The :func:`write_tree` helper as a fixture."""
    return write_tree
