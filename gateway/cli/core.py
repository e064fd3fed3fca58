"""What every ``gateway`` command shares: :class:`ScriptInfo` (the app to
load), :func:`with_appcontext`, :class:`AppGroup`, the group-level options
(``--app``, ``--debug``, ``--env-file``, ``--version``) and dotenv loading.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import typing as t
from functools import update_wrapper

import click
from click.core import ParameterSource

from .. import _names
from ..globals import current_app
from ..helpers import get_debug_flag, get_load_dotenv
from .discovery import NoAppException, locate_app, prepare_import, split_import_path

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import App

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


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
        """Load the application once and return it on every later call.

        A ``gateway.toml`` in the working directory with ``flask_compat =
        true`` under ``[gateway]`` turns the Flask compatibility switch on
        first, before the application is imported.
        """
        if self._loaded_app is not None:
            return self._loaded_app

        _apply_flask_compat_key()
        ready_for_flask_extensions()
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
                f"Could not locate a {_names.product()} application. Use the"
                f" '{_names.command()} --app' option, the '{_names.var('APP')}'"
                " environment variable, or a 'wsgi.py'"
                " or 'app.py' file in the current directory."
            )

        if self.set_debug_flag:
            # Assign through the property so dependent settings follow.
            app.debug = get_debug_flag()

        self._loaded_app = app
        return app


def _apply_flask_compat_key() -> None:
    """Apply ``[gateway].flask_compat`` of ``./gateway.toml``, if any; a wrong
    value, or real Flask imported already, is an error naming the key."""
    from .. import compat

    try:
        compat.enable_from_toml(os.path.join(os.getcwd(), "gateway.toml"))
    # ValueError: the ConfigError (gateway.config) of a wrong value.
    except (ValueError, compat.FlaskAlreadyImported) as e:
        raise NoAppException(str(e)) from None


def ready_for_flask_extensions() -> None:
    """Turn the Flask compatibility switch on, keeping gateway's names,
    unless real Flask is imported already.

    The ``gateway`` command calls this before it imports an application or a
    ``flask.commands`` plug-in: the application it loads must be a gateway
    App, so any Flask extension it uses (they all ``import flask``) can only
    work on gateway's core. A Gateway built from a gateway.toml
    (``serve``, ``routes --config``) does not come through here; its
    ``[gateway].flask_compat`` decides.
    """
    if "flask" not in sys.modules:
        from .. import compat

        compat.enable(flask_names=False)


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

    def command(  # type: ignore[override]  # click's overloads, same arguments
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

    def group(  # type: ignore[override]  # click's overloads, same arguments
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Group]:
        """Like :meth:`click.Group.group`, defaulting ``cls`` to AppGroup."""
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)  # type: ignore[no-any-return]


# -- group options -------------------------------------------------------------


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    if value is None:
        # GATEWAY_APP arrives through click's auto_envvar_prefix; under the
        # Flask switch that prefix is FLASK, and GATEWAY_APP still counts.
        value = _names.getenv("APP")
        if not value:
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
    source = ctx.get_parameter_source(param.name)

    if value is None or source in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
    ):
        return None

    # Through the environment, so a factory can read it while it runs.
    os.environ[_names.var("DEBUG")] = "1" if value else "0"
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


def load_dotenv(
    path: str | os.PathLike[str] | None = None, load_defaults: bool = True
) -> bool:
    """Set environment variables from dotenv files.

    A given ``path`` overrides ``.env``, which overrides ``.gatewayenv``
    (under the Flask switch ``.flaskenv`` too, between them; each searched upwards from the working directory); variables already in
    ``os.environ`` are never replaced. Without python-dotenv nothing is loaded
    and a tip is printed if such files exist.

    :return: whether any variable was read from a file.
    """
    try:
        import dotenv
    except ImportError:
        present = [name for name in _names.dotenv_files() if os.path.isfile(name)]
        if path or present:
            click.secho(
                f" * Tip: There are {' or '.join(present or ['.env'])} files"
                " present. Install python-dotenv to use them"
                " (pip install 'gateway[dotenv]').",
                fg="yellow",
                err=True,
            )

        return False

    data: dict[str, str | None] = {}

    if load_defaults:
        for default_name in _names.dotenv_files():
            found = dotenv.find_dotenv(default_name, usecwd=True)

            if found:
                data |= dotenv.dotenv_values(found, encoding="utf-8")

    if path is not None and os.path.isfile(path):
        data |= dotenv.dotenv_values(path, encoding="utf-8")

    for key, value in data.items():
        if key not in os.environ and value is not None:
            os.environ[key] = value

    return bool(data)
