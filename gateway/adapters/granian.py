"""Granian: a Rust HTTP/1.1 and HTTP/2 server running the app through its
WSGI interface, in worker processes with a pool of Python threads each.

Granian parses requests, keeps connections and writes responses in Rust; a
request reaches Python only when it is whole, so slow clients hold no Python
thread. What the adapter decides:

- ``blocking_threads`` is ``[server].threads``; ``backpressure`` stays
  granian's default (its backlog, 1024, over the workers): it bounds the
  connections a worker holds, idle and half-sent ones included, so tying it
  to the threads let 20 half-sent request lines hold a 4-thread worker and a
  normal request waited 30 s; with the default it is answered in 3 ms;
- each worker builds the gateway after the fork, from the gateway.toml read
  again (so SIGHUP, which makes granian start new workers and stop the old
  ones gracefully, serves new code and a changed file). A gateway.toml that
  no longer loads is reported and the workers keep the configuration the
  server started with;
- granian binds with ``SO_REUSEPORT``, so it would start next to a server
  already on its port and share that server's connections; the adapter
  refuses an address in use first;
- SIGTERM / SIGINT stop gracefully: in-flight requests get
  ``graceful_timeout`` seconds before a worker is killed; a worker that dies
  is started again. Granian has no hook for a worker's end, so the metrics'
  in-flight gauges of a dead worker are dropped by the next scrape
  (:func:`gateway.dispatch.multiprocess.sweep_dead`);
- ``SCRIPT_NAME`` comes from ``[server].script_name`` through the same
  middleware as every other adapter (granian's ``url_path_prefix`` cuts the
  path without checking it starts with the prefix);
- granian builds each environ on a copy of the process environment, so a
  variable named like request data (``HTTP_X_FORWARDED_FOR``,
  ``CONTENT_LENGTH``...) would look like it came from the client:
  :func:`without_process_environ` removes those;
- granian's access log stays off: the gateway writes its own
  (``[logging].access``);
- ``[server].header_timeout`` is granian's HTTP/1 ``header_read_timeout``
  (milliseconds); ``keepalive_timeout = 0`` turns its keep-alive off. granian
  has no separate idle timeout: a kept-alive connection gets
  ``header_timeout`` for its next request head too.

Known limitation, as with uWSGI's own parser: granian maps a header spelled
with ``_`` onto the dashed name (the later one wins), so a front server that
passes underscored headers on (nginx drops them by default) lets a client
replace a header the front set.
"""

from __future__ import annotations

import os
import ssl
import sys
import typing as t
from pathlib import Path

from . import CannotServe, require
from .middleware import worker_app
from .options import GRACEFUL_TIMEOUT, Address, ServeOptions, with_threads
from .sockets import ensure_free

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from gateway.toml import GatewayConfig

#: Environ keys a server fills from the request; a process environment
#: variable of one of these names, or starting with ``HTTP_``, must not pass
#: for request data.
_REQUEST_KEYS = frozenset(
    {
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "PATH_INFO",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "REQUEST_METHOD",
        "REQUEST_URI",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
    }
)


def granian_settings(
    *,
    bind: Address,
    workers: int,
    threads: int,
    graceful_timeout: float,
    tls_cert: str = "",
    tls_key: str = "",
    header_timeout: float = ServeOptions.header_timeout,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
) -> dict[str, t.Any]:
    """Keyword arguments of granian's ``Server`` for these options (pure,
    tested as a table); ``http1_settings`` holds the keywords of granian's
    ``HTTP1Settings``."""
    settings: dict[str, t.Any] = {
        "interface": "wsgi",
        "workers": workers,
        "blocking_threads": threads,
        "http": "auto",  # HTTP/1.1, and HTTP/2 by prior knowledge or ALPN
        "websockets": False,
        "log_access": False,
        "respawn_failed_workers": True,
        "workers_kill_timeout": max(1, round(graceful_timeout)),
        "http1_settings": {
            "header_read_timeout": max(1, round(header_timeout * 1000)),
            "keep_alive": keepalive_timeout > 0,
        },
    }
    if isinstance(bind, str):
        settings["uds"] = bind
        # Let a front server running as another user connect.
        settings["uds_permissions"] = 0o666
    else:
        settings["address"], settings["port"] = bind
    if tls_cert:
        settings["ssl_cert"], settings["ssl_key"] = Path(tls_cert), Path(tls_key)
        # Browsers and clients of the last decade speak 1.2; granian's
        # default minimum, 1.3, would shut some out.
        settings["ssl_protocol_min"] = "tls1.2"
    return settings


def without_process_environ(
    app: WSGIApplication, environment: t.Mapping[str, str] | None = None
) -> WSGIApplication:
    """Wrap ``app`` so that request-shaped variables of the process
    environment (``environment``, default ``os.environ`` now) never reach it
    as request data; a request that sent the same header keeps it unless its
    value is the variable's own. Returns ``app`` itself when there are none,
    which is the usual case."""
    environment = os.environ if environment is None else environment
    leaked = {
        key: value
        for key, value in environment.items()
        if key.startswith("HTTP_") or key in _REQUEST_KEYS
    }
    if not leaked:
        return app

    def clean(environ: WSGIEnvironment, start_response: StartResponse) -> t.Any:
        for key, value in leaked.items():
            if environ.get(key) == value:
                del environ[key]
        return app(environ, start_response)

    return clean


def _server_class() -> type:
    require("granian", "granian")
    from granian import Granian

    return t.cast(type, Granian)


def serve(
    app: WSGIApplication | t.Callable[[], WSGIApplication],
    *,
    bind: Address = ServeOptions.bind,
    workers: int = ServeOptions.workers,
    threads: int = ServeOptions.threads,
    script_name: str = "",
    graceful_timeout: float = GRACEFUL_TIMEOUT,
    name: str = "gateway",
    lazy: bool = False,
    tls_cert: str = "",
    tls_key: str = "",
    header_timeout: float = ServeOptions.header_timeout,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
) -> None:
    """Run granian for ``app`` until it is stopped; with ``tls_cert`` and
    ``tls_key`` it speaks HTTPS (HTTP/2 by ALPN).

    With ``lazy=True``, ``app`` is a zero-argument callable each worker calls
    after the fork to build its application (again after each SIGHUP).
    """

    def loader(_target: str) -> WSGIApplication:
        return without_process_environ(worker_app(app, lazy, script_name))

    settings = granian_settings(
        bind=bind,
        workers=workers,
        threads=threads,
        graceful_timeout=graceful_timeout,
        tls_cert=tls_cert,
        tls_key=tls_key,
        header_timeout=header_timeout,
        keepalive_timeout=keepalive_timeout,
    )
    from granian.errors import ConfigurationError
    from granian.http import HTTP1Settings

    settings["http1_settings"] = HTTP1Settings(**settings["http1_settings"])
    try:
        # granian binds with SO_REUSEPORT: next to a server already on the
        # port it would start and share that server's connections.
        ensure_free(bind)
    except OSError as e:
        raise CannotServe(e.strerror or str(e)) from None

    try:
        # ``target`` is only a label here: the loader builds the application.
        server = _server_class()(target=name, **settings)
        server.serve(target_loader=loader)
    except ConfigurationError as e:  # granian logged which setting, and why
        raise CannotServe(f"granian refused the setting {e}") from None
    except ssl.SSLError as e:
        raise CannotServe(
            f"tls_cert / tls_key: {tls_cert} and {tls_key} are not a certificate"
            f" and its key: {e}"
        ) from None


def _reloaded(config: GatewayConfig, threads: int) -> WSGIApplication:
    """The gateway of ``config``'s file as it is now, or of ``config`` when
    the file no longer loads (the error goes to stderr); either way with the
    threads granian runs (its concurrency limits derive from them)."""
    from gateway.dispatch import build_gateway
    from gateway.toml import ConfigError, load_config

    if config.path is not None:
        try:
            config = with_threads(load_config(config.path), threads)
        except (OSError, ConfigError) as e:
            print(
                f"gateway: {config.path} does not load, keeping the configuration"
                f" granian started with: {e}",
                file=sys.stderr,
                flush=True,
            )
    return build_gateway(config)


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter granian``: each worker builds the gateway."""
    require("granian", "granian")
    serve(
        lambda: _reloaded(config, options.threads),
        bind=options.bind,
        workers=options.workers,
        threads=options.threads,
        script_name=options.script_name,
        graceful_timeout=options.graceful_timeout,
        name=config.name,
        lazy=True,
        tls_cert=options.tls_cert,
        tls_key=options.tls_key,
        header_timeout=options.header_timeout,
        keepalive_timeout=options.keepalive_timeout,
    )
