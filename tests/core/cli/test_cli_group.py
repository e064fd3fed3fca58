"""The ``gateway`` group: app commands, blueprints, options, plug-in and
lazily imported commands, and the programs themselves (gateway/cli/__init__.py)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

import click
import pytest

from gateway import App
from gateway.cli import LAZY_COMMANDS, GatewayGroup, UnavailableCommand, cli
from gateway.globals import current_app


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
    group = GatewayGroup(name="manage", create_app=lambda: App("scripted"))

    @group.command()
    def hello():
        click.echo(f"hello from {current_app.name}")

    result = runner.invoke(group, ["hello"])
    assert result.output == "hello from scripted\n"


def test_gateway_group_without_default_commands(runner):
    group = GatewayGroup(add_default_commands=False, add_version_option=False)
    result = runner.invoke(group, ["--help"], env={"GATEWAY_APP": "cliapp.app"})
    # Installed plug-ins (the test extra's Flask extensions) may still be listed.
    listed = {
        line.split()[0]
        for line in result.output.partition("Commands:")[2].splitlines()
        if line.strip()
    }
    assert not listed & {"run", "shell", "routes", "serve", "entry", "config"}
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


def test_app_run_at_import_is_a_no_op_under_the_cli(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.runs_at_import", "routes"])
    assert result.exit_code == 0, result.output
    assert "index" in result.output


def test_default_cli_is_named_gateway_and_has_builtin_commands():
    assert isinstance(cli, GatewayGroup)
    assert cli.name == "gateway"
    assert {"run", "routes", "shell"} <= set(cli.commands)
    assert set(LAZY_COMMANDS) <= set(cli.lazy_commands)


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
def test_programs_start(run_gateway, args, expected, script):
    result = run_gateway(*args, script=script)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_run_from_cli_flag_is_set_while_a_command_runs_and_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    monkeypatch.delenv("GATEWAY_RUN_FROM_CLI", raising=False)
    seen = []
    group = GatewayGroup(add_default_commands=False)

    @group.command("probe", with_appcontext=False)
    def probe() -> None:
        seen.append(os.environ.get("GATEWAY_RUN_FROM_CLI"))

    result = CliRunner().invoke(group, ["probe"])
    assert result.exit_code == 0, result.output
    assert seen == ["true"]
    assert "GATEWAY_RUN_FROM_CLI" not in os.environ
