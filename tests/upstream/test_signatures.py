"""Canaries: the signatures gateway calls positionally or overrides, and the
names gateway adds to subclasses of upstream classes (see canary.py)."""

from __future__ import annotations

import inspect
import typing as t
from inspect import Parameter

import pytest
from canary import OPTIONAL, require, resolve, upstream, wsgi_app

# -- signatures ----------------------------------------------------------------
#
# Methods gateway calls positionally or overrides: they must still take these
# parameters first, in this order, and require nothing more.

SIGNATURES = [
    pytest.param(
        "werkzeug",
        "werkzeug.routing:MapAdapter.__init__",
        [
            "self",
            "map",
            "server_name",
            "script_name",
            "subdomain",
            "url_scheme",
            "path_info",
            "default_method",
            "query_args",
        ],
        "app_urls.py URLsMixin._bind_to_request",
        id="werkzeug-MapAdapter-positional",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.routing:Rule._compile_builder",
        ["self", "append_unknown"],
        "routing.py Rule._compile_builder, _LazyBuilderAttr.__get__",
        id="werkzeug-Rule._compile_builder",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.routing:Rule.get_converter",
        ["self", "variable_name", "converter_name", "args", "kwargs"],
        "routing.py Rule.get_converter",
        id="werkzeug-Rule.get_converter",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.routing.matcher:StateMachineMatcher.__init__",
        ["self", "merge_slashes"],
        "routing.py _Matcher.__init__",
        id="werkzeug-StateMachineMatcher.__init__",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.routing.matcher:StateMachineMatcher.add",
        ["self", "rule"],
        "routing.py _Matcher.add",
        id="werkzeug-StateMachineMatcher.add",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.routing.matcher:StateMachineMatcher.update",
        ["self"],
        "routing.py _Matcher.update",
        id="werkzeug-StateMachineMatcher.update",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.wrappers:Request._load_form_data",
        ["self"],
        "wrappers.py Request._load_form_data",
        id="werkzeug-Request._load_form_data",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.test:Client._add_cookies_to_wsgi",
        ["self", "environ"],
        "testing.py AppClient.session_transaction",
        id="werkzeug-Client._add_cookies_to_wsgi",
    ),
    pytest.param(
        "werkzeug",
        "werkzeug.test:Client._update_cookies_from_response",
        ["self", "server_name", "path", "headers"],
        "testing.py AppClient.session_transaction",
        id="werkzeug-Client._update_cookies_from_response",
    ),
    pytest.param(
        "jinja2",
        "jinja2:Environment.getattr",
        ["self", "obj", "attribute"],
        "templating.py Environment.getattr",
        id="jinja2-Environment.getattr",
    ),
    pytest.param(
        "jinja2",
        "jinja2:Environment.make_globals",
        ["self", "d"],
        "templating.py Environment.make_globals",
        id="jinja2-Environment.make_globals",
    ),
    pytest.param(
        "itsdangerous",
        "itsdangerous:Signer.derive_key",
        ["self", "secret_key"],
        "sessions.py _SessionSigner.derive_key",
        id="itsdangerous-Signer.derive_key",
    ),
    pytest.param(
        "click",
        "click:Parameter.handle_parse_result",
        ["self", "ctx", "opts", "args"],
        "cli/__init__.py GatewayGroup.parse_args",
        id="click-Parameter.handle_parse_result",
    ),
    pytest.param(
        "gevent",
        "gevent.pywsgi:WSGIHandler.read_requestline",
        ["self"],
        "adapters/gevent.py GatewayHandler.read_requestline",
        id="gevent-WSGIHandler.read_requestline",
    ),
    pytest.param(
        "gevent",
        "gevent.pywsgi:WSGIHandler.read_request",
        ["self", "raw_requestline"],
        "adapters/gevent.py GatewayHandler.read_request",
        id="gevent-WSGIHandler.read_request",
    ),
    pytest.param(
        "gevent",
        "gevent.pywsgi:WSGIServer.handle",
        ["self", "sock", "address"],
        "adapters/gevent.py GatewayServer.handle",
        id="gevent-WSGIServer.handle",
    ),
    pytest.param(
        "gevent",
        "gevent.pywsgi:WSGIHandler.handle",
        ["self"],
        "adapters/gevent.py GatewayHandler.handle",
        id="gevent-WSGIHandler.handle",
    ),
    pytest.param(
        "gevent",
        "gevent.pywsgi:WSGIHandler._handle_client_error",
        ["self", "ex"],
        "adapters/gevent.py GatewayHandler._handle_client_error",
        id="gevent-WSGIHandler._handle_client_error",
    ),
    pytest.param(
        "tornado",
        "tornado.httpserver:HTTPServer.start_request",
        ["self", "server_conn", "request_conn"],
        "adapters/tornado.py GatewayHTTPServer.start_request",
        id="tornado-HTTPServer.start_request",
    ),
    pytest.param(
        "tornado",
        "tornado.httpserver:HTTPServer.on_close",
        ["self", "server_conn"],
        "adapters/tornado.py GatewayHTTPServer.on_close",
        id="tornado-HTTPServer.on_close",
    ),
    pytest.param(
        "tornado",
        "tornado.httpserver:HTTPServer.handle_stream",
        ["self", "stream", "address"],
        "adapters/tornado.py GatewayHTTPServer.handle_stream",
        id="tornado-HTTPServer.handle_stream",
    ),
    pytest.param(
        "gunicorn",
        "gunicorn.app.base:BaseApplication.reload",
        ["self"],
        "adapters/gunicorn.py GatewayApplication.reload",
        id="gunicorn-BaseApplication.reload",
    ),
    pytest.param(
        "flup",
        "flup.server.threadedserver:ThreadedServer.shutdown",
        ["self"],
        "adapters/fastcgi.py GatewayFCGIServer.shutdown",
        id="flup-ThreadedServer.shutdown",
    ),
    pytest.param(
        "tornado",
        "tornado.wsgi:WSGIContainer.__init__",
        ["self", "wsgi_application", "executor"],
        "adapters/tornado.py GatewayContainer.__init__",
        id="tornado-WSGIContainer.__init__",
    ),
    pytest.param(
        "tornado",
        "tornado.wsgi:WSGIContainer.environ",
        ["self", "request"],
        "adapters/tornado.py GatewayContainer.environ",
        id="tornado-WSGIContainer.environ",
    ),
    pytest.param(
        "tornado",
        "tornado.wsgi:WSGIContainer.handle_request",
        ["self", "request"],
        "adapters/tornado.py GatewayContainer.handle_request",
        id="tornado-WSGIContainer.handle_request",
    ),
    pytest.param(
        "tornado",
        "tornado.wsgi:WSGIContainer._log",
        ["self", "status_code", "request"],
        "adapters/tornado.py GatewayContainer._respond",
        id="tornado-WSGIContainer._log",
    ),
]


@pytest.mark.parametrize(("library", "target", "parameters", "used_by"), SIGNATURES)
def test_signature(
    library: str, target: str, parameters: list[str], used_by: str
) -> None:
    if library in OPTIONAL:
        require(library)
    internal = target.partition(":")[2]
    expected = (
        f"takes ({', '.join(parameters)}) first, positionally,"
        " and requires nothing more"
    )
    with upstream(library, internal, expected, used_by):
        params = list(inspect.signature(resolve(target)).parameters.values())
        leading = params[: len(parameters)]
        assert [p.name for p in leading] == parameters, [p.name for p in params]
        positional = (Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD)
        assert all(p.kind in positional for p in leading), leading
        variadic = (Parameter.VAR_POSITIONAL, Parameter.VAR_KEYWORD)
        required = [
            p.name
            for p in params[len(parameters) :]
            if p.default is p.empty and p.kind not in variadic
        ]
        assert not required, f"new required parameters {required}"


# -- names gateway adds to subclasses of upstream classes ----------------------
#
# Gateway keeps its own state under these names on subclasses (or instances)
# of upstream classes; they must stay free upstream or one side silently
# overwrites the other's.


def _werkzeug_request() -> t.Any:
    from werkzeug.test import create_environ
    from werkzeug.wrappers import Request

    return Request(create_environ())


def _werkzeug_client() -> t.Any:
    from werkzeug.test import Client

    return Client(wsgi_app)


def _werkzeug_environ_builder() -> t.Any:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder()
    builder.close()
    return builder


def _werkzeug_rule() -> t.Any:
    from werkzeug.routing import Map, Rule

    rule = Rule("/canary/<int:n>", endpoint="canary")
    Map([rule])
    return rule


def _werkzeug_map() -> t.Any:
    from werkzeug.routing import Map

    return Map()


def _jinja_environment() -> t.Any:
    import jinja2

    return jinja2.Environment()


def _werkzeug_callback_dict() -> t.Any:
    from werkzeug.datastructures import CallbackDict

    return CallbackDict()


def _click_group() -> t.Any:
    import click

    return click.Group("canary")


def _click_command() -> t.Any:
    import click

    return click.Command("canary")


def _click_runner() -> t.Any:
    from click.testing import CliRunner

    return CliRunner()


def _gevent_server() -> t.Any:
    from gevent import pywsgi

    return pywsgi.WSGIServer(("127.0.0.1", 0), wsgi_app, log=None, error_log=None)


def _gevent_handler_class() -> t.Any:
    from gevent import pywsgi

    return pywsgi.WSGIHandler


def _tornado_server_class() -> t.Any:
    from tornado.httpserver import HTTPServer

    return HTTPServer


def _tornado_container() -> t.Any:
    from tornado.wsgi import WSGIContainer

    return WSGIContainer(wsgi_app)


def _gunicorn_application() -> t.Any:
    from gunicorn.app.base import BaseApplication

    class Bare(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            pass

        def load(self) -> t.Any:
            return wsgi_app

    return Bare()


OWN_NAMES = [
    pytest.param(
        "werkzeug",
        "Request",
        _werkzeug_request,
        [
            "url_rule",
            "view_args",
            "routing_exception",
            "endpoint",
            "blueprint",
            "blueprints",
            "_max_content_length",
            "_max_form_memory_size",
            "_max_form_parts",
        ],
        "wrappers.py Request",
        id="werkzeug-Request",
    ),
    pytest.param(
        "werkzeug",
        "test.Client",
        _werkzeug_client,
        [
            "preserve_context",
            "environ_base",
            "_new_contexts",
            "_context_stack",
            "_copy_environ",
            "_request_from_builder_args",
            "session_transaction",
        ],
        "testing.py AppClient",
        id="werkzeug-Client",
    ),
    pytest.param(
        "werkzeug",
        "test.EnvironBuilder",
        _werkzeug_environ_builder,
        ["app"],
        "testing.py EnvironBuilder.__init__",
        id="werkzeug-EnvironBuilder",
    ),
    pytest.param(
        "werkzeug",
        "routing.Rule",
        _werkzeug_rule,
        ["_lazy_build", "_lazy_build_unknown", "provide_automatic_options"],
        "routing.py _LazyBuilderAttr, app.py App.add_url_rule",
        id="werkzeug-Rule",
    ),
    pytest.param(
        "werkzeug",
        "routing.Map",
        _werkzeug_map,
        ["_shared_converters"],
        "routing.py Map, Rule.get_converter",
        id="werkzeug-Map",
    ),
    pytest.param(
        "werkzeug",
        "datastructures.CallbackDict",
        _werkzeug_callback_dict,
        ["modified", "accessed", "permanent", "new"],
        "sessions.py SecureCookieSession, SessionMixin",
        id="werkzeug-CallbackDict",
    ),
    pytest.param(
        "jinja2",
        "Environment",
        _jinja_environment,
        ["_string_templates", "_string_lock", "string_cache_size", "app"],
        "templating.py Environment",
        id="jinja2-Environment",
    ),
    pytest.param(
        "click",
        "Group",
        _click_group,
        [
            "create_app",
            "load_dotenv",
            "set_debug_flag",
            "lazy_commands",
            "_loaded_plugin_commands",
            "_load_plugin_commands",
        ],
        "cli/__init__.py GatewayGroup",
        id="click-Group",
    ),
    pytest.param(
        "click",
        "Command",
        _click_command,
        ["source", "reason", "_fail"],
        "cli/__init__.py UnavailableCommand",
        id="click-Command",
    ),
    pytest.param(
        "click",
        "testing.CliRunner",
        _click_runner,
        ["app"],
        "testing.py AppCliRunner",
        id="click-CliRunner",
    ),
    pytest.param(
        "gevent",
        "pywsgi.WSGIServer",
        _gevent_server,
        [
            "stopping",
            "_idle",
            "mark",
            "graceful_stop",
            "header_timeout",
            "keepalive_timeout",
        ],
        "adapters/gevent.py GatewayServer",
        id="gevent-WSGIServer",
    ),
    pytest.param(
        "gevent",
        "pywsgi.WSGIHandler",
        _gevent_handler_class,
        ["served", "head_timer", "_cancel_timer"],
        "adapters/gevent.py GatewayHandler",
        id="gevent-WSGIHandler",
    ),
    pytest.param(
        "tornado",
        "httpserver.HTTPServer",
        _tornado_server_class,
        ["keepalive_params", "fresh"],
        "adapters/tornado.py GatewayHTTPServer",
        id="tornado-HTTPServer",
    ),
    pytest.param(
        "tornado",
        "wsgi.WSGIContainer",
        _tornado_container,
        ["in_flight", "drained", "_respond", "_close", "_send_error"],
        "adapters/tornado.py GatewayContainer",
        id="tornado-WSGIContainer",
    ),
    pytest.param(
        "gunicorn",
        "app.base.BaseApplication",
        _gunicorn_application,
        ["_loader", "_settings", "_on_reload"],
        "adapters/gunicorn.py GatewayApplication",
        id="gunicorn-BaseApplication",
    ),
]


@pytest.mark.parametrize(("library", "cls", "make", "names", "used_by"), OWN_NAMES)
def test_names_gateway_adds_are_free_upstream(
    library: str,
    cls: str,
    make: t.Callable[[], t.Any],
    names: list[str],
    used_by: str,
) -> None:
    if library in OPTIONAL:
        require(library)
    expected = (
        f"no attribute named {', '.join(names)}:"
        " gateway's subclass keeps its own state there"
    )
    with upstream(library, cls, expected, used_by):
        instance = make()
        taken = [name for name in names if hasattr(instance, name)]
        assert not taken, f"{cls} now has {taken}"
