"""The Config dict: loaders, namespaces, attribute forwarding and defaults."""

from __future__ import annotations

import json
import os
import tomllib
from datetime import timedelta

import pytest

import gateway
from gateway.config import Config, ConfigAttribute

PY_CONFIG = """
TEST_KEY = "foo"
SECRET_KEY = "config"
lower_case = "ignored"
"""


def _assert_loaded(config) -> None:
    assert config["TEST_KEY"] == "foo"
    assert config["SECRET_KEY"] == "config"
    assert "lower_case" not in config


# The builtin keys and Flask 3.1's default for each.
DEFAULTS = [
    ("DEBUG", None),
    ("TESTING", False),
    ("PROPAGATE_EXCEPTIONS", None),
    ("SECRET_KEY", None),
    ("SECRET_KEY_FALLBACKS", None),
    ("PERMANENT_SESSION_LIFETIME", timedelta(days=31)),
    ("USE_X_SENDFILE", False),
    ("TRUSTED_HOSTS", None),
    ("SERVER_NAME", None),
    ("APPLICATION_ROOT", "/"),
    ("SESSION_COOKIE_NAME", "session"),
    ("SESSION_COOKIE_DOMAIN", None),
    ("SESSION_COOKIE_PATH", None),
    ("SESSION_COOKIE_HTTPONLY", True),
    ("SESSION_COOKIE_SECURE", False),
    ("SESSION_COOKIE_PARTITIONED", False),
    ("SESSION_COOKIE_SAMESITE", None),
    ("SESSION_REFRESH_EACH_REQUEST", True),
    ("MAX_CONTENT_LENGTH", None),
    ("MAX_FORM_MEMORY_SIZE", 500_000),
    ("MAX_FORM_PARTS", 1_000),
    ("SEND_FILE_MAX_AGE_DEFAULT", None),
    ("TRAP_BAD_REQUEST_ERRORS", None),
    ("TRAP_HTTP_EXCEPTIONS", False),
    ("EXPLAIN_TEMPLATE_LOADING", False),
    ("PREFERRED_URL_SCHEME", "http"),
    ("TEMPLATES_AUTO_RELOAD", None),
    ("MAX_COOKIE_SIZE", 4093),
    ("PROVIDE_AUTOMATIC_OPTIONS", True),
]


@pytest.mark.parametrize(
    ("key", "default"), [pytest.param(*d, id=d[0]) for d in DEFAULTS]
)
def test_builtin_key_has_the_reference_default(key, default, monkeypatch):
    monkeypatch.delenv("GATEWAY_DEBUG", raising=False)
    app = gateway.App("defaults")
    assert app.default_config[key] == default
    if key == "DEBUG":
        # The app's config gets the GATEWAY_DEBUG flag: False when unset.
        assert app.config[key] is False
    else:
        assert app.config[key] == default


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("1", True, id="1"),
        pytest.param("true", True, id="true"),
        pytest.param("0", False, id="0"),
        pytest.param("false", False, id="false"),
        pytest.param("no", False, id="no"),
    ],
)
def test_gateway_debug_env_var_sets_the_debug_default(monkeypatch, raw, expected):
    monkeypatch.setenv("GATEWAY_DEBUG", raw)
    app = gateway.App("debug_env")
    assert app.debug is expected
    assert app.config["DEBUG"] is expected


def test_no_other_builtin_keys_are_added():
    assert set(gateway.App("defaults").config) == {key for key, _ in DEFAULTS}


def test_config_is_a_dict_with_root_path(tmp_path):
    config = Config(tmp_path, {"A": 1})
    assert isinstance(config, dict)
    assert config.root_path == tmp_path
    config.setdefault("B", 2)
    config.update(C=3)
    assert config == {"A": 1, "B": 2, "C": 3}
    assert "Config" in repr(config)


def test_app_config_root_path_is_root_or_instance_path(tmp_path):
    plain = gateway.App("cfg", root_path=str(tmp_path))
    relative = gateway.App(
        "cfg",
        root_path=str(tmp_path),
        instance_path=str(tmp_path / "inst"),
        instance_relative_config=True,
    )
    assert plain.config.root_path == str(tmp_path)
    assert relative.config.root_path == str(tmp_path / "inst")


def test_custom_config_class(tmp_path):
    class MyConfig(Config):
        pass

    class MyApp(gateway.App):
        config_class = MyConfig

    assert isinstance(MyApp("x", root_path=str(tmp_path)).config, MyConfig)


# -- from_object ------------------------------------------------------------


class BaseSettings:
    TEST_KEY = "foo"
    SECRET_KEY = "config"
    lower_case = "ignored"


def test_from_object_copies_uppercase_attributes_of_a_class():
    config = Config(".")
    config.from_object(BaseSettings)
    _assert_loaded(config)


def test_from_object_honours_inheritance():
    class Production(BaseSettings):
        DATABASE = "prod"

    config = Config(".")
    config.from_object(Production)
    _assert_loaded(config)
    assert config["DATABASE"] == "prod"


def test_from_object_imports_a_dotted_string(modules_tmp_path, purge_module):
    (modules_tmp_path / "cfgmodule.py").write_text(
        PY_CONFIG + "\nclass Dev:\n    DEV_ONLY = True\n"
    )
    purge_module("cfgmodule")

    config = Config(".")
    config.from_object("cfgmodule")
    _assert_loaded(config)
    config.from_object("cfgmodule.Dev")
    assert config["DEV_ONLY"] is True


def test_from_object_with_unknown_string_is_import_error():
    with pytest.raises(ImportError):
        Config(".").from_object("no_such_module_for_config_tests")


# -- from_pyfile / from_envvar -----------------------------------------------


def test_from_pyfile_is_relative_to_root_path(tmp_path):
    (tmp_path / "settings.cfg").write_text(PY_CONFIG)
    config = Config(tmp_path)

    assert config.from_pyfile("settings.cfg") is True
    _assert_loaded(config)


def test_from_pyfile_with_absolute_path(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(PY_CONFIG)
    config = Config("/nonexistent")

    assert config.from_pyfile(str(path))
    _assert_loaded(config)


def test_from_pyfile_sets_dunder_file_for_the_executed_file(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text("import os\nHERE = os.path.dirname(__file__)\n")
    config = Config(tmp_path)

    config.from_pyfile("settings.py")
    assert config["HERE"] == str(tmp_path)


def test_from_pyfile_missing_file_is_os_error_naming_the_file(tmp_path):
    config = Config(tmp_path)
    with pytest.raises(OSError, match="missing.cfg"):
        config.from_pyfile("missing.cfg")


def test_from_pyfile_missing_file_silent_returns_false(tmp_path):
    assert Config(tmp_path).from_pyfile("missing.cfg", silent=True) is False


def test_from_pyfile_propagates_errors_in_the_file(tmp_path):
    (tmp_path / "broken.py").write_text("X = 1 / 0\n")
    with pytest.raises(ZeroDivisionError):
        Config(tmp_path).from_pyfile("broken.py", silent=True)


def test_instance_relative_config_reads_from_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "application.cfg").write_text(PY_CONFIG)
    app = gateway.App(
        "cfg",
        root_path=str(tmp_path),
        instance_path=str(instance),
        instance_relative_config=True,
    )

    assert app.config.from_pyfile("application.cfg", silent=True)
    _assert_loaded(app.config)


def test_from_envvar_loads_the_file_named_by_the_variable(tmp_path, monkeypatch):
    path = tmp_path / "settings.cfg"
    path.write_text(PY_CONFIG)
    monkeypatch.setenv("GATEWAY_TEST_SETTINGS", str(path))
    config = Config(tmp_path)

    assert config.from_envvar("GATEWAY_TEST_SETTINGS") is True
    _assert_loaded(config)


def test_from_envvar_unset_is_runtime_error_naming_the_variable(monkeypatch):
    monkeypatch.delenv("GATEWAY_TEST_SETTINGS", raising=False)
    with pytest.raises(RuntimeError, match="GATEWAY_TEST_SETTINGS"):
        Config(".").from_envvar("GATEWAY_TEST_SETTINGS")


def test_from_envvar_unset_silent_returns_false(monkeypatch):
    monkeypatch.delenv("GATEWAY_TEST_SETTINGS", raising=False)
    assert Config(".").from_envvar("GATEWAY_TEST_SETTINGS", silent=True) is False


def test_from_envvar_pointing_to_missing_file_is_os_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_TEST_SETTINGS", str(tmp_path / "missing.cfg"))
    with pytest.raises(OSError, match="missing.cfg"):
        Config(".").from_envvar("GATEWAY_TEST_SETTINGS")
    assert Config(".").from_envvar("GATEWAY_TEST_SETTINGS", silent=True) is False


# -- from_file / from_mapping -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "load", "text"),
    [
        pytest.param(
            "config.json",
            json.dumps({"TEST_KEY": "foo", "SECRET_KEY": "config", "lower_case": 1}),
            json.load,
            True,
            id="json",
        ),
        pytest.param(
            "config.toml",
            'TEST_KEY = "foo"\nSECRET_KEY = "config"\nlower_case = 1\n',
            tomllib.load,
            False,
            id="toml-binary",
        ),
    ],
)
def test_from_file_with_a_loader(tmp_path, name, content, load, text):
    (tmp_path / name).write_text(content)
    config = Config(tmp_path)

    assert config.from_file(name, load=load, text=text) is True
    _assert_loaded(config)


def test_from_file_missing_is_os_error_unless_silent(tmp_path):
    config = Config(tmp_path)
    with pytest.raises(OSError, match="missing.json"):
        config.from_file("missing.json", load=json.load)
    assert config.from_file("missing.json", load=json.load, silent=True) is False


def test_from_mapping_takes_a_mapping_and_keywords_uppercase_only():
    config = Config(".")
    assert config.from_mapping(
        {"TEST_KEY": "foo", "lower_case": 1}, SECRET_KEY="config"
    )
    _assert_loaded(config)


def test_from_mapping_with_pairs_is_type_error():
    with pytest.raises(TypeError):
        Config(".").from_mapping({"A": 1}, {"B": 2})


# -- from_prefixed_env ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("text", "text", id="plain-string-kept"),
        pytest.param("1", 1, id="int"),
        pytest.param("1.5", 1.5, id="float"),
        pytest.param("true", True, id="bool"),
        pytest.param("null", None, id="null"),
        pytest.param('["a", 2]', ["a", 2], id="list"),
        pytest.param('{"k": "v"}', {"k": "v"}, id="object"),
    ],
)
def test_from_prefixed_env_parses_values_as_json(monkeypatch, raw, expected):
    monkeypatch.setenv("GATEWAY_VALUE", raw)
    config = Config(".")

    assert config.from_prefixed_env() is True
    assert config["VALUE"] == expected


def test_from_prefixed_env_default_prefix_is_gateway(monkeypatch):
    monkeypatch.setenv("GATEWAY_SECRET_KEY", "from env")
    monkeypatch.setenv("FLASK_NOT_READ", "1")
    monkeypatch.setenv("GATEWAYNO_UNDERSCORE", "1")
    config = Config(".")

    config.from_prefixed_env()
    assert config["SECRET_KEY"] == "from env"
    assert "NOT_READ" not in config
    assert "FLASK_NOT_READ" not in config
    assert not any("UNDERSCORE" in key for key in config)


def test_from_prefixed_env_double_underscore_sets_nested_keys(monkeypatch):
    monkeypatch.setenv("GATEWAY_DB__ENGINE__POOL_SIZE", "5")
    monkeypatch.setenv("GATEWAY_DB__NAME", "main")
    monkeypatch.setenv("GATEWAY_EXISTING__ADDED", "true")
    config = Config(".", {"EXISTING": {"KEPT": 1}})

    config.from_prefixed_env()
    assert config["DB"] == {"ENGINE": {"POOL_SIZE": 5}, "NAME": "main"}
    assert config["EXISTING"] == {"KEPT": 1, "ADDED": True}


def test_from_prefixed_env_with_custom_prefix_and_loads(monkeypatch):
    monkeypatch.setenv("MYAPP_NUMBER", "7")
    monkeypatch.setenv("GATEWAY_NUMBER", "8")
    config = Config(".")

    config.from_prefixed_env("MYAPP", loads=lambda value: f"<{value}>")
    assert config == {"NUMBER": "<7>"}


# -- get_namespace / ConfigAttribute ----------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, {"type": "file", "path": "/tmp"}, id="lowercase-trimmed"),
        pytest.param(
            {"lowercase": False}, {"TYPE": "file", "PATH": "/tmp"}, id="keep-case"
        ),
        pytest.param(
            {"trim_namespace": False},
            {"cache_type": "file", "cache_path": "/tmp"},
            id="untrimmed",
        ),
    ],
)
def test_get_namespace(kwargs, expected):
    config = Config(".", {"CACHE_TYPE": "file", "CACHE_PATH": "/tmp", "OTHER": 1})

    assert config.get_namespace("CACHE_", **kwargs) == expected


@pytest.mark.parametrize(
    ("attribute", "key", "value"),
    [
        pytest.param("testing", "TESTING", True, id="testing"),
        pytest.param("secret_key", "SECRET_KEY", "s3cret", id="secret_key"),
        pytest.param("debug", "DEBUG", True, id="debug"),
        pytest.param(
            "permanent_session_lifetime",
            "PERMANENT_SESSION_LIFETIME",
            timedelta(hours=1),
            id="permanent_session_lifetime",
        ),
    ],
)
def test_app_attributes_forward_to_config(attribute, key, value):
    app = gateway.App("attrs")

    setattr(app, attribute, value)
    assert app.config[key] == value
    app.config[key] = value
    assert getattr(app, attribute) == value


def test_permanent_session_lifetime_converts_int_seconds():
    app = gateway.App("attrs")
    app.config["PERMANENT_SESSION_LIFETIME"] = 60

    assert app.permanent_session_lifetime == timedelta(seconds=60)


def test_config_attribute_descriptor_on_a_custom_class():
    class Holder:
        def __init__(self):
            self.config = {"NAME": "x", "SIZE": "3"}

        name = ConfigAttribute("NAME")
        size = ConfigAttribute("SIZE", get_converter=int)

    holder = Holder()
    assert holder.name == "x"
    assert holder.size == 3
    holder.name = "y"
    assert holder.config["NAME"] == "y"
    assert isinstance(Holder.name, ConfigAttribute)


def test_config_survives_in_child_process_environment(tmp_path):
    """Relative config file names resolve against root_path, not the cwd."""
    (tmp_path / "settings.cfg").write_text(PY_CONFIG)
    app = gateway.App("cwd_independent", root_path=str(tmp_path))
    cwd = os.getcwd()
    try:
        os.chdir("/")
        assert app.config.from_pyfile("settings.cfg")
    finally:
        os.chdir(cwd)
    _assert_loaded(app.config)


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("missing.cfg", id="missing"),
        pytest.param(".", id="directory"),
        pytest.param("file.txt/child.cfg", id="not-a-directory"),
    ],
)
def test_from_pyfile_silent_ignores_only_unreadable_paths(tmp_path, target):
    (tmp_path / "file.txt").write_text("")
    config = Config(tmp_path)
    assert config.from_pyfile(target, silent=True) is False
    with pytest.raises(OSError):
        config.from_pyfile(target)


def test_from_envvar_empty_value_counts_as_unset(monkeypatch):
    monkeypatch.setenv("GATEWAY_TEST_SETTINGS", "")
    assert Config(".").from_envvar("GATEWAY_TEST_SETTINGS", silent=True) is False
    with pytest.raises(RuntimeError, match="GATEWAY_TEST_SETTINGS"):
        Config(".").from_envvar("GATEWAY_TEST_SETTINGS")
