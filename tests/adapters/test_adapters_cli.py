"""``gateway serve`` and ``gateway entry``."""

from __future__ import annotations

import json
import sys

import pytest
from server_harness import free_port, http_ready, http_request, require_module

from gateway.adapters.master import CHILD, child_argv
from gateway.cli import cli


@pytest.fixture
def invoke(monkeypatch):
    from click.testing import CliRunner

    # The gateway group sets GATEWAY_RUN_FROM_CLI in os.environ; let
    # monkeypatch restore it so later app.run() tests are not affected.
    monkeypatch.setenv("GATEWAY_RUN_FROM_CLI", "")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return run


def test_serve_cgi_explains_that_the_web_server_runs_it(invoke, mini_site):
    result = invoke("serve", str(mini_site), "--adapter", "cgi")
    assert result.exit_code == 1
    assert "Error: the cgi adapter is run by the web server" in result.output
    assert "gateway entry cgi" in result.output


def test_serve_without_the_server_package_says_what_to_install(
    invoke, mini_site, monkeypatch
):
    for name in [n for n in sys.modules if n == "tornado" or n.startswith("tornado.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tornado", None)
    result = invoke("serve", str(mini_site), "--adapter", "tornado")
    assert result.exit_code == 1
    assert "Error: the tornado adapter needs the 'tornado' package" in result.output
    assert "pip install 'gateway[servers]'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--bind", "localhost"], "Error: bind: expected 'host:port'", id="bind"
        ),
        pytest.param(
            ["--script-name", "app"],
            "Error: script_name: expected ''",
            id="script-name",
        ),
    ],
)
def test_serve_rejects_bad_options_in_one_line(invoke, mini_site, args, message):
    result = invoke("serve", str(mini_site), "--adapter", "tornado", *args)
    assert result.exit_code == 1
    assert message in result.output


def test_serve_reports_a_broken_gateway_toml(invoke, mini_site):
    mini_site.write_text(mini_site.read_text().replace("adapter = ", "adapterr = "))
    result = invoke("serve", str(mini_site))
    assert result.exit_code == 1
    assert "adapterr" in result.output and "Traceback" not in result.output


def test_serve_unknown_adapter_is_a_usage_error(invoke, mini_site):
    result = invoke("serve", str(mini_site), "--adapter", "waitress")
    assert result.exit_code == 2
    assert "'waitress' is not one of" in result.output


def test_entry_prints_the_file(invoke, mini_site):
    result = invoke("entry", "wsgi", str(mini_site))
    assert result.exit_code == 0
    assert f"application = load_application({str(mini_site)!r})" in result.output


def test_entry_writes_an_executable_file_and_prints_its_path(
    invoke, mini_site, server_dir
):
    result = invoke("entry", "cgi", str(mini_site), "-o", str(server_dir / "www"))
    assert result.exit_code == 0
    path = server_dir / "www" / "mini.cgi"
    assert result.output.strip() == str(path)
    assert path.stat().st_mode & 0o111
    assert path.read_text().startswith(f"#!{sys.executable}\n")


def test_child_patches_for_gevent_before_importing_the_gateway():
    argv = child_argv("gevent", "/srv/gateway.toml", {"bind": "127.0.0.1:1"})
    assert argv[:3] == [sys.executable, "-c", CHILD]
    assert argv[3:] == [
        "gevent",
        "/srv/gateway.toml",
        json.dumps({"bind": "127.0.0.1:1"}),
    ]
    lines = CHILD.splitlines()
    patch = next(i for i, line in enumerate(lines) if "patch_all()" in line)
    gateway = next(i for i, line in enumerate(lines) if "gateway" in line)
    assert patch < gateway


def test_serve_gevent_runs_with_the_standard_library_patched(mini_site, spawn_server):
    require_module("gevent")
    port = free_port()
    process = spawn_server(
        "gevent-cli",
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            str(mini_site),
            "--adapter",
            "gevent",
            "--bind",
            f"127.0.0.1:{port}",
            "--script-name",
            "/p",
        ],
    )
    process.wait_ready(http_ready(port, host="mini.test"))
    assert (
        http_request(port, "/socket-class", host="mini.test").body == b"gevent._socket3"
    )
    assert http_request(port, "/x", host="mini.test").body == b"mini /p|/x"
    assert process.stop() == 0
    assert "gateway: gevent serving on http://127.0.0.1:" in process.logs()
