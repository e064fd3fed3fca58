"""gevent: ``gevent.pywsgi.WSGIServer``, one process, a greenlet per connection.

gevent only helps when blocking calls yield to its loop, which needs
``gevent.monkey.patch_all()`` to run before anything else imports ``socket``,
``ssl`` or ``threading``. ``gateway serve --adapter gevent`` therefore
re-executes the interpreter with :data:`BOOTSTRAP`, which patches first and
only then imports the gateway. Code calling :func:`serve` itself should call
:func:`patch` at the very top of its main module.

On top of the stock server this adds:

- ``SCRIPT_NAME`` from ``[server].script_name`` (pywsgi always reports "");
- ``TCP_NODELAY`` on accepted connections (Nagle + delayed ACK otherwise cap a
  keep-alive connection at ~25 requests/s);
- a graceful stop on SIGTERM / SIGINT: the listener closes, idle keep-alive
  connections are dropped, in-flight requests finish (up to
  ``graceful_timeout`` seconds) and their connections close; a second signal
  stops at once.

Headers whose names contain ``_`` are dropped by pywsgi's handler itself.
pywsgi's own access line is off: the gateway's access log (``[logging].access``)
writes one line per request, the same on every adapter.
"""

from __future__ import annotations

import json
import signal
import sys
import typing as t

from . import require
from .middleware import with_script_name
from .options import GRACEFUL_TIMEOUT, Address, ServeOptions
from .sockets import announce, bind_socket, describe, set_nodelay

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig

#: Run by ``python -c`` when ``gateway serve`` re-executes itself: patch, then
#: import the gateway. Arguments: the gateway.toml path and the JSON of the
#: command-line overrides.
BOOTSTRAP = (
    "from gevent import monkey; monkey.patch_all()\n"
    "import sys\n"
    "from gateway.adapters.gevent import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def patch() -> None:
    """Monkey-patch the standard library for gevent, once."""
    monkey = require("gevent.monkey", "gevent", "gevent")
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()


def is_patched() -> bool:
    """Whether this process already runs with gevent's patches."""
    module = sys.modules.get("gevent.monkey")
    return module is not None and module.is_module_patched("socket")


def bootstrap_argv(config_path: str, overrides: dict[str, t.Any]) -> list[str]:
    """The argv that restarts this Python with gevent patched first."""
    return [
        sys.executable,
        "-c",
        BOOTSTRAP,
        config_path,
        json.dumps(overrides, sort_keys=True),
    ]


def _server_classes() -> tuple[type, type]:
    """Build the handler and server classes (gevent is imported lazily)."""
    require("gevent.pywsgi", "gevent", "gevent")
    import gevent
    from gevent import pywsgi
    from gevent.pool import Pool

    class GatewayHandler(pywsgi.WSGIHandler):
        """Marks the connection busy between reading a request line and
        finishing its response, and closes it after the response once the
        server is stopping."""

        server: GatewayServer

        def read_requestline(self) -> str:
            if self.server.stopping:
                return ""  # no new request on a kept-alive connection: close it
            self.server.mark(idle=True)
            line = super().read_requestline()
            self.server.mark(idle=False)
            return line

        def read_request(self, raw_requestline: str) -> t.Any:
            rv = super().read_request(raw_requestline)
            if self.server.stopping:
                self.close_connection = True
            return rv

    class GatewayServer(pywsgi.WSGIServer):
        """``pywsgi.WSGIServer`` with TCP_NODELAY and a graceful stop."""

        handler_class = GatewayHandler

        def __init__(self, listener: t.Any, application: t.Any, **kw: t.Any) -> None:
            super().__init__(listener, application, spawn=Pool(), **kw)
            self.stopping = False
            self._idle: dict[t.Any, bool] = {}

        def mark(self, idle: bool) -> None:
            self._idle[gevent.getcurrent()] = idle

        def handle(self, sock: t.Any, address: t.Any) -> None:
            set_nodelay(sock)
            try:
                super().handle(sock, address)
            finally:
                self._idle.pop(gevent.getcurrent(), None)

        def graceful_stop(self, timeout: float) -> None:
            """Stop accepting, drop idle connections, let busy ones finish."""
            self.stopping = True
            self.close()
            for glet, idle in list(self._idle.items()):
                if idle:
                    glet.kill(block=False)
            pool = t.cast(Pool, self.pool)  # built with spawn=Pool()
            pool.join(timeout=timeout)
            pool.kill(block=True, timeout=1)

    return GatewayHandler, GatewayServer


def make_server(
    app: WSGIApplication,
    bind: Address = ("127.0.0.1", 8000),
    *,
    script_name: str = "",
    access_log: bool = False,
) -> t.Any:
    """A started-not-yet gevent server for ``app`` on ``bind``;
    ``access_log`` turns on pywsgi's own line on stderr."""
    _, server_class = _server_classes()
    listener = bind_socket(bind)
    return server_class(
        listener,
        with_script_name(app, script_name),
        log=sys.stderr if access_log else None,
        error_log=sys.stderr,
    )


def serve(
    app: WSGIApplication,
    *,
    bind: Address = ServeOptions.bind,
    script_name: str = "",
    graceful_timeout: float = GRACEFUL_TIMEOUT,
    access_log: bool = False,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop gracefully.

    Patches the standard library if nobody did (too late for modules that
    already hold references to blocking functions: prefer :func:`patch` or
    ``gateway serve`` which does it first).
    """
    patch()
    import gevent
    from gevent.event import Event

    server = make_server(app, bind, script_name=script_name, access_log=access_log)
    stop = Event()
    signals_seen: list[int] = []

    def on_signal(signum: int) -> None:
        signals_seen.append(signum)
        if len(signals_seen) > 1:
            print("gateway: second signal, stopping now", file=sys.stderr, flush=True)
            server.pool.kill(block=False)
        stop.set()

    handlers = [
        gevent.signal_handler(signum, on_signal, signum)
        for signum in (signal.SIGTERM, signal.SIGINT)
    ]
    try:
        server.start()
        announce("gevent", describe(bind))
        stop.wait()
        print(
            f"gateway: stopping gevent (waiting up to {graceful_timeout:g}s"
            " for in-flight requests)",
            file=sys.stderr,
            flush=True,
        )
        server.graceful_stop(graceful_timeout)
    finally:
        for handler in handlers:
            handler.cancel()
        if isinstance(bind, str):
            _unlink_quietly(bind)


def _unlink_quietly(path: str) -> None:
    import os

    try:
        os.unlink(path)
    except OSError:
        pass


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter gevent``: build the gateway and serve it."""
    patch()
    from gateway.dispatch import build_gateway

    if options.workers > 1:
        print(
            "gateway: gevent runs one process; workers setting ignored"
            " (run several behind an nginx upstream to use more cores)",
            file=sys.stderr,
        )
    serve(
        build_gateway(config),
        bind=options.bind,
        script_name=options.script_name,
        graceful_timeout=options.graceful_timeout,
    )


def main(argv: list[str]) -> int:
    """Entry of :data:`BOOTSTRAP`: ``[config_path, overrides_json]``."""
    from .cli import run_serve

    config_path, overrides = argv[0], json.loads(argv[1])
    return run_serve(config_path, "gevent", overrides)
