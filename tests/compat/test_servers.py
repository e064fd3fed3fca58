"""``GATEWAY_FLASK_COMPAT=1`` in front of the commands people already run an
unmodified Flask application with: ``gunicorn app:app`` and
``flask --app app run`` (Flask's own console script). The variable alone
decides which core answers; nothing in the application changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from server_harness import free_port, http_request, require_program, tcp_ready

pytestmark = pytest.mark.integration

# An unmodified Flask application, with an extension: every `flask` name in
# it, its extension's included, must come from the same core.
APP = """\
from flask import Flask, current_app, request
from flask_login import LoginManager

app = Flask(__name__)
app.secret_key = "not a secret"
LoginManager(app)


@app.route("/core")
def core():
    return f"{type(current_app._get_current_object()).__module__} {request.host}"
"""


@pytest.fixture
def flask_app_dir(tmp_path: Path) -> Path:
    (tmp_path / "unmodified.py").write_text(APP)
    return tmp_path


def _env(switch: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_FLASK_COMPAT"}
    if switch:
        env["GATEWAY_FLASK_COMPAT"] = "1"
    return env


SWITCH = [
    pytest.param(True, "gateway.app", id="switch-on"),
    pytest.param(False, "flask.app", id="switch-off"),
]


@pytest.mark.parametrize(("switch", "core"), SWITCH)
def test_gunicorn_serves_an_unmodified_app_on_the_core_the_variable_picks(
    spawn_server, flask_app_dir, switch, core
):
    gunicorn = require_program("gunicorn")
    port = free_port()
    server = spawn_server(
        "gunicorn",
        [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "unmodified:app"],
        env=_env(switch),
        cwd=flask_app_dir,
    ).wait_ready(tcp_ready("127.0.0.1", port))

    for _ in range(4):  # both workers, whichever answers
        result = http_request(port, "/core")
        assert (result.status, result.text) == (200, f"{core} 127.0.0.1:{port}")
    server.stop()


@pytest.mark.parametrize(("switch", "core"), SWITCH)
def test_flask_run_serves_an_unmodified_app_on_the_core_the_variable_picks(
    spawn_server, flask_app_dir, switch, core
):
    # Flask's own console script: with the switch its `from flask.cli import
    # main` is gateway's command line.
    flask = Path(sys.executable).parent / "flask"
    if not flask.exists():
        pytest.skip("Flask's console script is not installed next to this Python")
    port = free_port()
    spawn_server(
        "flask-run",
        [flask, "--app", "unmodified", "run", "--port", str(port)],
        env=_env(switch),
        cwd=flask_app_dir,
    ).wait_ready(tcp_ready("127.0.0.1", port))

    result = http_request(port, "/core")
    assert (result.status, result.text) == (200, f"{core} 127.0.0.1:{port}")


def test_flask_run_names_flasks_variables_under_the_switch(flask_app_dir):
    flask = Path(sys.executable).parent / "flask"
    if not flask.exists():
        pytest.skip("Flask's console script is not installed next to this Python")
    result = subprocess.run(
        [flask, "routes"],
        env=_env(True),
        cwd=flask_app_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "FLASK_APP" in result.stderr, result.stderr
    assert "'flask --app'" in result.stderr
