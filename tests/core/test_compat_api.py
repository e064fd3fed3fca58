"""The public API surface: every name of Flask 3.1's documented API exists in
gateway (under the renames of the naming map in docs/architecture.md) with
the same parameters, and the names modern Flask removed are not brought back.

The tables list the names of Flask 3.1's API reference
(https://flask.palletsprojects.com/en/stable/api/), so they hold even without
Flask installed; with Flask installed, the signatures are compared with the
reference itself.
"""

from __future__ import annotations
import __future__

import importlib
import inspect
import logging
import typing as t

import pytest
from blinker import NamedSignal
from compat_support import RENAMED, needs_flask
from werkzeug.local import LocalProxy

import gateway

# The names of Flask's API reference, as gateway spells them.
TOP_LEVEL = [
    "App", "Blueprint", "Config", "Request", "Response", "abort",
    "after_this_request", "appcontext_popped", "appcontext_pushed",
    "appcontext_tearing_down", "before_render_template",
    "copy_current_request_context", "current_app", "flash", "g",
    "get_flashed_messages", "get_template_attribute", "got_request_exception",
    "has_app_context", "has_request_context", "json", "jsonify",
    "make_response", "message_flashed", "redirect", "render_template",
    "render_template_string", "request", "request_finished", "request_started",
    "request_tearing_down", "send_file", "send_from_directory", "session",
    "stream_template", "stream_template_string", "stream_with_context",
    "template_rendered", "url_for",
]  # fmt: skip

APP_MEMBERS = [
    # 1.2 attributes
    "after_request_funcs", "before_request_funcs", "teardown_request_funcs",
    "teardown_appcontext_funcs", "template_context_processors",
    "url_default_functions", "url_value_preprocessors",
    "url_build_error_handlers", "error_handler_spec", "view_functions",
    "url_map", "url_rule_class", "url_map_class", "blueprints", "extensions",
    "config", "config_class", "default_config", "debug", "testing",
    "secret_key", "permanent_session_lifetime", "logger", "name",
    "instance_path", "has_static_folder", "jinja_env", "jinja_loader",
    "jinja_options", "request_class", "response_class",
    "app_ctx_globals_class", "session_interface", "test_client_class",
    "cli", "aborter_class", "aborter", "jinja_environment", "json",
    "json_provider_class", "test_cli_runner_class", "subdomain_matching",
    "import_name", "root_path", "static_folder", "static_url_path",
    "template_folder", "shell_context_processors",
    # 1.3 registration
    "route", "add_url_rule", "endpoint", "errorhandler",
    "register_error_handler", "before_request", "after_request",
    "teardown_request", "teardown_appcontext", "context_processor",
    "url_value_preprocessor", "url_defaults", "template_filter",
    "add_template_filter", "template_test", "add_template_test",
    "template_global", "add_template_global", "register_blueprint",
    "get", "post", "put", "delete", "patch",
    # 1.4 request handling and overridables
    "__call__", "wsgi_app", "request_context", "test_request_context",
    "app_context", "full_dispatch_request", "dispatch_request",
    "preprocess_request", "process_response", "make_response",
    "make_default_options_response", "handle_exception",
    "handle_http_exception", "handle_user_exception",
    "handle_url_build_error", "log_exception", "trap_http_exception",
    "should_ignore_error", "do_teardown_request", "do_teardown_appcontext",
    "inject_url_defaults", "create_url_adapter", "make_config",
    "auto_find_instance_path", "select_jinja_autoescape",
    "create_jinja_environment", "create_global_jinja_loader",
    "update_template_context", "get_send_file_max_age", "send_static_file",
    "open_resource", "open_instance_resource", "run", "test_client",
    "url_for", "redirect", "make_aborter", "finalize_request", "ensure_sync",
    "async_to_sync", "test_cli_runner", "iter_blueprints",
    "shell_context_processor", "make_shell_context",
    "raise_routing_exception",
]  # fmt: skip

BLUEPRINT_MEMBERS = [
    "name", "import_name", "static_folder", "static_url_path",
    "template_folder", "url_prefix", "subdomain", "url_values_defaults",
    "root_path", "cli", "cli_group", "deferred_functions",
    "route", "add_url_rule", "endpoint", "before_request",
    "before_app_request", "after_request", "after_app_request",
    "teardown_request", "teardown_app_request", "context_processor",
    "app_context_processor", "errorhandler", "app_errorhandler",
    "register_error_handler", "url_value_preprocessor",
    "app_url_value_preprocessor", "url_defaults", "app_url_defaults",
    "app_template_filter", "add_app_template_filter", "app_template_test",
    "add_app_template_test", "app_template_global", "add_app_template_global",
    "record", "record_once", "make_setup_state", "register",
    "register_blueprint", "open_resource", "send_static_file",
    "get_send_file_max_age", "has_static_folder", "jinja_loader",
    "get", "post", "put", "delete", "patch",
]  # fmt: skip

SUBMODULE_NAMES = {
    "app": ["App"],
    "blueprints": ["Blueprint", "BlueprintSetupState"],
    "config": ["Config", "ConfigAttribute"],
    "ctx": [
        "AppContext", "RequestContext", "_AppCtxGlobals", "after_this_request",
        "copy_current_request_context", "has_app_context", "has_request_context",
    ],
    "globals": ["current_app", "g", "request", "session", "app_ctx", "request_ctx"],
    "helpers": [
        "url_for", "redirect", "abort", "make_response", "send_file",
        "send_from_directory", "stream_with_context", "flash",
        "get_flashed_messages", "get_template_attribute", "get_root_path",
        "get_debug_flag", "get_load_dotenv",
    ],
    "json": ["dumps", "dump", "loads", "load", "jsonify"],
    "json.provider": ["JSONProvider", "DefaultJSONProvider"],
    "json.tag": ["TaggedJSONSerializer", "JSONTag"],
    "logging": ["default_handler", "wsgi_errors_stream", "has_level_handler", "create_logger"],
    "sessions": [
        "SessionInterface", "SecureCookieSessionInterface", "SecureCookieSession",
        "NullSession", "SessionMixin", "session_json_serializer",
    ],
    "signals": ["Namespace", "template_rendered", "message_flashed"],
    "templating": [
        "Environment", "DispatchingJinjaLoader", "render_template",
        "render_template_string", "stream_template", "stream_template_string",
    ],
    "testing": ["EnvironBuilder", "AppClient", "AppCliRunner"],
    "views": ["View", "MethodView", "http_method_funcs"],
    "wrappers": ["Request", "Response"],
    "cli": [
        "AppGroup", "GatewayGroup", "ScriptInfo", "with_appcontext", "NoAppException",
        "load_dotenv", "pass_script_info", "run_command", "shell_command",
        "routes_command",
    ],
    "debughelpers": ["FormDataRoutingRedirect", "DebugFilesKeyError", "UnexpectedUnicodeError"],
}  # fmt: skip

# Names Flask removed before 3.1 (found in old documentation and tutorials)
# are not provided.
OBSOLETE = [
    ("App", "before_first_request"),
    ("App", "before_first_request_funcs"),
    ("App", "got_first_request"),
    ("App", "json_encoder"),
    ("App", "json_decoder"),
    ("App", "session_cookie_name"),
    ("App", "use_x_sendfile"),
    ("App", "propagate_exceptions"),
    ("App", "preserve_context_on_exception"),
    ("App", "register_module"),
    ("App", "open_session"),
    ("App", "save_session"),
    ("App", "make_null_session"),
    ("App", "init_jinja_globals"),
    ("App", "error_handlers"),
    ("App", "logger_name"),
    ("App", "debug_log_format"),
    ("App", "request_globals_class"),
    ("Blueprint", "before_app_first_request"),
    ("Config", "from_json"),
    ("Request", "is_xhr"),
    ("Request", "module"),
]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name_exists(name: str) -> None:
    assert getattr(gateway, name) is not None


@pytest.mark.parametrize("member", APP_MEMBERS)
def test_app_member_exists(member: str) -> None:
    app = gateway.App("api_surface_app")
    assert hasattr(app, member)


@pytest.mark.parametrize("member", BLUEPRINT_MEMBERS)
def test_blueprint_member_exists(member: str) -> None:
    bp = gateway.Blueprint("bp", __name__)
    assert hasattr(bp, member)


@pytest.mark.parametrize(
    ("module", "name"),
    [(m, n) for m, names in SUBMODULE_NAMES.items() for n in names],
    ids=lambda v: v,
)
def test_submodule_keeps_its_flask_name(module: str, name: str) -> None:
    mod = importlib.import_module(f"gateway.{module}")
    assert hasattr(mod, name)


@pytest.mark.parametrize(("owner", "name"), OBSOLETE, ids=lambda v: v)
def test_obsolete_names_are_not_provided(owner: str, name: str) -> None:
    assert not hasattr(getattr(gateway, owner), name)


def test_obsolete_modules_are_not_provided() -> None:
    with pytest.raises(ImportError):
        importlib.import_module("gateway.ext")
    assert not hasattr(gateway, "Module")
    assert not hasattr(gateway, "_request_ctx_stack")
    assert not hasattr(gateway, "_app_ctx_stack")
    assert not hasattr(gateway, "escape")
    assert not hasattr(gateway, "Markup")


# -- against the reference ------------------------------------------------------

REFERENCE_MODULES = [
    "", "app", "blueprints", "config", "ctx", "globals", "helpers", "json",
    "json.provider", "json.tag", "logging", "sessions", "signals",
    "templating", "testing", "views", "wrappers", "debughelpers", "cli",
]  # fmt: skip


def _params(obj: t.Any) -> list[tuple[str, t.Any, t.Any]] | None:
    """Parameter names, kinds and defaults (annotations differ by design:
    ``App`` instead of ``Flask``)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        default = p.default
        if default is not inspect.Parameter.empty and not isinstance(
            default, (str, int, float, bool, type(None), tuple, frozenset)
        ):
            default = "<object>"  # sentinels and functions: compared by presence
        kind = p.kind
        if kind is inspect.Parameter.POSITIONAL_ONLY:
            # dict methods inherited by Flask's session are positional-only;
            # accepting the same arguments by keyword too is compatible.
            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        out.append((p.name, kind, default))
    return out


def _flask_defined_names(module: t.Any) -> list[str]:
    """The public names of a Flask module: everything the top-level package
    exports; for a submodule, the classes and functions it defines plus its
    module-level objects (proxies, signals, handlers)."""
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if isinstance(value, (t.TypeVar, __future__._Feature)):
            continue
        if module.__name__ == "flask":
            names.append(name)
        elif inspect.isclass(value) or inspect.isfunction(value):
            if value.__module__ == module.__name__:
                names.append(name)
        elif isinstance(value, LocalProxy):
            if module.__name__ == "flask.globals":
                names.append(name)
        elif isinstance(value, logging.Handler) or (
            not callable(value) and type(value).__module__.startswith("flask")
        ):
            names.append(name)  # e.g. logging's default handler, json.tag's
        elif isinstance(value, NamedSignal) and module.__name__ == "flask.signals":
            names.append(name)
    return names


def _reference_items() -> list[tuple[str, str]]:
    flask = pytest.importorskip("flask")
    del flask
    items = []
    for mod in REFERENCE_MODULES:
        fmod = importlib.import_module(f"flask.{mod}" if mod else "flask")
        for name in _flask_defined_names(fmod):
            items.append((mod, name))
    return items


@needs_flask
def test_every_public_flask_name_exists_with_the_same_parameters() -> None:
    """Module by module, each public name Flask defines (not the ones it
    merely imports) exists in gateway; functions and classes take the same
    parameters, and classes have every public member with the same
    parameters."""
    problems = []
    # Default prefix "GATEWAY" instead of "FLASK" (docs/architecture.md, naming
    # map); checked below.
    renamed_defaults = {"Config.from_prefixed_env"}
    for mod, name in _reference_items():
        fmod = importlib.import_module(f"flask.{mod}" if mod else "flask")
        gmod = importlib.import_module(f"gateway.{mod}" if mod else "gateway")
        fobj = getattr(fmod, name)
        gname = RENAMED.get(name, name)
        if not hasattr(gmod, gname):
            problems.append(f"missing gateway.{mod}.{gname}")
            continue
        gobj = getattr(gmod, gname)
        if not inspect.isclass(fobj):
            if isinstance(fobj, LocalProxy):
                continue
            if callable(fobj) and _params(fobj) != _params(gobj):
                problems.append(f"parameters of {mod}.{name}")
            continue
        for attr in dir(fobj):
            if attr.startswith("_") and attr not in ("__init__", "__call__"):
                continue
            if not hasattr(gobj, attr):
                problems.append(f"missing {mod}.{gname}.{attr}")
                continue
            fa, ga = getattr(fobj, attr), getattr(gobj, attr)
            if callable(fa) and not inspect.isclass(fa):
                fp, gp = _params(fa), _params(ga)
                if fp != gp and f"{name}.{attr}" not in renamed_defaults:
                    problems.append(f"parameters of {mod}.{name}.{attr}")
    assert problems == [], problems


def test_prefixed_env_differs_only_by_its_default_prefix() -> None:
    params = inspect.signature(gateway.Config.from_prefixed_env).parameters
    assert list(params) == ["self", "prefix", "loads"]
    # None: "GATEWAY", or "FLASK" under the Flask compatibility switch.
    assert params["prefix"].default is None
    assert params["loads"].kind is inspect.Parameter.KEYWORD_ONLY


def test_prefixed_env_reads_gateway_variables_by_default(monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_SOME_KEY", "1")
    monkeypatch.setenv("FLASK_OTHER_KEY", "2")
    config = gateway.Config(".")
    assert config.from_prefixed_env()
    assert config["SOME_KEY"] == 1
    assert "OTHER_KEY" not in config


@needs_flask
@pytest.mark.parametrize(
    "cls_name", ["App", "Blueprint", "Config", "Request", "Response"]
)
def test_instances_have_the_reference_public_attributes(cls_name: str) -> None:
    """What ``dir()`` shows on an instance (including what constructors
    set) is a superset of Flask's."""
    import flask

    def make(mod: t.Any, name: str) -> t.Any:
        cls = getattr(mod, RENAMED.get(name, name) if mod is gateway else name)
        if name in ("App", "Flask"):
            return cls(f"dir_{mod.__name__}")
        if name == "Blueprint":
            return cls("bp", f"dir_{mod.__name__}")
        if name == "Config":
            return cls(".")
        if name == "Request":
            from werkzeug.test import EnvironBuilder

            return cls(EnvironBuilder().get_environ())
        return cls()

    theirs = {a for a in dir(make(flask, "Flask" if cls_name == "App" else cls_name))}
    ours = set(dir(make(gateway, cls_name)))
    missing = {a for a in theirs - ours if not a.startswith("__")}
    assert missing == set()
