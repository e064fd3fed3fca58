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
  nginx ``uwsgi_pass``, or with ``--http`` uWSGI's own HTTP parser on ``bind``;
- ``--add-header "Connection: close"`` in http mode: ``--http-socket``
  answers HTTP/1.1 without keep-alive and closes the connection, and without
  that header a client that pipelines or keeps the connection alive (wrk)
  loses its next request. ``--http11-socket`` keeps connections alive but
  discards a pipelined request silently (uWSGI 2.0.31), and the ``--http``
  router's ``--http-keepalive`` is "non-pipelined" too: an honest close is
  the only answer that loses nothing (tests/integration/test_pipelining.py).

:func:`uwsgi_options` declares these options once: :func:`uwsgi_argv` turns
them into this command line, and ``gateway config uwsgi`` writes them into
its ini (with what a uWSGI started on its own must set itself:
:class:`Standalone`), so the two cannot drift apart. A deployment that keeps
its own uwsgi ini loads the ``NAME_uwsgi.py`` entry file of ``gateway entry
uwsgi`` instead (``wsgi-file = ...``).

uWSGI's HTTP parser keeps headers whose names contain ``_`` (merging them with
the dashed spelling) and sets ``wsgi.url_scheme`` from any client's
``X-Forwarded-Proto``; the http mode here pins the scheme to ``http`` (the
gateway's ``[proxy]`` table decides what to believe), and in production nginx
in front drops the ``_`` headers. A chunked request body, which
``--http-socket`` leaves unread, is decoded with uWSGI's chunked-input API
(:mod:`.uwsgi_input`, which also says what its parser cannot catch).
"""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass

from .options import ServeOptions, format_bind
from .uwsgi_input import decode_chunked_under_uwsgi

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication

    from gateway.toml import GatewayConfig

#: Environment variables the ``application`` of this module is built from.
CONFIG_ENV = "GATEWAY_CONFIG"
SCRIPT_NAME_ENV = "GATEWAY_SCRIPT_NAME"
SCHEME_ENV = "GATEWAY_URL_SCHEME"


def _uwsgi_address(address: t.Any) -> str:
    return address if isinstance(address, str) else format_bind(address)


class Option(t.NamedTuple):
    """One uWSGI option: ``--name value`` on the command line (``--name``
    alone for ``true``), ``name = value`` in an ini file, with ``why`` as
    the ini's comment above it."""

    name: str
    value: str = "true"
    why: str = ""


@dataclass(frozen=True)
class Standalone:
    """What uWSGI must set itself when it starts on its own, from the ini
    ``gateway config uwsgi`` writes: ``gateway serve`` gets all of it from
    its own process (the account, directory and environment that systemd,
    supervisor or the shell started it with, and the running virtualenv),
    and opens its socket to everyone because it does not know who connects."""

    user: str
    group: str
    workdir: str
    python_home: str
    #: Mode of the unix socket, owned by ``user:group`` (octal, "660").
    socket_mode: str = "660"


def uwsgi_options(
    config_path: str,
    options: ServeOptions,
    *,
    name: str = "gateway",
    standalone: Standalone | None = None,
) -> list[Option]:
    """The uWSGI options that run the gateway of ``config_path``: what
    :func:`uwsgi_argv` passes under ``gateway serve``, and, with
    ``standalone``, what ``gateway config uwsgi`` writes into the ini (pure,
    tested as a table and against the rendered ini)."""
    mercy = str(max(1, round(options.graceful_timeout)))
    out = [
        Option("strict", why="an unknown option is an error"),
        Option("master"),
        Option(
            "need-app",
            why="exit (status 22) when the gateway cannot be loaded,"
            " instead of answering 500s",
        ),
        Option("enable-threads"),
        Option("single-interpreter"),
        Option(
            "die-on-term",
            why="SIGTERM stops (uWSGI 2.0 would reload), after in-flight requests"
            " finish",
        ),
        Option("hook-master-start", "unix_signal:15 gracefully_kill_them_all"),
        Option("reload-mercy", mercy),
        Option("worker-reload-mercy", mercy),
        Option("processes", str(options.workers)),
        Option("threads", str(options.threads)),
        Option("procname-prefix-spaced", f"{name}:"),
    ]
    if standalone is not None:
        out += [
            Option("uid", standalone.user),
            Option("gid", standalone.group),
            Option("chdir", standalone.workdir),
            Option("home", standalone.python_home),
            Option("env", "LANG=C.UTF-8"),
        ]
    out += [
        Option("module", "gateway.adapters.uwsgi_app:application"),
        Option("env", f"{CONFIG_ENV}={config_path}"),
    ]
    if options.http:
        # Behind nginx's uwsgi_pass, nginx passes SCRIPT_NAME itself; speaking
        # HTTP, uWSGI is the front and the stripped prefix comes from here.
        if options.script_name:
            out.append(
                Option(
                    "env",
                    f"{SCRIPT_NAME_ENV}={options.script_name}",
                    why=f"published under {options.script_name}: the gateway"
                    " moves the prefix into SCRIPT_NAME",
                )
            )
        out += [
            Option(
                "env",
                f"{SCHEME_ENV}=http",
                why="uWSGI's parser would take wsgi.url_scheme from any client's"
                " X-Forwarded-Proto; the gateway's [proxy] trust decides that",
            ),
            Option(
                "http-socket",
                _uwsgi_address(options.bind),
                why="uWSGI's own HTTP parser (keeps headers with '_': put nginx"
                " in front in production)",
            ),
            Option(
                "add-header",
                "Connection: close",
                why="the http socket answers one request per connection: say so,"
                " or a client that pipelines loses its next request",
            ),
        ]
        where = options.bind
    else:
        out.append(
            Option(
                "socket",
                _uwsgi_address(options.socket),
                why="the uwsgi protocol, for nginx's uwsgi_pass",
            )
        )
        where = options.socket
    if isinstance(where, str):
        if standalone is None:
            out.append(Option("chmod-socket", "666"))
        else:
            out += [
                Option("chown-socket", f"{standalone.user}:{standalone.group}"),
                Option("chmod-socket", standalone.socket_mode),
            ]
        out.append(Option("vacuum", why="the socket file is removed on exit"))
    return out


#: Options whose value is optional on uWSGI's command line: ``--name=value``.
_ATTACHED = frozenset({"chmod-socket"})


def uwsgi_argv(
    executable: str,
    config_path: str,
    options: ServeOptions,
    *,
    name: str = "gateway",
) -> list[str]:
    """The uwsgi command line for these options (pure, tested as a table)."""
    argv = [executable]
    for option in uwsgi_options(config_path, options, name=name):
        if option.value == "true":
            argv.append(f"--{option.name}")
        elif option.name in _ATTACHED:
            argv.append(f"--{option.name}={option.value}")
        else:
            argv += [f"--{option.name}", option.value]
    return argv


def application_from_environment() -> WSGIApplication:
    """Build the gateway named by ``$GATEWAY_CONFIG`` (what uWSGI runs under
    ``gateway serve``), with ``$GATEWAY_SCRIPT_NAME`` as SCRIPT_NAME prefix;
    inside uWSGI, chunked request bodies are decoded (:mod:`.uwsgi_input`)."""
    from gateway.dispatch import build_gateway
    from gateway.dispatch.multiprocess import exit_hook_under_uwsgi
    from gateway.toml import load_config

    from . import embedded_threads
    from .middleware import with_script_name
    from .options import with_threads

    try:
        path = os.environ[CONFIG_ENV]
    except KeyError:
        raise RuntimeError(
            f"{CONFIG_ENV} is not set: start uWSGI with 'gateway serve --adapter"
            " uwsgi', or load the entry file written by 'gateway entry uwsgi'"
        ) from None
    config = load_config(path)
    exit_hook_under_uwsgi()
    threads = embedded_threads()
    if threads is not None:  # the threads this uWSGI really runs
        config = with_threads(config, threads)
    app: WSGIApplication = with_script_name(
        build_gateway(config), os.environ.get(SCRIPT_NAME_ENV, "")
    )
    scheme = os.environ.get(SCHEME_ENV, "")
    if scheme:
        app = FixedScheme(app, scheme)
    return decode_chunked_under_uwsgi(app)


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
