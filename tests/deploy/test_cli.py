"""``gateway config KIND GATEWAY_TOML``: printing, writing with -o, --dry-run,
next steps, and precise errors instead of tracebacks."""

from __future__ import annotations

import inspect
import os
import stat
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli

Make = t.Callable[..., t.Any]


@pytest.fixture
def runner() -> CliRunner:
    # click before 8.2 mixes stderr into the output unless told not to.
    if "mix_stderr" in inspect.signature(CliRunner).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def test_prints_a_single_file_as_is_and_next_steps_on_stderr(
    runner: CliRunner, make_config: Make
) -> None:
    config = make_config("tenants", "gunicorn")
    result = runner.invoke(cli, ["config", "nginx", str(config.path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('# nginx site of the "acme" gateway')
    assert "upstream gateway_acme" in result.stdout
    assert "Next steps" not in result.stdout  # stdout stays a valid nginx file
    assert "nginx -t" in result.stderr
    assert "systemctl reload nginx" in result.stderr


def test_prints_several_files_with_headers(
    runner: CliRunner, make_config: Make
) -> None:
    config = make_config("tenants", "gunicorn")
    result = runner.invoke(cli, ["config", "systemd", str(config.path)])
    assert result.exit_code == 0, result.output
    assert "# ==> acme.service <==" in result.stdout
    assert "# ==> acme.socket <==" in result.stdout


def test_writes_files_and_prints_absolute_paths(
    runner: CliRunner, make_config: Make, tmp_path: Path
) -> None:
    config = make_config("tenants", "fastcgi")
    out = tmp_path / "public"
    result = runner.invoke(
        cli, ["config", "fcgi-file", str(config.path), "-o", os.path.relpath(out)]
    )
    assert result.exit_code == 0, result.output
    entry = out / "acme.fcgi"
    assert f"wrote {entry}" in result.stdout
    assert stat.S_IMODE(entry.stat().st_mode) == 0o755
    assert "Next steps:" in result.stdout
    assert str(entry) in result.stdout.split("Next steps:")[1]


def test_standalone_creates_its_runtime_directory(
    runner: CliRunner, make_config: Make, tmp_path: Path
) -> None:
    config = make_config("tenants", "gevent")
    run = tmp_path / "state" / "run"
    result = runner.invoke(
        cli,
        [
            "config",
            "nginx",
            str(config.path),
            "-o",
            str(tmp_path / "etc"),
            "--standalone",
            "--runtime-dir",
            str(run),
            "--http-port",
            "8080",
            "--listen",
            "127.0.0.1",
        ],
    )
    assert result.exit_code == 0, result.output
    conf = tmp_path / "etc" / "nginx.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert "listen 127.0.0.1:8080" in conf.read_text()
    assert run.is_dir()
    assert f"nginx -t -c {conf}" in result.stdout


def test_dry_run_writes_nothing(
    runner: CliRunner, make_config: Make, tmp_path: Path
) -> None:
    config = make_config("tenants", "gunicorn")
    out = tmp_path / "units"
    result = runner.invoke(
        cli, ["config", "systemd", str(config.path), "-o", str(out), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert f"would write {out / 'acme.service'} (" in result.stdout
    assert f"would write {out / 'acme.socket'} (" in result.stdout
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["config", "apache", "{toml}"],
            '[server].adapter is "gunicorn"',
            id="inexpressible",
        ),
        pytest.param(
            ["config", "nginx", "{toml}", "--listen", "localhost"],
            "option listen: expected an IP address",
            id="bad-option",
        ),
        pytest.param(
            ["config", "caddy", "{toml}"], "'caddy' is not one of", id="unknown-kind"
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    argv: list[str], message: str, runner: CliRunner, make_config: Make
) -> None:
    config = make_config("tenants", "gunicorn")
    result = runner.invoke(cli, [a.replace("{toml}", str(config.path)) for a in argv])
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_invalid_gateway_toml_names_the_key(
    runner: CliRunner, make_config: Make, tmp_path: Path
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nname = "x"\ndefault_app = "m:app"\n[server]\nadaptr = "gevent"\n'
    )
    result = runner.invoke(cli, ["config", "nginx", str(path)])
    assert result.exit_code == 1
    assert "[server]" in result.stderr and "adaptr" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_warnings_go_to_stderr(runner: CliRunner, make_config: Make) -> None:
    config = make_config("tenants", "dev")
    result = runner.invoke(cli, ["config", "nginx", str(config.path)])
    assert result.exit_code == 0
    assert 'Warning: adapter "dev"' in result.stderr


def test_the_installed_command_runs(make_config: Make, tmp_path: Path) -> None:
    config = make_config("tenants", "uwsgi")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "config",
            "uwsgi",
            str(config.path),
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'acme.uwsgi.ini'}" in result.stdout
    assert "die-on-term = true" in (tmp_path / "acme.uwsgi.ini").read_text()
