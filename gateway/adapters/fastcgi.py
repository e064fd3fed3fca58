"""FastCGI with flup: ``flup.server.fcgi.WSGIServer`` (threaded).

Two ways to run it:

- as an external server on a unix socket or TCP port that nginx
  (``fastcgi_pass``) or lighttpd connect to: ``gateway serve --adapter
  fastcgi`` or the ``.fcgi`` entry run by hand / by supervisor;
- spawned by the web server (Apache mod_fcgid, lighttpd ``bin-path``,
  supervisor's ``[fcgi-program:x]``), which hands over a listening socket as
  stdin: the ``.fcgi`` entry detects that and serves on it.

``SCRIPT_NAME`` / ``PATH_INFO`` come from the front server, so a sub-path is a
matter of its configuration (nginx ``fastcgi_split_path_info``, Apache
``ScriptAlias /app /path/app.fcgi``), not of a ScriptNameStripper-style
middleware. Unix sockets are created mode 0666 for a front server running as
another user. A live socket is never stolen (flup would unlink it).

flup writes tracebacks to the FastCGI stderr stream (the web server's error
log) and answers a generic 500 page. SIGTERM / SIGINT stop accepting and wait
for running requests. Under ``gateway serve`` a master process runs flup in a
child and turns SIGHUP into a graceful reload (:mod:`.master`); a ``.fcgi``
entry run by hand or by a web server stops on SIGHUP (flup's convention is
to leave its loop).

flup has no timeouts of its own: ``[server].header_timeout`` and
``keepalive_timeout`` do not apply. The front server reads the client's
request whole before it opens a FastCGI connection, so its own timeouts
(nginx ``client_header_timeout``, ``client_body_timeout``) protect it.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import typing as t

from . import require
from .options import Address, ServeOptions
from .sockets import announce, describe, remove_socket_file, remove_stale_unix_socket

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig


def stdin_is_listening_socket(fd: int = 0) -> bool:
    """Whether ``fd`` is a listening socket (the FastCGI way a web server
    hands its socket to a process it spawned)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return False
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except OSError:
        return False
    finally:
        sock.close()


def flup_bind_address(address: Address | None) -> str | tuple[t.Any, ...] | None:
    """The ``bindAddress`` flup expects (IPv6 needs a 4-tuple there)."""
    if address is None or isinstance(address, str):
        return address
    host, port = address
    return (host, port, 0, 0) if ":" in host else (host, port)


#: Seconds a stopping server waits for its threads to pick up the
#: connections it accepted last.
_HANDOFF_TIMEOUT = 5.0
#: Seconds between two looks at the thread pool while every thread is busy.
_FREE_THREAD_POLL = 0.005


def _server_class(base: type) -> type:
    """flup's WSGIServer, minus two ways it resets a client's connection:

    - flup accepts a connection, then closes it at once when no thread is
      idle (``ThreadPool.addJob(..., allowQueuing=False)`` in
      ``ThreadedServer.run``); a unix socket closed with the request unread
      is a reset. A thread counts as busy until it has seen the client close
      after the response (``Connection._cleanupSocket``), which, when the
      machine is busy (a new child starting during a reload), trails the
      client by long enough that the threads of a few back-to-back clients
      are all "busy". The main loop now accepts only when a thread is free,
      leaving the next connection in the socket's backlog (where, during a
      reload, the other child may take it).
    - a worker thread woken by the stop leaves without running a connection
      queued a moment before. The queue is emptied first.
    """

    class GatewayFCGIServer(base):  # type: ignore[misc]
        def _mainloopPeriodic(self) -> None:
            # flup's hook at the end of each turn of its accept loop, before
            # the next select()/accept(). flup's idle count drops only when a
            # thread takes a queued job, so a free thread for the next
            # connection means more idle threads than queued jobs; this
            # thread alone queues jobs, so that stays true until it accepts.
            pool = self._threadPool
            while self._keepGoing and pool._idleCount <= len(pool._workQueue):
                time.sleep(_FREE_THREAD_POLL)

        def shutdown(self) -> None:
            pool = self._threadPool
            deadline = time.monotonic() + _HANDOFF_TIMEOUT
            while pool._workQueue and time.monotonic() < deadline:
                time.sleep(0.01)
            super().shutdown()

    return GatewayFCGIServer


def serve(
    app: WSGIApplication,
    *,
    bind: Address | None = None,
    threads: int = ServeOptions.threads,
    listen_fd: int | None = None,
    ready_fd: int | None = None,
) -> None:
    """Serve ``app`` over FastCGI until SIGTERM / SIGINT.

    ``bind=None`` serves on the listening socket inherited as stdin (or, in a
    plain CGI context, answers the one request flup finds there). In a child
    of the master process, ``listen_fd`` is the inherited socket (``bind``
    then only names it) and ``ready_fd`` the pipe that hears it is ready.
    """
    fcgi = require("flup.server.fcgi", "fastcgi", "flup")
    managed = listen_fd is not None
    where = "stdin socket" if bind is None else describe(bind, "fcgi")
    own = bind
    if listen_fd is not None:
        # flup serves on a listening socket found as stdin (the FastCGI way).
        os.dup2(listen_fd, 0)
        os.close(listen_fd)
        own = None
    elif isinstance(bind, str):
        remove_stale_unix_socket(bind)
    server = _server_class(fcgi.WSGIServer)(
        app,
        bindAddress=flup_bind_address(own),
        umask=0o111 if isinstance(own, str) else None,
        multithreaded=True,
        multiprocess=False,
        debug=False,
        maxThreads=threads,
        maxSpare=threads,
    )
    announce("fastcgi (flup)", where, ready_fd)
    try:
        server.run()
    finally:
        remove_socket_file(bind, managed)


def require_server() -> None:
    """Raise :class:`~gateway.adapters.ServerNotInstalled` unless the server
    package is installed (checked by the master before it binds)."""
    require("flup.server.fcgi", "fastcgi", "flup")


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter fastcgi``: listen on ``[server].socket``
    (or ``--bind``)."""
    require("flup.server.fcgi", "fastcgi", "flup")
    from gateway.dispatch import build_gateway

    serve(
        build_gateway(config),
        bind=options.socket,
        threads=options.threads,
        listen_fd=options.listen_fd,
        ready_fd=options.ready_fd,
    )


def run_entry(toml_path: str, entry_file: str | None = None) -> None:
    """What a ``.fcgi`` entry file calls.

    Spawned by a web server with a socket on stdin, or in a CGI context
    (``GATEWAY_INTERFACE`` set), it serves what it was handed; run by hand it
    listens on the gateway.toml's ``[server].socket``. ``entry_file`` (the
    entry's ``__file__``) lets a rewrite-based set-up (``.htaccess``) publish
    the app under ``[server].script_name`` rather than under the file's name;
    see :class:`~.middleware.EntryScriptName`.
    """
    from gateway.dispatch import build_gateway
    from gateway.toml import load_config

    from .middleware import EntryScriptName
    from .options import resolve_options

    config = load_config(toml_path)
    bind: Address | None = None
    if stdin_is_listening_socket():
        # Spawned by the web server: stdout is not the client, keep user
        # code's print() in the error log with everything else.
        sys.stdout = sys.stderr
    elif "GATEWAY_INTERFACE" not in os.environ:
        bind = resolve_options(config.server).socket
    app: t.Any = build_gateway(config)
    if entry_file:
        app = EntryScriptName(
            app, os.path.basename(entry_file), config.server.script_name
        )
    serve(app, bind=bind, threads=config.server.threads)
