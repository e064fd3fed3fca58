"""The development server: Werkzeug's ``run_simple``, threaded, with the
reloader (watching the gateway.toml too) and, in debug mode, the debugger.

Not for production: it is what ``gateway serve`` uses while developing.
Werkzeug's request handler drops headers whose names contain ``_`` and logs
requests to stderr in its usual format. SIGTERM stops it like Ctrl-C.
"""

from __future__ import annotations

import signal
import typing as t

from .middleware import with_script_name
from .options import Address, ServeOptions

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig


def _raise_interrupt(signum: int, frame: t.Any) -> None:
    raise KeyboardInterrupt


def _host_port(bind: Address) -> tuple[str, int]:
    if isinstance(bind, str):
        return f"unix://{bind}", 0
    return bind


def serve(
    app: WSGIApplication,
    *,
    bind: Address = ServeOptions.bind,
    script_name: str = "",
    reload: bool = False,
    debug: bool = False,
    extra_files: t.Sequence[str] = (),
) -> None:
    """Run the Werkzeug development server until interrupted."""
    from werkzeug.serving import run_simple

    signal.signal(signal.SIGTERM, _raise_interrupt)
    host, port = _host_port(bind)
    run_simple(
        host,
        port,
        with_script_name(app, script_name),
        use_reloader=reload,
        use_debugger=debug,
        threaded=True,
        extra_files=list(extra_files),
    )


class _NotLoaded:
    """Stands in for the app in the reloader's parent, which never serves."""

    def __call__(
        self, environ: t.Any, start_response: t.Any
    ) -> t.Any:  # pragma: no cover
        raise RuntimeError("the reloader's parent process does not serve requests")


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter dev``: the reloader restarts the server when
    Python code or the gateway.toml changes."""
    from werkzeug.serving import is_running_from_reloader

    from gateway.dispatch import build_gateway

    app: t.Any
    if options.reload and not is_running_from_reloader():
        app = _NotLoaded()
    else:
        app = build_gateway(config)
    extra = [str(config.path)] if config.path is not None else []
    serve(
        app,
        bind=options.bind,
        script_name=options.script_name,
        reload=options.reload,
        debug=options.debug,
        extra_files=extra,
    )
