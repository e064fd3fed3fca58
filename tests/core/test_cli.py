"""The ``gateway`` command line: discovery, groups, dotenv, run, routes, shell.

Discovery cases are small modules under ``cli_apps/`` (on ``sys.path`` for
every test here); the real programs (``python -m gateway`` and the installed
``gateway`` script) run in subprocesses, and ``gateway run`` serves real
requests on 127.0.0.1.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from werkzeug.routing import Map, Rule

from gateway.cli import (
    LAZY_COMMANDS,
    AppGroup,
    GatewayGroup,
    NoAppException,
    ScriptInfo,
    SeparatedPathType,
    UnavailableCommand,
    cli,
    find_best_app,
    format_routes,
    load_dotenv,
    locate_app,
    parse_app_expression,
    prepare_import,
    routes_command,
    split_import_path,
    with_appcontext,
)
from gateway.globals import current_app

CLI_APPS = Path(__file__).parent / "cli_apps"
GATEWAY_SCRIPT = Path(sys.executable).with_name("gateway")


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_cli_state(tmp_path, monkeypatch):
    """Give each test a clean environment, ``sys.path`` and module cache.

    The CLI writes to ``os.environ`` (GATEWAY_DEBUG, GATEWAY_RUN_FROM_CLI,
    dotenv values) and ``prepare_import`` to ``sys.path``; all is restored.
    """
    saved_environ = dict(os.environ)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)

    for name in list(os.environ):
        if name.startswith("GATEWAY_") or name == "PYTHONSTARTUP":
            del os.environ[name]

    sys.path.insert(0, str(CLI_APPS))
    # Dotenv files are searched upwards from here: keep the search private.
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
    os.environ.clear()
    os.environ.update(saved_environ)
    sys.path[:] = saved_path

    for name in set(sys.modules) - saved_modules:
        file = getattr(sys.modules[name], "__file__", None) or ""

        if file.startswith((str(CLI_APPS), str(tmp_path))):
            del sys.modules[name]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def group() -> GatewayGroup:
    """A fresh ``gateway`` group, so plug-in and lazy command state of one
    test never leaks into another."""
    return GatewayGroup(name="gateway")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate and its key, made by the openssl program."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment for a real ``gateway`` process: cli_apps importable,
    no GATEWAY_ variables from the caller, a private HOME for shell history."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATEWAY_") and k != "PYTHONSTARTUP"
    }
    env["PYTHONPATH"] = str(CLI_APPS)
    env["HOME"] = str(tmp_path)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_gateway(
    tmp_path: Path,
    *args: str,
    script: bool = False,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gateway`` (or the installed script) to completion."""
    program = [str(GATEWAY_SCRIPT)] if script else [sys.executable, "-m", "gateway"]
    return subprocess.run(
        [*program, *args],
        cwd=tmp_path / "cwd",
        env=env or subprocess_env(tmp_path),
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- pure logic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("app", ("app", [], {}), id="name"),
        pytest.param("  app  ", ("app", [], {}), id="surrounding-space"),
        pytest.param("create_app()", ("create_app", [], {}), id="call-no-args"),
        pytest.param(
            "create_app('a', 2, flag=True, items=[1, 'x'])",
            ("create_app", ["a", 2], {"flag": True, "items": [1, "x"]}),
            id="call-literal-args",
        ),
        pytest.param("f(None, -1.5)", ("f", [None, -1.5], {}), id="none-and-negative"),
    ],
)
def test_parse_app_expression_accepts_names_and_literal_calls(expression, expected):
    assert parse_app_expression(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("create_app(", "Failed to parse 'create_app(' as an", id="syntax"),
        pytest.param("a.b", "Failed to parse 'a.b' as an attribute", id="attribute"),
        pytest.param("1 + 2", "Failed to parse '1 + 2' as an", id="expression"),
        pytest.param(
            "mod.f()", "Function reference must be a simple name", id="dotted"
        ),
        pytest.param(
            "f(x)", "Failed to parse arguments as literal values", id="name-arg"
        ),
        pytest.param("f(*a)", "Failed to parse arguments as literal values", id="star"),
        pytest.param("f(open('x'))", "literal values: \"f(open('x'))\"", id="call-arg"),
    ],
)
def test_parse_app_expression_rejects_anything_but_literals(expression, message):
    with pytest.raises(NoAppException) as exc_info:
        parse_app_expression(expression)

    assert message in exc_info.value.format_message()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("hello", ("hello", None), id="module"),
        pytest.param("hello:app", ("hello", "app"), id="module-name"),
        pytest.param(
            "pkg.mod:create_app('a:b')",
            ("pkg.mod", "create_app('a:b')"),
            id="colon-in-args",
        ),
        pytest.param("src/hello.py:app", ("src/hello.py", "app"), id="file-name"),
        pytest.param(
            r"C:\src\hello.py", (r"C:\src\hello.py", None), id="drive-backslash"
        ),
        pytest.param(
            "C:/src/hello.py:app", ("C:/src/hello.py", "app"), id="drive-slash"
        ),
    ],
)
def test_split_import_path_keeps_drive_letters(value, expected):
    assert split_import_path(value) == expected


@pytest.mark.parametrize(
    ("files", "target", "module_name", "path_entry"),
    [
        pytest.param(["hello.py"], "hello.py", "hello", ".", id="file"),
        pytest.param(["hello.py"], "hello", "hello", ".", id="file-without-suffix"),
        pytest.param(["pkg/__init__.py"], "pkg", "pkg", ".", id="package-dir"),
        pytest.param(
            ["pkg/__init__.py"], "pkg/__init__.py", "pkg", ".", id="package-init"
        ),
        pytest.param(
            ["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"],
            "pkg/sub/mod.py",
            "pkg.sub.mod",
            ".",
            id="nested-package-module",
        ),
        pytest.param(
            ["plain/mod.py"], "plain/mod.py", "mod", "plain", id="plain-directory"
        ),
    ],
)
def test_prepare_import_finds_module_name_and_path(
    tmp_path, files, target, module_name, path_entry
):
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()

    assert prepare_import(str(tmp_path / target)) == module_name
    assert sys.path[0] == os.path.realpath(tmp_path / path_entry)


def test_prepare_import_does_not_repeat_the_first_path_entry(tmp_path):
    (tmp_path / "hello.py").touch()
    prepare_import(str(tmp_path / "hello.py"))
    before = list(sys.path)
    prepare_import(str(tmp_path / "hello.py"))
    assert sys.path == before


def _rules(*specs, host_matching=False):
    url_map = Map(host_matching=host_matching)

    for endpoint, rule, methods, domain in specs:
        kwargs = {"host": domain} if host_matching else {"subdomain": domain}
        url_map.add(Rule(rule, endpoint=endpoint, methods=methods, **kwargs))

    return list(url_map.iter_rules())


PLAIN_RULES = (
    ("static", "/static/<path:filename>", ["GET"], None),
    ("index", "/", ["GET"], None),
    ("post", "/post", ["POST", "PUT"], None),
    ("api", "/api", ["DELETE", "GET"], None),
)
PLAIN_HEADER = [
    "Endpoint  Methods      Rule",
    "--------  -----------  -----------------------",
]


@pytest.mark.parametrize(
    ("sort", "body"),
    [
        pytest.param(
            "endpoint",
            [
                "api       DELETE, GET  /api",
                "index     GET          /",
                "post      POST, PUT    /post",
                "static    GET          /static/<path:filename>",
            ],
            id="endpoint",
        ),
        pytest.param(
            "methods",
            [
                "api       DELETE, GET  /api",
                "static    GET          /static/<path:filename>",
                "index     GET          /",
                "post      POST, PUT    /post",
            ],
            id="methods-stable",
        ),
        pytest.param(
            "rule",
            [
                "index     GET          /",
                "api       DELETE, GET  /api",
                "post      POST, PUT    /post",
                "static    GET          /static/<path:filename>",
            ],
            id="rule",
        ),
        pytest.param(
            "match",
            [
                "static    GET          /static/<path:filename>",
                "index     GET          /",
                "post      POST, PUT    /post",
                "api       DELETE, GET  /api",
            ],
            id="match-keeps-order",
        ),
        pytest.param(
            "domain",
            [
                "static    GET          /static/<path:filename>",
                "index     GET          /",
                "post      POST, PUT    /post",
                "api       DELETE, GET  /api",
            ],
            id="domain-without-domains",
        ),
    ],
)
def test_format_routes_sorts_rows(sort, body):
    assert format_routes(_rules(*PLAIN_RULES), sort) == PLAIN_HEADER + body


def test_format_routes_all_methods_shows_head_and_options():
    lines = format_routes(
        _rules(("index", "/", ["GET", "OPTIONS"], None)), all_methods=True
    )
    assert lines == [
        "Endpoint  Methods             Rule",
        "--------  ------------------  ----",
        "index     GET, HEAD, OPTIONS  /",
    ]


@pytest.mark.parametrize(
    ("host_matching", "sort", "expected"),
    [
        pytest.param(
            False,
            "domain",
            [
                "Endpoint  Methods  Subdomain  Rule",
                "--------  -------  ---------  ------",
                "plain     GET                 /plain",
                "admin     GET      admin      /",
                "zeta      GET      blog       /z",
            ],
            id="subdomain",
        ),
        pytest.param(
            True,
            "endpoint",
            [
                "Endpoint  Methods  Host   Rule",
                "--------  -------  -----  ------",
                "admin     GET      admin  /",
                "plain     GET             /plain",
                "zeta      GET      blog   /z",
            ],
            id="host",
        ),
    ],
)
def test_format_routes_adds_domain_column_when_used(host_matching, sort, expected):
    rules = _rules(
        ("zeta", "/z", ["GET"], "blog"),
        ("admin", "/", ["GET"], "admin"),
        ("plain", "/plain", ["GET"], ""),
        host_matching=host_matching,
    )
    assert format_routes(rules, sort, host_matching=host_matching) == expected


def test_format_routes_rejects_unknown_sort():
    with pytest.raises(ValueError, match="sort must be one of endpoint"):
        format_routes([], "size")


def test_separated_path_type_splits_on_pathsep(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.touch()
    value = os.pathsep.join([str(a), str(b)])
    assert SeparatedPathType().convert(value, None, None) == [str(a), str(b)]

    with pytest.raises(click.BadParameter, match="does not exist"):
        SeparatedPathType(exists=True).convert(value, None, None)


# -- discovery --------------------------------------------------------------------


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _app(name):
    from gateway import App

    return App(name)


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        pytest.param(lambda: {"app": _app("a")}, "a", id="app"),
        pytest.param(lambda: {"application": _app("b")}, "b", id="application"),
        pytest.param(lambda: {"site": _app("c")}, "c", id="only-instance"),
        pytest.param(
            lambda: {"other": _app("o"), "app": _app("a"), "application": _app("b")},
            "a",
            id="app-beats-others",
        ),
        pytest.param(lambda: {"create_app": lambda: _app("f")}, "f", id="create-app"),
        pytest.param(lambda: {"make_app": lambda: _app("m")}, "m", id="make-app"),
        pytest.param(
            lambda: {"create_app": lambda: None, "make_app": lambda: _app("m")},
            "m",
            id="factory-without-app-falls-through",
        ),
        pytest.param(
            lambda: {"app": "not an app", "create_app": lambda: _app("f")},
            "f",
            id="non-app-attribute-ignored",
        ),
    ],
)
def test_find_best_app_picks_the_intended_app(attrs, expected):
    assert find_best_app(_module("m", **attrs())).name == expected


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        pytest.param(
            lambda: {},
            "Failed to find a gateway application or factory in module 'm'. Use"
            " 'm:name' to specify one.",
            id="nothing",
        ),
        pytest.param(
            lambda: {"one": _app("1"), "two": _app("2")},
            "Detected multiple gateway applications in module 'm'. Use 'm:name'",
            id="several-apps",
        ),
        pytest.param(
            lambda: {"create_app": lambda tenant: _app(tenant)},
            "Detected factory 'create_app' in module 'm', but could not call it"
            " without arguments. Use 'm:create_app(args)'",
            id="factory-needs-args",
        ),
        pytest.param(
            lambda: {"create_app": lambda: None},
            "Failed to find a gateway application or factory in module 'm'.",
            id="factory-returns-none",
        ),
    ],
)
def test_find_best_app_explains_failure(attrs, message):
    with pytest.raises(NoAppException) as exc_info:
        find_best_app(_module("m", **attrs()))

    assert message in exc_info.value.format_message()


@pytest.mark.parametrize(
    ("module_name", "app_name", "expected"),
    [
        pytest.param("cliapp.app", "testapp", "testapp", id="attribute"),
        pytest.param("cliapp.app", None, "testapp", id="only-instance"),
        pytest.param("cliapp.named_app", None, "named_app", id="named-app"),
        pytest.param(
            "cliapp.named_application",
            None,
            "named_application",
            id="named-application",
        ),
        pytest.param("cliapp.factory", None, "app", id="create-app-detected"),
        pytest.param("cliapp.factory", "create_app", "app", id="factory-by-name"),
        pytest.param("cliapp.factory", "create_app()", "app", id="factory-call"),
        pytest.param(
            "cliapp.factory", 'create_app2("foo", "bar")', "app2_foo_bar", id="args"
        ),
        pytest.param(
            "cliapp.factory", 'create_app2("foo", "bar", )', "app2_foo_bar", id="comma"
        ),
        pytest.param(
            "cliapp.factory", "create_app3('x', bar=2)", "app3_x_2", id="kwargs"
        ),
        pytest.param(
            "cliapp.make_app_factory", None, "made_by_make_app", id="make-app-detected"
        ),
        pytest.param("cliapp.multiapp", "app2", "app2", id="one-of-several"),
        pytest.param("cliapp.inner1", None, "cliapp.inner1", id="package"),
        pytest.param(
            "cliapp.inner1.inner2.website",
            None,
            "cliapp.inner1.inner2.website",
            id="nested-module",
        ),
    ],
)
def test_locate_app_finds_app(module_name, app_name, expected):
    assert locate_app(module_name, app_name).name == expected


@pytest.mark.parametrize(
    ("module_name", "app_name", "message"),
    [
        pytest.param(
            "cliapp.nope", None, "Could not import 'cliapp.nope'.", id="no-module"
        ),
        pytest.param(
            "cliapp.message.txt",
            None,
            "Could not import 'cliapp.message.txt'.",
            id="txt",
        ),
        pytest.param(
            "cliapp.app",
            "notanapp",
            "Failed to find attribute 'notanapp' in 'cliapp.app'.",
            id="no-attribute",
        ),
        pytest.param(
            "cliapp.factory",
            'create_app2("foo")',
            "The factory 'create_app2(\"foo\")' in module 'cliapp.factory' could not"
            " be called with the specified arguments.",
            id="factory-wrong-args",
        ),
        pytest.param(
            "cliapp.factory",
            "no_app",
            "A valid gateway application was not obtained from 'cliapp.factory:no_app'.",
            id="factory-returns-none",
        ),
        pytest.param(
            "cliapp.factory",
            "not_callable",
            "not obtained from 'cliapp.factory:not_callable'.",
            id="not-an-app",
        ),
        pytest.param("cliapp.factory", "create_app(", "Failed to parse", id="syntax"),
        pytest.param(
            "cliapp.factory", "create_app(x)", "as literal values", id="non-literal"
        ),
        pytest.param(
            "cliapp.multiapp",
            None,
            "Detected multiple gateway applications in module 'cliapp.multiapp'.",
            id="several-apps",
        ),
        pytest.param(
            "cliapp.noapp",
            None,
            "Failed to find a gateway application or factory in module 'cliapp.noapp'.",
            id="no-app",
        ),
        pytest.param(
            "cliapp.factory_needs_args",
            None,
            "Detected factory 'create_app' in module 'cliapp.factory_needs_args',"
            " but could not call it without arguments.",
            id="factory-needs-args",
        ),
    ],
)
def test_locate_app_explains_failure(module_name, app_name, message):
    with pytest.raises(NoAppException) as exc_info:
        locate_app(module_name, app_name)

    assert message in exc_info.value.format_message()


def test_locate_app_shows_traceback_of_import_error_inside_module():
    with pytest.raises(NoAppException) as exc_info:
        locate_app("cliapp.importerrorapp", None)

    message = exc_info.value.format_message()
    assert (
        "While importing 'cliapp.importerrorapp', an ImportError was raised" in message
    )
    assert "Traceback (most recent call last)" in message
    assert str(CLI_APPS / "cliapp" / "importerrorapp.py") in message
    assert "No module named 'cliapp_missing_dependency'" in message


def test_locate_app_returns_none_for_missing_module_when_asked():
    assert locate_app("cliapp.nope", None, raise_if_not_found=False) is None


@pytest.mark.parametrize(
    ("module_name", "app_name"),
    [
        pytest.param("cliapp.factory_raises_type_error", None, id="detected-factory"),
        pytest.param("cliapp.factory", "create_with_type_error()", id="named-factory"),
    ],
)
def test_locate_app_lets_type_error_inside_factory_propagate(module_name, app_name):
    with pytest.raises(TypeError, match="has no len"):
        locate_app(module_name, app_name)


def test_locate_app_lets_other_import_errors_propagate():
    with pytest.raises(RuntimeError, match="broken module refuses to load"):
        locate_app("cliapp.broken", None)


# -- ScriptInfo ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("import_path", "expected"),
    [
        pytest.param("cliapp.app", "testapp", id="module"),
        pytest.param("cliapp.app:testapp", "testapp", id="module-name"),
        pytest.param("cliapp/app.py", "testapp", id="file"),
        pytest.param(
            "cliapp/factory.py:create_app2('x', 'y')", "app2_x_y", id="file-factory"
        ),
        pytest.param("cliapp/inner1", "cliapp.inner1", id="package-dir"),
        pytest.param(
            "cliapp/inner1/inner2/website.py",
            "cliapp.inner1.inner2.website",
            id="file-deep-in-package",
        ),
        pytest.param("dotted.dir/standalone.py", "standalone", id="odd-directory-name"),
    ],
)
def test_script_info_loads_app_from_import_path(monkeypatch, import_path, expected):
    monkeypatch.chdir(CLI_APPS)
    assert ScriptInfo(import_path).load_app().name == expected


def test_script_info_loads_app_from_absolute_file_path():
    path = str(CLI_APPS / "cliapp" / "inner1" / "inner2" / "website.py")
    assert ScriptInfo(path).load_app().name == "cliapp.inner1.inner2.website"


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        pytest.param("helloworld", "helloworld", id="wsgi-py"),
        pytest.param("appfile", "appfile", id="app-py"),
    ],
)
def test_script_info_finds_default_files(monkeypatch, directory, expected):
    monkeypatch.chdir(CLI_APPS / directory)
    assert ScriptInfo().load_app().name == expected


def test_script_info_without_any_app_names_every_way_to_give_one():
    with pytest.raises(NoAppException) as exc_info:
        ScriptInfo().load_app()

    message = exc_info.value.format_message()
    assert "Could not locate a gateway application." in message
    assert "'gateway --app'" in message
    assert "'GATEWAY_APP'" in message
    assert "'wsgi.py' or 'app.py'" in message


def test_script_info_points_toml_files_to_the_right_commands():
    with pytest.raises(NoAppException, match="routes --config FILE"):
        ScriptInfo("deploy/gateway.toml").load_app()


def test_script_info_create_app_wins_and_is_called_once():
    calls = []

    def create_app():
        calls.append(1)
        return _app("created")

    info = ScriptInfo("cliapp.app", create_app=create_app)
    first = info.load_app()
    assert first.name == "created"
    assert info.load_app() is first
    assert calls == [1]


def test_script_info_create_app_returning_none_is_an_error():
    with pytest.raises(NoAppException, match="Could not locate"):
        ScriptInfo(create_app=lambda: None).load_app()


@pytest.mark.parametrize(
    ("set_debug_flag", "env_value", "expected"),
    [
        pytest.param(True, "1", True, id="on"),
        pytest.param(True, "false", False, id="off"),
        pytest.param(False, "1", False, id="left-alone"),
    ],
)
def test_script_info_sets_debug_from_environment(set_debug_flag, env_value, expected):
    app = _app("debugged")  # created before GATEWAY_DEBUG is set
    os.environ["GATEWAY_DEBUG"] = env_value
    info = ScriptInfo(create_app=lambda: app, set_debug_flag=set_debug_flag)
    assert info.load_app().debug is expected


def test_script_info_data_is_per_instance():
    first, second = ScriptInfo(), ScriptInfo()
    first.data["key"] = "value"
    assert second.data == {}


@pytest.mark.parametrize(
    ("env_value", "expected"),
    [
        pytest.param(None, True, id="default"),
        pytest.param("1", False, id="skip"),
        pytest.param("0", True, id="not-skipped"),
    ],
)
def test_script_info_records_dotenv_choice(env_value, expected):
    if env_value is not None:
        os.environ["GATEWAY_SKIP_DOTENV"] = env_value

    assert ScriptInfo().load_dotenv_defaults is expected


# -- with_appcontext and AppGroup ------------------------------------------------------


def test_with_appcontext_pushes_the_loaded_app(runner):
    @click.command()
    @with_appcontext
    def whoami():
        click.echo(current_app.name)

    obj = ScriptInfo(create_app=lambda: _app("ctxapp"))
    result = runner.invoke(whoami, obj=obj)
    assert result.exit_code == 0, result.output
    assert result.output == "ctxapp\n"


def test_with_appcontext_reuses_an_active_context(runner):
    from gateway import g

    app = _app("outer")

    @click.command()
    @with_appcontext
    def show():
        click.echo(g.marker)

    with app.app_context():
        g.marker = "from outside"
        result = runner.invoke(show, obj=ScriptInfo(create_app=lambda: _app("other")))

    assert result.output == "from outside\n"


def test_app_group_wraps_commands_unless_told_not_to(runner):
    group = AppGroup()

    @group.command()
    def inside():
        click.echo(current_app.name)

    @group.command(with_appcontext=False)
    def outside():
        click.echo(f"context: {bool(current_app)}")

    obj = ScriptInfo(create_app=lambda: _app("grouped"))
    assert runner.invoke(group, ["inside"], obj=obj).output == "grouped\n"
    assert runner.invoke(group, ["outside"], obj=obj).output == "context: False\n"


def test_app_group_subgroups_are_app_groups(runner):
    group = AppGroup()

    @group.group()
    def sub():
        pass

    @sub.command()
    def leaf():
        click.echo(current_app.name)

    assert isinstance(sub, AppGroup)
    result = runner.invoke(
        group, ["sub", "leaf"], obj=ScriptInfo(create_app=lambda: _app("deep"))
    )
    assert result.output == "deep\n"


# -- GatewayGroup -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(
            ["--app", "cliapp.commands", "greet", "you"], {}, id="long-option"
        ),
        pytest.param(["-A", "cliapp.commands", "greet", "you"], {}, id="short-option"),
        pytest.param(["greet", "you"], {"GATEWAY_APP": "cliapp.commands"}, id="env"),
    ],
)
def test_gateway_group_runs_app_commands(runner, group, args, env):
    result = runner.invoke(group, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "hello, you from commands_app\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["db", "init"], "initialised commands_app: True\n", id="nested-group"
        ),
        # The group pushes the context for every app command; the flag matters
        # only when app.cli runs on its own (see the AppCliRunner test).
        pytest.param(["no-context"], "context active: True\n", id="without-context"),
        pytest.param(
            ["users", "create", "bob"],
            "created bob in commands_app\n",
            id="blueprint-group",
        ),
        pytest.param(["flat-cmd"], "flat command ran\n", id="blueprint-no-group"),
        pytest.param(["admin", "audit"], "audit ran\n", id="blueprint-renamed-group"),
    ],
)
def test_gateway_group_runs_nested_and_blueprint_commands(
    runner, group, args, expected
):
    result = runner.invoke(group, ["--app", "cliapp.commands", *args])
    assert result.exit_code == 0, result.output
    assert result.output == expected


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--help"], id="help"),
        pytest.param([], id="no-args"),
    ],
)
def test_gateway_group_help_lists_every_kind_of_command(runner, group, args):
    result = runner.invoke(group, args, env={"GATEWAY_APP": "cliapp.commands"})
    listed = result.output.split("Commands:")[1].split()

    for name in ("run", "routes", "shell", "serve", "entry", "config"):
        assert name in listed

    for name in ("greet", "db", "users", "flat-cmd", "admin"):
        assert name in listed


def test_gateway_group_help_without_app_shows_error_and_builtins(runner, group):
    result = runner.invoke(group, ["--help"])
    assert "Error: Could not locate a gateway application." in result.output
    assert "routes" in result.output.split("Commands:")[1]


def test_gateway_group_help_with_broken_app_shows_traceback(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.broken", "--help"])
    assert "Traceback (most recent call last)" in result.output
    assert "RuntimeError: broken module refuses to load" in result.output
    assert "routes" in result.output.split("Commands:")[1]


def test_gateway_group_unknown_command_without_app(runner, group):
    result = runner.invoke(group, ["missing-command"])
    assert result.exit_code == 2
    assert "Could not locate a gateway application" in result.output
    assert "No such command 'missing-command'" in result.output


def test_gateway_group_with_create_app_and_own_commands(runner):
    group = GatewayGroup(name="manage", create_app=lambda: _app("scripted"))

    @group.command()
    def hello():
        click.echo(f"hello from {current_app.name}")

    result = runner.invoke(group, ["hello"])
    assert result.output == "hello from scripted\n"


def test_gateway_group_without_default_commands(runner):
    group = GatewayGroup(add_default_commands=False, add_version_option=False)
    result = runner.invoke(group, ["--help"], env={"GATEWAY_APP": "cliapp.app"})
    assert "Commands:" not in result.output
    assert "--version" not in result.output
    assert runner.invoke(group, ["routes"]).exit_code == 2


def test_gateway_group_version_option(runner, group):
    result = runner.invoke(group, ["--version"])
    assert result.exit_code == 0
    assert result.output == (
        f"Python {platform.python_version()}\n"
        f"Gateway {importlib.metadata.version('gateway')}\n"
        f"Werkzeug {importlib.metadata.version('werkzeug')}\n"
    )


@pytest.mark.parametrize(
    ("args", "env_before", "seen_by_factory", "debug"),
    [
        pytest.param(["--debug"], None, "1", True, id="debug"),
        pytest.param(["--no-debug"], "1", "0", False, id="no-debug-beats-env"),
        pytest.param([], "1", "1", True, id="env-only"),
        pytest.param([], None, None, False, id="default"),
    ],
)
def test_gateway_group_debug_option_reaches_factory(
    runner, args, env_before, seen_by_factory, debug
):
    group = GatewayGroup()

    @group.command("show-debug")
    def show_debug():
        config = current_app.config
        click.echo(f"{config['DEBUG_ENV_AT_CREATION']} {current_app.debug}")

    env = {"GATEWAY_APP": "cliapp.debugfactory", "GATEWAY_DEBUG": env_before}
    result = runner.invoke(group, [*args, "show-debug"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == f"{seen_by_factory} {debug}\n"


def test_gateway_group_marks_the_process_as_run_from_cli(runner, group):
    runner.invoke(group, ["--help"])
    assert os.environ["GATEWAY_RUN_FROM_CLI"] == "true"


def test_app_run_at_import_is_a_no_op_under_the_cli(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.runs_at_import", "routes"])
    assert result.exit_code == 0, result.output
    assert "index" in result.output


def test_default_cli_is_named_gateway_and_has_builtin_commands():
    assert isinstance(cli, GatewayGroup)
    assert cli.name == "gateway"
    assert {"run", "routes", "shell"} <= set(cli.commands)
    assert set(LAZY_COMMANDS) <= set(cli.lazy_commands)


# -- plug-in commands --------------------------------------------------------------------


@pytest.fixture
def plugin_distribution(tmp_path):
    """Install (on sys.path) a distribution declaring gateway.commands entry
    points: one that works, one whose module fails to import."""
    site = tmp_path / "site"
    info = site / "gwplugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gwplugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[gateway.commands]\n"
        "hello-plugin = cliapp.plugin_commands:hello_command\n"
        "broken-plugin = cliapp.broken_plugin:command\n"
    )
    sys.path.insert(0, str(site))
    return site


def test_entry_point_commands_run_without_an_app(runner, group, plugin_distribution):
    result = runner.invoke(group, ["hello-plugin"])
    assert result.exit_code == 0, result.output
    assert result.output == "plugin says hello\n"


def test_broken_entry_point_is_listed_and_explained(runner, group, plugin_distribution):
    help_result = runner.invoke(group, ["--help"])
    assert "broken-plugin" in help_result.output
    assert "hello-plugin" in help_result.output

    result = runner.invoke(group, ["broken-plugin"])
    assert result.exit_code == 1
    assert "The 'broken-plugin' command could not be loaded from" in result.output
    assert "RuntimeError: plugin module is broken" in result.output


@pytest.mark.parametrize(
    ("import_path", "message"),
    [
        pytest.param(
            "cliapp.nope_module:command",
            "could not be loaded from 'cliapp.nope_module:command': there is no"
            " module named 'cliapp.nope_module'.",
            id="missing-module",
        ),
        pytest.param(
            "cliapp.importerrorapp:command",
            "No module named 'cliapp_missing_dependency'",
            id="missing-dependency",
        ),
        pytest.param(
            "cliapp.broken_plugin:command",
            "RuntimeError: plugin module is broken",
            id="raises-on-import",
        ),
        pytest.param(
            "cliapp.plugin_commands:not_a_command",
            "'not_a_command' is not a click command in 'cliapp.plugin_commands'.",
            id="not-a-command",
        ),
        pytest.param(
            "cliapp.plugin_commands:absent",
            "'absent' is not a click command",
            id="no-attribute",
        ),
    ],
)
def test_lazy_command_that_fails_to_load_explains_why(
    runner, group, import_path, message
):
    group.lazy_commands["tool"] = import_path
    result = runner.invoke(group, ["tool", "--unknown-flag", "value"])
    assert result.exit_code == 1
    assert "Error: The 'tool' command could not be loaded" in result.output
    assert message in result.output

    listing = runner.invoke(group, ["--help"]).output
    assert "tool" in listing
    assert "(unavailable: failed to load)" in listing


def test_lazy_command_is_imported_on_first_use(runner, group):
    group.lazy_commands["hello-lazy"] = "cliapp.plugin_commands:hello_command"
    assert "cliapp.plugin_commands" not in sys.modules
    result = runner.invoke(group, ["hello-lazy"])
    assert result.output == "plugin says hello\n"
    assert group.commands["hello-lazy"].name == "hello-plugin"


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_deployment_commands_do_not_load_the_app(runner, group, name):
    result = runner.invoke(group, ["--app", "cliapp.broken", name, "--help"])
    assert "broken module refuses to load" not in result.output
    assert "Could not locate" not in result.output
    assert name in result.output

    if isinstance(group.get_command(click.Context(group), name), UnavailableCommand):
        assert result.exit_code == 1
    else:
        assert result.exit_code == 0, result.output


# -- dotenv ------------------------------------------------------------------------------


@pytest.fixture
def env_files(tmp_path):
    """A project directory with both default files and a custom one."""
    project = tmp_path / "cwd"
    (project / ".gatewayenv").write_text("FOO=gatewayenv\nBAR=gatewayenv\nSPAM=1\n")
    (project / ".env").write_text("FOO=env\nEGGS=from-file\n")
    custom = project / "custom.env"
    custom.write_text("BAR=custom\n")
    return project


def test_load_dotenv_precedence(env_files):
    os.environ["EGGS"] = "from-environment"
    assert load_dotenv(env_files / "custom.env")
    assert os.environ["FOO"] == "env"  # .env beats .gatewayenv
    assert os.environ["BAR"] == "custom"  # the given file beats both
    assert os.environ["SPAM"] == "1"
    assert os.environ["EGGS"] == "from-environment"  # never overwritten


def test_load_dotenv_searches_parent_directories(env_files, monkeypatch):
    (env_files / "sub").mkdir()
    monkeypatch.chdir(env_files / "sub")
    assert load_dotenv()
    assert os.environ["FOO"] == "env"


def test_load_dotenv_only_the_given_file(env_files):
    assert load_dotenv(env_files / "custom.env", load_defaults=False)
    assert os.environ["BAR"] == "custom"
    assert "FOO" not in os.environ


def test_load_dotenv_without_files_loads_nothing():
    assert load_dotenv() is False


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        pytest.param([], {}, "env gatewayenv", id="defaults"),
        pytest.param(["-e", "custom.env"], {}, "env custom", id="env-file"),
        pytest.param(["--env-file", "custom.env"], {}, "env custom", id="long"),
        pytest.param([], {"GATEWAY_ENV_FILE": "custom.env"}, "env custom", id="envvar"),
        pytest.param([], {"GATEWAY_SKIP_DOTENV": "1"}, "unset unset", id="skip"),
        pytest.param(
            ["-e", "custom.env"],
            {"GATEWAY_SKIP_DOTENV": "1"},
            "unset custom",
            id="skip-keeps-file",
        ),
    ],
)
def test_env_file_option(runner, env_files, args, env, expected):
    group = GatewayGroup(create_app=lambda: _app("dotenv"))

    @group.command("show-env")
    def show_env():
        click.echo(f"{os.environ.get('FOO', 'unset')} {os.environ.get('BAR', 'unset')}")

    result = runner.invoke(group, [*args, "show-env"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == f"{expected}\n"


def test_env_file_must_exist(runner, group):
    result = runner.invoke(group, ["-e", "nowhere.env", "routes"])
    assert result.exit_code == 2
    assert "Invalid value for '-e' / '--env-file'" in result.output
    assert "'nowhere.env' does not exist" in result.output


def test_env_file_without_python_dotenv(runner, group, env_files, monkeypatch):
    monkeypatch.setitem(sys.modules, "dotenv", None)  # makes "import dotenv" fail
    result = runner.invoke(group, ["-e", "custom.env", "routes"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed to load an env file" in result.output


def test_load_dotenv_without_python_dotenv_gives_a_tip(env_files, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dotenv", None)
    assert load_dotenv() is False
    assert "Install python-dotenv to use them" in capsys.readouterr().err
    assert "FOO" not in os.environ


# -- gateway run: option validation ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--cert", "missing.pem"], "'missing.pem' does not exist", id="no-cert-file"
        ),
        pytest.param(
            ["--key", "{key}"], '"--cert" must also be specified.', id="key-alone"
        ),
        pytest.param(
            ["--cert", "{cert}"], 'Required when using "--cert".', id="cert-alone"
        ),
        pytest.param(
            ["--cert", "adhoc", "--key", "{key}"],
            'When "--cert" is "adhoc", "--key" is not used.',
            id="adhoc-with-key",
        ),
        pytest.param(
            ["--cert", "cliapp.sslctx.context", "--key", "{key}"],
            'When "--cert" is an SSLContext object, "--key" is not used.',
            id="context-with-key",
        ),
        pytest.param(
            ["--key", "missing.pem"], "'missing.pem' does not exist", id="no-key-file"
        ),
        pytest.param(["--port", "http"], "'http' is not a valid integer", id="port"),
    ],
)
def test_run_rejects_bad_options(runner, group, tls_files, args, message):
    cert, key = tls_files
    args = [a.format(cert=cert, key=key) for a in args]
    result = runner.invoke(group, ["--app", "cliapp.serverapp", "run", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_run_adhoc_needs_cryptography(runner, group, monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)
    result = runner.invoke(group, ["run", "--cert", "adhoc"])
    assert result.exit_code == 2
    assert (
        "Using ad-hoc certificates requires the cryptography library." in result.output
    )


@pytest.mark.parametrize(
    ("app", "error"),
    [
        pytest.param("cliapp.nope", "Could not import 'cliapp.nope'.", id="no-module"),
        pytest.param(
            "cliapp.multiapp", "Detected multiple gateway applications", id="several"
        ),
    ],
)
def test_run_fails_before_serving_when_app_cannot_load(runner, group, app, error):
    result = runner.invoke(group, ["--app", app, "run", "--port", "1"])
    assert result.exit_code == 2
    assert error in result.output


def test_run_raises_other_load_errors(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.broken", "run", "--port", "1"])
    assert isinstance(result.exception, RuntimeError)


# -- gateway run: a real server --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    scheme: str = "http"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, timeout: float = 30) -> tuple[int, str]:
        """GET a page; any status is returned rather than raised."""
        context = None

        if self.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE

        url = f"{self.scheme}://127.0.0.1:{self.port}{path}"

        try:
            with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 30, poke=None) -> None:
        deadline = time.monotonic() + timeout

        while text not in self.output():
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared in:\n{self.output()}")

            if poke is not None:
                poke()

            time.sleep(0.2)


@pytest.fixture
def serve(tmp_path):
    """Start ``python -m gateway ... run`` on a free port; every server is
    stopped by process group id at the end of the test."""
    started: list[Server] = []

    def start(
        *args: str, scheme: str = "http", port_option: bool = True, **env: str
    ) -> Server:
        port = free_port()
        log = tmp_path / f"server-{len(started)}.log"
        command = [sys.executable, "-m", "gateway", *args]

        if port_option:
            command += ["--port", str(port)]
        else:
            env["GATEWAY_RUN_PORT"] = str(port)

        with open(log, "wb") as out:
            process = subprocess.Popen(
                command,
                cwd=tmp_path / "cwd",
                env=subprocess_env(tmp_path, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        server = Server(process, port, log, scheme)
        started.append(server)
        deadline = time.monotonic() + 30

        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode}:\n{server.output()}"
                )

            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"server never listened:\n{server.output()}")

                time.sleep(0.1)

        return server

    yield start

    for server in started:
        try:
            os.killpg(server.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


def test_run_serves_the_app(serve):
    server = serve("--app", "cliapp.serverapp", "run")
    assert server.get("/") == (200, "served by serverapp debug=False")
    output = server.output()
    assert " * Serving gateway app 'cliapp.serverapp'" in output
    assert " * Debug mode: off" in output
    assert f"Running on http://127.0.0.1:{server.port}" in output
    assert "Debugger is active" not in output


def test_run_reads_options_and_env_files_from_environment(serve, tmp_path):
    (tmp_path / "cwd" / ".env").write_text("SERVERAPP_MESSAGE=from .env\n")
    server = serve(
        "run",
        port_option=False,
        GATEWAY_APP="cliapp.serverapp",
        GATEWAY_RUN_HOST="127.0.0.1",
    )
    assert server.get("/env") == (200, "from .env")


def test_run_handles_requests_concurrently_with_threads(serve):
    server = serve("--app", "cliapp.serverapp", "run", "--with-threads")
    results = {}
    waiter = threading.Thread(target=lambda: results.update(wait=server.get("/wait")))
    waiter.start()
    deadline = time.monotonic() + 30

    # Answered only while /wait is still running: needs a second thread.
    while server.get("/waiting") != (200, "yes"):
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)

    assert server.get("/release") == (200, "ok")
    waiter.join(timeout=30)
    assert results["wait"] == (200, "released")
    assert server.get("/multithread") == (200, "True")


def test_run_without_threads_uses_a_single_thread(serve):
    server = serve("--app", "cliapp.serverapp", "run", "--without-threads")
    assert server.get("/multithread") == (200, "False")


@pytest.mark.parametrize(
    "cert_args",
    [
        pytest.param(["--cert", "adhoc"], id="adhoc"),
        pytest.param(["--cert", "{cert}", "--key", "{key}"], id="files"),
        pytest.param(["--cert", "cliapp.sslctx.context"], id="ssl-context"),
    ],
)
def test_run_serves_https(serve, tls_files, cert_args):
    cert, key = tls_files
    # Read by cliapp.sslctx only.
    env = {"SSLCTX_CERT": cert, "SSLCTX_KEY": key}
    args = [a.format(cert=cert, key=key) for a in cert_args]
    server = serve("--app", "cliapp.serverapp", "run", *args, scheme="https", **env)
    assert server.get("/") == (200, "served by serverapp debug=False")
    assert f"Running on https://127.0.0.1:{server.port}" in server.output()


def test_run_debug_reloads_on_extra_files_but_not_excluded_ones(serve, tmp_path):
    watched, ignored = tmp_path / "watched.txt", tmp_path / "ignored.txt"
    watched.write_text("1")
    ignored.write_text("1")
    stamp = [time.time()]

    def touch(path):
        stamp[0] += 5
        os.utime(path, (stamp[0], stamp[0]))

    server = serve(
        "--app",
        "cliapp.serverapp",
        "--debug",
        "run",
        "--extra-files",
        os.pathsep.join([str(watched), str(ignored)]),
        "--exclude-patterns",
        "*ignored.txt",
    )
    assert server.get("/") == (200, "served by serverapp debug=True")
    output = server.output()
    assert " * Debug mode: on" in output
    assert " * Restarting with stat" in output
    assert " * Debugger is active!" in output

    touch(ignored)
    # Two reloader intervals: a change to the ignored file would be seen by now.
    time.sleep(2.5)
    server.wait_for_output(
        f"Detected change in '{watched}'", poke=lambda: touch(watched)
    )
    assert "ignored.txt" not in server.output()


DEBUGGER_RESOURCE = "/?__debugger__=yes&cmd=resource&f=debugger.js"


@pytest.mark.parametrize(
    ("args", "debugger", "traceback_page"),
    [
        pytest.param(["run", "--debug", "--no-reload"], True, True, id="debug"),
        pytest.param(
            ["--debug", "run", "--no-debugger", "--no-reload"],
            False,
            False,
            id="no-debugger",
        ),
        # Outside debug mode the app answers 500 itself: nothing reaches the debugger.
        pytest.param(["run", "--debugger"], True, False, id="debugger-without-debug"),
        pytest.param(["run"], False, False, id="neither"),
    ],
)
def test_run_debugger_switches(serve, args, debugger, traceback_page):
    server = serve("--app", "cliapp.serverapp", *args)
    status, body = server.get("/crash")
    assert status == 500
    assert ("RuntimeError: crash requested" in body) is traceback_page
    # The debugger serves its own assets; without it the app answers "/".
    status, body = server.get(DEBUGGER_RESOURCE)
    assert status == 200
    assert body.startswith("served by serverapp") is not debugger
    assert " * Restarting with stat" not in server.output()


def test_run_keeps_serving_under_the_reloader_when_the_app_breaks(serve, tmp_path):
    module = tmp_path / "cwd" / "flaky.py"
    good = "from gateway import App\napp = App('flaky')\napp.route('/')(lambda: '{}')\n"
    module.write_text(good.format("version 1"))
    server = serve("--app", str(module), "--debug", "run")
    assert server.get("/") == (200, "version 1")
    stamp = [time.time()]

    def rewrite(text):
        module.write_text(text)
        stamp[0] += 5
        os.utime(module, (stamp[0], stamp[0]))

    rewrite("raise RuntimeError('flaky module broke')\n")
    server.wait_for_output("RuntimeError: flaky module broke")
    status, body = server.get("/")
    assert status == 500
    assert "flaky module broke" in body  # the debugger's traceback page
    rewrite(good.format("version 2"))
    deadline = time.monotonic() + 30

    while server.get("/") != (200, "version 2"):
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.2)


# -- gateway shell -------------------------------------------------------------------------


@pytest.fixture
def no_interactive_hook(monkeypatch):
    # site's hook would enable readline history for the test process.
    monkeypatch.delattr(sys, "__interactivehook__", raising=False)


def test_shell_runs_in_app_context_with_shell_context(
    runner, group, no_interactive_hook
):
    code = "g.seen = 'g works'\nprint(app.name, answer, current_app_name(), g.seen)\n"
    startup = Path("startup.py")
    startup.write_text(
        "def current_app_name():\n    from gateway import current_app\n    return current_app.name\n"
    )
    os.environ["PYTHONSTARTUP"] = str(startup.resolve())
    result = runner.invoke(group, ["--app", "cliapp.commands", "shell"], input=code)
    assert result.exit_code == 0, result.output
    assert "App: commands_app" in result.output
    assert "Instance: " in result.output
    assert f"Python {sys.version} on {sys.platform}" in result.output
    assert "commands_app 42 commands_app g works" in result.output


def test_shell_through_app_cli_runner(no_interactive_hook):
    from gateway.cli import shell_command

    app = _app("shelled")
    result = app.test_cli_runner().invoke(shell_command, input="print(app.name * 2)\n")
    assert result.exit_code == 0, result.output
    assert "App: shelled" in result.output
    assert "shelledshelled" in result.output


def test_shell_in_a_real_process(tmp_path):
    result = run_gateway(
        tmp_path,
        "--app",
        "cliapp.commands",
        "shell",
        input="print('answer is', answer)\n",
    )
    assert result.returncode == 0, result.stderr
    assert "answer is 42" in result.stdout
    assert "App: commands_app" in result.stderr


# -- gateway routes -------------------------------------------------------------------------


def _routes_app():
    from cliapp.routesapp import app

    return app


@pytest.mark.parametrize(
    ("args", "endpoints"),
    [
        pytest.param([], ["aaa_get", "index", "static", "yyy_post"], id="default"),
        pytest.param(
            ["--sort", "rule"], ["index", "aaa_get", "yyy_post", "static"], id="rule"
        ),
        pytest.param(
            ["-s", "methods"], ["aaa_get", "static", "index", "yyy_post"], id="methods"
        ),
        pytest.param(
            ["-s", "match"], ["static", "index", "yyy_post", "aaa_get"], id="match"
        ),
    ],
)
def test_routes_sorts(args, endpoints):
    result = _routes_app().test_cli_runner().invoke(routes_command, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert [line.split()[0] for line in lines[2:]] == endpoints


def test_routes_methods_column():
    runner = _routes_app().test_cli_runner()
    rows = {
        line.split()[0]: line
        for line in runner.invoke(routes_command).output.splitlines()
    }
    assert "DELETE, GET " in rows["aaa_get"]
    assert "HEAD" not in rows["aaa_get"]
    rows = {
        line.split()[0]: line
        for line in runner.invoke(routes_command, ["--all-methods"]).output.splitlines()
    }
    assert "DELETE, GET, HEAD, OPTIONS" in rows["aaa_get"]
    assert "OPTIONS, POST, PUT" in rows["yyy_post"]


@pytest.mark.parametrize(
    ("factory", "column", "domains"),
    [
        pytest.param(
            "create_subdomain_app",
            "Subdomain",
            {"admin_index": "admin"},
            id="subdomain",
        ),
        pytest.param(
            "create_host_app",
            "Host",
            {"api_index": "api.example.test", "static": "static.example.test"},
            id="host",
        ),
    ],
)
def test_routes_domain_column(runner, group, factory, column, domains):
    args = ["--app", f"cliapp.routesapp:{factory}()", "routes", "-s", "domain"]
    result = runner.invoke(group, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", column, "Rule"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}

    for endpoint, domain in domains.items():
        assert rows[endpoint][2] == domain


def test_routes_without_rules(runner, group):
    result = runner.invoke(
        group, ["--app", "cliapp.routesapp:create_empty_app", "routes"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "No routes were registered.\n"


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_routes_in_a_real_process(tmp_path, script):
    result = run_gateway(
        tmp_path, "--app", "cliapp.routesapp", "routes", "--sort", "rule", script=script
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[-1] for line in lines[2:]] == [
        "/",
        "/get/<int:item>",
        "/post",
        "/static/<path:filename>",
    ]


@pytest.mark.parametrize(
    ("app", "message"),
    [
        pytest.param(
            "cliapp.nope", "Error: Could not import 'cliapp.nope'.", id="no-module"
        ),
        pytest.param(
            "cliapp.importerrorapp",
            "While importing 'cliapp.importerrorapp', an ImportError was raised",
            id="import-error",
        ),
        pytest.param(
            "cliapp.noapp",
            "Failed to find a gateway application or factory",
            id="no-app",
        ),
        pytest.param(
            "cliapp.multiapp", "Detected multiple gateway applications", id="several"
        ),
        pytest.param(
            "cliapp.factory_needs_args",
            "but could not call it without arguments",
            id="factory-args",
        ),
        pytest.param(
            "cliapp.app:nothing", "Failed to find attribute 'nothing'", id="attribute"
        ),
    ],
)
def test_routes_errors_in_a_real_process(tmp_path, app, message):
    result = run_gateway(tmp_path, "--app", app, "routes")
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_routes_uses_default_wsgi_file_in_a_real_process(tmp_path):
    (tmp_path / "cwd" / "wsgi.py").write_text(
        (CLI_APPS / "helloworld" / "wsgi.py").read_text()
    )
    result = run_gateway(tmp_path, "routes")
    assert result.returncode == 0, result.stderr
    assert "index" in result.stdout


SITE_TOML = str(CLI_APPS / "gatewaysite" / "gateway.toml")


def _sections(output: str) -> dict[str, list[str]]:
    """Split ``routes --config`` output into heading -> table lines."""
    sections = {}

    for block in output.strip().split("\n\n"):
        heading, *lines = block.splitlines()
        sections[heading] = lines

    return sections


def test_routes_of_a_gateway_toml(runner, group):
    # The app named by GATEWAY_APP is broken: --config must not load it.
    env = {"GATEWAY_APP": "cliapp.broken"}
    result = runner.invoke(
        group, ["routes", "--config", SITE_TOML, "-s", "rule"], env=env
    )
    assert result.exit_code == 0, result.output
    sections = _sections(result.output)
    assert list(sections) == [
        "main at example.test/",
        "admin at example.test/admin/",
        "raw_wsgi at example.test/raw/",
        "Tenant applications are created on their first request; add '--tenant KEY'"
        " to list one.",
    ]
    assert [
        line.split()[-1] for line in sections["admin at example.test/admin/"][2:]
    ] == [
        "/admin/static/<path:filename>",
        "/admin/users",
    ]
    assert sections["raw_wsgi at example.test/raw/"] == [
        "(not a gateway application: its routes cannot be listed)"
    ]


def test_routes_of_a_gateway_toml_with_tenants(runner, group):
    args = ["routes", "--config", SITE_TOML, "--tenant", "acme", "--tenant", "beta"]
    result = runner.invoke(group, args)
    assert result.exit_code == 0, result.output
    sections = _sections(result.output)

    for key in ("acme", "beta"):
        rows = sections[f"tenant-{key} at {key}.example.test/"]
        assert rows[2].split() == ["dashboard", "GET", "/dashboard"]

    assert not any(heading.startswith("Tenant applications") for heading in sections)


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        pytest.param(
            ["--tenant", "nobody"],
            2,
            "the tenant factory has no application for 'nobody'.",
            id="unknown-tenant",
        ),
        pytest.param(
            ["--tenant", "explode"],
            1,
            "The tenant factory failed for 'explode': RuntimeError: tenant factory exploded",
            id="factory-raises",
        ),
    ],
)
def test_routes_of_a_gateway_toml_tenant_errors(
    runner, group, args, exit_code, message
):
    result = runner.invoke(group, ["routes", "--config", SITE_TOML, *args])
    assert result.exit_code == exit_code
    assert message in result.output


def test_routes_tenant_needs_config(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.app", "routes", "--tenant", "acme"])
    assert result.exit_code == 2
    assert "'--tenant' needs '--config'." in result.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param(
            '[gateway]\ndefault_app = "cliapp.app:testapp"\n',
            "has no [tenants] table",
            id="no-tenants-table",
        ),
        pytest.param("[gateway\n", "invalid TOML", id="invalid-toml"),
        pytest.param(
            '[gateway]\ndefault_app = "cliapp.nope:app"\n',
            "no module named 'cliapp.nope'",
            id="missing-app-module",
        ),
    ],
)
def test_routes_of_a_bad_gateway_toml(runner, group, tmp_path, toml, message):
    path = tmp_path / "gateway.toml"
    path.write_text(toml)
    result = runner.invoke(group, ["routes", "--config", str(path), "--tenant", "x"])
    assert result.exit_code != 0
    assert message in result.output


def test_routes_of_a_gateway_toml_in_a_real_process(tmp_path):
    args = ["routes", "--config", SITE_TOML, "--tenant", "acme"]
    result = run_gateway(tmp_path, *args, script=True)
    assert result.returncode == 0, result.stderr
    assert "tenant-acme at acme.example.test/" in result.stdout
    assert "/admin/users" in result.stdout


# -- AppCliRunner and entry points -----------------------------------------------------------


def test_app_cli_runner_runs_app_commands():
    from cliapp.commands import app

    from gateway.testing import AppCliRunner

    runner = app.test_cli_runner()
    assert isinstance(runner, AppCliRunner)
    result = runner.invoke(args=["greet", "tester"])
    assert result.output == "hello, tester from commands_app\n"
    result = runner.invoke(args=["users", "create", "ann"])
    assert result.output == "created ann in commands_app\n"
    result = runner.invoke(args=["no-context"])
    assert result.output == "context active: False\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--version"], "Gateway ", id="version"),
        pytest.param(["--help"], "A command line for gateway applications", id="help"),
    ],
)
@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_programs_start(tmp_path, args, expected, script):
    result = run_gateway(tmp_path, *args, script=script)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
