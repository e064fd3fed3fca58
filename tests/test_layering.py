"""The layers of the package and what each may import (docs/architecture.md,
"Layers").

From the bottom up::

    core       gateway/*.py, gateway/json/, gateway/cli/, gateway/compat/,
               and the .pth helper _gateway_flask_compat.py
    dispatch   gateway/dispatch/
    adapters   gateway/adapters/
    deploy     gateway/deploy/

A module imports only from its own layer and the layers below it; the core
imports none of the others. The layers above the core use only its public
names: no private module (``gateway._names``) and no private name
(``_cv_request``).

One exception, the CLI. ``gateway.cli`` is Flask's ``flask.cli`` (``App.cli``
is its ``AppGroup``, the test runner uses its ``ScriptInfo``), so it is in the
core; but the ``gateway`` command it defines sits on top of everything:
``gateway routes --config`` reads a gateway.toml with ``gateway.dispatch``,
and ``gateway serve`` / ``entry`` / ``config`` come from
``gateway.adapters.cli`` and ``gateway.deploy.cli``. So gateway/cli/ may refer
to those layers, but only lazily, and ``import gateway.cli`` never loads them:
by an import inside a function, or by an import string resolved when the
command runs (``gateway.cli.LAZY_COMMANDS``; not an import statement, so not
read here, but the subprocess test below shows it stays lazy).

The imports are read with :mod:`ast`, absolute and relative, wherever they
are (module level, functions, ``if TYPE_CHECKING:``), as are
``importlib.import_module("...")`` and ``__import__("...")`` with a literal
name.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway"

#: Layer order: a module may import from its own layer and those before it.
LAYERS = ("core", "dispatch", "adapters", "deploy")


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name, or None outside gateway."""
    if module == "_gateway_flask_compat" or module.startswith("_gateway_flask_compat."):
        return "core"
    parts = module.split(".")
    if parts[0] != "gateway":
        return None
    if len(parts) > 1 and parts[1] in ("dispatch", "adapters", "deploy"):
        return parts[1]
    return "core"


def module_name(path: Path) -> tuple[str, bool]:
    """``(dotted name, is a package)`` of a source file of the repository."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def source_files() -> list[Path]:
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    return [ROOT / "_gateway_flask_compat.py", *files]


def imports(source: str, module: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """``(imported module, line, inside a function)`` for every import in
    ``source``. ``from X import n`` yields ``X.n`` (a submodule or a name of
    ``X``; either way it belongs to ``X``'s layer, and its privacy is
    ``n``'s)."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def resolve(name: str, level: int) -> str:
        if level == 0:
            return name
        base = package.split(".")
        base = base[: len(base) - (level - 1)]
        return ".".join([*base, name] if name else base)

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((alias.name, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                if child.module == "__future__":
                    continue
                base = resolve(child.module or "", child.level)
                for alias in child.names:
                    target = base if alias.name == "*" else f"{base}.{alias.name}"
                    found.append((target, child.lineno, in_function))
            elif isinstance(child, ast.Call) and child.args:
                func = child.func
                name = (
                    func.attr
                    if isinstance(func, ast.Attribute)
                    else func.id
                    if isinstance(func, ast.Name)
                    else None
                )
                first = child.args[0]
                if (
                    name in ("import_module", "__import__")
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                    and not first.value.startswith(".")
                ):
                    found.append((first.value, child.lineno, in_function))
            visit(child, nested)

    visit(ast.parse(source), False)
    return found


def violations(path: Path, source: str | None = None) -> list[str]:
    """What ``path`` (or ``source`` given as its text) imports against the
    rules, one line each."""
    module, is_package = module_name(path)
    own = layer_of(module)
    assert own is not None, path
    where = path.relative_to(ROOT)
    text = path.read_text() if source is None else source
    problems = []
    for target, line, in_function in imports(text, module, is_package):
        layer = layer_of(target)
        if layer is None or layer == own:
            continue
        in_cli = module == "gateway.cli" or module.startswith("gateway.cli.")
        if in_cli and layer != "core":
            if not in_function:
                problems.append(
                    f"{where}:{line}: the CLI imports {target} at module level;"
                    " import it inside the command that needs it"
                )
            continue
        if LAYERS.index(layer) > LAYERS.index(own):
            problems.append(
                f"{where}:{line}: {own} module {module} imports {target}"
                f" ({layer}, a layer above it)"
            )
        elif layer == "core":
            private = [
                part
                for part in target.split(".")
                if part.startswith("_") and not part.endswith("__")
            ]
            if private:
                problems.append(
                    f"{where}:{line}: {own} module {module} imports {target},"
                    f" private to the core ({', '.join(private)})"
                )
    return problems


def test_every_layer_imports_only_from_below_and_only_public_core_names() -> None:
    problems = [p for path in source_files() for p in violations(path)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("file", "source", "expected"),
    [
        pytest.param(
            "gateway/helpers.py",
            "from .dispatch.urls import url_for_app\n",
            "core module gateway.helpers imports gateway.dispatch.urls.url_for_app",
            id="core-relative",
        ),
        pytest.param(
            "gateway/json/__init__.py",
            "def f():\n    import gateway.adapters.cli\n",
            "core module gateway.json imports gateway.adapters.cli",
            id="core-absolute-in-a-function",
        ),
        pytest.param(
            "gateway/app.py",
            "import typing as t\nif t.TYPE_CHECKING:\n    from . import deploy\n",
            "core module gateway.app imports gateway.deploy",
            id="core-type-checking",
        ),
        pytest.param(
            "gateway/compat/finder.py",
            "import importlib\nimportlib.import_module('gateway.dispatch')\n",
            "core module gateway.compat.finder imports gateway.dispatch",
            id="core-import-module",
        ),
        pytest.param(
            "gateway/dispatch/urls.py",
            "from ..globals import _cv_request\n",
            "imports gateway.globals._cv_request, private to the core (_cv_request)",
            id="private-name",
        ),
        pytest.param(
            "gateway/deploy/model.py",
            "from gateway import _names\n",
            "imports gateway._names, private to the core (_names)",
            id="private-module",
        ),
        pytest.param(
            "gateway/dispatch/gateway.py",
            "from ..adapters import run\n",
            "dispatch module gateway.dispatch.gateway imports gateway.adapters.run",
            id="dispatch-above",
        ),
        pytest.param(
            "gateway/cli/commands.py",
            "from ..dispatch import load_config\n",
            "the CLI imports gateway.dispatch.load_config at module level",
            id="cli-eager",
        ),
    ],
)
def test_the_check_reports_each_kind_of_violation(
    file: str, source: str, expected: str
) -> None:
    (problem,) = violations(ROOT / file, source)
    assert problem.startswith(f"{file}:") and expected in problem, problem


def test_the_check_allows_what_the_rules_allow() -> None:
    allowed = {
        "gateway/cli/commands.py": "def f():\n    from ..dispatch import ConfigError\n",
        "gateway/dispatch/urls.py": "from ..globals import request as _request\n",
        "gateway/deploy/kinds.py": "from gateway.adapters.entry import render_entry\n",
        "gateway/helpers.py": "from . import _names\nimport werkzeug\n",
        "gateway/adapters/entry.py": "from gateway import __version__\n",
    }
    for file, source in allowed.items():
        assert violations(ROOT / file, source) == [], file


def core_modules() -> list[str]:
    names = []
    for path in source_files():
        module, _ = module_name(path)
        if layer_of(module) != "core":
            continue
        # Importing these does something: turns the switch on, runs the CLI.
        # (gateway.cli itself is imported, and its command group built.)
        if module in ("gateway.flask_compat", "gateway.__main__"):
            continue
        names.append(module)
    return names


def test_importing_the_core_and_the_cli_loads_no_layer_above_the_core() -> None:
    """What the source says, at run time: every core module and the CLI,
    imported in a fresh interpreter, and the ``gateway`` command's group
    built, leave gateway.dispatch, gateway.adapters and gateway.deploy
    unloaded."""
    script = textwrap.dedent(
        f"""
        import importlib, sys
        for name in {core_modules()!r}:
            importlib.import_module(name)
        import gateway.cli
        gateway.cli.GatewayGroup()
        print(sorted(m for m in sys.modules
                     if m.split(".")[:2] in (["gateway", "dispatch"],
                                             ["gateway", "adapters"],
                                             ["gateway", "deploy"])))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
