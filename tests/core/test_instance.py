"""Instance folders: the ``instance_path`` rules and ``open_instance_resource``.

Discovery for modules, packages, installed and namespace packages is pinned in
test_app_construction.py; here: explicit paths, creation, and file access.
"""

from __future__ import annotations

import pytest

import gateway


def test_explicit_instance_path_must_be_absolute():
    with pytest.raises(ValueError, match="absolute"):
        gateway.App("inst", instance_path="relative/instance")


def test_explicit_absolute_instance_path_is_used(tmp_path):
    app = gateway.App("inst", instance_path=str(tmp_path / "inst"))
    assert app.instance_path == str(tmp_path / "inst")


def test_instance_folder_is_not_created_automatically(modules_tmp_path, purge_module):
    (modules_tmp_path / "inst_mod.py").write_text(
        "import gateway\napp = gateway.App(__name__)\n"
    )
    purge_module("inst_mod")
    import inst_mod

    assert inst_mod.app.instance_path == str(modules_tmp_path / "instance")
    assert not (modules_tmp_path / "instance").exists()


def test_auto_find_instance_path_can_be_overridden(tmp_path):
    class MyApp(gateway.App):
        def auto_find_instance_path(self):
            return str(tmp_path / "custom-instance")

    assert MyApp("inst").instance_path == str(tmp_path / "custom-instance")


def test_open_instance_resource_reads_and_writes(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    app = gateway.App("inst", root_path=str(tmp_path), instance_path=str(instance))

    with app.open_instance_resource("app.cfg", "w") as f:
        f.write("DEBUG = False\n")
    assert (instance / "app.cfg").read_text() == "DEBUG = False\n"
    with app.open_instance_resource("app.cfg") as f:
        assert f.read() == b"DEBUG = False\n"
    with app.open_instance_resource("app.cfg", "r") as f:
        assert f.read() == "DEBUG = False\n"
    with app.open_instance_resource("app.cfg", "a") as f:
        f.write("X = 1\n")
    assert (instance / "app.cfg").read_text() == "DEBUG = False\nX = 1\n"


def test_open_instance_resource_text_mode_uses_utf8_by_default(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    app = gateway.App("inst", instance_path=str(instance))

    with app.open_instance_resource("notes.txt", "w") as f:
        f.write("naïve café")
    assert (instance / "notes.txt").read_bytes() == "naïve café".encode()
    with app.open_instance_resource("notes.txt", "w", encoding="latin-1") as f:
        f.write("é")
    assert (instance / "notes.txt").read_bytes() == "é".encode("latin-1")


def test_open_instance_resource_missing_folder_is_file_not_found(tmp_path):
    app = gateway.App("inst", instance_path=str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError):
        app.open_instance_resource("x.cfg")


def test_instance_relative_config_loads_from_instance(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "application.cfg").write_text("SECRET_KEY = 'from instance'\n")
    (tmp_path / "application.cfg").write_text("SECRET_KEY = 'from root'\n")

    relative = gateway.App(
        "inst",
        root_path=str(tmp_path),
        instance_path=str(instance),
        instance_relative_config=True,
    )
    plain = gateway.App("inst", root_path=str(tmp_path), instance_path=str(instance))
    relative.config.from_pyfile("application.cfg")
    plain.config.from_pyfile("application.cfg")
    assert relative.config["SECRET_KEY"] == "from instance"
    assert plain.config["SECRET_KEY"] == "from root"
