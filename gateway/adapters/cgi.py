"""CGI: one process per request, run by the web server (Apache mod_cgid's
``ScriptAlias``, nginx + fcgiwrap).

The ``.cgi`` entry file (``gateway entry cgi``) calls :func:`run_entry`. On
top of ``wsgiref.handlers.CGIHandler`` this:

- reads the whole request body before the application runs (spooled to a
  temporary file past 1 MiB). A CGI program that answers without consuming
  its input makes the server fail writing it (a truncated response), and one
  that writes a large response while the server is still writing a large body
  deadlocks; reading first avoids both, whatever the application does;
- sends ``print`` output from user code to stderr (the server's error log)
  while the application is loaded and runs, because stdout *is* the response;
- answers a bare 500 if the application fails (wsgiref's behaviour), with the
  traceback in the error log, never in the response.

Headers whose names contain ``_`` are dropped by the front server (Apache 2.4,
nginx's default) before the CGI variables are built.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import typing as t
from wsgiref.handlers import CGIHandler, read_environ

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig

    from .options import ServeOptions

#: Bodies larger than this are spooled to disk rather than kept in memory.
SPOOL_MAX_MEMORY = 1024 * 1024


def read_body(stream: t.BinaryIO, environ: t.Mapping[str, str]) -> t.BinaryIO:
    """Consume the request body from ``stream`` and return it rewound.

    Reads ``CONTENT_LENGTH`` bytes, or up to end-of-file when the server gave
    no length (a chunked request), which CGI servers signal by closing stdin.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)
    length_s = environ.get("CONTENT_LENGTH", "")
    if length_s.strip().isdigit():
        remaining = int(length_s)
        while remaining > 0:
            chunk = stream.read(min(remaining, 65536))
            if not chunk:
                break
            spool.write(chunk)
            remaining -= len(chunk)
    elif environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS"):
        shutil.copyfileobj(stream, spool)
    spool.seek(0)
    return spool  # type: ignore[return-value]  # a binary file, spooled or not


class GatewayCGIHandler(CGIHandler):
    """``CGIHandler`` reading its input from an already drained body."""

    def __init__(
        self, stdin: t.BinaryIO, stdout: t.BinaryIO, environ: dict[str, str]
    ) -> None:
        # CGIHandler.__init__ hard-wires sys.stdin/sys.stdout: call its base.
        super(CGIHandler, self).__init__(
            stdin, stdout, sys.stderr, environ, multithread=False, multiprocess=True
        )


def run(
    app: WSGIApplication,
    *,
    stdin: t.BinaryIO | None = None,
    stdout: t.BinaryIO | None = None,
    environ: dict[str, str] | None = None,
) -> None:
    """Answer this process's one CGI request with ``app``."""
    environ = read_environ() if environ is None else environ
    out = sys.stdout.buffer if stdout is None else stdout
    body = read_body(sys.stdin.buffer if stdin is None else stdin, environ)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            GatewayCGIHandler(body, out, environ).run(app)
    finally:
        body.close()
        out.flush()


def run_entry(toml_path: str, entry_file: str | None = None) -> None:
    """What a ``.cgi`` entry file calls: load the gateway (with ``print``
    sent to stderr already), then answer the request.

    ``entry_file`` (the entry's ``__file__``) lets a rewrite-based set-up
    (``.htaccess``) publish the app under ``[server].script_name`` rather than
    under the file's name; see :class:`~.middleware.EntryScriptName`.
    """
    from gateway.dispatch import build_gateway
    from gateway.toml import load_config

    from .middleware import EntryScriptName

    with contextlib.redirect_stdout(sys.stderr):
        config = load_config(toml_path)
        app: t.Any = build_gateway(config)
    if entry_file:
        app = EntryScriptName(
            app, os.path.basename(entry_file), config.server.script_name
        )
    run(app)


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """CGI programs are started by the web server, one per request."""
    from . import CannotServe

    raise CannotServe(
        "the cgi adapter is run by the web server, not by 'gateway serve':"
        " write the entry file with 'gateway entry cgi "
        f"{config.path or 'gateway.toml'} -o DIR' and point the server's"
        " ScriptAlias (or fcgiwrap) at it."
    )
