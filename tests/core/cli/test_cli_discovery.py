"""Finding the application: ``--app`` strings, module paths, and every
way discovery can fail (gateway/cli/discovery.py)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from gateway import App
from gateway.cli import (
    NoAppException,
    find_best_app,
    locate_app,
    parse_app_expression,
    prepare_import,
    split_import_path,
)

APPS = Path(__file__).parent / "apps"


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


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        pytest.param(lambda: {"app": App("a")}, "a", id="app"),
        pytest.param(lambda: {"application": App("b")}, "b", id="application"),
        pytest.param(lambda: {"site": App("c")}, "c", id="only-instance"),
        pytest.param(
            lambda: {"other": App("o"), "app": App("a"), "application": App("b")},
            "a",
            id="app-beats-others",
        ),
        pytest.param(lambda: {"create_app": lambda: App("f")}, "f", id="create-app"),
        pytest.param(lambda: {"make_app": lambda: App("m")}, "m", id="make-app"),
        pytest.param(
            lambda: {"create_app": lambda: None, "make_app": lambda: App("m")},
            "m",
            id="factory-without-app-falls-through",
        ),
        pytest.param(
            lambda: {"app": "not an app", "create_app": lambda: App("f")},
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
            lambda: {"one": App("1"), "two": App("2")},
            "Detected multiple gateway applications in module 'm'. Use 'm:name'",
            id="several-apps",
        ),
        pytest.param(
            lambda: {"create_app": lambda tenant: App(tenant)},
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
    assert str(APPS / "cliapp" / "importerrorapp.py") in message
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
