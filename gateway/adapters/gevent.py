"""gevent: ``gevent.pywsgi.WSGIServer``, one process, a greenlet per connection.

gevent only helps when blocking calls yield to its loop, which needs
``gevent.monkey.patch_all()`` to run before anything else imports ``socket``,
``ssl`` or ``threading``. ``gateway serve --adapter gevent`` therefore runs
the server in a fresh interpreter (:data:`.master.CHILD`) which patches first
and only then imports the gateway. Code calling :func:`serve` itself should
call :func:`patch` at the very top of its main module.

On top of the stock server this adds:

- ``SCRIPT_NAME`` from ``[server].script_name`` (pywsgi always reports "");
- ``TCP_NODELAY`` on accepted connections (Nagle + delayed ACK otherwise cap a
  keep-alive connection at ~25 requests/s);
- connection timeouts (``[server]``): a new connection must send its request
  line and headers within ``header_timeout`` seconds, a kept-alive one its
  next request head within ``keepalive_timeout``; a connection that sent
  nothing or half a request line is closed, one stuck in its headers gets a
  408;
- a graceful stop on SIGTERM / SIGINT: the listener closes, idle keep-alive
  connections are dropped, in-flight requests finish (up to
  ``graceful_timeout`` seconds) and their connections close; a second signal
  stops at once. Under ``gateway serve`` a master process runs this server in
  a child and turns SIGHUP into a graceful reload (:mod:`.master`).

Headers whose names contain ``_`` are dropped by pywsgi's handler itself.
pywsgi's own access line is off: the gateway's access log (``[logging].access``)
writes one line per request, the same on every adapter.
"""

from __future__ import annotations

import sys
import typing as t

from . import require
from .master import stop_signals
from .middleware import with_script_name
from .options import GRACEFUL_TIMEOUT, Address, ServeOptions
from .sockets import (
    announce,
    describe,
    listening_socket,
    remove_socket_file,
    set_nodelay,
)

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig


def patch() -> None:
    """Monkey-patch the standard library for gevent, once."""
    monkey = require("gevent.monkey", "gevent", "gevent")
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()


#: What a connection whose headers did not arrive in time gets.
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)


class HeadTimeout(ValueError):
    """The request head did not arrive within its timeout."""


def _server_classes() -> tuple[type, type]:
    """Build the handler and server classes (gevent is imported lazily)."""
    require("gevent.pywsgi", "gevent", "gevent")
    import gevent
    from gevent import pywsgi
    from gevent.pool import Pool

    class GatewayHandler(pywsgi.WSGIHandler):
        """Times the request head (``header_timeout`` on a new connection,
        ``keepalive_timeout`` on a kept-alive one), marks a kept-alive
        connection idle while it waits for its next request, and closes the
        connection after its response once the server is stopping."""

        server: GatewayServer
        #: Requests read on this connection so far.
        served = 0
        #: Running from the start of a request head until it is read.
        head_timer: t.Any = None

        def handle(self) -> None:
            try:
                super().handle()
            finally:
                self._cancel_timer()

        def read_requestline(self) -> str:
            if self.server.stopping and self.served:
                return ""  # no new request on a kept-alive connection: close it
            # A new connection is not idle: its client has sent, or is
            # sending, a request that must be answered even while stopping.
            self.server.mark(idle=bool(self.served))
            seconds = (
                self.server.keepalive_timeout
                if self.served
                else self.server.header_timeout
            )
            timer = self.head_timer = gevent.Timeout(seconds, HeadTimeout(seconds))
            timer.start()
            try:
                line = super().read_requestline()
            except HeadTimeout as e:
                if e is not timer.exception:
                    raise
                return ""  # nothing, or half a request line: close quietly
            if not line.endswith("\n"):
                self._cancel_timer()  # end of stream or too long: no headers follow
            self.server.mark(idle=False)
            return line

        def read_request(self, raw_requestline: str) -> t.Any:
            try:
                rv = super().read_request(raw_requestline)
            finally:
                self._cancel_timer()
            self.served += 1
            if self.server.stopping or not self.server.keepalive_timeout:
                self.close_connection = True
            return rv

        def _cancel_timer(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _handle_client_error(self, ex: BaseException) -> t.Any:
            if isinstance(ex, HeadTimeout):
                self.log_error(
                    "(from %s) request head not received within %gs",
                    self.client_address,
                    ex.args[0],
                )
                return ("408", _TIMEOUT_RESPONSE)
            return super()._handle_client_error(ex)  # type: ignore[misc]  # not in the stubs

    class GatewayServer(pywsgi.WSGIServer):
        """``pywsgi.WSGIServer`` with TCP_NODELAY and a graceful stop."""

        handler_class = GatewayHandler

        def __init__(
            self,
            listener: t.Any,
            application: t.Any,
            *,
            header_timeout: float = ServeOptions.header_timeout,
            keepalive_timeout: float = ServeOptions.keepalive_timeout,
            **kw: t.Any,
        ) -> None:
            super().__init__(listener, application, spawn=Pool(), **kw)
            self.header_timeout = header_timeout
            self.keepalive_timeout = keepalive_timeout
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
    header_timeout: float = ServeOptions.header_timeout,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
    listen_fd: int | None = None,
) -> t.Any:
    """A started-not-yet gevent server for ``app`` on ``bind`` (or on the
    inherited socket ``listen_fd``); ``access_log`` turns on pywsgi's own
    line on stderr."""
    _, server_class = _server_classes()
    listener = listening_socket(bind, listen_fd)
    return server_class(
        listener,
        with_script_name(app, script_name),
        header_timeout=header_timeout,
        keepalive_timeout=keepalive_timeout,
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
    header_timeout: float = ServeOptions.header_timeout,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
    listen_fd: int | None = None,
    ready_fd: int | None = None,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop gracefully.

    ``listen_fd`` and ``ready_fd`` are set in a child of the master process
    (:mod:`.master`), which turns Ctrl-C into one SIGTERM: then only SIGTERM
    stops, and a repeated one does not cut requests short.

    Patches the standard library if nobody did (too late for modules that
    already hold references to blocking functions: prefer :func:`patch` or
    ``gateway serve`` which does it first).
    """
    patch()
    import gevent
    from gevent.event import Event

    server = make_server(
        app,
        bind,
        script_name=script_name,
        access_log=access_log,
        header_timeout=header_timeout,
        keepalive_timeout=keepalive_timeout,
        listen_fd=listen_fd,
    )
    managed = listen_fd is not None
    stop = Event()
    signals_seen: list[int] = []

    def on_signal(signum: int) -> None:
        signals_seen.append(signum)
        if len(signals_seen) > 1 and not managed:
            print("gateway: second signal, stopping now", file=sys.stderr, flush=True)
            server.pool.kill(block=False)
        stop.set()

    handlers = [
        gevent.signal_handler(signum, on_signal, signum)
        for signum in stop_signals(managed)
    ]
    try:
        server.start()
        announce("gevent", describe(bind), ready_fd)
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
        remove_socket_file(bind, managed)


def require_server() -> None:
    """Raise :class:`~gateway.adapters.ServerNotInstalled` unless the server
    package is installed (checked by the master before it binds)."""
    require("gevent.pywsgi", "gevent", "gevent")


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
        header_timeout=options.header_timeout,
        keepalive_timeout=options.keepalive_timeout,
        listen_fd=options.listen_fd,
        ready_fd=options.ready_fd,
    )
