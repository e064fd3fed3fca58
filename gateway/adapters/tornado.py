"""Tornado: ``HTTPServer`` around a WSGI container running the app in threads.

Tornado's stock ``WSGIContainer`` runs the application on the IOLoop thread
unless given an executor, and buffers the whole response. The container here
(:class:`GatewayContainer`) always runs the app and each ``next()`` of its
body on a ``ThreadPoolExecutor`` (``[server].threads`` workers), so a slow view
never blocks the loop; it streams the body as it is produced (chunked when
there is no Content-Length), drops request headers whose names contain ``_``,
sets ``SCRIPT_NAME`` from ``[server].script_name`` and answers a bare 500 if
the application fails before its first byte (the traceback goes to the log).

A new connection must send its request head within ``header_timeout``
seconds, a kept-alive one its next head within ``keepalive_timeout`` (Tornado
has one timer for the wait and the head; it closes the connection when it
fires).

SIGTERM / SIGINT stop accepting, wait up to ``graceful_timeout`` for in-flight
requests, then close the remaining (idle) connections. Under ``gateway serve``
a master process runs this server in a child and turns SIGHUP into a graceful
reload (:mod:`.master`). Errors use Tornado's own format on stderr
(``enable_pretty_logging``); its access lines are off, the gateway writes its
own (``[logging].access``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import sys
import typing as t
from concurrent.futures import ThreadPoolExecutor

from . import require
from .master import stop_signals
from .middleware import drop_ambiguous_headers, with_script_name
from .options import GRACEFUL_TIMEOUT, Address, ServeOptions
from .sockets import announce, describe, listening_socket, remove_socket_file

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig

_ERROR_BODY = b"Internal Server Error"


def _container_class() -> type:
    require("tornado", "tornado")
    from tornado import httputil
    from tornado.ioloop import IOLoop
    from tornado.iostream import StreamClosedError
    from tornado.log import app_log
    from tornado.wsgi import WSGIContainer

    class GatewayContainer(WSGIContainer):
        """A streaming, thread-pooled WSGI container that counts in-flight
        requests so the server can wait for them on shutdown."""

        def __init__(
            self, wsgi_application: WSGIApplication, executor: ThreadPoolExecutor
        ) -> None:
            super().__init__(wsgi_application, executor=executor)
            self.in_flight = 0
            self.drained = asyncio.Event()
            self.drained.set()

        def environ(self, request: httputil.HTTPServerRequest) -> dict[str, t.Any]:
            headers = httputil.HTTPHeaders()
            for name, value in drop_ambiguous_headers(request.headers.get_all()):
                headers.add(name, value)
            request.headers = headers
            environ = super().environ(request)
            # Tornado hands over the whole body, decoded from chunks if it
            # came chunked (then with no Content-Length): it ends at EOF.
            environ["wsgi.input_terminated"] = True
            return environ

        async def handle_request(self, request: httputil.HTTPServerRequest) -> None:
            self.in_flight += 1
            self.drained.clear()
            try:
                await self._respond(request)
            finally:
                self.in_flight -= 1
                if not self.in_flight:
                    self.drained.set()

        async def _respond(self, request: httputil.HTTPServerRequest) -> None:
            loop = IOLoop.current()
            state: dict[str, t.Any] = {}
            written: list[bytes] = []

            def start_response(
                status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
            ) -> t.Callable[[bytes], t.Any]:
                if exc_info is not None and state.get("sent"):
                    raise exc_info[1].with_traceback(exc_info[2])
                state["status"], state["headers"] = status, headers
                return written.append

            def first_chunk(
                iterable: t.Iterable[bytes],
            ) -> tuple[t.Iterator[bytes], bytes]:
                iterator = iter(iterable)
                for chunk in iterator:
                    if chunk:
                        return iterator, chunk
                return iterator, b""

            body: t.Any = None
            conn = request.connection
            assert conn is not None
            try:
                body = await loop.run_in_executor(
                    self.executor,
                    self.wsgi_application,
                    self.environ(request),
                    start_response,
                )
                iterator, chunk = await loop.run_in_executor(
                    self.executor, first_chunk, body
                )
                if "status" not in state:
                    raise RuntimeError(
                        "the WSGI application did not call start_response"
                    )
            except Exception:
                app_log.exception("error in WSGI application for %s", request.uri)
                await self._close(loop, body)
                self._send_error(request)
                return

            status_code_s, reason = state["status"].split(" ", 1)
            status_code = int(status_code_s)
            header_obj = httputil.HTTPHeaders()
            for key, value in state["headers"]:
                header_obj.add(key, value)
            if "Server" not in header_obj:
                header_obj["Server"] = "gateway (tornado)"
            head = request.method == "HEAD"
            prefix = b"".join(written)
            written.clear()
            state["sent"] = True
            try:
                await conn.write_headers(
                    httputil.ResponseStartLine("HTTP/1.1", status_code, reason),
                    header_obj,
                    chunk=None if head else (prefix + chunk) or None,
                )
                while True:
                    chunk = await loop.run_in_executor(
                        self.executor, next, iterator, None
                    )
                    if chunk is None:
                        break
                    chunk = b"".join(written) + chunk
                    written.clear()
                    if chunk and not head:
                        await conn.write(chunk)
                conn.finish()
            except StreamClosedError:
                pass  # the client went away; nothing left to tell it
            except Exception:
                # Headers are out: the only honest signal left is a cut connection.
                app_log.exception(
                    "error while streaming the response to %s", request.uri
                )
                conn.detach().close()  # type: ignore[attr-defined]  # an HTTP1Connection
            finally:
                await self._close(loop, body)
            self._log(status_code, request)

        async def _close(self, loop: t.Any, body: t.Any) -> None:
            close = getattr(body, "close", None)
            if close is not None:
                try:
                    await loop.run_in_executor(self.executor, close)
                except Exception:
                    app_log.exception("error closing the WSGI response")

        def _send_error(self, request: httputil.HTTPServerRequest) -> None:
            assert request.connection is not None
            headers = httputil.HTTPHeaders(
                {
                    "Content-Type": "text/plain; charset=utf-8",
                    "Content-Length": str(len(_ERROR_BODY)),
                }
            )
            request.connection.write_headers(
                httputil.ResponseStartLine("HTTP/1.1", 500, "Internal Server Error"),
                headers,
                chunk=None if request.method == "HEAD" else _ERROR_BODY,
            )
            request.connection.finish()
            self._log(500, request)

    return GatewayContainer


def _server_class() -> type:
    from tornado.httpserver import HTTPServer

    from .sockets import set_nodelay

    class GatewayHTTPServer(HTTPServer):
        """``HTTPServer`` with TCP_NODELAY, a shorter head timeout for the
        requests after the first on a connection (``keepalive_params``), and
        the streams of new connections whose first request has not started
        (``fresh``): a graceful stop waits for them too."""

        keepalive_params: t.Any = None
        fresh: set[t.Any]

        def handle_stream(self, stream: t.Any, address: t.Any) -> None:
            set_nodelay(stream.socket)
            self.fresh.add(stream)
            super().handle_stream(stream, address)

        def start_request(self, server_conn: t.Any, request_conn: t.Any) -> t.Any:
            # The first request's connection was made with conn_params
            # (header_timeout); the next ones take the connection's params.
            if server_conn.params is self.conn_params and self.keepalive_params:
                server_conn.params = self.keepalive_params
            self.fresh.discard(server_conn.stream)
            return super().start_request(server_conn, request_conn)

        def on_close(self, server_conn: t.Any) -> None:
            self.fresh.discard(server_conn.stream)
            super().on_close(server_conn)

    return GatewayHTTPServer


async def _serve(
    app: WSGIApplication,
    bind: Address,
    threads: int,
    graceful_timeout: float,
    timeouts: tuple[float, float],
    listen_fd: int | None,
    ready_fd: int | None,
) -> None:
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")
    container = _container_class()(app, executor)
    header_timeout, keepalive_timeout = timeouts
    server = _server_class()(
        container,
        xheaders=False,
        idle_connection_timeout=header_timeout,
        no_keep_alive=not keepalive_timeout,
    )
    server.keepalive_params = copy.copy(server.conn_params)
    server.fresh = set()
    server.keepalive_params.header_timeout = keepalive_timeout
    managed = listen_fd is not None
    listener = listening_socket(bind, listen_fd)
    listener.setblocking(False)  # the IOLoop accepts without blocking
    server.add_sockets([listener])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    def on_signal(signum: int) -> None:
        seen.append(signum)
        if len(seen) > 1 and not managed:
            print("gateway: second signal, stopping now", file=sys.stderr, flush=True)
            server.fresh.clear()
            container.drained.set()
        stop.set()

    for signum in stop_signals(managed):
        loop.add_signal_handler(signum, on_signal, signum)
    announce("tornado", describe(bind), ready_fd)
    try:
        await stop.wait()
        print(
            f"gateway: stopping tornado (waiting up to {graceful_timeout:g}s"
            " for in-flight requests)",
            file=sys.stderr,
            flush=True,
        )
        server.stop()
        try:
            await asyncio.wait_for(_drained(container, server), graceful_timeout)
        except TimeoutError:
            print(
                f"gateway: {container.in_flight} request(s) still running, closing",
                file=sys.stderr,
                flush=True,
            )
        await asyncio.wait_for(server.close_all_connections(), 5)
    finally:
        for signum in stop_signals(managed):
            loop.remove_signal_handler(signum)
        executor.shutdown(wait=False, cancel_futures=True)
        remove_socket_file(bind, managed)


async def _drained(container: t.Any, server: t.Any) -> None:
    """Until no request runs and every connection accepted has started its
    first request (one accepted just before the stop is answered too; one
    that sends nothing is closed by the header timeout)."""
    while True:
        await container.drained.wait()
        if not server.fresh:
            return
        await asyncio.sleep(0.02)


def serve(
    app: WSGIApplication,
    *,
    bind: Address = ServeOptions.bind,
    threads: int = ServeOptions.threads,
    script_name: str = "",
    graceful_timeout: float = GRACEFUL_TIMEOUT,
    header_timeout: float = ServeOptions.header_timeout,
    keepalive_timeout: float = ServeOptions.keepalive_timeout,
    listen_fd: int | None = None,
    ready_fd: int | None = None,
) -> None:
    """Serve ``app`` with Tornado until SIGTERM or SIGINT (only SIGTERM in a
    child of the master process, given ``listen_fd`` and ``ready_fd``)."""
    require("tornado", "tornado")
    from tornado.log import enable_pretty_logging

    enable_pretty_logging()
    logging.getLogger("tornado.access").disabled = True  # [logging].access
    asyncio.run(
        _serve(
            with_script_name(app, script_name),
            bind,
            threads,
            graceful_timeout,
            (header_timeout, keepalive_timeout),
            listen_fd,
            ready_fd,
        )
    )


def require_server() -> None:
    """Raise :class:`~gateway.adapters.ServerNotInstalled` unless the server
    package is installed (checked by the master before it binds)."""
    require("tornado", "tornado")


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter tornado``."""
    require("tornado", "tornado")
    from gateway.dispatch import build_gateway

    if options.workers > 1:
        print(
            "gateway: tornado runs one process here; workers setting ignored"
            " (threads sets the size of the WSGI thread pool)",
            file=sys.stderr,
        )
    serve(
        build_gateway(config),
        bind=options.bind,
        threads=options.threads,
        script_name=options.script_name,
        graceful_timeout=options.graceful_timeout,
        header_timeout=options.header_timeout,
        keepalive_timeout=options.keepalive_timeout,
        listen_fd=options.listen_fd,
        ready_fd=options.ready_fd,
    )
