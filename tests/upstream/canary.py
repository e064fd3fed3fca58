"""Canaries for the private internals of third-party libraries that gateway uses.

In a few places code under ``gateway/`` goes past the documented API of
Werkzeug, Jinja, itsdangerous, click, blinker or a server library (mostly for
speed, sometimes because there is no public way). A release that changes one
of those internals would otherwise show up as an obscure failure deep inside
a request. Each one is checked by a test of this folder on its own, for
exactly the shape gateway assumes, and a failure reads "<library> <version>: <internal> changed
(<what gateway expects>); used by gateway/<module>.py <function>".

This folder is the list of every private internal gateway touches. When gateway
starts using a new one (an underscore name, an undocumented attribute or
argument, a private method it overrides or calls, a name it adds to a
subclass of an upstream class), add it here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import typing as t
from contextlib import contextmanager

import pytest

#: Server libraries that are optional: their checks are skipped when absent.
OPTIONAL = {"gevent", "tornado", "gunicorn", "granian", "flup"}


def version_of(library: str) -> str:
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def require(library: str) -> None:
    """Skip the test when an optional server library is not installed."""
    try:
        importlib.import_module(library)
    except ImportError:
        pytest.skip(f"{library} is not installed")


@contextmanager
def upstream(
    library: str, internal: str, expected: str, used_by: str
) -> t.Iterator[None]:
    """Report any failure inside the block as a change of ``internal``."""
    try:
        yield
    except (Exception, SystemExit) as e:  # an assertion, AttributeError...
        detail = str(e).strip().replace("\n", "\n    ")
        message = (
            f"{library} {version_of(library)}: {internal} changed ({expected});"
            f" used by gateway/{used_by}\n    {type(e).__name__}: {detail}"
        )
        # pytest.fail, with the message alone as the report (no traceback).
        raise pytest.fail.Exception(message, pytrace=False) from None


def resolve(target: str) -> t.Any:
    """``"package.module:Class.attr"`` -> the object."""
    module_name, _, qualname = target.partition(":")
    obj: t.Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def wsgi_app(environ: t.Any, start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
