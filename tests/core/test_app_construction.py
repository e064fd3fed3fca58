"""The App constructor, root_path discovery and ``open_resource``.

Root paths are discovered for a plain module, a package, a submodule of a
package, an installed package and a namespace package (each built in a temp
dir put on ``sys.path``).
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest

import gateway

APP_SOURCE = """
import gateway

app = gateway.App(__name__)
"""

FACTORY_SOURCE = """
import gateway


def make(name):
    return gateway.App(name)
"""


def test_constructor_arguments_are_kept(tmp_path):
    app = gateway.App(
        "ctor_app",
        static_url_path="/s",
        static_folder="public",
        static_host=None,
        host_matching=False,
        subdomain_matching=True,
        template_folder="tpl",
        instance_path=str(tmp_path / "inst"),
        instance_relative_config=True,
        root_path=str(tmp_path),
    )
    assert app.import_name == "ctor_app"
    assert app.name == "ctor_app"
    assert app.static_url_path == "/s"
    assert app.static_folder == str(tmp_path / "public")
    assert app.template_folder == "tpl"
    assert app.subdomain_matching is True
    assert app.url_map.host_matching is False
    assert app.instance_path == str(tmp_path / "inst")
    assert app.root_path == str(tmp_path)
    assert app.config.root_path == str(tmp_path / "inst")


def test_default_constructor_values(tmp_path):
    app = gateway.App("defaults", root_path=str(tmp_path))
    assert app.static_folder == str(tmp_path / "static")
    assert app.static_url_path == "/static"
    assert app.template_folder == "templates"
    assert app.subdomain_matching is False
    assert app.has_static_folder
    assert app.blueprints == {}
    assert app.extensions == {}
    assert "'defaults'" in repr(app)


def test_main_module_name_is_guessed_from_the_script(tmp_path):
    script = tmp_path / "run_me.py"
    script.write_text("import gateway\nprint(gateway.App('__main__').name)\n")
    import subprocess

    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "run_me"


def test_root_path_of_a_module(modules_tmp_path, purge_module):
    (modules_tmp_path / "single_mod.py").write_text(APP_SOURCE)
    purge_module("single_mod")

    app = importlib.import_module("single_mod").app
    assert app.root_path == str(modules_tmp_path)
    assert app.instance_path == str(modules_tmp_path / "instance")


def test_root_path_of_a_package(modules_tmp_path, purge_module, make_tree):
    make_tree(modules_tmp_path, {"pkg_app/__init__.py": APP_SOURCE})
    purge_module("pkg_app")

    app = importlib.import_module("pkg_app").app
    assert app.root_path == str(modules_tmp_path / "pkg_app")
    assert app.instance_path == str(modules_tmp_path / "instance")


def test_root_path_of_a_submodule_is_its_package_dir(
    modules_tmp_path, purge_module, make_tree
):
    make_tree(
        modules_tmp_path,
        {"pkg_sub/__init__.py": "", "pkg_sub/web.py": APP_SOURCE},
    )
    purge_module("pkg_sub")

    app = importlib.import_module("pkg_sub.web").app
    assert app.root_path == str(modules_tmp_path / "pkg_sub")
    assert app.instance_path == str(modules_tmp_path / "instance")


def test_root_path_of_a_not_yet_imported_module(
    modules_tmp_path, purge_module, make_tree
):
    make_tree(modules_tmp_path, {"lazy_pkg/__init__.py": "", "lazy_pkg/lazy.py": ""})
    purge_module("lazy_pkg")

    app = gateway.App("lazy_pkg.lazy")
    assert app.root_path == str(modules_tmp_path / "lazy_pkg")


def test_root_path_of_an_installed_package(site_packages, purge_module, make_tree):
    make_tree(site_packages, {"installed_app/__init__.py": APP_SOURCE})
    purge_module("installed_app")

    app = importlib.import_module("installed_app").app
    prefix = site_packages.parent.parent.parent
    assert app.root_path == str(site_packages / "installed_app")
    assert app.instance_path == str(prefix / "var" / "installed_app-instance")


def test_root_path_of_an_installed_module(site_packages, purge_module):
    (site_packages / "installed_mod.py").write_text(APP_SOURCE)
    purge_module("installed_mod")

    app = importlib.import_module("installed_mod").app
    prefix = site_packages.parent.parent.parent
    assert app.root_path == str(site_packages)
    assert app.instance_path == str(prefix / "var" / "installed_mod-instance")


def test_root_path_of_a_namespace_package_submodule(
    tmp_path, monkeypatch, purge_module, make_tree
):
    first = tmp_path / "first"
    second = tmp_path / "second"
    make_tree(first, {"nspace/alpha/__init__.py": APP_SOURCE})
    make_tree(second, {"nspace/beta/__init__.py": APP_SOURCE})
    monkeypatch.syspath_prepend(str(first))
    monkeypatch.syspath_prepend(str(second))
    purge_module("nspace")

    alpha = importlib.import_module("nspace.alpha").app
    beta = importlib.import_module("nspace.beta").app
    assert alpha.root_path == str(first / "nspace" / "alpha")
    assert beta.root_path == str(second / "nspace" / "beta")
    # Each part of the namespace gets the instance folder next to its own tree.
    assert alpha.instance_path == str(first / "instance")
    assert beta.instance_path == str(second / "instance")


def test_app_named_after_a_namespace_package_needs_explicit_root_path(
    tmp_path, monkeypatch, purge_module, make_tree
):
    make_tree(tmp_path, {"bare_ns/mod.py": ""})
    monkeypatch.syspath_prepend(str(tmp_path))
    purge_module("bare_ns")
    importlib.import_module("bare_ns")

    with pytest.raises(RuntimeError, match="root path"):
        gateway.App("bare_ns")
    app = gateway.App("bare_ns", root_path=str(tmp_path / "bare_ns"))
    assert app.root_path == str(tmp_path / "bare_ns")


def test_unknown_import_name_falls_back_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = gateway.App("module_that_does_not_exist_anywhere")
    assert app.root_path == str(tmp_path)


def test_open_resource_reads_relative_to_root_path(tmp_path, make_tree):
    make_tree(tmp_path, {"schema.sql": "CREATE TABLE t;", "sub/x.txt": "ünï"})
    app = gateway.App("res_app", root_path=str(tmp_path))

    with app.open_resource("schema.sql") as f:
        assert f.read() == b"CREATE TABLE t;"
    with app.open_resource("sub/x.txt", "r", encoding="utf-8") as f:
        assert f.read() == "ünï"
    with app.open_resource("sub/x.txt", "rt", encoding="latin-1") as f:
        assert f.read() == "ünï".encode().decode("latin-1")


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("w", id="write"),
        pytest.param("a", id="append"),
        pytest.param("r+", id="update"),
        pytest.param("wb", id="write-binary"),
    ],
)
def test_open_resource_refuses_write_modes(tmp_path, mode):
    (tmp_path / "f.txt").write_text("x")
    app = gateway.App("res_app", root_path=str(tmp_path))
    with pytest.raises(ValueError, match="reading"):
        app.open_resource("f.txt", mode)


def test_open_resource_missing_file_is_file_not_found(tmp_path):
    app = gateway.App("res_app", root_path=str(tmp_path))
    with pytest.raises(FileNotFoundError):
        app.open_resource("missing.sql")


def test_app_is_a_wsgi_callable_delegating_to_wsgi_app(tmp_path):
    app = gateway.App("wsgi_app", root_path=str(tmp_path))
    app.add_url_rule("/", "index", lambda: "via wsgi")
    calls = []
    inner = app.wsgi_app

    def middleware(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = middleware
    assert app.test_client().get("/").data == b"via wsgi"
    assert calls == ["/"]


def test_import_name_factory_in_package(modules_tmp_path, purge_module, make_tree):
    make_tree(modules_tmp_path, {"factory_pkg/__init__.py": FACTORY_SOURCE})
    purge_module("factory_pkg")

    module = importlib.import_module("factory_pkg")
    app = module.make("factory_pkg")
    assert app.root_path == os.path.dirname(module.__file__)
