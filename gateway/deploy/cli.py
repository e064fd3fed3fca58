"""``gateway config KIND GATEWAY_TOML``: print or write server configuration.

``gateway.cli`` imports this module lazily, when the command is invoked or
listed. Printed to stdout, the files can be redirected (``> site.conf``);
the next steps and warnings then go to stderr. With ``-o DIR`` the files are
written there and their absolute paths printed, followed by the next steps.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import click

from .kinds import DESCRIPTIONS, Plan, kinds
from .model import DeployError


def _kinds_help() -> str:
    width = max(len(k) for k in kinds())
    return "\n".join(f"  {k.ljust(width)}  {DESCRIPTIONS[k]}" for k in kinds())


def _load(config_path: str) -> t.Any:
    from gateway.toml import load_config

    return load_config(config_path)


def _steps(result: Plan, paths: dict[str, str]) -> list[str]:
    steps = []
    for step in result.next_steps:
        for name, path in paths.items():
            step = step.replace("@{" + name + "}", path)
        steps.append(step)
    return steps


def write_files(
    result: Plan, files: dict[str, str], directory: str | os.PathLike[str]
) -> list[Path]:
    """Write ``files`` into ``directory`` (created if needed): executables
    (``.fcgi``, ``.cgi``) mode 0755, the rest 0644. Returns absolute paths."""
    target = Path(directory).resolve()
    target.mkdir(parents=True, exist_ok=True)
    executable = {f.name for f in result.files if f.executable}
    written = []
    for name, content in files.items():
        path = target / name
        path.write_text(content, encoding="utf-8")
        path.chmod(0o755 if name in executable else 0o644)
        written.append(path)
    return written


@click.command(
    "config",
    short_help="Print or write a server's configuration for a gateway.toml.",
    epilog="\b\nKinds:\n" + _kinds_help(),
)
@click.argument("kind", type=click.Choice(kinds()), metavar="KIND")
@click.argument(
    "config_path",
    metavar="GATEWAY_TOML",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False),
    help="Write the files into this directory. [default: print them]",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With -o: list what would be written, write nothing.",
)
@click.option(
    "--standalone",
    is_flag=True,
    default=None,
    help="nginx, apache*, lighttpd: a complete main configuration (pid, logs and"
    " temporary files under --runtime-dir) instead of a site file.",
)
@click.option(
    "--runtime-dir",
    help="Standalone: directory for pid, logs, sockets. [default: WORKDIR/run]",
)
@click.option(
    "--http-port", type=click.IntRange(1, 65535), help="Port for HTTP. [default: 80]"
)
@click.option(
    "--https-port", type=click.IntRange(1, 65535), help="Port for HTTPS. [default: 443]"
)
@click.option(
    "--listen", help="Address to listen on, e.g. 127.0.0.1 or [::1]. [default: all]"
)
@click.option(
    "--entry-dir", help="Where the entry files live. [default: [server].workdir]"
)
@click.option(
    "--python",
    help="Interpreter of #! lines and services. [default: PYTHON_HOME/bin/python]",
)
@click.option("--log-dir", help="Log directory. [default: the server's usual one]")
@click.option(
    "--uwsgi-http",
    is_flag=True,
    default=None,
    help="uwsgi adapter: uWSGI speaks HTTP on [server].bind (front servers use proxy_pass).",
)
@click.option(
    "--socket-activation/--no-socket-activation",
    default=None,
    help="systemd: a .socket unit where the server can inherit it (gunicorn). [default: on]",
)
def config_command(
    kind: str,
    config_path: str,
    output_dir: str | None,
    dry_run: bool,
    **given: t.Any,
) -> None:
    """Print (or write with -o) what KIND of server needs to run the gateway
    described by GATEWAY_TOML: an nginx site, Apache or lighttpd configuration,
    a systemd or supervisor unit, a uWSGI ini, or an entry file.

    Every file is generated from the same model, so the forwarded headers a
    front server sets always match the [proxy] trust of the gateway. A
    gateway.toml that KIND cannot express is refused with the reason.
    """
    from gateway.toml import ConfigError

    from .render import make_plan, render_plan

    options = {key: value for key, value in given.items() if value is not None}
    try:
        result = make_plan(kind, _load(config_path), **options)
        files = render_plan(result)
    except (ConfigError, OSError) as e:
        raise click.ClickException(str(e)) from None

    for warning in result.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)

    if output_dir is None:
        for index, (name, content) in enumerate(files.items()):
            if len(files) > 1:
                click.echo(("\n" if index else "") + f"# ==> {name} <==")
            click.echo(content, nl=False)
        steps = _steps(result, {name: name for name in files})
        if steps:
            click.echo("\nNext steps:", err=True)
            for step in steps:
                click.echo(f"  {step}", err=True)
        return

    target = Path(output_dir).resolve()
    paths = {name: str(target / name) for name in files}
    if dry_run:
        for name, content in files.items():
            click.echo(f"would write {paths[name]} ({len(content.encode())} bytes)")
    else:
        try:
            written = write_files(result, files, target)
            if result.site.standalone:
                Path(result.site.runtime_dir).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise click.ClickException(f"cannot write into {target}: {e}") from None
        for path in written:
            click.echo(f"wrote {path}")
        if result.site.standalone:
            click.echo(f"runtime directory {result.site.runtime_dir}")
    steps = _steps(result, paths)
    if steps:
        click.echo("\nNext steps:")
        for step in steps:
            click.echo(f"  {step}")


__all__ = ["DeployError", "config_command", "write_files"]
