"""The Flask compatibility switch itself (gateway.compat): the ways to turn it
on, what ``flask`` and every ``flask.*`` module are under it, how reads,
writes and deletes reach gateway's modules, ``flask.ext``, its errors, and
that it costs nothing when off.

Every check runs in a child process (the suite's own process has real Flask
imported). Checks that need no process of their own are batched: a table's
rows are snippets that one child, started once per module, runs one after
the other, each in a namespace of its own, reporting each row's traceback.
"""

from __future__ import annotations

import importlib.metadata
import json
import site
import subprocess
import typing as t
from pathlib import Path

import pytest

from gateway.compat.names import EXTENSION_MODULES, FLASK_VERSION, MAIN_MODULE, MODULES

#: Printed by batch children before their JSON report, so nothing else they
#: print can be mistaken for it.
REPORT = "--- report ---\n"

Snippets = t.Mapping[str, str]


def batch(
    run_python: t.Callable[..., subprocess.CompletedProcess[str]],
    snippets: Snippets,
    *,
    setup: str,
    **kwargs: t.Any,
) -> dict[str, str | None]:
    """Run ``setup``, then every snippet in order in a namespace of its own,
    in one child; return snippet id -> its traceback, or None if it passed."""
    code = (
        "import json as _json, traceback as _traceback\n"
        f"{setup}\n"
        f"_results = {{}}\n"
        f"for _key, _code in _json.loads({json.dumps(dict(snippets))!r}).items():\n"
        "    try:\n"
        "        _namespace = {**globals(), '__name__': _key}\n"
        "        exec(compile(_code, f'<{_key}>', 'exec'), _namespace)\n"
        "    except BaseException:\n"
        "        _results[_key] = _traceback.format_exc()\n"
        "    else:\n"
        "        _results[_key] = None\n"
        f"print({REPORT!r} + _json.dumps(_results))\n"
    )
    result = run_python(code, **kwargs)
    return json.loads(result.stdout.partition(REPORT)[2])


def report(results: t.Mapping[str, str | None], key: str) -> None:
    """Fail with the snippet's traceback if it failed in the child."""
    if results[key] is not None:
        pytest.fail(f"in the child process:\n{results[key]}", pytrace=False)


def ids(table: Snippets) -> list[t.Any]:
    return [pytest.param(key, id=key) for key in table]


# -- turning it on ---------------------------------------------------------

#: What the switch being on looks like from inside a child, for every way.
SWITCH_IS_ON = """
import sys
import flask
import gateway
from gateway import _names, compat
from gateway.compat.finder import AliasModule

assert isinstance(flask, AliasModule), flask
assert flask.Flask is gateway.App
assert compat.is_enabled()
assert [type(f).__name__ for f in sys.meta_path].count("FlaskFinder") == 1
assert _names.prefix() == "FLASK", _names.prefix()
"""


def test_import_gateway_flask_compat_first_turns_the_switch_on_with_flask_names(
    run_python,
):
    run_python("import gateway.flask_compat\n" + SWITCH_IS_ON)


@pytest.mark.parametrize(
    "value",
    ["1", "true", "yes", "on", "TRUE", " Yes "],
    ids=lambda v: repr(v),
)
def test_environment_variable_set_to_a_true_value_turns_the_switch_on(
    run_python, value
):
    run_python(SWITCH_IS_ON, switch=value)


@pytest.mark.parametrize(
    "value",
    ["0", "false", "no", "off", "", "   ", "False", "OFF"],
    ids=lambda v: repr(v),
)
def test_environment_variable_set_to_a_false_or_empty_value_leaves_flask_real(
    run_python, value
):
    # find_spec resolves `flask` through sys.meta_path as an import would,
    # without the cost of importing real Flask.
    run_python(
        """
        import importlib.util, sys
        spec = importlib.util.find_spec("flask")
        assert spec.origin and spec.origin.endswith("__init__.py"), spec
        assert "gateway" not in sys.modules
        assert not [f for f in sys.meta_path if "gateway" in type(f).__module__]
        """,
        switch=value,
    )


def test_environment_variable_arms_one_finder_that_hands_over_at_the_first_flask_import(
    run_python,
):
    # Python 3.11 runs a virtual environment's .pth files twice at start;
    # arming twice left a second arming finder behind.
    run_python(
        """
        import sys
        def names():
            return [type(f).__name__ for f in sys.meta_path]
        assert names().count("_TurnOnAtFirstFlaskImport") == 1, names()
        import flask.json
        assert names()[0] == "FlaskFinder", names()
        assert "_TurnOnAtFirstFlaskImport" not in names(), names()
        assert names().count("FlaskFinder") == 1, names()
        """,
        switch=True,
    )


def test_turning_the_switch_on_again_changes_nothing(run_python):
    run_python(
        """
        import sys
        import gateway.flask_compat
        import flask
        from gateway import compat
        compat.enable()
        compat.enable(flask_names=False)
        import gateway.flask_compat
        assert [type(f).__name__ for f in sys.meta_path].count("FlaskFinder") == 1
        import flask as again
        assert again is flask
        """,
        switch=True,
    )


def test_switch_turned_on_without_flask_names_keeps_gateways_names(run_python):
    run_python(
        """
        from gateway import _names, compat
        compat.enable(flask_names=False)
        import flask, gateway
        assert flask.Flask is gateway.App
        assert (_names.prefix(), _names.command(), _names.product()) == (
            "GATEWAY", "gateway", "gateway"
        )
        assert _names.dotenv_files() == (".gatewayenv", ".env")
        """
    )


# -- the .pth file: off costs nothing, on is lazy ----------------------------


def test_pth_file_is_installed_in_the_environments_site_packages():
    found = [
        Path(directory) / "gateway-flask-compat.pth"
        for directory in site.getsitepackages()
        if (Path(directory) / "gateway-flask-compat.pth").is_file()
    ]
    assert len(found) == 1, (
        "gateway-flask-compat.pth is not in site-packages: reinstall gateway"
        " (pip install -e .) with setuptools 64 or later"
    )
    line = found[0].read_text()
    assert "GATEWAY_FLASK_COMPAT" in line
    assert "_gateway_flask_compat" in line


def test_switch_off_imports_nothing_and_adds_no_finder_at_startup(run_python):
    run_python(
        """
        import sys
        assert "gateway" not in sys.modules
        assert "_gateway_flask_compat" not in sys.modules
        ours = [f for f in sys.meta_path
                if type(f).__module__.startswith(("gateway", "_gateway_flask_compat"))]
        assert not ours, ours
        """
    )


def test_switch_on_imports_nothing_of_gateway_until_flask_is_imported(
    run_python,
):
    run_python(
        """
        import importlib.util, sys
        import json, sqlite3, email.message
        importlib.util.find_spec("flaskr")  # a name that only starts like flask
        assert "gateway" not in sys.modules, "gateway imported before flask"
        import flask
        assert "gateway" in sys.modules
        """,
        switch=True,
    )


# -- FlaskAlreadyImported ------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["import flask", "from flask import Flask", "from flask.json import dumps"],
)
def test_turning_the_switch_on_after_flask_was_imported_exits_naming_the_importer(
    run_python, tmp_path, line
):
    (tmp_path / "uses_flask.py").write_text(f"{line}\n")
    result = run_python(
        "import uses_flask\nimport gateway.flask_compat\n", cwd=tmp_path, check=False
    )
    assert result.returncode == 1, result
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gateway.compat.FlaskAlreadyImported: "), result.stderr
    assert "first by module 'uses_flask'" in last, last
    assert str(tmp_path / "uses_flask.py") in last, last
    assert "'import gateway.flask_compat'" in last, last


def test_refused_switch_stays_off_and_flask_stays_real(run_python):
    run_python(
        """
        import flask
        from gateway import compat
        try:
            compat.enable()
        except compat.FlaskAlreadyImported as e:
            assert "first by module '__main__'" in str(e), e
        else:
            raise AssertionError("enable() after real Flask did not raise")
        assert not compat.is_enabled()
        import flask.json
        assert flask.json.__file__.endswith("__init__.py")
        """
    )


# -- what flask and flask.* are under the switch ----------------------------

#: One row per module: it imports, is the alias, and shows every public name
#: of its gateway module (renamed ones under Flask's name too).
MODULE_ROWS: dict[str, str] = {
    name: f"""
import importlib, sys
from gateway.compat.finder import AliasModule
from gateway.compat.names import MODULES
name = {name!r}
module = importlib.import_module(name)
assert isinstance(module, AliasModule), module
assert sys.modules[name] is module
assert module.__name__ == module.__spec__.name == name
target = module._gateway_target
alias = MODULES[name]
assert (target.__name__ if target else None) == alias.target
if target is not None:
    assert module.__doc__ == target.__doc__
    wrong = []
    for attr in dir(target):
        if attr.startswith("_"):
            continue
        if f"{{name}}.{{attr}}" in MODULES:
            expected = importlib.import_module(f"{{name}}.{{attr}}")
        else:
            expected = getattr(target, attr)
        if getattr(module, attr) is not expected:
            wrong.append(attr)
    for flask_name, gateway_name in alias.renames.items():
        if getattr(module, flask_name) is not getattr(target, gateway_name):
            wrong.append(flask_name)
        assert flask_name in dir(module) and flask_name in module.__all__
    assert not wrong, f"{{name}} does not show gateway's {{wrong}}"
"""
    for name in MODULES
}

#: Flask's names for gateway's objects.
IDENTITY_ROWS: dict[str, str] = {
    row: f"import flask, gateway, gateway.cli, gateway.scaffold, gateway.testing\n"
    f"import flask.app, flask.cli, flask.testing, flask.sansio.app\n"
    f"import flask.sansio.blueprints, flask.sansio.scaffold, flask.json\n"
    f"assert {row}"
    for row in [
        "flask.Flask is gateway.App",
        "flask.app.Flask is gateway.App",
        "flask.sansio.app.App is gateway.App",
        "flask.Blueprint is gateway.Blueprint",
        "flask.sansio.blueprints.Blueprint is gateway.Blueprint",
        "flask.sansio.scaffold.Scaffold is gateway.scaffold.Scaffold",
        "flask.testing.FlaskClient is gateway.testing.AppClient",
        "flask.testing.FlaskCliRunner is gateway.testing.AppCliRunner",
        "flask.cli.FlaskGroup is gateway.cli.GatewayGroup",
        "flask.current_app is gateway.current_app",
        "flask.request is gateway.request",
        "flask.json.dumps is gateway.json.dumps",
        "flask.json is __import__('sys').modules['flask.json']",
        "isinstance(gateway.Blueprint('bp', __name__), flask.Blueprint)",
        "isinstance(gateway.App('x'), flask.Flask)",
        "type(flask.Flask('x')) is gateway.App",
        "issubclass(flask.testing.FlaskClient, gateway.testing.AppClient)",
    ]
}

#: Module objects behave as modules (star imports, dir, repr).
MODULE_OBJECT_ROWS: dict[str, str] = {
    "star-import-binds-public-names-only": """
import sys, types
namespace = {"__name__": "importer"}
exec("from flask import *", namespace)
assert namespace["__name__"] == "importer", namespace["__name__"]
assert "__spec__" not in namespace and "__path__" not in namespace
import gateway
assert namespace["Flask"] is gateway.App and namespace["request"] is gateway.request
""",
    "dir-shows-flask-names-not-gateway-renames": """
import flask, flask.testing
assert "Flask" in dir(flask) and "App" not in dir(flask)
assert "FlaskClient" in dir(flask.testing) and "AppClient" not in dir(flask.testing)
""",
    "repr-says-what-it-is": """
import flask
assert repr(flask) == "<module 'flask': gateway's 'gateway', by the Flask compatibility switch>"
""",
    "python-m-flask-main-module-is-gateways": f"""
import importlib.util
spec = importlib.util.find_spec({MAIN_MODULE!r})
assert spec.origin == importlib.util.find_spec("gateway.__main__").origin, spec
""",
}

#: Writes and deletes through the alias reach gateway's module.
FORWARDING_ROWS: dict[str, str] = {
    "setattr-and-delattr-reach-gateway": """
import flask.helpers, gateway.helpers
marker = object()
flask.helpers.ADDED = marker
assert gateway.helpers.ADDED is marker
assert "ADDED" not in own_dict(flask.helpers)
del flask.helpers.ADDED
assert not hasattr(gateway.helpers, "ADDED") and not hasattr(flask.helpers, "ADDED")
""",
    "replacing-a-function-is-seen-by-gateway": """
import flask.helpers, gateway.helpers
original = gateway.helpers.get_debug_flag
flask.helpers.get_debug_flag = lambda: "patched"
try:
    assert gateway.helpers.get_debug_flag() == "patched"
finally:
    flask.helpers.get_debug_flag = original
assert gateway.helpers.get_debug_flag is original
""",
    "renamed-class-is-replaced-under-its-gateway-name": """
import flask.testing, gateway.testing
original = gateway.testing.AppClient
class Client(original):
    pass
flask.testing.FlaskClient = Client
try:
    assert gateway.testing.AppClient is Client
finally:
    flask.testing.FlaskClient = original
""",
    "pytest-monkeypatch-patches-and-undoes": """
import flask.helpers, gateway.helpers
from pytest import MonkeyPatch
original = gateway.helpers.get_debug_flag
mp = MonkeyPatch()
mp.setattr(flask.helpers, "get_debug_flag", lambda: "patched")
mp.setattr("flask.helpers.NEW_NAME", 1, raising=False)
assert gateway.helpers.get_debug_flag() == "patched"
assert gateway.helpers.NEW_NAME == 1
mp.undo()
assert gateway.helpers.get_debug_flag is original
assert not hasattr(gateway.helpers, "NEW_NAME")
""",
    "unittest-mock-patch-patches-and-restores": """
from unittest import mock
import flask.helpers, gateway.helpers
original = gateway.helpers.get_debug_flag
with mock.patch("flask.helpers.get_debug_flag", return_value="patched"):
    assert gateway.helpers.get_debug_flag() == "patched"
assert gateway.helpers.get_debug_flag is original
assert "get_debug_flag" not in own_dict(flask.helpers)
""",
    "vars-shows-gateways-names-under-flasks": """
import flask, flask.testing, gateway, gateway.testing
namespace = vars(flask)
assert namespace is not vars(gateway)
assert namespace["Flask"] is gateway.App and "Flask" in namespace
assert namespace["__name__"] == "flask" and namespace["json"] is flask.json
assert flask.testing.__dict__["FlaskClient"] is gateway.testing.AppClient
assert "nope" not in namespace and namespace.get("nope") is None
assert set(namespace) >= {"Flask", "request", "json", "__spec__"}
""",
    "submodule-attributes-stay-on-the-alias": """
import flask, flask.json, gateway, gateway.json
assert flask.json is not gateway.json
assert gateway.json.__name__ == "gateway.json"
""",
}

#: flask.ext.NAME, flask.__version__ and the errors for what is not there.
EXT_AND_ERROR_ROWS: dict[str, str] = {
    "flask-ext-login-is-flask-login": """
import flask.ext.login
import flask_login
assert flask.ext.login is flask_login
assert __import__("sys").modules["flask.ext.login"] is flask_login
assert flask_login.__spec__.name == "flask_login", flask_login.__spec__
assert flask_login.__name__ == "flask_login"
""",
    "from-flask-ext-import-login": """
from flask.ext import login
import flask_login
assert login is flask_login
""",
    "flask-ext-missing-names-both-places": f"""
assert {EXTENSION_MODULES!r} == ("flask_{{}}", "flaskext.{{}}")
try:
    import flask.ext.nope
except ModuleNotFoundError as e:
    assert e.name == "flask.ext.nope", e.name
    assert "flask_nope" in str(e) and "flaskext.nope" in str(e), e
else:
    raise AssertionError("import flask.ext.nope did not fail")
""",
    "flask-version-is-flasks-and-warns": f"""
import warnings, flask
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    version = flask.__version__
assert version == {FLASK_VERSION!r} == "3.1.3"
assert [w.category for w in caught] == [DeprecationWarning], caught
assert "'__version__' attribute is deprecated" in str(caught[0].message)
# attributed to the code reading it, as Flask's own warning is
assert caught[0].filename == "<flask-version-is-flasks-and-warns>", caught[0].filename
""",
    "unknown-attribute-error-names-it": """
import flask
try:
    flask.nope
except AttributeError as e:
    assert str(e).startswith("module 'flask' has no attribute 'nope'"), e
    assert "'flask.nope'" in str(e) and "'gateway'" in str(e), e
else:
    raise AssertionError("flask.nope did not fail")
""",
    "from-flask-import-unknown-is-an-import-error": """
try:
    from flask import nope
except ImportError as e:
    assert "cannot import name 'nope' from 'flask'" in str(e), e
else:
    raise AssertionError("from flask import nope did not fail")
""",
    "unknown-module-error-names-the-provided-modules": """
try:
    import flask.nope
except ModuleNotFoundError as e:
    assert e.name == "flask.nope", e.name
    assert str(e).startswith("No module named 'flask.nope': "), e
    for provided in ("flask.app", "flask.json.provider", "flask.sansio.scaffold"):
        assert provided in str(e), (provided, e)
else:
    raise AssertionError("import flask.nope did not fail")
""",
}

ALL_ROWS = {
    **MODULE_ROWS,
    **IDENTITY_ROWS,
    **MODULE_OBJECT_ROWS,
    **FORWARDING_ROWS,
    **EXT_AND_ERROR_ROWS,
}


@pytest.fixture(scope="module")
def under_switch(run_python) -> dict[str, str | None]:
    setup = (
        "import gateway.flask_compat, types\n"
        # A module's own attribute dict, behind AliasModule's __dict__ view.
        "own_dict = types.ModuleType.__dict__['__dict__'].__get__"
    )
    return batch(run_python, ALL_ROWS, setup=setup)


@pytest.mark.parametrize("row", ids(MODULE_ROWS))
def test_flask_module_imports_as_an_alias_showing_its_gateway_modules_names(
    under_switch, row
):
    report(under_switch, row)


@pytest.mark.parametrize("row", ids(IDENTITY_ROWS))
def test_flask_name_is_gateways_object(under_switch, row):
    report(under_switch, row)


@pytest.mark.parametrize("row", ids(MODULE_OBJECT_ROWS))
def test_flask_alias_module_behaves_as_a_module(under_switch, row):
    report(under_switch, row)


@pytest.mark.parametrize("row", ids(FORWARDING_ROWS))
def test_writes_and_deletes_through_flask_modules_reach_gateway(under_switch, row):
    report(under_switch, row)


@pytest.mark.parametrize("row", ids(EXT_AND_ERROR_ROWS))
def test_flask_ext_version_and_missing_names(under_switch, row):
    report(under_switch, row)


def test_flask_namespace_lists_gateways_lazy_names_before_their_first_use(
    run_python,
):
    # gateway imports App, Blueprint, Config and the templating functions on
    # first use; vars(flask) (what mock.patch and monkeypatch read) and a
    # star import still show them under Flask's names. A fresh child: the
    # batched rows above use these names first.
    run_python(
        """
        import sys, flask, gateway
        assert "gateway.app" not in sys.modules
        assert {"Flask", "Blueprint", "Config", "render_template"} <= set(vars(flask))
        namespace = {}
        exec("from flask import *", namespace)
        assert namespace["Flask"] is gateway.App is flask.Flask
        assert namespace["Blueprint"] is gateway.Blueprint
        assert namespace["render_template"] is gateway.render_template
        """,
        switch=True,
    )


# -- every public name of real Flask exists under the switch -----------------

#: Real Flask's modules, from its installed distribution's file list (read
#: without importing anything).
REAL_MODULES = sorted(
    ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    for parts in (
        str(path)[: -len(".py")].split("/")
        for path in importlib.metadata.files("flask") or ()
        if str(path).startswith("flask/") and str(path).endswith(".py")
    )
)
assert "flask.app" in REAL_MODULES, REAL_MODULES

#: Run without the switch: for each of real Flask's modules, its public names
#: (no leading underscore) in two groups. "own": what the module defines, or
#: re-exports with ``import name as name``, the form Flask marks re-exports
#: with (its mypy configuration is strict, so implicit re-exports are
#: rejected); "imported": the rest, names Flask imports for its own use
#: (``flask.cli.run_simple``, ``flask.app.click``...). Only "own" is
#: required: the imported names are implementation detail of Flask's
#: modules, and docs/flask-compat.md says so.
REAL_NAMES_CODE = """
import ast, importlib, json, sys

def own_names(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname for a in node.names if a.asname == a.name)
        elif isinstance(node, ast.If):
            names |= own_names(node.body) | own_names(node.orelse)
        elif isinstance(node, ast.Try):
            names |= own_names(node.body)
            for handler in node.handlers:
                names |= own_names(handler.body)
    return names

report = {}
for name in MODULES:
    module = importlib.import_module(name)
    with open(module.__file__, encoding="utf-8") as f:
        own = own_names(ast.parse(f.read()).body)
    public = {n for n in dir(module) if not n.startswith("_")}
    report[name] = {"own": sorted(public & own), "imported": sorted(public - own)}
print(REPORT + json.dumps(report))
"""

#: Run with the switch: which of those names each ``flask.*`` module lacks.
MISSING_CODE = """
import gateway.flask_compat
import importlib, json
missing = {}
for name, groups in REAL.items():
    module = importlib.import_module(name)
    missing[name] = {
        group: [n for n in names if not hasattr(module, n)]
        for group, names in groups.items()
    }
print(REPORT + json.dumps(missing))
"""

NAMED_MODULES = [m for m in REAL_MODULES if m != MAIN_MODULE]


@pytest.fixture(scope="module")
def real_flask_names(run_python) -> dict[str, dict[str, list[str]]]:
    result = run_python(
        f"MODULES = {NAMED_MODULES!r}\nREPORT = {REPORT!r}\n{REAL_NAMES_CODE}"
    )
    return json.loads(result.stdout.partition(REPORT)[2])


@pytest.fixture(scope="module")
def missing_under_switch(
    run_python, real_flask_names
) -> dict[str, dict[str, list[str]]]:
    result = run_python(
        f"REAL = {real_flask_names!r}\nREPORT = {REPORT!r}\n{MISSING_CODE}"
    )
    return json.loads(result.stdout.partition(REPORT)[2])


def test_every_module_of_real_flask_has_one_under_the_switch():
    assert MAIN_MODULE in REAL_MODULES
    assert set(NAMED_MODULES) - set(MODULES) == set()


@pytest.mark.parametrize("module", NAMED_MODULES)
def test_names_real_flask_defines_or_reexports_exist_under_the_switch(
    real_flask_names, missing_under_switch, module
):
    assert real_flask_names[module]["own"], "nothing read from real Flask"
    missing = missing_under_switch[module]["own"]
    assert not missing, (
        f"{module} under the switch lacks names real Flask {FLASK_VERSION}"
        f" defines or re-exports there: {', '.join(missing)}"
    )
