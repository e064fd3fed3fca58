"""The built-in commands: ``gateway run``, ``gateway shell`` and
``gateway routes``."""

from __future__ import annotations

import collections.abc as cabc
import os
import sys
import traceback
import typing as t
from operator import itemgetter

import click
from werkzeug.serving import is_running_from_reloader, run_simple
from werkzeug.utils import import_string

from ..globals import current_app
from ..helpers import get_debug_flag
from .core import ScriptInfo, _debug_option, pass_script_info, with_appcontext

if t.TYPE_CHECKING:  # pragma: no cover
    import ssl

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.routing import Rule


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


# ParamType is generic from click 8.5 on; subscripting it would fail on the
# older releases the dependency range admits.
class CertParamType(click.ParamType):  # type: ignore[type-arg]
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
            value = click.STRING(value, param, ctx)

            if value.lower() == "adhoc":
                try:
                    import cryptography  # noqa: F401
                except ImportError:
                    raise click.BadParameter(
                        "Using ad-hoc certificates requires the cryptography library.",
                        ctx,
                        param,
                    ) from None

                return "adhoc"

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
        app: WSGIApplication = info.load_app()
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
    from ..compat import FlaskAlreadyImported
    from ..dispatch import ConfigError, build_gateway, load_config
    from ..dispatch.registry import FactoryFailed

    try:
        gateway = build_gateway(load_config(path))
    except (ConfigError, FlaskAlreadyImported) as e:
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
            app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
        else:
            app = ctx.ensure_object(ScriptInfo).load_app()

        lines = _app_routes(app, sort, all_methods)

    for line in lines:
        click.echo(line)
