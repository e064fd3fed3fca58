"""The application object: configuration, registration and the WSGI entry
point that runs a request through its whole lifecycle."""

from __future__ import annotations

import collections.abc as cabc
import inspect
import os
import sys
import typing as t
import weakref
from datetime import timedelta
from inspect import CO_COROUTINE
from itertools import chain
from types import FunctionType, TracebackType
from urllib.parse import quote as _url_quote

from werkzeug.datastructures import Headers, ImmutableDict
from werkzeug.exceptions import (
    Aborter,
    BadHost,
    BadRequest,
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.routing import (
    BuildError,
    Map,
    MapAdapter,
    RequestRedirect,
    RoutingException,
)
from werkzeug.serving import is_running_from_reloader
from werkzeug.utils import cached_property
from werkzeug.utils import redirect as _wz_redirect
from werkzeug.wrappers import Response as BaseResponse
from werkzeug.wsgi import get_host

from . import typing as ft
from .config import Config, ConfigAttribute
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .globals import _cv_app, _cv_request, g, request, session
from .helpers import (
    _split_blueprint_path,
    get_debug_flag,
    get_flashed_messages,
    get_load_dotenv,
)
from .json.provider import DefaultJSONProvider, JSONProvider
from .logging import create_logger
from .routing import Rule
from .scaffold import Scaffold, _endpoint_from_view_func, find_package, setupmethod
from .signals import (
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from .wrappers import Request, Response

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .blueprints import Blueprint
    from .sessions import SessionInterface
    from .templating import DispatchingJinjaLoader, Environment
    from .testing import AppClient, AppCliRunner

T_shell_context_processor = t.TypeVar(
    "T_shell_context_processor", bound=ft.ShellContextProcessorCallable
)
T_teardown = t.TypeVar("T_teardown", bound=ft.TeardownCallable)
T_template_filter = t.TypeVar("T_template_filter", bound=ft.TemplateFilterCallable)
T_template_global = t.TypeVar("T_template_global", bound=ft.TemplateGlobalCallable)
T_template_test = t.TypeVar("T_template_test", bound=ft.TemplateTestCallable)

_sentinel = object()
_cookie_session_class: type | None = None


class _ImportedDefault:
    """A class attribute whose default is imported the first time it is read
    (then it replaces itself with the value), so ``import gateway`` does not
    pay for Jinja or itsdangerous before an app needs them."""

    def __init__(self, module: str, name: str, instantiate: bool = False) -> None:
        self.module = module
        self.name = name
        self.instantiate = instantiate

    def __set_name__(self, owner: type, attr: str) -> None:
        self.owner = owner
        self.attr = attr

    def __get__(self, obj: t.Any, objtype: type | None = None) -> t.Any:
        import importlib

        value = getattr(importlib.import_module(self.module, __package__), self.name)
        if self.instantiate:
            value = value()
        setattr(self.owner, self.attr, value)
        return value


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


def _is_websocket_upgrade(environ: WSGIEnvironment) -> bool:
    connection = environ.get("HTTP_CONNECTION", "").lower().split(",")
    return any(v.strip() == "upgrade" for v in connection) and (
        environ.get("HTTP_UPGRADE", "").lower() == "websocket"
    )


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Put the objects behind ``g`` and ``request`` into every template
    context. ``session`` stays the proxy (a global of the environment):
    resolving it here would open the session cookie for every render."""
    appctx = _cv_app.get(None)
    reqctx = _cv_request.get(None)
    rv: dict[str, t.Any] = {}
    if appctx is not None:
        rv["g"] = appctx.g
    if reqctx is not None:
        rv["request"] = reqctx.request
    return rv


class App(Scaffold):
    """The central object of an application: it holds the configuration,
    the URL map, the registered views, hooks, error handlers and blueprints,
    and it is the WSGI application a server calls.

    Create it in the main module or a package's ``__init__``::

        from gateway import App
        app = App(__name__)

    :param import_name: the name of the application's module or package;
        the root path (static files, templates, resources) is found from it.
    :param static_url_path: URL prefix of the static route (default: the
        static folder's name).
    :param static_folder: folder of static files, relative to the root
        path; None disables the static route.
    :param static_host: the host of the static route, required with
        ``host_matching``.
    :param host_matching: match rules on the full host (``host=``).
    :param subdomain_matching: match rules' ``subdomain=`` against the part
        of the host before ``SERVER_NAME``.
    :param template_folder: folder of templates, relative to the root path.
    :param instance_path: absolute path of the instance folder (default:
        ``instance`` beside the package, or ``$PREFIX/var/NAME-instance``
        for an installed package).
    :param instance_relative_config: resolve config file names against the
        instance folder instead of the root path.
    :param root_path: the root path, when it cannot be found from the
        import name.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    aborter_class = Aborter
    jinja_environment: type[Environment] = _ImportedDefault(  # type: ignore[assignment]
        ".templating", "Environment"
    )
    app_ctx_globals_class = _AppCtxGlobals
    config_class = Config
    testing = ConfigAttribute[bool]("TESTING")
    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")
    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME", get_converter=_make_timedelta
    )
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    jinja_options: dict[str, t.Any] = {}
    url_rule_class = Rule
    url_map_class = Map
    test_client_class: type[AppClient] | None = None
    test_cli_runner_class: type[AppCliRunner] | None = None
    session_interface: SessionInterface = _ImportedDefault(  # type: ignore[assignment]
        ".sessions", "SecureCookieSessionInterface", instantiate=True
    )

    default_config = ImmutableDict(
        {
            "DEBUG": None,
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": None,
            "SECRET_KEY": None,
            "SECRET_KEY_FALLBACKS": None,
            "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
            "USE_X_SENDFILE": False,
            "TRUSTED_HOSTS": None,
            "SERVER_NAME": None,
            "APPLICATION_ROOT": "/",
            "SESSION_COOKIE_NAME": "session",
            "SESSION_COOKIE_DOMAIN": None,
            "SESSION_COOKIE_PATH": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": False,
            "SESSION_COOKIE_PARTITIONED": False,
            "SESSION_COOKIE_SAMESITE": None,
            "SESSION_REFRESH_EACH_REQUEST": True,
            "MAX_CONTENT_LENGTH": None,
            "MAX_FORM_MEMORY_SIZE": 500_000,
            "MAX_FORM_PARTS": 1_000,
            "SEND_FILE_MAX_AGE_DEFAULT": None,
            "TRAP_BAD_REQUEST_ERRORS": None,
            "TRAP_HTTP_EXCEPTIONS": False,
            "EXPLAIN_TEMPLATE_LOADING": False,
            "PREFERRED_URL_SCHEME": "http",
            "TEMPLATES_AUTO_RELOAD": None,
            "MAX_COOKIE_SIZE": 4093,
            "PROVIDE_AUTOMATIC_OPTIONS": True,
        }
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ):
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute."
                " A relative path was given instead."
            )
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.aborter = self.make_aborter()
        self.json: JSONProvider = self.json_provider_class(self)
        self.url_build_error_handlers: list[
            t.Callable[[Exception, str, dict[str, t.Any]], str]
        ] = []
        self.teardown_appcontext_funcs: list[ft.TeardownCallable] = []
        self.shell_context_processors: list[ft.ShellContextProcessorCallable] = []
        self.blueprints: dict[str, Blueprint] = {}
        self.extensions: dict[str, t.Any] = {}
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False
        self._idna_cache: dict[str, str] = {}
        self.template_context_processors[None].append(_default_template_ctx_processor)

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise ValueError(
                    "Invalid static_host/host_matching combination: pass"
                    " static_host exactly when host_matching is enabled."
                )
            self_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]
            )
        self.cli.name = self.name

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called"
                " on the application. It has already handled its first"
                " request, any changes will not be applied"
                " consistently.\n"
                "Make sure all imports, decorators, functions, etc."
                " needed to set up the application are done before"
                " running it."
            )

    # -- properties -------------------------------------------------------

    @cached_property
    def name(self) -> str:  # type: ignore[override]
        """The app's name: the import name, or the script's file name when
        the app lives in ``__main__``. Names the logger and the CLI group."""
        if self.import_name == "__main__":
            fn: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return os.path.splitext(os.path.basename(fn))[0]
        return self.import_name

    @cached_property
    def logger(self):  # type: ignore[no-untyped-def]
        """The :class:`logging.Logger` named after the app (see
        :func:`gateway.logging.create_logger`)."""
        return create_logger(self)

    @cached_property
    def jinja_env(self) -> Environment:
        """The Jinja environment, created on first use."""
        return self.create_jinja_environment()

    @property
    def debug(self) -> bool:
        """The ``DEBUG`` config key: shows the interactive debugger and
        reloads code and templates under the development server."""
        return self.config["DEBUG"]  # type: ignore[no-any-return]

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None:
            self.jinja_env.auto_reload = value

    @property
    def _lazy_session(self) -> bool:
        """Whether the session may be opened on first use: true for the
        default cookie interface, whose opening has no side effects."""
        global _cookie_session_class
        if _cookie_session_class is None:
            from .sessions import SecureCookieSessionInterface

            _cookie_session_class = SecureCookieSessionInterface
        return type(self.session_interface) is _cookie_session_class

    # -- construction helpers ----------------------------------------------

    def make_config(self, instance_relative: bool = False) -> Config:
        """Create the config object, with ``DEBUG`` from ``GATEWAY_DEBUG``."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """Create the object :func:`~gateway.abort` uses to raise errors."""
        return self.aborter_class()

    def auto_find_instance_path(self) -> str:
        """``instance`` beside the package, or ``$PREFIX/var/NAME-instance``
        when the package is installed."""
        prefix, package_path = find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.AnyStr]:
        """Open a file relative to the instance folder (writing allowed)."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)  # type: ignore[return-value]
        return open(path, mode, encoding=encoding)  # type: ignore[return-value]

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options`, with the
        app's globals (``url_for``, ``config``, ``request``, ...) and the
        JSON provider behind the ``tojson`` filter."""
        options = dict(self.jinja_options)
        if "autoescape" not in options:
            options["autoescape"] = self.select_jinja_autoescape
        if "auto_reload" not in options:
            auto_reload = self.config["TEMPLATES_AUTO_RELOAD"]
            if auto_reload is None:
                auto_reload = self.debug
            options["auto_reload"] = auto_reload
        rv = self.jinja_environment(self, **options)
        rv.globals.update(
            url_for=self.url_for,
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            request=request,
            session=session,
            g=g,
        )
        rv.policies["json.dumps_function"] = self.json.dumps
        return rv

    def create_global_jinja_loader(self) -> DispatchingJinjaLoader:
        """The loader of :attr:`jinja_env`: it searches the app's template
        folder, then each blueprint's. To change where the app's own
        templates come from, override :attr:`jinja_loader` instead."""
        from .templating import DispatchingJinjaLoader

        return DispatchingJinjaLoader(self)

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Autoescape template strings and ``.html``, ``.htm``, ``.xml``,
        ``.xhtml`` and ``.svg`` files."""
        if filename is None:
            return True
        return filename.endswith((".html", ".htm", ".xml", ".xhtml", ".svg"))

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add what the context processors return (app first, then the
        request's blueprints), without overriding values passed explicitly."""
        names: t.Iterable[str | None] = (None,)
        reqctx = _cv_request.get(None)
        if reqctx is not None:
            names = chain(names, reversed(reqctx.request.blueprints))
        orig_ctx = context.copy()
        for name in names:
            if name in self.template_context_processors:
                for func in self.template_context_processors[name]:
                    context.update(self.ensure_sync(func)())
        context.update(orig_ctx)

    def make_shell_context(self) -> dict[str, t.Any]:
        """The namespace of ``gateway shell``: ``app``, ``g`` and what the
        shell context processors add."""
        rv: dict[str, t.Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    # -- registration ---------------------------------------------------------

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Register a blueprint's views, hooks and handlers on the app.
        Options (``url_prefix``, ``subdomain``, ``url_defaults``, ``name``)
        override the blueprint's own for this registration."""
        blueprint.register(self, options)

    def iter_blueprints(self) -> t.ValuesView[Blueprint]:
        """The registered blueprints, in registration order."""
        return self.blueprints.values()

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Add a URL rule. ``endpoint`` defaults to the view's name;
        ``methods`` to the view's ``methods`` attribute or ``["GET"]`` (HEAD
        is implied, OPTIONS answered automatically unless disabled); other
        options (``defaults``, ``subdomain``, ``host``, ``strict_slashes``,
        ``redirect_to``, ...) go to :class:`werkzeug.routing.Rule`."""
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)  # type: ignore[arg-type]
        options["endpoint"] = endpoint
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for"
                ' example: @app.route(..., methods=["POST"])'
            )
        methods = {item.upper() for item in methods}
        required_methods = set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(
                view_func, "provide_automatic_options", None
            )
        if provide_automatic_options is None:
            if "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]:
                provide_automatic_options = True
                required_methods.add("OPTIONS")
            else:
                provide_automatic_options = False
        methods |= required_methods

        rule_obj = self.url_rule_class(rule, methods=methods, **options)
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
        self.url_map.add(rule_obj)
        if view_func is not None:
            old_func = self.view_functions.get(endpoint)
            if old_func is not None and old_func != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing"
                    f" endpoint function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    @setupmethod
    def template_filter(
        self, name: str | None = None
    ) -> t.Callable[[T_template_filter], T_template_filter]:
        """Register the decorated function as a Jinja filter."""

        def decorator(f: T_template_filter) -> T_template_filter:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(
        self, f: ft.TemplateFilterCallable, name: str | None = None
    ) -> None:
        """Register a Jinja filter, named after the function by default."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(
        self, name: str | None = None
    ) -> t.Callable[[T_template_test], T_template_test]:
        """Register the decorated function as a Jinja test."""

        def decorator(f: T_template_test) -> T_template_test:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(
        self, f: ft.TemplateTestCallable, name: str | None = None
    ) -> None:
        """Register a Jinja test, named after the function by default."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(
        self, name: str | None = None
    ) -> t.Callable[[T_template_global], T_template_global]:
        """Register the decorated function as a Jinja global."""

        def decorator(f: T_template_global) -> T_template_global:
            self.add_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(
        self, f: ft.TemplateGlobalCallable, name: str | None = None
    ) -> None:
        """Register a Jinja global, named after the function by default."""
        self.jinja_env.globals[name or f.__name__] = f

    @setupmethod
    def teardown_appcontext(self, f: T_teardown) -> T_teardown:
        """Run ``f(exc)`` when the app context is popped (after each
        request, and after ``with app.app_context()``), even after an error."""
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def shell_context_processor(
        self, f: T_shell_context_processor
    ) -> T_shell_context_processor:
        """Register a function whose dict is added to ``gateway shell``."""
        self.shell_context_processors.append(f)
        return f

    # -- running -----------------------------------------------------------------

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Serve the app on Werkzeug's development server (not for
        production). Host and port default to ``SERVER_NAME``'s, else
        127.0.0.1:5000; debug mode turns on the reloader and debugger.
        Options go to :func:`werkzeug.serving.run_simple`."""
        if os.environ.get("GATEWAY_RUN_FROM_CLI") == "true":
            import click

            if not is_running_from_reloader():
                click.secho(
                    " * Ignoring a call to 'app.run()' that would block"
                    " the current 'gateway' CLI command.\n"
                    "   Only call 'app.run()' in an 'if __name__ =="
                    ' "__main__"\' guard.',
                    fg="red",
                )
            return
        from . import cli

        if get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            if "GATEWAY_DEBUG" in os.environ:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)

        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        cli.show_server_banner(self.debug, self.name)

        from werkzeug.serving import run_simple

        try:
            run_simple(t.cast(str, host), port, self, **options)
        finally:
            self._got_first_request = False

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> AppClient:
        """A client that sends requests to the app without a server,
        keeping cookies between requests (see :class:`~gateway.testing.AppClient`)."""
        cls = self.test_client_class
        if cls is None:
            from .testing import AppClient as cls
        return cls(  # type: ignore[no-any-return]
            self, self.response_class, use_cookies=use_cookies, **kwargs
        )

    def test_cli_runner(self, **kwargs: t.Any) -> AppCliRunner:
        """A runner that invokes the app's CLI commands in tests."""
        cls = self.test_cli_runner_class
        if cls is None:
            from .testing import AppCliRunner as cls
        return cls(self, **kwargs)  # type: ignore[no-any-return]

    # -- contexts -----------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new application context: ``with app.app_context(): ...``."""
        return AppContext(self)

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        """A request context for a WSGI environ (used by :meth:`wsgi_app`)."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a request described like the test client's
        (path, method, headers, data, ...), without running the request."""
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    # -- async ---------------------------------------------------------------------

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Return ``func`` callable synchronously: coroutine functions are
        wrapped by :meth:`async_to_sync`, others returned as they are."""
        if type(func) is FunctionType:
            # What inspect.iscoroutinefunction decides for a plain function,
            # without its unwrapping (this runs for every view and hook).
            if not (
                func.__code__.co_flags & CO_COROUTINE
                or getattr(func, "_is_coroutine_marker", None) is not None
            ):
                return func
        elif not inspect.iscoroutinefunction(func):
            return func
        return self.async_to_sync(func)

    def async_to_sync(
        self, func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]
    ) -> t.Callable[..., t.Any]:
        """Wrap a coroutine function to run in an event loop per call, through
        asgiref (the ``async`` extra)."""
        try:
            from asgiref.sync import async_to_sync as asgiref_async_to_sync
        except ImportError:
            raise RuntimeError(
                "Install gateway with the 'async' extra in order to use"
                " async views: pip install 'gateway[async]'"
            ) from None
        return asgiref_async_to_sync(func)

    # -- URLs ------------------------------------------------------------------------

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to a request, or (outside a request) to
        ``SERVER_NAME``, ``APPLICATION_ROOT`` and ``PREFERRED_URL_SCHEME``;
        None when there is neither. ``TRUSTED_HOSTS`` is checked here."""
        if request is not None:
            trusted_hosts = self.config["TRUSTED_HOSTS"]
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
                request.host = get_host(request.environ, trusted_hosts)  # type: ignore[misc]
            subdomain = None
            server_name = self.config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                return self._bind_to_request(request, server_name)
            return self.url_map.bind_to_environ(
                request.environ, server_name=server_name, subdomain=subdomain
            )
        if self.config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return None

    def _bind_to_request(self, request: Request, server_name: str | None) -> MapAdapter:
        """``url_map.bind_to_environ`` for the common case (no subdomain or
        host matching), reusing what the request object already decoded and
        caching the IDNA form of the few server names a process sees."""
        environ = request.environ
        scheme = environ["wsgi.url_scheme"]
        if "HTTP_UPGRADE" in environ and _is_websocket_upgrade(environ):
            scheme = "wss" if scheme == "https" else "ws"
        if server_name is None:
            server_name = request.host.lower()
        else:
            server_name = server_name.lower()
            if scheme in {"http", "ws"} and server_name.endswith(":80"):
                server_name = server_name[:-3]
            elif scheme in {"https", "wss"} and server_name.endswith(":443"):
                server_name = server_name[:-4]
        cache = self._idna_cache
        idna_name = cache.get(server_name)
        if idna_name is None:
            name, sep, port = server_name.partition(":")
            try:
                idna_name = f"{name.encode('idna').decode('ascii')}{sep}{port}"
            except UnicodeError as e:
                raise BadHost() from e
            if len(cache) >= 256:
                cache.clear()
            cache[server_name] = idna_name
        query = environ.get("QUERY_STRING")
        if query:
            query = query.encode("latin1").decode(errors="replace")
        url_map = self.url_map
        return MapAdapter(
            url_map,
            idna_name,
            request.root_path or "/",
            url_map.default_subdomain or "",
            scheme,
            request.path,
            environ["REQUEST_METHOD"],
            query,
        )

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL of ``endpoint``.

        Inside a request the URL is relative to it (``.name`` means an
        endpoint of the current blueprint) and external only when asked or
        when ``_scheme`` is given; outside one it needs ``SERVER_NAME`` and is
        external. Unknown values become the query string; ``_anchor`` adds a
        fragment, ``_method`` picks the rule for a method. A build error goes
        through :meth:`handle_url_build_error`.
        """
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            blueprint_name = req_ctx.request.blueprint
            if endpoint[:1] == ".":
                if blueprint_name is not None:
                    endpoint = f"{blueprint_name}{endpoint}"
                else:
                    endpoint = endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request"
                    " without 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as"
                    " needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        self.inject_url_defaults(endpoint, values)
        try:
            rv = url_adapter.build(  # type: ignore[union-attr]
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(
                _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external
            )
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            _anchor = _url_quote(_anchor, safe="%!#$&'()*+,/:;=?@")
            rv = f"{rv}#{_anchor}"
        return rv

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Let the ``url_defaults`` functions of the app and of the
        endpoint's blueprints fill in ``values``."""
        names: t.Iterable[str | None] = (None,)
        if "." in endpoint:
            names = chain(
                names, reversed(_split_blueprint_path(endpoint.rpartition(".")[0]))
            )
        for name in names:
            if name in self.url_default_functions:
                for func in self.url_default_functions[name]:
                    func(endpoint, values)

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Ask each of :attr:`url_build_error_handlers` for a URL; re-raise
        the error when none gives one."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    def redirect(self, location: str, code: int = 302) -> BaseResponse:
        """A redirect response of this app's response class."""
        return _wz_redirect(location, code=code, Response=self.response_class)

    # -- the request lifecycle ---------------------------------------------------

    def wsgi_app(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        """The WSGI application proper. Middleware wraps this method, not the
        app, so the app object stays reachable:
        ``app.wsgi_app = ProxyFix(app.wsgi_app)``."""
        ctx = self.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except:  # noqa: E722
                error = sys.exc_info()[1]
                raise
            return response(environ, start_response)
        finally:
            if "werkzeug.debug.preserve_context" in environ:
                environ["werkzeug.debug.preserve_context"](_cv_app.get())
                environ["werkzeug.debug.preserve_context"](_cv_request.get())
            if error is not None and self.should_ignore_error(error):
                error = None
            ctx.pop(error)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        return self.wsgi_app(environ, start_response)

    def full_dispatch_request(self) -> Response:
        """Run the hooks and the view of the current request and return the
        finished response; user errors go to the error handlers."""
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def preprocess_request(self) -> ft.ResponseReturnValue | None:
        """Run the URL value preprocessors and the ``before_request``
        functions (app first, then outer to inner blueprint); the first
        non-None return value ends the request."""
        req = _cv_request.get().request
        names: t.Iterable[str | None] = (None,)
        blueprints = req.blueprints
        if blueprints:
            names = (None, *reversed(blueprints))
        preprocessors = self.url_value_preprocessors
        if preprocessors:
            for name in names:
                if name in preprocessors:
                    for url_func in preprocessors[name]:
                        url_func(req.endpoint, req.view_args)
        before = self.before_request_funcs
        if before:
            for name in names:
                if name in before:
                    for before_func in before[name]:
                        rv = self.ensure_sync(before_func)()
                        if rv is not None:
                            return rv  # type: ignore[no-any-return]
        return None

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Call the view of the matched rule (or raise the routing error,
        or answer OPTIONS automatically)."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule: Rule = req.url_rule  # type: ignore[assignment]
        if req.method == "OPTIONS" and getattr(
            rule, "provide_automatic_options", False
        ):
            return self.make_default_options_response()
        view_args: dict[str, t.Any] = req.view_args  # type: ignore[assignment]
        return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)  # type: ignore[no-any-return]

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the routing error; in debug mode a redirect that would drop
        a form body raises an explanatory error instead."""
        if (
            not self.debug
            or not isinstance(request.routing_exception, RequestRedirect)
            or request.routing_exception.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise request.routing_exception  # type: ignore[misc]
        from .debughelpers import FormDataRoutingRedirect

        raise FormDataRoutingRedirect(request)

    def make_default_options_response(self) -> Response:
        """The automatic OPTIONS answer: an empty response with ``Allow``."""
        adapter = _cv_request.get().url_adapter
        methods = adapter.allowed_methods()  # type: ignore[union-attr]
        rv = self.response_class()
        rv.allow.update(methods)
        return rv

    def finalize_request(
        self,
        rv: ft.ResponseReturnValue | HTTPException,
        from_error_handler: bool = False,
    ) -> Response:
        """Make a response from the view's value and run the after-request
        processing. An error while finalizing an error response is logged,
        not raised."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(
                    self, _async_wrapper=self.ensure_sync, response=response
                )
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception(
                "Request finalizing failed with an error while handling an error"
            )
        return response

    def make_response(self, rv: ft.ResponseReturnValue) -> Response:
        """Convert a view's return value to :attr:`response_class`.

        Accepted: a response object, ``str``/``bytes`` (the body), a ``dict``
        or ``list`` (JSON), an iterator or generator (streamed), any WSGI
        callable, and the tuples ``(body, status)``, ``(body, headers)`` and
        ``(body, status, headers)``.
        """
        cls = self.response_class
        if type(rv) is str:
            return cls(rv)
        status = headers = None
        if isinstance(rv, tuple):
            len_rv = len(rv)
            if len_rv == 3:
                rv, status, headers = rv  # type: ignore[misc]
            elif len_rv == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv  # type: ignore[assignment]
                else:
                    rv, status = rv  # type: ignore[assignment,misc]
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {request.endpoint!r} did not"
                " return a valid response. The function either returned"
                " None or ended without a return statement."
            )
        if not isinstance(rv, cls):
            if isinstance(rv, (str, bytes, bytearray)) or isinstance(rv, cabc.Iterator):
                rv = cls(rv, status=status, headers=headers)  # type: ignore[arg-type]
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif isinstance(rv, HTTPException):
                # Its own response, not a round trip through it as a WSGI app.
                rv = cls.force_type(rv.get_response(request.environ))
            elif isinstance(rv, BaseResponse) or callable(rv):
                try:
                    rv = cls.force_type(rv, request.environ)  # type: ignore[arg-type]
                except TypeError as e:
                    raise TypeError(
                        f"{e}\nThe view function did not return a valid"
                        " response. The return type must be a string,"
                        " dict, list, tuple with headers or status,"
                        " Response instance, or WSGI callable, but it"
                        f" was a {type(rv).__name__}."
                    ).with_traceback(sys.exc_info()[2]) from None
            else:
                raise TypeError(
                    "The view function did not return a valid"
                    " response. The return type must be a string,"
                    " dict, list, tuple with headers or status,"
                    " Response instance, or WSGI callable, but it was a"
                    f" {type(rv).__name__}."
                )
        rv = t.cast(Response, rv)
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                rv.status = status  # type: ignore[assignment]
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)  # type: ignore[arg-type]
        return rv

    def process_response(self, response: Response) -> Response:
        """Run ``after_this_request`` callbacks, then the ``after_request``
        functions (innermost blueprint first, each list in reverse), then
        save the session."""
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        after = self.after_request_funcs
        if after:
            for name in chain(ctx.request.blueprints, (None,)):
                if name in after:
                    for func in reversed(after[name]):
                        response = self.ensure_sync(func)(response)
        sess = ctx._session
        if sess is None:
            environ = ctx.request.environ
            if "HTTP_COOKIE" not in environ:
                return response
            interface = self.session_interface
            if interface.get_cookie_name(self) not in ctx.request.cookies:
                return response
            sess = ctx._open_session()
        interface = self.session_interface
        if not interface.is_null_session(sess):
            interface.save_session(self, sess, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run the ``teardown_request`` functions (innermost blueprint first,
        each list in reverse) and send ``request_tearing_down``."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        teardown = self.teardown_request_funcs
        if teardown:
            for name in chain(request.blueprints, (None,)):
                if name in teardown:
                    for func in reversed(teardown[name]):
                        self.ensure_sync(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Run the ``teardown_appcontext`` functions in reverse and send
        ``appcontext_tearing_down``."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self.ensure_sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    # -- errors ----------------------------------------------------------------------

    def _find_error_handler(
        self, e: Exception, blueprints: list[str]
    ) -> ft.ErrorHandlerCallable | None:
        """The handler for ``e``: by code, then by class along its MRO; the
        request's blueprints (innermost first) before the app."""
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        spec = self.error_handler_spec
        for c in (code, None) if code is not None else (None,):
            for name in names:
                if name not in spec:
                    continue
                handler_map = spec[name].get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should propagate like any other error
        instead of becoming its error page (``TRAP_HTTP_EXCEPTIONS``,
        ``TRAP_BAD_REQUEST_ERRORS``; key errors of ``request.form`` are
        trapped in debug mode)."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if (
            trap_bad_request is None
            and self.debug
            and isinstance(e, BadRequestKeyError)
        ):
            return True
        if trap_bad_request:
            return isinstance(e, BadRequest)
        return False

    def handle_http_exception(
        self, e: HTTPException
    ) -> HTTPException | ft.ResponseReturnValue:
        """Answer an HTTP exception with its registered handler, or with the
        exception itself (its default error page). Redirects from routing
        are never handled."""
        if e.code is None:
            return e
        if isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_user_exception(
        self, e: Exception
    ) -> HTTPException | ft.ResponseReturnValue:
        """Handle an exception raised by a hook or a view: HTTP exceptions
        through :meth:`handle_http_exception`, others through a registered
        handler; re-raised when there is none."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_exception(self, e: Exception) -> Response:
        """Handle an exception no user handler caught: re-raise it when
        exceptions propagate (testing, debug, ``PROPAGATE_EXCEPTIONS``), else
        log it and answer 500 (through a 500 handler if one is registered,
        which gets an :class:`InternalServerError` with ``original_exception``)."""
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(
                self, _async_wrapper=self.ensure_sync, exception=e
            )
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: InternalServerError | ft.ResponseReturnValue
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            server_error = self.ensure_sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception with the request's path and method."""
        self.logger.error(
            f"Exception on {request.path} [{request.method}]", exc_info=exc_info
        )

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions should not see ``error``."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
