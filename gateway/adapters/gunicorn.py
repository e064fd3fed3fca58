"""gunicorn: pre-fork workers, started from Python with gunicorn's own
``BaseApplication`` (the "custom application" pattern of its docs).

Settings that matter for a gateway behind a proxy are set explicitly rather
than left to gunicorn's defaults, which changed over releases:

- ``header_map = "drop"``: request headers whose names contain ``_`` never
  reach the environ;
- ``forwarded_allow_ips = []``: gunicorn itself rewrites nothing from
  ``X-Forwarded-*``; the gateway's ``[proxy]`` trust is the single place that
  decides which forwarded headers are believed;
- no control socket (gunicorn >= 25 would create one under ``$HOME``);
- ``gthread`` workers when ``threads > 1``, the error log on stderr, and no
  access log of gunicorn's own: the gateway writes one (``[logging].access``).

- ``keepalive`` from ``[server].keepalive_timeout`` (whole seconds; gunicorn
  has no header timeout, its ``sync`` workers no keep-alive).

Each worker builds the gateway after the fork, so no lock or thread of the
dispatcher is shared across processes. SIGHUP is gunicorn's graceful reload
(new workers, then the old ones finish their requests), with a check first:
the arbiter reads the gateway.toml again and loads it, with the applications
it names, in a fresh interpreter (:func:`.master.check_loads`). When that
fails the reload is skipped and the running workers keep serving (gunicorn
itself would stop when its new workers fail to boot). What the arbiter holds
does not change on SIGHUP: the listening address, the number of workers and
the gateway package's own code. gunicorn handles SIGTERM as a graceful stop
(``graceful_timeout``) and SIGINT as a quick one.
"""

from __future__ import annotations

import math
import sys
import typing as t

from . import CannotServe, require
from .middleware import worker_app
from .options import (
    GRACEFUL_TIMEOUT,
    Address,
    ServeOptions,
    format_bind,
    with_threads,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig


def gunicorn_settings(
    *,
    bind: Address,
    workers: int,
    threads: int,
    graceful_timeout: float,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
    name: str = "gateway",
) -> dict[str, t.Any]:
    """The gunicorn settings for these options (pure, tested as a table)."""
    settings: dict[str, t.Any] = {
        "bind": [format_bind(bind)],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "graceful_timeout": max(1, round(graceful_timeout)),
        "keepalive": math.ceil(keepalive_timeout),
        "header_map": "drop",
        "forwarded_allow_ips": "",
        "control_socket_disable": True,
        # The gateway writes its own ([logging].access), the same everywhere.
        "accesslog": None,
        "errorlog": "-",
        "proc_name": name,
        "child_exit": _child_exit,
    }
    if isinstance(bind, str):
        # Let a front server running as another user connect.
        settings["umask"] = 0o000
    return settings


def _child_exit(server: t.Any, worker: t.Any) -> None:
    """gunicorn's ``child_exit`` hook: a worker is gone (for metrics)."""
    from gateway.dispatch.multiprocess import process_exit

    process_exit(worker.pid)


#: Settings that older gunicorn releases lack, and that can go unset there:
#: before 25.1 gunicorn had no control socket to disable.
_NEWER_SETTINGS = frozenset({"control_socket_disable"})


def _application_class() -> type:
    require("gunicorn.app.base", "gunicorn")
    from gunicorn.app import base
    from gunicorn.arbiter import Arbiter
    from gunicorn.errors import HaltServer

    class GatewayArbiter(Arbiter):
        """Reloads only when the application's check says it can."""

        app: GatewayApplication

        def reload(self) -> None:
            if self.app.may_reload():
                super().reload()

    class GatewayApplication(base.BaseApplication):
        """Feeds gunicorn our settings and a loader for the WSGI app."""

        def __init__(
            self,
            loader: t.Callable[[], WSGIApplication],
            settings: dict[str, t.Any],
            on_reload: t.Callable[[], bool] | None = None,
        ) -> None:
            self._loader = loader
            self._settings = settings
            self._on_reload = on_reload
            super().__init__()

        def may_reload(self) -> bool:
            """Called by the arbiter on SIGHUP, before it starts new workers."""
            return self._on_reload is None or self._on_reload()

        def run(self) -> None:
            try:
                GatewayArbiter(self).run()
            except HaltServer as e:
                # gunicorn stops when workers fail to boot (an import error):
                # one line, not the arbiter's traceback.
                raise CannotServe(f"gunicorn stopped: {e.reason}") from None

        def load_config(self) -> None:
            for key, value in self._settings.items():
                if key in _NEWER_SETTINGS and key not in self.cfg.settings:
                    continue
                self.cfg.set(key, value)

        # gunicorn's stubs type the environ as a MutableMapping (it passes a
        # dict), so a WSGI application typed by _typeshed does not fit.
        def load(self) -> WSGIApplication:  # type: ignore[override]
            return self._loader()

    return GatewayApplication


def serve(
    app: WSGIApplication | t.Callable[[], WSGIApplication],
    *,
    bind: Address = ServeOptions.bind,
    workers: int = ServeOptions.workers,
    threads: int = ServeOptions.threads,
    script_name: str = "",
    graceful_timeout: float = GRACEFUL_TIMEOUT,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
    name: str = "gateway",
    lazy: bool = False,
    on_reload: t.Callable[[], bool] | None = None,
) -> None:
    """Run gunicorn's arbiter for ``app`` until it is stopped.

    With ``lazy=True``, ``app`` is a zero-argument callable each worker calls
    after the fork to build its application. ``on_reload`` runs in the
    arbiter on SIGHUP, before the new workers start; the reload happens only
    when it returns True.
    """

    def loader() -> WSGIApplication:
        return worker_app(app, lazy, script_name)

    settings = gunicorn_settings(
        bind=bind,
        workers=workers,
        threads=threads,
        graceful_timeout=graceful_timeout,
        keepalive_timeout=keepalive_timeout,
        name=name,
    )
    _application_class()(loader, settings, on_reload).run()


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter gunicorn``: each worker builds the gateway.

    On SIGHUP the arbiter reads the gateway.toml again and checks that it
    loads; if not, it says why and the running workers keep serving.
    """
    require("gunicorn.app.base", "gunicorn")
    from gateway.dispatch import build_gateway
    from gateway.toml import ConfigError, load_config

    from .master import check_loads

    current = [config]

    def reread() -> bool:
        if config.path is None:
            return True
        try:
            new = load_config(config.path)
            problem = check_loads(str(config.path))
        except (OSError, ConfigError) as e:
            problem = str(e)
        if problem is not None:
            print(
                "gateway: SIGHUP: reload failed; the running workers keep"
                f" serving:\n{problem}",
                file=sys.stderr,
                flush=True,
            )
            return False
        current[0] = with_threads(new, options.threads)
        return True

    serve(
        lambda: build_gateway(current[0]),
        bind=options.bind,
        workers=options.workers,
        threads=options.threads,
        script_name=options.script_name,
        graceful_timeout=options.graceful_timeout,
        keepalive_timeout=options.keepalive_timeout,
        name=config.name,
        lazy=True,
        on_reload=reread,
    )
