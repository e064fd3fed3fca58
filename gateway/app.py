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
from types import FunctionType

from werkzeug.datastructures import Headers, ImmutableDict
from werkzeug.exceptions import (
    Aborter,
    HTTPException,
)
from werkzeug.routing import RequestRedirect
from werkzeug.utils import cached_property
from werkzeug.wrappers import Response as BaseResponse

from ._responses import http_error_response, text_response
from .app_errors import ErrorsMixin
from .app_templates import TemplatesMixin, _default_template_ctx_processor
from .app_tools import ToolsMixin
from .app_urls import URLsMixin
from .config import Config, ConfigAttribute
from .ctx import AppContext, RequestContext, _AppCtxGlobals
from .globals import _cv_app, _cv_request, request
from .helpers import (
    get_debug_flag,
)
from .json.provider import DefaultJSONProvider, JSONProvider
from .logging import create_logger
from .routing import Map, Rule
from .scaffold import Scaffold, _endpoint_from_view_func, find_package, setupmethod
from .signals import (
    appcontext_tearing_down,
    request_finished,
    request_started,
    request_tearing_down,
)
from .wrappers import Request, Response

if t.TYPE_CHECKING:  # pragma: no cover
    import logging

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from . import typing as ft
    from .blueprints import Blueprint
    from .sessions import SessionInterface
    from .templating import Environment
    from .testing import AppClient, AppCliRunner

T_shell_context_processor = t.TypeVar(
    "T_shell_context_processor", bound="ft.ShellContextProcessorCallable"
)
T_teardown = t.TypeVar("T_teardown", bound="ft.TeardownCallable")
T_template_filter = t.TypeVar("T_template_filter", bound="ft.TemplateFilterCallable")
T_template_global = t.TypeVar("T_template_global", bound="ft.TemplateGlobalCallable")
T_template_test = t.TypeVar("T_template_test", bound="ft.TemplateTestCallable")

# Any: the default of parameters typed otherwise, told apart by identity.
_sentinel: t.Any = object()
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


class App(TemplatesMixin, URLsMixin, ErrorsMixin, ToolsMixin, Scaffold):
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
    # The _ImportedDefault descriptors are replaced by the value they import
    # on first read: the annotation is what the attribute holds.
    jinja_environment: type[Environment] = _ImportedDefault(  # type: ignore[assignment]
        ".templating", "Environment"
    )
    app_ctx_globals_class = _AppCtxGlobals
    config_class = Config
    testing = ConfigAttribute[bool]("TESTING")
    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")
    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME",
        # None passes through unconverted: the attribute is a timedelta as
        # long as the config key is one (its default) or an int.
        get_converter=_make_timedelta,  # type: ignore[arg-type]
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
        self._idna_cache: dict[t.Any, str] = {}
        self.template_context_processors[None].append(_default_template_ctx_processor)

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                # AssertionError, as Flask's assert raises (but not skipped
                # under python -O).
                raise AssertionError(
                    "Invalid static_host/host_matching combination: pass"
                    " static_host exactly when host_matching is enabled."
                )
            self_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]  # the app outlives its routes
            )
        # ``cli`` (made on first use, Scaffold.cli) is named after the app.
        self._cli_name = self.name
        if self._cli is not None:
            self._cli.name = self._cli_name

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
    def name(self) -> str:
        """The app's name: the import name, or the script's file name when
        the app lives in ``__main__``. Names the logger and the CLI group."""
        if self.import_name == "__main__":
            fn: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return os.path.splitext(os.path.basename(fn))[0]
        return self.import_name

    @cached_property
    def logger(self) -> logging.Logger:
        """The :class:`logging.Logger` named after the app (see
        :func:`gateway.logging.create_logger`)."""
        return create_logger(self)

    @cached_property
    def aborter(self) -> Aborter:
        """What :func:`~gateway.abort` calls: made by :meth:`make_aborter` on
        first use (a tenant app that never aborts does not hold one, with its
        copy of the code -> exception table). Assignable, as in Flask."""
        return self.make_aborter()

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
            return open(path, mode)
        return open(path, mode, encoding=encoding)

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
            endpoint = _endpoint_from_view_func(view_func)
        if type(endpoint) is str:
            # One copy of "blueprint.view" for every app that has the route.
            endpoint = sys.intern(endpoint)
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
        # An attribute of gateway's (and Flask's) own on whatever rule class
        # url_rule_class is; dispatch_request reads it with getattr.
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
        # Matched (no routing exception): the rule and its arguments are set.
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
            raise request.routing_exception  # type: ignore[misc]  # set: see the caller
        from .debughelpers import FormDataRoutingRedirect

        raise FormDataRoutingRedirect(request)

    def make_default_options_response(self) -> Response:
        """The automatic OPTIONS answer: an empty response with ``Allow``."""
        adapter = _cv_request.get().url_adapter
        methods = adapter.allowed_methods()  # type: ignore[union-attr]  # a request has an adapter
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
            return text_response(cls, rv)
        status = headers = None
        # The tuple forms are told apart by length and by the type of the
        # second item, which mypy cannot follow: hence the ignores below.
        if isinstance(rv, tuple):
            len_rv = len(rv)
            if len_rv == 3:
                rv, status, headers = rv  # type: ignore[misc]
            elif len_rv == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
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
                rv = http_error_response(cls, rv, request.environ)
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
                rv.status = status
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
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
        sess = ctx._session_if_open
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

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:
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

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:
        """Run the ``teardown_appcontext`` functions in reverse and send
        ``appcontext_tearing_down``."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self.ensure_sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
