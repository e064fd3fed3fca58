"""``gateway run``: option validation, and a real development server on
127.0.0.1 stopped by pid (gateway/cli/commands.py)."""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time

import click
import pytest
from flask_switch_probe import SWITCHED, write_probe_site

from gateway.cli import SeparatedPathType


def test_separated_path_type_splits_on_pathsep(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.touch()
    value = os.pathsep.join([str(a), str(b)])
    assert SeparatedPathType().convert(value, None, None) == [str(a), str(b)]

    with pytest.raises(click.BadParameter, match="does not exist"):
        SeparatedPathType(exists=True).convert(value, None, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--cert", "missing.pem"], "'missing.pem' does not exist", id="no-cert-file"
        ),
        pytest.param(
            ["--key", "{key}"], '"--cert" must also be specified.', id="key-alone"
        ),
        pytest.param(
            ["--cert", "{cert}"], 'Required when using "--cert".', id="cert-alone"
        ),
        pytest.param(
            ["--cert", "adhoc", "--key", "{key}"],
            'When "--cert" is "adhoc", "--key" is not used.',
            id="adhoc-with-key",
        ),
        pytest.param(
            ["--cert", "cliapp.sslctx.context", "--key", "{key}"],
            'When "--cert" is an SSLContext object, "--key" is not used.',
            id="context-with-key",
        ),
        pytest.param(
            ["--key", "missing.pem"], "'missing.pem' does not exist", id="no-key-file"
        ),
        pytest.param(["--port", "http"], "'http' is not a valid integer", id="port"),
    ],
)
def test_run_rejects_bad_options(runner, group, tls_files, args, message):
    cert, key = tls_files
    args = [a.format(cert=cert, key=key) for a in args]
    result = runner.invoke(group, ["--app", "cliapp.serverapp", "run", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_run_adhoc_needs_cryptography(runner, group, monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)
    result = runner.invoke(group, ["run", "--cert", "adhoc"])
    assert result.exit_code == 2
    assert (
        "Using ad-hoc certificates requires the cryptography library." in result.output
    )


@pytest.mark.parametrize(
    ("app", "error"),
    [
        pytest.param("cliapp.nope", "Could not import 'cliapp.nope'.", id="no-module"),
        pytest.param(
            "cliapp.multiapp", "Detected multiple gateway applications", id="several"
        ),
    ],
)
def test_run_fails_before_serving_when_app_cannot_load(runner, group, app, error):
    result = runner.invoke(group, ["--app", app, "run", "--port", "1"])
    assert result.exit_code == 2
    assert error in result.output


def test_run_raises_other_load_errors(runner, group):
    result = runner.invoke(group, ["--app", "cliapp.broken", "run", "--port", "1"])
    assert isinstance(result.exception, RuntimeError)


def test_run_serves_the_app(serve):
    server = serve("--app", "cliapp.serverapp", "run")
    assert server.get("/") == (200, "served by serverapp debug=False")
    output = server.output()
    assert " * Serving gateway app 'cliapp.serverapp'" in output
    assert " * Debug mode: off" in output
    assert f"Running on http://127.0.0.1:{server.port}" in output
    assert "Debugger is active" not in output


def test_run_applies_flask_compat_of_gateway_toml_in_the_working_directory(
    serve, tmp_path
):
    # An unmodified Flask app beside a gateway.toml saying flask_compat = true:
    # no GATEWAY_FLASK_COMPAT in the server's environment (see
    # tests/flask_switch_probe.py for what the page tells).
    write_probe_site(tmp_path / "cwd", "true")
    server = serve(
        "--app",
        "probe_app",
        "run",
        FLASK_SWITCH_PROBE="flask",
        GATEWAY_SWITCH_PROBE="gateway",
    )
    assert server.get("/core") == (200, SWITCHED)


def test_run_reads_options_and_env_files_from_environment(serve, tmp_path):
    (tmp_path / "cwd" / ".env").write_text("SERVERAPP_MESSAGE=from .env\n")
    server = serve(
        "run",
        port_option=False,
        GATEWAY_APP="cliapp.serverapp",
        GATEWAY_RUN_HOST="127.0.0.1",
    )
    assert server.get("/env") == (200, "from .env")


def test_run_handles_requests_concurrently_with_threads(serve):
    server = serve("--app", "cliapp.serverapp", "run", "--with-threads")
    results = {}
    waiter = threading.Thread(target=lambda: results.update(wait=server.get("/wait")))
    waiter.start()
    deadline = time.monotonic() + 30

    # Answered only while /wait is still running: needs a second thread.
    while server.get("/waiting") != (200, "yes"):
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)

    assert server.get("/release") == (200, "ok")
    waiter.join(timeout=30)
    assert results["wait"] == (200, "released")
    assert server.get("/multithread") == (200, "True")


def test_run_without_threads_uses_a_single_thread(serve):
    server = serve("--app", "cliapp.serverapp", "run", "--without-threads")
    assert server.get("/multithread") == (200, "False")


@pytest.mark.parametrize(
    "cert_args",
    [
        pytest.param(["--cert", "adhoc"], id="adhoc"),
        pytest.param(["--cert", "{cert}", "--key", "{key}"], id="files"),
        pytest.param(["--cert", "cliapp.sslctx.context"], id="ssl-context"),
    ],
)
def test_run_serves_https(serve, tls_files, cert_args):
    cert, key = tls_files
    # Read by cliapp.sslctx only.
    env = {"SSLCTX_CERT": cert, "SSLCTX_KEY": key}
    args = [a.format(cert=cert, key=key) for a in cert_args]
    server = serve("--app", "cliapp.serverapp", "run", *args, scheme="https", **env)
    assert server.get("/") == (200, "served by serverapp debug=False")
    assert f"Running on https://127.0.0.1:{server.port}" in server.output()


def test_run_debug_reloads_on_extra_files_but_not_excluded_ones(serve, tmp_path):
    watched, ignored = tmp_path / "watched.txt", tmp_path / "ignored.txt"
    watched.write_text("1")
    ignored.write_text("1")
    stamp = [time.time()]

    def touch(path):
        stamp[0] += 5
        os.utime(path, (stamp[0], stamp[0]))

    server = serve(
        "--app",
        "cliapp.serverapp",
        "--debug",
        "run",
        "--extra-files",
        os.pathsep.join([str(watched), str(ignored)]),
        "--exclude-patterns",
        "*ignored.txt",
    )
    assert server.get("/") == (200, "served by serverapp debug=True")
    output = server.output()
    assert " * Debug mode: on" in output
    assert " * Restarting with stat" in output
    assert " * Debugger is active!" in output

    touch(ignored)
    # Two reloader intervals: a change to the ignored file would be seen by now.
    time.sleep(2.5)
    server.wait_for_output(
        f"Detected change in '{watched}'", poke=lambda: touch(watched)
    )
    assert "ignored.txt" not in server.output()


DEBUGGER_RESOURCE = "/?__debugger__=yes&cmd=resource&f=debugger.js"


@pytest.mark.parametrize(
    ("args", "debugger", "traceback_page"),
    [
        pytest.param(["run", "--debug", "--no-reload"], True, True, id="debug"),
        pytest.param(
            ["--debug", "run", "--no-debugger", "--no-reload"],
            False,
            False,
            id="no-debugger",
        ),
        # Outside debug mode the app answers 500 itself: nothing reaches the debugger.
        pytest.param(["run", "--debugger"], True, False, id="debugger-without-debug"),
        pytest.param(["run"], False, False, id="neither"),
    ],
)
def test_run_debugger_switches(serve, args, debugger, traceback_page):
    server = serve("--app", "cliapp.serverapp", *args)
    status, body = server.get("/crash")
    assert status == 500
    assert ("RuntimeError: crash requested" in body) is traceback_page
    # The debugger serves its own assets; without it the app answers "/".
    status, body = server.get(DEBUGGER_RESOURCE)
    assert status == 200
    assert body.startswith("served by serverapp") is not debugger
    assert " * Restarting with stat" not in server.output()


def test_run_keeps_serving_under_the_reloader_when_the_app_breaks(serve, tmp_path):
    module = tmp_path / "cwd" / "flaky.py"
    good = "from gateway import App\napp = App('flaky')\napp.route('/')(lambda: '{}')\n"
    module.write_text(good.format("version 1"))
    server = serve("--app", str(module), "--debug", "run")
    assert server.get("/") == (200, "version 1")
    stamp = [time.time()]

    def rewrite(text):
        module.write_text(text)
        stamp[0] += 5
        os.utime(module, (stamp[0], stamp[0]))

    def get_between_restarts(path):
        # The reloader restarts its child: a connection may be accepted by
        # the old one and dropped. Ask again, within a deadline.
        deadline = time.monotonic() + 30
        while True:
            try:
                return server.get(path)
            except (OSError, http.client.HTTPException):
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)

    rewrite("raise RuntimeError('flaky module broke')\n")
    server.wait_for_output("RuntimeError: flaky module broke")
    status, body = get_between_restarts("/")
    assert status == 500
    assert "flaky module broke" in body  # the debugger's traceback page
    rewrite(good.format("version 2"))
    deadline = time.monotonic() + 30

    while get_between_restarts("/") != (200, "version 2"):
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.2)
