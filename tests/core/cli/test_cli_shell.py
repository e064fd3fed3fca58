"""``gateway shell``: the app context, shell context processors and
PYTHONSTARTUP (gateway/cli/commands.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gateway import App


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

    app = App("shelled")
    result = app.test_cli_runner().invoke(shell_command, input="print(app.name * 2)\n")
    assert result.exit_code == 0, result.output
    assert "App: shelled" in result.output
    assert "shelledshelled" in result.output


def test_shell_in_a_real_process(run_gateway):
    result = run_gateway(
        "--app",
        "cliapp.commands",
        "shell",
        input="print('answer is', answer)\n",
    )
    assert result.returncode == 0, result.stderr
    assert "answer is 42" in result.stdout
    assert "App: commands_app" in result.stderr
