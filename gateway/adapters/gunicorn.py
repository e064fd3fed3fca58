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
- ``gthread`` workers when ``threads > 1``, access and error logs on stderr.

- ``keepalive`` from ``[server].keepalive_timeout`` (whole seconds; gunicorn
  has no header timeout, its ``sync`` workers no keep-alive).

Each worker reads the gateway.toml and builds the gateway after the fork, so
no lock or thread of the dispatcher is shared across processes, and SIGHUP
(gunicorn's graceful reload: new workers, then the old ones finish their
requests) brings in the application's code and the gateway.toml as they are
now. What the arbiter itself holds does not change on SIGHUP: the listening
address, the number of workers and the gateway package's own code. gunicorn
handles SIGTERM as a graceful stop (``graceful_timeout``) and SIGINT as a
quick one.
"""

from __future__ import annotations

import math
import sys
import typing as t

from . import require
from .middleware import with_script_name
from .options import GRACEFUL_TIMEOUT, Address, ServeOptions, format_bind

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
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": name,
    }
    if isinstance(bind, str):
        # Let a front server running as another user connect.
        settings["umask"] = 0o000
    return settings


#: Settings that older gunicorn releases lack, and that can go unset there:
#: before 25.1 gunicorn had no control socket to disable.
_NEWER_SETTINGS = frozenset({"control_socket_disable"})


def _application_class() -> type:
    require("gunicorn.app.base", "gunicorn")
    from gunicorn.app import base

    class GatewayApplication(base.BaseApplication):
        """Feeds gunicorn our settings and a loader for the WSGI app."""

        def __init__(
            self,
            loader: t.Callable[[], WSGIApplication],
            settings: dict[str, t.Any],
            on_reload: t.Callable[[], None] | None = None,
        ) -> None:
            self._loader = loader
            self._settings = settings
            self._on_reload = on_reload
            super().__init__()

        def reload(self) -> None:
            # The arbiter calls this on SIGHUP, before it starts new workers.
            if self._on_reload is not None:
                self._on_reload()
            super().reload()

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
    on_reload: t.Callable[[], None] | None = None,
) -> None:
    """Run gunicorn's arbiter for ``app`` until it is stopped.

    With ``lazy=True``, ``app`` is a zero-argument callable each worker calls
    after the fork to build its application. ``on_reload`` runs in the
    arbiter on SIGHUP, before the new workers start.
    """

    def loader() -> WSGIApplication:
        built = app() if lazy else app  # type: ignore[call-arg]  # lazy: a factory
        return with_script_name(built, script_name)  # type: ignore[arg-type]  # as above

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

    On SIGHUP the arbiter reads the gateway.toml again; a file that no longer
    loads is reported and the new workers keep the last one that did.
    """
    require("gunicorn.app.base", "gunicorn")
    from gateway.dispatch import build_gateway
    from gateway.toml import ConfigError, load_config

    current = [config]

    def reread() -> None:
        if config.path is None:
            return
        try:
            current[0] = load_config(config.path)
        except (OSError, ConfigError) as e:
            print(
                f"gateway: SIGHUP: {config.path} not reloaded, the new workers"
                f" keep the previous configuration: {e}",
                file=sys.stderr,
                flush=True,
            )

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
