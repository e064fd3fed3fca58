"""The ``gateway`` command line.

Finds and loads an :class:`~gateway.App` (``--app``, ``GATEWAY_APP``, or a
``wsgi.py`` / ``app.py`` in the working directory), pushes its application
context for custom commands, and provides ``run``, ``routes`` and ``shell``.
The deployment commands ``serve``, ``entry`` and ``config`` live in other
packages and are imported only when used, so a broken or missing one never
takes the rest of the command line down with it.
"""

from __future__ import annotations

import ast
import collections.abc as cabc
import importlib
import importlib.metadata
import inspect
import os
import platform
import re
import sys
import traceback
import typing as t
from functools import update_wrapper
from operator import itemgetter
from types import ModuleType

import click
from click.core import ParameterSource
from werkzeug.serving import is_running_from_reloader, run_simple
from werkzeug.utils import import_string

from .globals import current_app
from .helpers import get_debug_flag, get_load_dotenv

if t.TYPE_CHECKING:  # pragma: no cover
    import ssl

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.routing import Rule

    from .app import App

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class NoAppException(click.UsageError):
    """The application could not be found, imported or created."""


# -- application discovery ---------------------------------------------------

#: Attribute names holding an application, tried in this order.
APP_NAMES = ("app", "application")
#: Attribute names of factories called without arguments, tried in this order.
FACTORY_NAMES = ("create_app", "make_app")


def find_best_app(module: ModuleType) -> App:
    """Return the application a module most plausibly means.

    An :class:`~gateway.App` named ``app`` or ``application`` wins, then the
    only App instance in the module, then the result of calling a
    ``create_app`` or ``make_app`` factory without arguments.
    """
    from .app import App

    for attr_name in APP_NAMES:
        app = getattr(module, attr_name, None)

        if isinstance(app, App):
            return app

    matches = [v for v in module.__dict__.values() if isinstance(v, App)]

    if len(matches) == 1:
        return matches[0]

    if len(matches) > 1:
        raise NoAppException(
            f"Detected multiple gateway applications in module {module.__name__!r}."
            f" Use '{module.__name__}:name' to specify the correct one."
        )

    for attr_name in FACTORY_NAMES:
        factory = getattr(module, attr_name, None)

        if not inspect.isfunction(factory):
            continue

        try:
            app = factory()
        except TypeError as e:
            if not _called_with_wrong_args(factory):
                raise

            raise NoAppException(
                f"Detected factory {attr_name!r} in module {module.__name__!r},"
                " but could not call it without arguments. Use"
                f" '{module.__name__}:{attr_name}(args)' to specify arguments."
            ) from e

        if isinstance(app, App):
            return app

    raise NoAppException(
        "Failed to find a gateway application or factory in module"
        f" {module.__name__!r}. Use '{module.__name__}:name' to specify one."
    )


def _called_with_wrong_args(f: t.Callable[..., t.Any]) -> bool:
    """Tell whether the ``TypeError`` being handled came from calling ``f``
    with the wrong arguments (``True``) or from code running inside ``f``.

    The traceback reaches ``f``'s own frame only if the call itself worked.
    """
    tb = sys.exc_info()[2]

    try:
        while tb is not None:
            if tb.tb_frame.f_code is f.__code__:
                return False

            tb = tb.tb_next

        return True
    finally:
        del tb  # break the frame <-> traceback reference cycle


def parse_app_expression(
    expression: str,
) -> tuple[str, list[t.Any], dict[str, t.Any]]:
    """Split ``name`` or ``name(args)`` into the name, positional and keyword
    arguments. Arguments must be Python literals; nothing is evaluated.
    """
    try:
        expr = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {expression!r} as an attribute name or function call."
        ) from None

    if isinstance(expr, ast.Name):
        return expr.id, [], {}

    if not isinstance(expr, ast.Call):
        raise NoAppException(
            f"Failed to parse {expression!r} as an attribute name or function call."
        )

    if not isinstance(expr.func, ast.Name):
        raise NoAppException(
            f"Function reference must be a simple name: {expression!r}."
        )

    try:
        args = [ast.literal_eval(arg) for arg in expr.args]
        kwargs = {
            kw.arg: ast.literal_eval(kw.value)
            for kw in expr.keywords
            if kw.arg is not None
        }
    except ValueError:
        # literal_eval's own message names only the node type; show the input.
        raise NoAppException(
            f"Failed to parse arguments as literal values: {expression!r}."
        ) from None

    return expr.func.id, args, kwargs


def find_app_by_string(module: ModuleType, app_name: str) -> App:
    """Get the application named by ``app_name`` from ``module``: an attribute,
    or a factory function called with the literal arguments given.
    """
    from .app import App

    name, args, kwargs = parse_app_expression(app_name)

    try:
        attr = getattr(module, name)
    except AttributeError as e:
        raise NoAppException(
            f"Failed to find attribute {name!r} in {module.__name__!r}."
        ) from e

    if inspect.isfunction(attr):
        try:
            app = attr(*args, **kwargs)
        except TypeError as e:
            if not _called_with_wrong_args(attr):
                raise

            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could"
                " not be called with the specified arguments."
            ) from e
    else:
        app = attr

    if isinstance(app, App):
        return app

    raise NoAppException(
        "A valid gateway application was not obtained from"
        f" '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """Turn a file or package path into an importable module name.

    Walks up past every directory holding an ``__init__.py`` so packages are
    imported under their full dotted name, and puts the first directory above
    the package on ``sys.path``.
    """
    path = os.path.realpath(path)
    base, ext = os.path.splitext(path)

    if ext == ".py":
        path = base

    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts = []

    while True:
        path, name = os.path.split(path)
        parts.append(name)

        if not os.path.exists(os.path.join(path, "__init__.py")):
            break

    if sys.path[0] != path:
        sys.path.insert(0, path)

    return ".".join(reversed(parts))


def split_import_path(value: str) -> tuple[str, str | None]:
    """Split ``module:name`` at the first colon not followed by a path
    separator, so Windows drive letters (``C:\\app.py``) stay in the path.
    """
    path, *rest = re.split(r":(?![\\/])", value, maxsplit=1)
    return path, rest[0] if rest else None


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> App: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[False] = ...
) -> App | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> App | None:
    """Import ``module_name`` and find the application in it.

    An ``ImportError`` raised while the module itself runs is reported with
    its traceback; a module that does not exist is reported briefly, or gives
    ``None`` when ``raise_if_not_found`` is false.
    """
    try:
        __import__(module_name)
    except ImportError:
        # A traceback deeper than this frame means the module was found and
        # failed while executing.
        if sys.exc_info()[2].tb_next:  # type: ignore[union-attr]
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was"
                f" raised:\n\n{traceback.format_exc()}"
            ) from None

        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None

        return None

    module = sys.modules[module_name]

    if app_name is None:
        return find_best_app(module)

    return find_app_by_string(module, app_name)


# -- script info and app context ---------------------------------------------


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def get_version(ctx: click.Context, param: click.Parameter, value: t.Any) -> None:
    """Print the Python, gateway and Werkzeug versions, then exit."""
    if not value or ctx.resilient_parsing:
        return

    click.echo(
        f"Python {platform.python_version()}\n"
        f"Gateway {_dist_version('gateway')}\n"
        f"Werkzeug {_dist_version('werkzeug')}",
        color=ctx.color,
    )
    ctx.exit()


version_option = click.Option(
    ["--version"],
    help="Show the gateway version.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


class ScriptInfo:
    """What the command line knows about the application to load.

    :class:`GatewayGroup` creates one per invocation and passes it as the
    click context object; commands reach the application through
    :meth:`load_app`.

    :param app_import_path: ``module``, ``module:name``, ``module:factory(args)``
        or a path to a ``.py`` file or package.
    :param create_app: a callable returning the application; takes precedence
        over ``app_import_path``.
    :param set_debug_flag: set ``app.debug`` from ``GATEWAY_DEBUG`` on load.
    :param load_dotenv_defaults: whether ``.env`` and ``.gatewayenv`` should be
        loaded (this object only records the choice).
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., App] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        #: Free-form storage for commands and extensions.
        self.data: dict[t.Any, t.Any] = {}
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: App | None = None

    def load_app(self) -> App:
        """Load the application once and return it on every later call."""
        if self._loaded_app is not None:
            return self._loaded_app

        app: App | None

        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            path, name = split_import_path(self.app_import_path)

            if path.endswith(".toml"):
                raise NoAppException(
                    f"{self.app_import_path!r} is a gateway.toml file, not an"
                    " application. Use 'gateway routes --config FILE' to list its"
                    " routes or 'gateway serve FILE' to run it."
                )

            app = locate_app(prepare_import(path), name)
        else:
            app = None

            for path in ("wsgi.py", "app.py"):
                app = locate_app(prepare_import(path), None, raise_if_not_found=False)

                if app is not None:
                    break

        if app is None:
            raise NoAppException(
                "Could not locate a gateway application. Use the 'gateway --app'"
                " option, the 'GATEWAY_APP' environment variable, or a 'wsgi.py'"
                " or 'app.py' file in the current directory."
            )

        if self.set_debug_flag:
            # Assign through the property so dependent settings follow.
            app.debug = get_debug_flag()

        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run a command callback inside the loaded application's context.

    Commands registered on ``app.cli`` or ``blueprint.cli`` already get one;
    this is for commands added to the group directly. The context stays
    pushed for subcommands too.
    """

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if not current_app:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())

        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A :class:`click.Group` whose :meth:`command` wraps callbacks in
    :func:`with_appcontext` and whose :meth:`group` makes more AppGroups.

    This is the type of ``app.cli`` and ``blueprint.cli``; the top-level
    ``gateway`` command is a :class:`GatewayGroup`.
    """

    def command(  # type: ignore[override]
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Command]:
        """Like :meth:`click.Group.command`; pass ``with_appcontext=False``
        to register a callback that does not need the application.
        """
        wrap_for_ctx = kwargs.pop("with_appcontext", True)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            if wrap_for_ctx:
                f = with_appcontext(f)

            return super(AppGroup, self).command(*args, **kwargs)(f)  # type: ignore[no-any-return]

        return decorator

    def group(  # type: ignore[override]
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Group]:
        """Like :meth:`click.Group.group`, defaulting ``cls`` to AppGroup."""
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)  # type: ignore[no-any-return]


# -- group options -------------------------------------------------------------


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    if value is None:
        return None

    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


# Eager so the app's commands show up in --help; it must precede --help, and
# parse_args handles it by hand when no_args_is_help skips eager processing.
_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    help=(
        "The application or factory to load, as 'module:name'. The module may be"
        " a dotted import or a file path. The name may be left out when it is"
        " 'app', 'application', 'create_app' or 'make_app', and may be"
        " 'name(args)' to call a factory with arguments."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(
    ctx: click.Context, param: click.Option, value: bool | None
) -> bool | None:
    # Given neither on the command line nor in the environment: leave the
    # decision to GATEWAY_DEBUG. (The default is None because click 8.4 no
    # longer reports the parameter source inside the callback.)
    source = ctx.get_parameter_source(param.name)  # type: ignore[arg-type]

    if value is None or source in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
    ):
        return None

    # Through the environment, so a factory can read it while it runs.
    os.environ["GATEWAY_DEBUG"] = "1" if value else "0"
    return value


_debug_option = click.Option(
    ["--debug/--no-debug"],
    default=None,
    help="Set debug mode.",
    expose_value=False,
    callback=_set_debug,
)


def _env_file_callback(
    ctx: click.Context, param: click.Option, value: str | None
) -> str | None:
    try:
        import dotenv  # noqa: F401
    except ImportError:
        # Without a file given, load_dotenv below prints a tip instead.
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file"
                " (pip install 'gateway[dotenv]').",
                ctx=ctx,
                param=param,
            ) from None

    info = ctx.ensure_object(ScriptInfo)

    if value is not None or info.load_dotenv_defaults:
        load_dotenv(value, load_defaults=info.load_dotenv_defaults)

    return value


# Eager and first, so variables from the file feed the other options.
_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Load environment variables from this file, taking precedence over"
        " '.env' and '.gatewayenv'. Variables already set in the environment"
        " win over all files. Requires python-dotenv."
    ),
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)


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


class GatewayGroup(AppGroup):
    """The ``gateway`` command: an :class:`AppGroup` that also offers the
    commands of the loaded application, of installed plug-ins (the
    ``gateway.commands`` entry point group) and the built-in ones.

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

        extra.setdefault("context_settings", {})
        extra["context_settings"].setdefault("auto_envvar_prefix", "GATEWAY")
        super().__init__(params=params, **extra)

        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        self.lazy_commands: dict[str, str] = {}

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
            try:
                command = ep.load()
            except Exception:
                command = UnavailableCommand(
                    ep.name,
                    ep.value,
                    f"importing it failed:\n\n{traceback.format_exc()}",
                )

            self.add_command(command, ep.name)

        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        # Built-in and plug-in commands work even when no app can be loaded.
        rv = super().get_command(ctx, name)

        if rv is not None:
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
        if not current_app or current_app._get_current_object() is not app:  # type: ignore[attr-defined]
            ctx.with_resource(app.app_context())

        return app.cli.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        rv = set(super().list_commands(ctx)) | set(self.lazy_commands)
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
        # server in the middle of loading the app for some other command.
        os.environ["GATEWAY_RUN_FROM_CLI"] = "true"

        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )

        return super().make_context(info_name, args, parent=parent, **extra)

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


def load_dotenv(
    path: str | os.PathLike[str] | None = None, load_defaults: bool = True
) -> bool:
    """Set environment variables from dotenv files.

    A given ``path`` overrides ``.env``, which overrides ``.gatewayenv`` (both
    searched upwards from the working directory); variables already in
    ``os.environ`` are never replaced. Without python-dotenv nothing is loaded
    and a tip is printed if such files exist.

    :return: whether any variable was read from a file.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".gatewayenv"):
            click.secho(
                " * Tip: There are .env or .gatewayenv files present. Install"
                " python-dotenv to use them (pip install 'gateway[dotenv]').",
                fg="yellow",
                err=True,
            )

        return False

    data: dict[str, str | None] = {}

    if load_defaults:
        for default_name in (".gatewayenv", ".env"):
            found = dotenv.find_dotenv(default_name, usecwd=True)

            if found:
                data |= dotenv.dotenv_values(found, encoding="utf-8")

    if path is not None and os.path.isfile(path):
        data |= dotenv.dotenv_values(path, encoding="utf-8")

    for key, value in data.items():
        if key not in os.environ and value is not None:
            os.environ[key] = value

    return bool(data)


# -- gateway run -------------------------------------------------------------------


def show_server_banner(debug: bool, app_import_path: str | None) -> None:
    """Print which app is served and the debug mode, once (not again in the
    reloader's child process).
    """
    if is_running_from_reloader():
        return

    if app_import_path is not None:
        click.echo(f" * Serving gateway app '{app_import_path}'")

    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


class CertParamType(click.ParamType):
    """``--cert``: an existing certificate file, ``adhoc`` (a throw-away
    self-signed certificate, needs ``cryptography``), or the import path of an
    :class:`ssl.SSLContext`.
    """

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        try:
            import ssl
        except ImportError:  # pragma: no cover - Python built without SSL
            raise click.BadParameter(
                'Using "--cert" requires Python to be compiled with SSL support.',
                ctx,
                param,
            ) from None

        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            value = click.STRING(value, param, ctx).lower()

            if value == "adhoc":
                try:
                    import cryptography  # noqa: F401
                except ImportError:
                    raise click.BadParameter(
                        "Using ad-hoc certificates requires the cryptography library.",
                        ctx,
                        param,
                    ) from None

                return value

            obj = import_string(value, silent=True)

            if isinstance(obj, ssl.SSLContext):
                return obj

            raise


def _validate_key(ctx: click.Context, param: click.Parameter, value: t.Any) -> t.Any:
    """Check ``--key`` against ``--cert`` and fold a file pair into
    ``cert=(cert, key)`` for :func:`~werkzeug.serving.run_simple`.
    """
    import ssl

    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"
    is_context = isinstance(cert, ssl.SSLContext)

    if value is not None:
        if is_adhoc:
            raise click.BadParameter(
                'When "--cert" is "adhoc", "--key" is not used.', ctx, param
            )

        if is_context:
            raise click.BadParameter(
                'When "--cert" is an SSLContext object, "--key" is not used.',
                ctx,
                param,
            )

        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)

        ctx.params["cert"] = cert, value
    elif cert and not (is_adhoc or is_context):
        raise click.BadParameter('Required when using "--cert".', ctx, param)

    return value


class SeparatedPathType(click.Path):
    """A list of paths separated by :data:`os.pathsep`, each checked as a
    :class:`click.Path`.
    """

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        convert_one = super().convert
        return [
            convert_one(item, param, ctx) for item in self.split_envvar_value(value)
        ]


@click.command("run", short_help="Run a development server.")
@click.option("--host", "-h", default="127.0.0.1", help="The interface to bind to.")
@click.option("--port", "-p", default=5000, help="The port to bind to.")
@click.option(
    "--cert",
    type=CertParamType(),
    help="Specify a certificate file to use HTTPS.",
    is_eager=True,
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    help="The key file to use when specifying a certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Enable or disable the reloader. By default it is on in debug mode.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Enable or disable the debugger. By default it is on in debug mode.",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    help="Enable or disable multithreading.",
)
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Extra files that trigger a reload on change. Separate several"
        f" paths with {os.path.pathsep!r}."
    ),
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Files matching these fnmatch patterns do not trigger a reload."
        f" Separate several patterns with {os.path.pathsep!r}."
    ),
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    cert: ssl.SSLContext | tuple[str, str | None] | t.Literal["adhoc"] | None,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Run a local development server.

    It is meant for development only: it has neither the robustness, the
    security nor the speed of a production server (see 'gateway serve').
    '--debug' turns the reloader and the debugger on.
    """
    try:
        app: WSGIApplication = info.load_app()  # type: ignore[assignment]
    except Exception as e:
        if not is_running_from_reloader():
            raise e from None

        # Under the reloader, keep serving so a fixed file is picked up on
        # the next change; report the error now and on every request.
        traceback.print_exc()
        err = e

        def app(
            environ: WSGIEnvironment, start_response: StartResponse
        ) -> cabc.Iterable[bytes]:
            raise err from None

    debug = get_debug_flag()

    if reload is None:
        reload = debug

    if debugger is None:
        debugger = debug

    show_server_banner(debug, info.app_import_path)
    run_simple(
        host,
        port,
        app,
        use_reloader=reload,
        use_debugger=debugger,
        threaded=with_threads,
        ssl_context=cert,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )


run_command.params.insert(0, _debug_option)


# -- gateway shell -------------------------------------------------------------------


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell inside the application's context.

    The namespace holds 'app', 'g' and whatever the app's shell context
    processors add; PYTHONSTARTUP is honoured.
    """
    import code

    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {current_app.import_name}\n"
        f"Instance: {current_app.instance_path}"
    )
    namespace: dict[str, t.Any] = {}
    startup = os.environ.get("PYTHONSTARTUP")

    if startup and os.path.isfile(startup):
        with open(startup) as f:
            eval(compile(f.read(), startup, "exec"), namespace)

    namespace.update(current_app.make_shell_context())
    # The default hook (set by site) enables readline history and completion;
    # complete from the shell's namespace instead of gateway.__main__.
    interactive_hook = getattr(sys, "__interactivehook__", None)

    if interactive_hook is not None:
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:  # pragma: no cover - platform without readline
            pass
        else:
            readline.set_completer(Completer(namespace).complete)

        interactive_hook()

    code.interact(banner=banner, local=namespace)


# -- gateway routes ------------------------------------------------------------------

ROUTE_SORTS = ("endpoint", "methods", "domain", "rule", "match")


def format_routes(
    rules: cabc.Iterable[Rule],
    sort: str = "endpoint",
    all_methods: bool = False,
    host_matching: bool = False,
    prefix: str = "",
) -> list[str]:
    """Lay out URL rules as the lines of an aligned table.

    A Host (or Subdomain) column appears only when some rule has one. HEAD
    and OPTIONS are left out unless ``all_methods``; ``match`` keeps the
    rules in the order given. ``prefix`` (a mount point) is shown in front of
    every rule.
    """
    if sort not in ROUTE_SORTS:
        raise ValueError(f"sort must be one of {', '.join(ROUTE_SORTS)}, not {sort!r}")

    rules = list(rules)
    ignored_methods = set() if all_methods else {"HEAD", "OPTIONS"}

    def domain(rule: Rule) -> str:
        return (rule.host if host_matching else rule.subdomain) or ""

    has_domain = any(domain(rule) for rule in rules)
    headers = ["Endpoint", "Methods"]
    sorts = ["endpoint", "methods"]

    if has_domain:
        headers.append("Host" if host_matching else "Subdomain")
        sorts.append("domain")

    headers.append("Rule")
    sorts.append("rule")
    rows = []

    for rule in rules:
        methods = sorted((rule.methods or set()) - ignored_methods)
        row = [rule.endpoint, ", ".join(methods)]

        if has_domain:
            row.append(domain(rule))

        row.append(prefix + rule.rule)
        rows.append(row)

    if sort in sorts:
        rows.sort(key=itemgetter(sorts.index(sort)))

    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    template = "  ".join(f"{{{i}:<{w}}}" for i, w in enumerate(widths))
    lines = [headers, ["-" * w for w in widths], *rows]
    return [template.format(*row).rstrip() for row in lines]


def _app_routes(
    app: t.Any, sort: str, all_methods: bool, prefix: str = ""
) -> list[str]:
    url_map = getattr(app, "url_map", None)

    if url_map is None:
        return ["(not a gateway application: its routes cannot be listed)"]

    rules = list(url_map.iter_rules())

    if not rules:
        return ["No routes were registered."]

    return format_routes(rules, sort, all_methods, url_map.host_matching, prefix)


def _gateway_routes(
    path: str, tenants: tuple[str, ...], sort: str, all_methods: bool
) -> list[str]:
    """The routes of every application a gateway.toml composes, one table per
    application, headed by where it is served."""
    from .dispatch import ConfigError
    from .dispatch.loader import build_gateway, load_config
    from .dispatch.registry import FactoryFailed

    try:
        gateway = build_gateway(load_config(path))
    except ConfigError as e:
        raise click.ClickException(str(e)) from None

    for key in tenants:
        if gateway.registry is None:
            raise click.BadParameter(
                f"{path!r} has no [tenants] table.", param_hint="'--tenant'"
            )

        try:
            found = gateway.registry.get(key)
        except FactoryFailed as e:
            cause = e.__cause__ or e.__context__
            detail = f": {type(cause).__name__}: {cause}" if cause else ""
            raise click.ClickException(
                f"The tenant factory failed for {key!r}{detail}"
            ) from None

        if found is None:
            raise click.BadParameter(
                f"the tenant factory has no application for {key!r}.",
                param_hint="'--tenant'",
            )

    sections: list[list[str]] = []

    for host, prefix, app in gateway.iter_apps():
        where = "every tenant" if host == "*" else host or "any host"
        name = getattr(app, "name", None) or getattr(app, "__name__", repr(app))
        heading = f"{name} at {where}{prefix}/"
        sections.append([heading, *_app_routes(app, sort, all_methods, prefix)])

    if gateway.registry is not None and not tenants:
        sections.append(
            [
                "Tenant applications are created on their first request;"
                " add '--tenant KEY' to list one."
            ]
        )

    if not sections:
        return ["No applications are configured."]

    # One blank line between sections.
    return [line for section in sections for line in ["", *section]][1:]


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(ROUTE_SORTS),
    default="endpoint",
    help=(
        "Method to sort routes by. 'match' is the order in which the app"
        " matches routes when dispatching a request."
    ),
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Show the routes of every application of this gateway.toml instead.",
)
@click.option(
    "--tenant",
    "tenants",
    multiple=True,
    metavar="KEY",
    help="With '--config': create the application of this tenant and show it too.",
)
@click.pass_context
def routes_command(
    ctx: click.Context,
    sort: str,
    all_methods: bool,
    config_path: str | None,
    tenants: tuple[str, ...],
) -> None:
    """Show every registered route with its endpoint and methods.

    With '--config' the application comes from a gateway.toml: every app it
    mounts is listed with its host and path prefix.
    """
    if config_path is not None:
        lines = _gateway_routes(config_path, tenants, sort, all_methods)
    elif tenants:
        raise click.UsageError("'--tenant' needs '--config'.", ctx)
    else:
        if current_app:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        else:
            app = ctx.ensure_object(ScriptInfo).load_app()

        lines = _app_routes(app, sort, all_methods)

    for line in lines:
        click.echo(line)


cli = GatewayGroup(
    name="gateway",
    help="""\
A command line for gateway applications and deployments.

The application to load is given with the '--app' option, the
'GATEWAY_APP' environment variable, or a 'wsgi.py' or 'app.py' file in
the current directory. 'serve', 'entry' and 'config' work from a
gateway.toml file instead and load no application.
""",
)


def main() -> None:
    """Entry point of the ``gateway`` console script and ``python -m gateway``."""
    cli.main()


if __name__ == "__main__":  # pragma: no cover
    main()
