"""The Flask compatibility switch on the command line: real Flask's ``flask``
script and ``python -m flask`` run gateway's CLI with Flask's names
(``FLASK_APP``, ``.flaskenv``, ``FLASK_*`` config, ``flask --app`` in
messages), and the ``gateway`` command runs Flask extensions' commands.

The applications are tiny unmodified Flask applications written into the
test's directory; every command runs in a child process.
"""

from __future__ import annotations

import json
import sqlite3
import typing as t
from pathlib import Path

import pytest

import gateway

# An unmodified Flask application with a command that reports what it runs on.
HELLO = """\
import json, os
from flask import Flask, current_app

app = Flask(__name__)


@app.route("/hi")
def hi():
    return "hi"


@app.cli.command("core")
def core():
    print(json.dumps({
        "core": type(current_app._get_current_object()).__module__,
        "app": current_app.import_name,
        "debug": current_app.debug,
        "env": {k: v for k, v in os.environ.items() if k.startswith("WHICH")},
    }))
"""


def core_report(stdout: str) -> dict[str, t.Any]:
    """The JSON line the ``core`` command printed."""
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "hello.py").write_text(HELLO)
    return tmp_path


# -- the flask command finds the app as Flask does -------------------------

FINDING = [
    pytest.param(["--app", "hello"], {}, {}, "hello", id="--app"),
    pytest.param([], {"FLASK_APP": "hello"}, {}, "hello", id="FLASK_APP"),
    pytest.param([], {"GATEWAY_APP": "hello"}, {}, "hello", id="GATEWAY_APP-still"),
    pytest.param(
        [],
        {"FLASK_APP": "hello", "GATEWAY_APP": "other"},
        {},
        "hello",
        id="FLASK_APP-before-GATEWAY_APP",
    ),
    pytest.param([], {}, {".flaskenv": "FLASK_APP=hello\n"}, "hello", id=".flaskenv"),
    pytest.param(
        [], {}, {".gatewayenv": "GATEWAY_APP=hello\n"}, "hello", id=".gatewayenv-still"
    ),
    pytest.param([], {}, {"app.py": HELLO}, "app", id="app.py"),
]


@pytest.mark.parametrize(("args", "env", "files", "expected"), FINDING)
def test_flask_command_finds_and_runs_the_app_on_gateway(
    run_command, venv_bin, app_dir, args, env, files, expected
):
    (app_dir / "other.py").write_text(HELLO)
    for name, text in files.items():
        (app_dir / name).write_text(text)
    result = run_command(
        [venv_bin / "flask", *args, "core"], switch=True, env=env, cwd=app_dir
    )
    report = core_report(result.stdout)
    assert report["core"] == "gateway.app"
    assert report["app"] == expected


def test_flask_command_lists_routes_of_the_app_named_by_app_option(
    run_command, venv_bin, app_dir
):
    result = run_command(
        [venv_bin / "flask", "--app", "hello", "routes"], switch=True, cwd=app_dir
    )
    assert "/hi" in result.stdout
    assert "/static/<path:filename>" in result.stdout


def test_flaskenv_comes_between_gatewayenv_and_env(run_command, venv_bin, app_dir):
    (app_dir / ".gatewayenv").write_text(
        "FLASK_APP=hello\nWHICH_A=gatewayenv\nWHICH_B=gatewayenv\nWHICH_C=gatewayenv\n"
    )
    (app_dir / ".flaskenv").write_text("WHICH_B=flaskenv\nWHICH_C=flaskenv\n")
    (app_dir / ".env").write_text("WHICH_C=env\n")
    result = run_command(
        [venv_bin / "flask", "core"], switch=True, env={"WHICH_D": "os"}, cwd=app_dir
    )
    assert core_report(result.stdout)["env"] == {
        "WHICH_A": "gatewayenv",
        "WHICH_B": "flaskenv",
        "WHICH_C": "env",
        "WHICH_D": "os",
    }


def test_flask_skip_dotenv_skips_flaskenv(run_command, venv_bin, app_dir):
    (app_dir / ".flaskenv").write_text("FLASK_APP=hello\n")
    result = run_command(
        [venv_bin / "flask", "core"],
        switch=True,
        env={"FLASK_SKIP_DOTENV": "1"},
        cwd=app_dir,
        check=False,
    )
    assert "Could not locate a Flask application" in result.stderr, result


def test_flask_command_options_read_flask_prefixed_variables(
    run_command, venv_bin, app_dir
):
    # click's auto_envvar_prefix: FLASK_ROUTES_SORT is `flask routes --sort`,
    # and a value it refuses shows that it was read.
    result = run_command(
        [venv_bin / "flask", "--app", "hello", "routes"],
        switch=True,
        env={"FLASK_ROUTES_SORT": "nope"},
        cwd=app_dir,
        check=False,
    )
    assert result.returncode == 2 and "'nope' is not one of" in result.stderr, result


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(["--debug"], {}, id="--debug"),
        pytest.param([], {"FLASK_DEBUG": "1"}, id="FLASK_DEBUG"),
    ],
)
def test_flask_command_debug_flag_reads_and_sets_flask_debug(
    run_command, venv_bin, app_dir, args, env
):
    result = run_command(
        [venv_bin / "flask", "--app", "hello", *args, "core"],
        switch=True,
        env=env,
        cwd=app_dir,
    )
    assert core_report(result.stdout)["debug"] is True


def test_from_prefixed_env_reads_flask_variables_like_flask(run_python):
    run_python(
        """
        import gateway
        from flask import Flask
        app = Flask(__name__)
        app.config.from_prefixed_env()
        assert app.config["SECRET_KEY"] == "from flask"
        assert app.config["NESTED"] == {"KEY": 1}
        assert "OTHER" not in app.config  # GATEWAY_OTHER: Flask reads FLASK_ only
        app.config.from_prefixed_env("GATEWAY")
        assert app.config["OTHER"] == "x"
        """,
        switch=True,
        env={
            "FLASK_SECRET_KEY": "from flask",
            "FLASK_NESTED__KEY": "1",
            "GATEWAY_OTHER": "x",
        },
    )


MESSAGES = [
    pytest.param(
        None,
        "Error: Could not locate a Flask application. Use the 'flask --app'"
        " option, the 'FLASK_APP' environment variable, or a 'wsgi.py' or"
        " 'app.py' file in the current directory.",
        id="no-app",
    ),
    pytest.param(
        "from flask import Flask\na = Flask('a')\nb = Flask('b')\n",
        "Error: Detected multiple Flask applications in module 'module'."
        " Use 'module:name' to specify the correct one.",
        id="two-apps",
    ),
    pytest.param(
        "x = 1\n",
        "Error: Failed to find a Flask application or factory in module"
        " 'module'. Use 'module:name' to specify one.",
        id="no-app-in-module",
    ),
    pytest.param(
        "from flask import Flask\napp = Flask(__name__)\napp.run()\n",
        " * Ignoring a call to 'app.run()' that would block the current 'flask'"
        " CLI command.",
        id="app-run-at-import",
    ),
]


@pytest.mark.parametrize(("module", "message"), MESSAGES)
def test_flask_command_messages_name_flask(
    run_command, venv_bin, tmp_path, module, message
):
    args = ["routes"]
    if module is not None:
        (tmp_path / "module.py").write_text(module)
        args = ["--app", "module", *args]
    result = run_command(
        [venv_bin / "flask", *args], switch=True, cwd=tmp_path, check=False
    )
    assert message in result.stderr + result.stdout, result


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["FLASK", "--version"], id="flask-script"),
        pytest.param(["-m", "flask", "--version"], id="python-m-flask"),
    ],
)
def test_flask_version_option_says_gateway(run_command, venv_bin, argv):
    argv = [venv_bin / "flask" if arg == "FLASK" else arg for arg in argv]
    result = run_command(argv, switch=True)
    lines = result.stdout.splitlines()
    assert f"Gateway {gateway.__version__}" in lines, result.stdout
    assert not any(line.startswith("Flask") for line in lines), result.stdout


def test_python_m_flask_runs_gateways_cli(run_command, app_dir):
    result = run_command(
        ["-m", "flask", "--app", "hello", "core"], switch=True, cwd=app_dir
    )
    assert core_report(result.stdout)["core"] == "gateway.app"


# -- Flask extensions' commands in the gateway command ----------------------

MIGRATE_APP = """\
import os
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "app.db"
)
db = SQLAlchemy(app)
migrate = Migrate(app, db)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80))
"""

#: Flask-Migrate's generated env.py calls a Flask-SQLAlchemy method that
#: warns; nothing to do with the switch, and the same on real Flask.
MIGRATE_WARNINGS = ["ignore:'get_engine' is deprecated:DeprecationWarning"]

SWITCH_FROM = [
    pytest.param(False, id="gateway-cli-turns-it-on"),
    pytest.param(True, id="environment-variable"),
]


@pytest.mark.slow
@pytest.mark.parametrize("switch", SWITCH_FROM)
def test_gateway_command_runs_flask_migrate_migrations(run_command, tmp_path, switch):
    (tmp_path / "migapp.py").write_text(MIGRATE_APP)

    def db(*args: str) -> str:
        result = run_command(
            ["-m", "gateway", "--app", "migapp", "db", *args],
            switch=switch,
            cwd=tmp_path,
            warnings=MIGRATE_WARNINGS,
        )
        return result.stdout + result.stderr

    assert "Perform database migrations." in db("--help")
    db("init")
    assert (tmp_path / "migrations" / "env.py").is_file()
    assert "Detected added table 'user'" in db("migrate", "-m", "users")
    db("upgrade")
    with sqlite3.connect(tmp_path / "app.db") as connection:
        tables = {
            name
            for (name,) in connection.execute(
                "select name from sqlite_master where type = 'table'"
            )
        }
    connection.close()
    assert {"user", "alembic_version"} <= tables


def test_gateway_command_lists_flask_limiters_subcommands(run_command, venv_bin):
    result = run_command([venv_bin / "gateway", "limiter", "--help"])
    assert "Flask-Limiter" in result.stdout
    for subcommand in ("clear", "config", "limits"):
        assert f"  {subcommand} " in result.stdout, result.stdout


def test_gateway_command_keeps_gateways_names_when_it_turns_the_switch_on(
    run_command, venv_bin, tmp_path
):
    # It loads the flask.commands plug-ins (which turns the switch on for
    # them) before it looks for the app.
    result = run_command([venv_bin / "gateway", "routes"], cwd=tmp_path, check=False)
    assert result.returncode == 2, result
    assert (
        "Could not locate a gateway application. Use the 'gateway --app'"
        " option, the 'GATEWAY_APP' environment variable"
    ) in result.stderr
