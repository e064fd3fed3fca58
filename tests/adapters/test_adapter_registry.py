"""The adapter registry, and what happens when a server is not installed."""

from __future__ import annotations

import sys

import pytest

from gateway.adapters import (
    ADAPTERS,
    INSTALL_HINT,
    ServerNotInstalled,
    UnknownAdapter,
    find_executable,
    get_adapter,
    require,
)
from gateway.toml import ADAPTERS as CONFIG_ADAPTERS


def test_every_adapter_gateway_toml_accepts_is_a_module_here():
    assert list(ADAPTERS) == list(CONFIG_ADAPTERS)
    for name, module in ADAPTERS.items():
        assert module == f"gateway.adapters.{name}"


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_every_adapter_imports_and_can_serve_a_config(name):
    module = get_adapter(name)
    assert callable(module.serve_config)


def test_unknown_adapter_lists_the_choices():
    with pytest.raises(
        UnknownAdapter, match="unknown adapter 'waitress'; choose one of: dev, gevent"
    ):
        get_adapter("waitress")


@pytest.mark.parametrize(
    ("module", "adapter", "package"),
    [
        pytest.param("tornado", "tornado", "tornado", id="tornado"),
        pytest.param("gevent.pywsgi", "gevent", "gevent", id="gevent"),
        pytest.param("flup.server.fcgi", "fastcgi", "flup", id="flup"),
        pytest.param("gunicorn.app.base", "gunicorn", "gunicorn", id="gunicorn"),
    ],
)
def test_missing_server_package_names_the_install_command(
    monkeypatch, module, adapter, package
):
    top = module.split(".")[0]
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, top, None)  # makes "import top" fail
    with pytest.raises(ServerNotInstalled) as info:
        require(module, adapter, package)
    assert str(info.value) == (
        f"the {adapter} adapter needs the {package!r} package, which is not installed: {INSTALL_HINT}"
    )


def test_import_errors_inside_an_installed_package_are_not_hidden(
    monkeypatch, tmp_path
):
    (tmp_path / "brokenserver").mkdir()
    (tmp_path / "brokenserver" / "__init__.py").write_text(
        "import does_not_exist_anywhere\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="does_not_exist_anywhere"):
        require("brokenserver", "test")


def test_find_executable_prefers_the_one_next_to_this_python(monkeypatch):
    python_dir = __import__("pathlib").Path(sys.executable).parent
    assert (
        find_executable(python_dir.joinpath(sys.executable).name, "x") == sys.executable
    )
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(
        ServerNotInstalled, match="'no-such-server' program, which was not found"
    ):
        find_executable("no-such-server", "x")
