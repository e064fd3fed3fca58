"""The ``gateway`` command line.

Finds and loads an :class:`~gateway.App` (``--app``, ``GATEWAY_APP``, or a
``wsgi.py`` / ``app.py`` in the working directory), pushes its application
context for custom commands, and provides ``run``, ``routes`` and ``shell``.
The deployment commands ``serve``, ``entry`` and ``config`` live in other
packages and are imported only when used, so a broken or missing one never
takes the rest of the command line down with it.

The names are those of Flask's ``flask.cli``, with ``FlaskGroup`` renamed
:class:`GatewayGroup`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import traceback
import typing as t

import click

from .. import _names
from ..globals import current_app
from .commands import CertParamType as CertParamType
from .commands import SeparatedPathType as SeparatedPathType
from .commands import format_routes as format_routes
from .commands import routes_command as routes_command
from .commands import run_command as run_command
from .commands import shell_command as shell_command
from .commands import show_server_banner as show_server_banner
from .core import AppGroup as AppGroup
from .core import F as F
from .core import ScriptInfo as ScriptInfo
from .core import (
    _app_option,
    _debug_option,
    _env_file_option,
    ready_for_flask_extensions,
)
from .core import get_version as get_version
from .core import load_dotenv as load_dotenv
from .core import pass_script_info as pass_script_info
from .core import version_option as version_option
from .core import with_appcontext as with_appcontext
from .discovery import NoAppException as NoAppException
from .discovery import find_app_by_string as find_app_by_string
from .discovery import find_best_app as find_best_app
from .discovery import locate_app as locate_app
from .discovery import parse_app_expression as parse_app_expression
from .discovery import prepare_import as prepare_import
from .discovery import split_import_path as split_import_path

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import App


# -- commands provided by other packages ----------------------------------------

#: Commands of the gateway's own subpackages, imported on first use.
LAZY_COMMANDS: dict[str, str] = {
    "serve": "gateway.adapters.cli:serve_command",
    "entry": "gateway.adapters.cli:entry_command",
    "config": "gateway.deploy.cli:config_command",
}


class UnavailableCommand(click.Command):
    """Stands in for a command whose code could not be imported, so it stays
    listed and explains the failure when run instead of breaking the CLI.
    """

    def __init__(self, name: str, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(
            name,
            callback=self._fail,
            help=f"Unavailable: could not be loaded from {source!r}.",
            short_help="(unavailable: failed to load)",
            add_help_option=False,
            context_settings={
                "ignore_unknown_options": True,
                "allow_extra_args": True,
            },
        )

    def _fail(self) -> t.NoReturn:
        raise click.ClickException(
            f"The {self.name!r} command could not be loaded from"
            f" {self.source!r}: {self.reason}"
        )


def load_command(name: str, import_path: str) -> click.Command:
    """Import the click command at ``module:attribute``; on failure return an
    :class:`UnavailableCommand` carrying the reason.
    """
    module_name, _, attr = import_path.partition(":")

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""

        if module_name == missing or module_name.startswith(f"{missing}."):
            reason = f"there is no module named {missing!r}."
        else:
            reason = f"importing it failed:\n\n{traceback.format_exc()}"

        return UnavailableCommand(name, import_path, reason)
    except Exception:
        reason = f"importing it failed:\n\n{traceback.format_exc()}"
        return UnavailableCommand(name, import_path, reason)

    command = getattr(module, attr, None)

    if not isinstance(command, click.Command):
        return UnavailableCommand(
            name, import_path, f"{attr!r} is not a click command in {module_name!r}."
        )

    return command


def _load_entry_point(ep: importlib.metadata.EntryPoint) -> click.Command:
    try:
        command = ep.load()
    except Exception:
        return UnavailableCommand(
            ep.name, ep.value, f"importing it failed:\n\n{traceback.format_exc()}"
        )
    if not isinstance(command, click.Command):
        return UnavailableCommand(
            ep.name, ep.value, f"{ep.value!r} is not a click command."
        )
    return command


class GatewayGroup(AppGroup):
    """The ``gateway`` command: an :class:`AppGroup` that also offers the
    commands of the loaded application, of installed plug-ins (the
    ``gateway.commands`` and ``flask.commands`` entry point groups) and the
    built-in ones.

    :param add_default_commands: add ``run``, ``shell``, ``routes`` and the
        deployment commands ``serve``, ``entry`` and ``config``.
    :param create_app: a callable returning the application, bypassing
        ``--app`` discovery.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load the nearest ``.env`` and ``.gatewayenv`` files.
    :param set_debug_flag: set ``app.debug`` from ``GATEWAY_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., App] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        # Options, not a group callback, so users can still write their own
        # callback. --env-file first: it feeds the others.
        params.extend((_env_file_option, _app_option, _debug_option))

        if add_version_option:
            params.append(version_option)

        super().__init__(params=params, **extra)

        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        self.lazy_commands: dict[str, str] = {}
        #: ``flask.commands`` entry points not loaded yet, by command name.
        self.flask_plugins: dict[str, importlib.metadata.EntryPoint] = {}

        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
            self.lazy_commands.update(LAZY_COMMANDS)

        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return

        for ep in importlib.metadata.entry_points(group="gateway.commands"):
            self.add_command(_load_entry_point(ep), ep.name)

        # Flask extensions' commands (Flask-Limiter's `limiter`...) import
        # flask: loaded on first use, after the switch is on, so a command
        # that needs none of them (serve, routes --config) changes nothing.
        for ep in importlib.metadata.entry_points(group="flask.commands"):
            self.flask_plugins.setdefault(ep.name, ep)

        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        # Built-in and plug-in commands work even when no app can be loaded.
        rv = super().get_command(ctx, name)

        if rv is not None:
            return rv

        if name in self.flask_plugins:
            ready_for_flask_extensions()
            rv = _load_entry_point(self.flask_plugins.pop(name))
            self.add_command(rv, name)
            return rv

        if name in self.lazy_commands:
            rv = load_command(name, self.lazy_commands[name])

            if not isinstance(rv, UnavailableCommand):
                self.add_command(rv, name)

            return rv

        info = ctx.ensure_object(ScriptInfo)

        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None

        # Push the app context now, so option callbacks and the command have
        # it without with_appcontext.
        if not current_app or current_app._get_current_object() is not app:  # type: ignore[attr-defined]  # a LocalProxy method
            ctx.with_resource(app.app_context())

        return app.cli.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        rv = set(super().list_commands(ctx)) | set(self.lazy_commands)
        rv.update(self.flask_plugins)
        info = ctx.ensure_object(ScriptInfo)

        try:
            rv.update(info.load_app().cli.list_commands(ctx))
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            # Anything else is a bug in the app: show where.
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")

        return sorted(rv)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        # Makes a stray module-level app.run() a no-op instead of starting a
        # server in the middle of loading the app for some other command. The
        # previous value comes back when the context closes, so commands
        # invoked in-process (tests) leave the environment as they found it.
        run_from_cli = _names.var("RUN_FROM_CLI")
        previous = os.environ.get(run_from_cli)
        os.environ[run_from_cli] = "true"

        def restore() -> None:
            if previous is None:
                os.environ.pop(run_from_cli, None)
            else:
                os.environ[run_from_cli] = previous

        # Options read GATEWAY_*, or FLASK_* under the Flask switch: decided
        # per invocation, since the switch may be turned on after import.
        if "auto_envvar_prefix" not in self.context_settings:
            extra.setdefault("auto_envvar_prefix", _names.prefix())

        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except BaseException:
            restore()
            raise
        ctx.call_on_close(restore)
        return ctx

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # Help is shown before eager options run; apply the env file and
            # GATEWAY_APP first so the app's commands are listed.
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])

        try:
            return super().parse_args(ctx, args)
        except Exception:
            # Listing commands for help may have pushed the app context; a
            # failed parse never reaches the code that would pop it.
            ctx.close()
            raise


cli = GatewayGroup(
    name="gateway",
    help="""\
A command line for gateway applications and deployments.

The application to load is given with the '--app' option, the
'GATEWAY_APP' environment variable ('FLASK_APP' under the Flask
compatibility switch), or a 'wsgi.py' or 'app.py' file in the current
directory. 'serve', 'entry' and 'config' work from a
gateway.toml file instead and load no application.
""",
)


def main() -> None:
    """Entry point of the ``gateway`` console script and ``python -m gateway``."""
    cli.main()
