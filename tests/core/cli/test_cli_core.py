"""ScriptInfo, with_appcontext, AppGroup and dotenv loading
(gateway/cli/core.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import pytest

from gateway import App
from gateway.cli import (
    AppGroup,
    GatewayGroup,
    NoAppException,
    ScriptInfo,
    load_dotenv,
    with_appcontext,
)
from gateway.globals import current_app

APPS = Path(__file__).parent / "apps"


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
    monkeypatch.chdir(APPS)
    assert ScriptInfo(import_path).load_app().name == expected


def test_script_info_loads_app_from_absolute_file_path():
    path = str(APPS / "cliapp" / "inner1" / "inner2" / "website.py")
    assert ScriptInfo(path).load_app().name == "cliapp.inner1.inner2.website"


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        pytest.param("helloworld", "helloworld", id="wsgi-py"),
        pytest.param("appfile", "appfile", id="app-py"),
    ],
)
def test_script_info_finds_default_files(monkeypatch, directory, expected):
    monkeypatch.chdir(APPS / directory)
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
        return App("created")

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
    app = App("debugged")  # created before GATEWAY_DEBUG is set
    os.environ["GATEWAY_DEBUG"] = env_value
    info = ScriptInfo(create_app=lambda: app, set_debug_flag=set_debug_flag)
    assert info.load_app().debug is expected


@pytest.mark.parametrize(
    "toml",
    [
        pytest.param("[gateway]\nflask_compat = false\n", id="key-false"),
        pytest.param('[gateway]\nname = "site"\n', id="key-missing"),
        pytest.param("[gateway\n", id="invalid-toml"),
        pytest.param(
            "[gateway]\nflask_compat = false\nunknown_key = 1\n",
            id="rest-of-file-not-checked",
        ),
    ],
)
def test_script_info_loads_the_app_beside_a_gateway_toml_without_the_key(toml):
    Path("gateway.toml").write_text(toml)
    assert ScriptInfo("cliapp.app").load_app().name == "testapp"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            '"yes"',
            '[gateway].flask_compat: expected true or false, got "yes"',
            id="not-a-boolean",
        ),
        # This process imported the real Flask (tests/conftest.py): a true key
        # is applied, and refused, before the app is imported.
        pytest.param(
            "true",
            "[gateway].flask_compat = true cannot take effect: Flask was imported",
            id="true-after-real-flask",
        ),
    ],
)
def test_script_info_applies_flask_compat_of_gateway_toml_before_importing(
    value, message
):
    Path("gateway.toml").write_text(f"[gateway]\nflask_compat = {value}\n")
    with pytest.raises(NoAppException) as exc_info:
        ScriptInfo("cliapp.app").load_app()
    assert exc_info.value.format_message().startswith(
        f"{Path.cwd() / 'gateway.toml'}: {message}"
    )
    assert "cliapp.app" not in sys.modules


def test_a_wrong_flask_compat_in_gateway_toml_is_a_usage_error(runner, group):
    Path("gateway.toml").write_text("[gateway]\nflask_compat = 1\n")
    result = runner.invoke(group, ["--app", "cliapp.app", "routes"])
    assert result.exit_code == 2
    assert "[gateway].flask_compat: expected true or false, got 1" in result.output


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


def test_with_appcontext_pushes_the_loaded_app(runner):
    @click.command()
    @with_appcontext
    def whoami():
        click.echo(current_app.name)

    obj = ScriptInfo(create_app=lambda: App("ctxapp"))
    result = runner.invoke(whoami, obj=obj)
    assert result.exit_code == 0, result.output
    assert result.output == "ctxapp\n"


def test_with_appcontext_reuses_an_active_context(runner):
    from gateway import g

    app = App("outer")

    @click.command()
    @with_appcontext
    def show():
        click.echo(g.marker)

    with app.app_context():
        g.marker = "from outside"
        result = runner.invoke(show, obj=ScriptInfo(create_app=lambda: App("other")))

    assert result.output == "from outside\n"


def test_app_group_wraps_commands_unless_told_not_to(runner):
    group = AppGroup()

    @group.command()
    def inside():
        click.echo(current_app.name)

    @group.command(with_appcontext=False)
    def outside():
        click.echo(f"context: {bool(current_app)}")

    obj = ScriptInfo(create_app=lambda: App("grouped"))
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
        group, ["sub", "leaf"], obj=ScriptInfo(create_app=lambda: App("deep"))
    )
    assert result.output == "deep\n"


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
    group = GatewayGroup(create_app=lambda: App("dotenv"))

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
