"""Running one gateway under every deployment option.

Each supported server has a module here (``gevent``, ``tornado``,
``gunicorn``, ``granian``, ``uwsgi``, ``fastcgi``, ``cgi``, ``mod_wsgi``,
``dev``). A module exposes
``serve(app, **options)`` when its server can be started from Python,
``serve_config(config, options)`` used by ``gateway serve``, and the entry file
its server loads is written by :mod:`gateway.adapters.entry`. Server packages
are imported only when an adapter is used, so a missing one never breaks the
rest of the package; it gives :class:`ServerNotInstalled` instead.

Entry files and embedding servers (mod_wsgi, uWSGI, CGI, FastCGI) get the
WSGI application from :func:`load_application`, which reads a ``gateway.toml``
by absolute path and never depends on the working directory.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import typing as t
from pathlib import Path
from types import ModuleType

from gateway import toml

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

#: Adapter name -> module implementing it, for every adapter ``[server].adapter``
#: accepts (:data:`gateway.toml.ADAPTERS`, in the order ``--help`` lists them).
ADAPTERS: dict[str, str] = {name: f"{__name__}.{name}" for name in toml.ADAPTERS}

#: What to run when a server's Python package is missing.
INSTALL_HINT = "pip install 'gateway[servers]'"


class ServerNotInstalled(RuntimeError):
    """The server an adapter needs is not installed; the message says what to
    install. ``gateway serve`` prints it and exits with status 1."""


class CannotServe(RuntimeError):
    """``gateway serve`` cannot run this adapter as asked (CGI, a unix socket
    where the server has none); the message says what to do instead."""


class UnknownAdapter(ValueError):
    """An adapter name that is not in :data:`ADAPTERS`."""


def get_adapter(name: str) -> ModuleType:
    """Import and return the module implementing adapter ``name``.

    The server package itself is imported later, when the adapter serves,
    so this works even when the server is not installed.
    """
    try:
        module_name = ADAPTERS[name]
    except KeyError:
        known = ", ".join(ADAPTERS)
        raise UnknownAdapter(
            f"unknown adapter {name!r}; choose one of: {known}"
        ) from None
    return importlib.import_module(module_name)


def require(module: str, adapter: str, package: str | None = None) -> ModuleType:
    """Import ``module`` for ``adapter`` or raise :class:`ServerNotInstalled`
    naming the package and the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        # Only a missing top-level package means "not installed"; an import
        # error inside an installed package is a real bug worth seeing.
        if e.name is None or e.name.split(".")[0] != module.split(".")[0]:
            raise
        package = package or module.split(".")[0]
        raise ServerNotInstalled(
            f"the {adapter} adapter needs the {package!r} package, which is not"
            f" installed: {INSTALL_HINT}"
        ) from None


def find_executable(name: str, adapter: str, hint: str = INSTALL_HINT) -> str:
    """Absolute path of a server program: the one installed next to this
    Python first (so a virtualenv's ``uwsgi`` wins over another on PATH, and
    pyenv shims are bypassed), then ``PATH``."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ServerNotInstalled(
            f"the {adapter} adapter needs the {name!r} program, which was not"
            f" found next to {sys.executable} or on PATH: {hint}"
        )
    return found


def load_application(toml_path: str | os.PathLike[str]) -> WSGIApplication:
    """Read a ``gateway.toml`` and build the gateway's WSGI application.

    This is what every entry file (``.wsgi``, ``.fcgi``, ``.cgi``, the uWSGI
    module) calls, with an absolute path, so the result never depends on the
    server's working directory. A relative path is resolved against the
    current directory once, here. Inside uWSGI, chunked request bodies are
    decoded (:mod:`.uwsgi_input`).
    """
    from gateway.dispatch import build_gateway
    from gateway.toml import load_config

    from .options import with_threads
    from .uwsgi_input import decode_chunked_under_uwsgi

    path = Path(toml_path)
    if not path.is_absolute():
        path = path.resolve()
    config = load_config(path)
    if "mod_wsgi" in sys.modules:
        from .mod_wsgi import join_metrics_directory

        join_metrics_directory(config)
    threads = embedded_threads()
    if threads is not None:
        config = with_threads(config, threads)
    return decode_chunked_under_uwsgi(build_gateway(config))


def embedded_threads() -> int | None:
    """The threads per process of the server this Python is embedded in
    (uWSGI's ``threads`` option, mod_wsgi's ``threads_per_process``), or
    None elsewhere. The gateway's concurrency limits derive from the
    threads the server really runs, whatever ``[server].threads`` says."""
    uwsgi = sys.modules.get("uwsgi")
    if uwsgi is not None:
        value = getattr(uwsgi, "opt", {}).get("threads")
        if isinstance(value, list):  # an option given more than once
            value = value[-1]
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        # uWSGI without a threads option runs one thread per process.
        return int(value) if value and str(value).isdigit() else 1
    mod_wsgi = sys.modules.get("mod_wsgi")
    threads = getattr(mod_wsgi, "threads_per_process", None)
    return threads if isinstance(threads, int) and threads > 0 else None
