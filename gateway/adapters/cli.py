"""``gateway serve`` and ``gateway entry``: the click commands of the adapters.

Both read a gateway.toml; neither needs ``--app``. ``gateway.cli`` imports
this module lazily, when one of the commands is invoked or listed.
"""

from __future__ import annotations

import sys
import typing as t

import click

from . import ADAPTERS, CannotServe, ServerNotInstalled, UnknownAdapter, get_adapter
from .entry import ENTRY_KINDS, EntryError, render_for_config, write_entry
from .options import (
    GRACEFUL_TIMEOUT,
    OptionError,
    check_exposure,
    check_tls,
    resolve_options,
    with_threads,
)


def _config_errors(*also: type[BaseException]) -> tuple[type[BaseException], ...]:
    """``also`` and the exceptions that mean "the gateway.toml is wrong"
    (ConfigError, plus the OS errors of reading the file)."""
    from gateway.toml import ConfigError

    return (*also, OSError, ConfigError)


def _load_config(config_path: str) -> t.Any:
    from gateway.toml import load_config

    return load_config(config_path)


def run_serve(
    config_path: str,
    adapter: str | None,
    overrides: dict[str, t.Any],
    *,
    master: bool = False,
) -> int:
    """Serve ``config_path`` with ``adapter`` (default ``[server].adapter``).

    Returns the exit status; problems the user can fix are printed as one
    ``Error:`` line on stderr (status 1), never as a traceback. Used by the
    click command and by the children of the master process, which run
    without click. With ``master``, this process becomes the master
    (:mod:`.master`) that runs the server in a child.
    """
    from gateway.compat import FlaskAlreadyImported

    expected: tuple[type[BaseException], ...] = (
        ServerNotInstalled,
        CannotServe,
        OptionError,
        UnknownAdapter,
        FlaskAlreadyImported,  # [gateway].flask_compat = true, too late
        *_config_errors(),
    )
    try:
        config = _load_config(config_path)
        name = adapter or config.server.adapter
        module = get_adapter(name)
        overrides = dict(overrides)
        if "reload" not in overrides:
            overrides["reload"] = name == "dev" and config.debug
        options = resolve_options(config.server, debug=config.debug, **overrides)
        check_tls(name, options)
        notice = check_exposure(name, options)
        if notice:
            print(f"gateway: {notice}", file=sys.stderr, flush=True)
        if master:
            from .master import run_master

            module.require_server()
            return run_master(name, config_path, overrides, options)
        module.serve_config(with_threads(config, options.threads), options)
    except expected as e:
        print(f"Error: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


@click.command("serve", short_help="Serve a gateway.toml with a server.")
@click.argument(
    "config_path",
    metavar="GATEWAY_TOML",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
)
@click.option(
    "--adapter",
    "-a",
    type=click.Choice(list(ADAPTERS)),
    help="The server to run. [default: [server].adapter]",
)
@click.option(
    "--bind",
    "-b",
    help="host:port, [v6]:port or unix:/abs/path.sock to listen on; for fastcgi"
    " and uwsgi it replaces [server].socket. [default: [server].bind]",
)
@click.option("--workers", "-w", type=click.IntRange(min=1), help="Processes.")
@click.option(
    "--threads", "-t", type=click.IntRange(min=1), help="Threads per process."
)
@click.option("--script-name", help="Prefix the front server strips (SCRIPT_NAME).")
@click.option(
    "--graceful-timeout",
    type=click.FloatRange(min=0),
    help=f"Seconds in-flight requests get on SIGTERM. [default: {GRACEFUL_TIMEOUT:g}]",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="dev: restart when code or the gateway.toml changes."
    " [default: on when [gateway].debug]",
)
@click.option(
    "--http",
    is_flag=True,
    default=None,
    help="uwsgi: speak HTTP on --bind instead of the uwsgi protocol on the socket.",
)
@click.option(
    "--behind-proxy/--no-behind-proxy",
    default=None,
    help="A buffering proxy is in front: gunicorn and uwsgi --http may listen on"
    " a non-loopback address. [default: [server].behind_proxy]",
)
def serve_command(config_path: str, adapter: str | None, **given: t.Any) -> None:
    """Run the gateway described by GATEWAY_TOML under a server.

    gevent, tornado, gunicorn, granian, fastcgi (flup) and dev run in this
    process; uwsgi and mod_wsgi replace it with the uwsgi / mod_wsgi-express
    program.
    CGI is started by the web server: use 'gateway entry cgi'. SIGTERM stops
    every server gracefully; SIGHUP reloads gevent, tornado, gunicorn, granian,
    fastcgi and uwsgi gracefully (new code, the gateway.toml read again).
    """
    overrides = {key: value for key, value in given.items() if value is not None}
    if adapter is None:
        try:
            adapter = _load_config(config_path).server.adapter
        except _config_errors() as e:
            raise click.ClickException(str(e)) from None
    from .master import MANAGED_ADAPTERS

    # One-process servers run in a child of a master process that turns
    # SIGHUP into a graceful reload; the child patches first for gevent.
    master = adapter in MANAGED_ADAPTERS
    sys.exit(run_serve(config_path, adapter, overrides, master=master))


@click.command("entry", short_help="Write the entry file a server loads.")
@click.argument("kind", type=click.Choice(sorted(ENTRY_KINDS)))
@click.argument(
    "config_path",
    metavar="GATEWAY_TOML",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False),
    help="Write the file into this directory. [default: print it]",
)
@click.option("--python", help="Interpreter of the #! line. [default: this Python]")
def entry_command(
    kind: str, config_path: str, output_dir: str | None, python: str | None
) -> None:
    """Write the entry file of KIND for GATEWAY_TOML.

    \b
    mod_wsgi (wsgi)  NAME.wsgi      for WSGIScriptAlias / mod_wsgi-express
    uwsgi            NAME_uwsgi.py  for uwsgi --wsgi-file
    fastcgi (fcgi)   NAME.fcgi      executable, for mod_fcgid, lighttpd, supervisor
    cgi              NAME.cgi       executable, for ScriptAlias or fcgiwrap

    The file loads GATEWAY_TOML by its absolute path, so it works from any
    working directory.
    """
    try:
        config = _load_config(config_path)
        entry = render_for_config(kind, config, python=python)
    except _config_errors(EntryError) as e:
        raise click.ClickException(str(e)) from None
    if output_dir is None:
        click.echo(entry.content, nl=False)
        return
    path = write_entry(entry, output_dir)
    click.echo(str(path))
