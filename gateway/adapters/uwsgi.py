"""uWSGI: the ``uwsgi`` program, started with the options a gateway needs.

``gateway serve --adapter uwsgi`` replaces itself (``exec``) with::

    uwsgi --master --need-app --die-on-term ... \\
          --module gateway.adapters.uwsgi_app:application --env GATEWAY_CONFIG=/abs/gateway.toml

- ``--need-app``: a gateway that fails to import makes uWSGI exit (22)
  instead of answering 500 forever;
- ``--die-on-term`` and the ``gracefully_kill_them_all`` hook on signal 15:
  uWSGI 2.0 *reloads* on SIGTERM by default; here SIGTERM stops it after
  in-flight requests finish (``graceful_timeout`` as the mercy), as
  supervisors and systemd expect;
- no ``--lazy-apps``: the master builds the gateway once and forks (the
  dispatcher starts no threads, and tenant apps are created in the workers
  on first use). With lazy apps, a SIGTERM arriving while a worker was still
  loading left uWSGI 2.0.31 waiting for that worker forever;
- the uwsgi protocol on ``[server].socket`` (mode 0666, removed on exit) for
  nginx ``uwsgi_pass``, or with ``--http`` uWSGI's own HTTP parser on ``bind``.

A deployment that keeps its own uwsgi ini loads the ``NAME_uwsgi.py`` entry
file of ``gateway entry uwsgi`` instead (``wsgi-file = ...``).

uWSGI's HTTP parser keeps headers whose names contain ``_`` (merging them with
the dashed spelling) and sets ``wsgi.url_scheme`` from any client's
``X-Forwarded-Proto``; the http mode here pins the scheme to ``http`` (the
gateway's ``[proxy]`` table decides what to believe), and in production nginx
in front drops the ``_`` headers.
"""

from __future__ import annotations

import os
import typing as t

from .options import ServeOptions, format_bind

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig

#: Environment variables the ``application`` of this module is built from.
CONFIG_ENV = "GATEWAY_CONFIG"
SCRIPT_NAME_ENV = "GATEWAY_SCRIPT_NAME"
SCHEME_ENV = "GATEWAY_URL_SCHEME"


def _uwsgi_address(address: t.Any) -> str:
    return address if isinstance(address, str) else format_bind(address)


def uwsgi_argv(
    executable: str,
    config_path: str,
    options: ServeOptions,
    *,
    name: str = "gateway",
) -> list[str]:
    """The uwsgi command line for these options (pure, tested as a table)."""
    mercy = str(max(1, round(options.graceful_timeout)))
    argv = [
        executable,
        "--strict",
        "--master",
        "--need-app",
        "--enable-threads",
        "--single-interpreter",
        "--die-on-term",
        "--hook-master-start",
        "unix_signal:15 gracefully_kill_them_all",
        "--reload-mercy",
        mercy,
        "--worker-reload-mercy",
        mercy,
        "--processes",
        str(options.workers),
        "--threads",
        str(options.threads),
        "--procname-prefix-spaced",
        f"{name}:",
        "--module",
        "gateway.adapters.uwsgi_app:application",
        "--env",
        f"{CONFIG_ENV}={config_path}",
    ]
    if options.http:
        # Behind nginx's uwsgi_pass, nginx passes SCRIPT_NAME itself; speaking
        # HTTP, uWSGI is the front and the stripped prefix comes from here.
        if options.script_name:
            argv += ["--env", f"{SCRIPT_NAME_ENV}={options.script_name}"]
        argv += ["--env", f"{SCHEME_ENV}=http"]
        argv += ["--http-socket", _uwsgi_address(options.bind)]
        where = options.bind
    else:
        argv += ["--socket", _uwsgi_address(options.socket)]
        where = options.socket
    if isinstance(where, str):
        argv += ["--chmod-socket=666", "--vacuum"]
    return argv


def application_from_environment() -> WSGIApplication:
    """Build the gateway named by ``$GATEWAY_CONFIG`` (what uWSGI runs under
    ``gateway serve``), with ``$GATEWAY_SCRIPT_NAME`` as SCRIPT_NAME prefix."""
    from gateway.dispatch import build_gateway
    from gateway.toml import load_config

    from .middleware import with_script_name

    try:
        path = os.environ[CONFIG_ENV]
    except KeyError:
        raise RuntimeError(
            f"{CONFIG_ENV} is not set: start uWSGI with 'gateway serve --adapter"
            " uwsgi', or load the entry file written by 'gateway entry uwsgi'"
        ) from None
    app: t.Any = with_script_name(
        build_gateway(load_config(path)),  # type: ignore[arg-type]
        os.environ.get(SCRIPT_NAME_ENV, ""),
    )
    scheme = os.environ.get(SCHEME_ENV, "")
    if scheme:
        app = FixedScheme(app, scheme)
    return app  # type: ignore[no-any-return]


class FixedScheme:
    """Pin ``wsgi.url_scheme``. uWSGI's HTTP parser takes it from any
    client's ``X-Forwarded-Proto`` header; only the gateway's ``[proxy]``
    trust may believe that header."""

    def __init__(self, app: WSGIApplication, scheme: str) -> None:
        self.app = app
        self.scheme = scheme

    def __call__(self, environ: t.Any, start_response: t.Any) -> t.Any:
        environ["wsgi.url_scheme"] = self.scheme
        return self.app(environ, start_response)


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter uwsgi``: exec the uwsgi program."""
    from . import find_executable

    if config.path is None:
        from . import CannotServe

        raise CannotServe("uWSGI loads the gateway from a gateway.toml file path")
    executable = find_executable("uwsgi", "uwsgi")
    argv = uwsgi_argv(executable, str(config.path.resolve()), options, name=config.name)
    target = options.bind if options.http else options.socket
    if isinstance(target, str):
        from .sockets import remove_stale_unix_socket

        remove_stale_unix_socket(target)
    os.execv(executable, argv)
