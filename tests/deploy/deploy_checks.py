"""Each server's own configuration checker, run on generated files.

Every function writes what it needs into ``directory`` and fails the calling
test with the checker's output when the server rejects the file, or prints
anything at all (a warning is a failure: a generated file must be clean).
A server that is not installed skips the test (fails it under
GATEWAY_REQUIRE_SERVERS=1), through the shared server harness.
"""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from server_harness import missing, require_program

#: Modules an Apache site file of each mode needs (beyond what every one needs).
APACHE_MODULES: dict[str, tuple[str, ...]] = {
    "wsgi": (),
    "proxy": (
        "proxy",
        "proxy_http",
        "slotmem_shm",
        "proxy_balancer",
        "lbmethod_byrequests",
    ),
    "fcgid": ("fcgid",),
    "cgi": ("cgid",),
}
APACHE_BASE = ("mpm_event", "authz_core", "mime", "alias", "headers", "rewrite")
APACHE_MODULES_DIR = "/usr/lib/apache2/modules"


def write(directory: Path, files: t.Mapping[str, str]) -> dict[str, Path]:
    """Write rendered files into ``directory``; return name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, content in files.items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        paths[name] = path
    return paths


def run(argv: t.Sequence[str], **kwargs: t.Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fspath(a) for a in argv],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def fail(
    what: str, result: subprocess.CompletedProcess[str], *files: Path
) -> t.NoReturn:
    shown = "\n".join(f"----- {f} -----\n{f.read_text()}" for f in files)
    pytest.fail(
        f"{what} rejected the generated configuration (status {result.returncode}):\n"
        f"{result.stdout}{result.stderr}\n{shown}",
        pytrace=False,
    )


# -- nginx ---------------------------------------------------------------------


def nginx_harness(directory: Path, site: Path) -> Path:
    """A main nginx.conf including a site file, with writable runtime paths."""
    run_dir = directory / "nginx-run"
    run_dir.mkdir(exist_ok=True)
    main = directory / "harness-nginx.conf"
    main.write_text(
        f"pid {run_dir}/nginx.pid;\n"
        f"error_log {run_dir}/error.log;\n"
        "events {}\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        f"    client_body_temp_path {run_dir}/cb;\n"
        f"    proxy_temp_path {run_dir}/proxy;\n"
        f"    fastcgi_temp_path {run_dir}/fastcgi;\n"
        f"    uwsgi_temp_path {run_dir}/uwsgi;\n"
        f"    scgi_temp_path {run_dir}/scgi;\n"
        f"    include {site};\n"
        "}\n"
    )
    return main


def check_nginx(directory: Path, files: t.Mapping[str, str]) -> None:
    """``nginx -t -q -c FILE -e ERRLOG``: the standalone file as it is, a
    site file inside a minimal main configuration."""
    nginx = require_program("nginx", "/usr/sbin/nginx")
    paths = write(directory, files)
    if "nginx.conf" in paths:
        main = paths["nginx.conf"]
    else:
        (site,) = [p for n, p in paths.items() if n.endswith(".nginx.conf")]
        main = nginx_harness(directory, site)
    result = run([nginx, "-t", "-q", "-c", main, "-e", directory / "nginx-check.log"])
    if result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
        fail("nginx -t", result, *paths.values())


# -- Apache --------------------------------------------------------------------


def mod_wsgi_module_config() -> str:
    """The LoadModule (and WSGIPythonHome) lines ``mod_wsgi-express
    module-config`` prints for the pip-installed mod_wsgi."""
    express = require_program("mod_wsgi-express")
    result = run([express, "module-config"])
    if result.returncode != 0 or "LoadModule wsgi_module" not in result.stdout:
        missing(f"mod_wsgi-express module-config failed: {result.stderr.strip()}")
    return result.stdout


def _load(name: str, path: str) -> str:
    return (
        f"<IfModule !{name}_module>\n    LoadModule {name}_module {path}\n</IfModule>\n"
    )


def apache_harness(
    directory: Path,
    site: Path | None,
    mode: str,
    tls: bool,
    *,
    document_root: Path | None = None,
    extra: str = "",
) -> Path:
    """A main Apache configuration loading what a site of ``mode`` needs,
    including ``site`` (if any) and ending with ``extra``."""
    run_dir = directory / "apache-run"
    run_dir.mkdir(exist_ok=True)
    modules = list(APACHE_BASE) + list(APACHE_MODULES[mode])
    if tls:
        modules += ["socache_shmcb", "ssl"]
    lines = [
        f'ServerRoot "{run_dir}"',
        f'DefaultRuntimeDir "{run_dir}"',
        f'PidFile "{run_dir}/httpd.pid"',
        f'ErrorLog "{run_dir}/error.log"',
        "ServerName localhost",
        "User www-data",
        "Group www-data",
        f'DocumentRoot "{document_root or run_dir}"',
        'TypesConfig "/etc/mime.types"',
    ]
    text = "\n".join(lines) + "\n"
    text += "".join(_load(m, f"{APACHE_MODULES_DIR}/mod_{m}.so") for m in modules)
    text += _load("log_config", f"{APACHE_MODULES_DIR}/mod_log_config.so")
    if mode == "wsgi":
        text += mod_wsgi_module_config()
        text += f'WSGISocketPrefix "{run_dir}/wsgi"\n'
    if mode == "cgi":
        text += f'ScriptSock "{run_dir}/cgid.sock"\n'
    if site is not None:
        text += f'Include "{site}"\n'
    text += extra
    main = directory / "harness-httpd.conf"
    main.write_text(text)
    return main


def _apache_t(main: Path, *shown: Path) -> None:
    apache = require_program("apache2", "/usr/sbin/apache2")
    env = dict(os.environ, APACHE_RUN_DIR=str(main.parent))
    result = run([apache, "-t", "-f", main], env=env)
    if (
        result.returncode != 0
        or result.stdout.strip()
        or result.stderr.strip() != "Syntax OK"
    ):
        fail("apache2 -t", result, main, *shown)


def check_apache(
    directory: Path, files: t.Mapping[str, str], mode: str, tls: bool
) -> None:
    """``apache2 -t -f FILE``: the standalone httpd.conf as it is, a site
    file inside a main configuration that loads the modules it needs."""
    paths = write(directory, files)
    if "httpd.conf" in paths:
        _apache_t(paths["httpd.conf"])
    else:
        (site,) = [p for n, p in paths.items() if n.endswith(".apache.conf")]
        _apache_t(apache_harness(directory, site, mode, tls), site)


def check_htaccess(directory: Path, files: t.Mapping[str, str], mode: str) -> None:
    """An .htaccess file holds <Directory> context directives: check them
    there with ``apache2 -t`` (it never reads .htaccess files itself)."""
    paths = write(directory, files)
    public = directory / "public"
    public.mkdir(exist_ok=True)
    site = directory / "htaccess-site.conf"
    site.write_text(
        f'<Directory "{public}">\n    AllowOverride All\n'
        + paths[".htaccess"].read_text()
        + "</Directory>\n"
    )
    _apache_t(apache_harness(directory, site, mode, tls=False), site)


# -- lighttpd ------------------------------------------------------------------


def check_lighttpd(directory: Path, files: t.Mapping[str, str]) -> None:
    """``lighttpd -tt -f FILE`` (loads the modules too); a site file is
    checked inside a minimal main configuration."""
    lighttpd = require_program("lighttpd", "/usr/sbin/lighttpd")
    paths = write(directory, files)
    if "lighttpd.conf" in paths:
        main = paths["lighttpd.conf"]
    else:
        (site,) = [p for n, p in paths.items() if n.endswith(".lighttpd.conf")]
        main = directory / "harness-lighttpd.conf"
        main.write_text(
            f'server.document-root = "{directory}"\n'
            f'server.errorlog = "{directory}/lighttpd-error.log"\n'
            "server.port = 8080\n"
            f'include "{site}"\n'
        )
    result = run([lighttpd, "-tt", "-f", main])
    if result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
        fail("lighttpd -tt", result, *paths.values())


# -- systemd -------------------------------------------------------------------


def check_systemd(directory: Path, files: t.Mapping[str, str]) -> None:
    """``systemd-analyze verify`` on every unit; it exits 0 on an unknown key
    with only a warning, so anything on stderr fails."""
    analyze = require_program("systemd-analyze")
    paths = write(directory, files)
    units = [p for p in paths.values() if p.suffix in (".service", ".socket")]
    result = run([analyze, "verify", *units], cwd=directory)
    if result.returncode != 0 or result.stderr.strip():
        fail("systemd-analyze verify", result, *units)


# -- supervisor ----------------------------------------------------------------


def check_supervisor(directory: Path, files: t.Mapping[str, str]) -> list[t.Any]:
    """supervisord's own parser (ServerOptions.process_config) on a main file
    including the generated one; returns the process group configs."""
    try:
        from supervisor.options import ServerOptions
    except ImportError:
        missing("supervisor is not installed: pip install -e '.[servers]'")
    paths = write(directory, files)
    (program,) = [p for n, p in paths.items() if n.endswith(".supervisor.conf")]
    main = directory / "supervisord.conf"
    main.write_text(
        "[supervisord]\n"
        f"logfile={directory}/supervisord.log\n"
        f"pidfile={directory}/supervisord.pid\n"
        "[include]\n"
        f"files={program}\n"
    )
    options = ServerOptions()
    options.configfile = str(main)
    try:
        options.process_config(do_usage=False)
    except ValueError as e:
        pytest.fail(
            f"supervisord rejected the configuration: {e}\n{program.read_text()}"
        )
    return list(options.process_group_configs)


# -- uWSGI ---------------------------------------------------------------------


def check_uwsgi(directory: Path, files: t.Mapping[str, str]) -> Path:
    """uWSGI parses the ini (``strict = true`` rejects unknown options) and
    prints an option back without starting; returns the ini path."""
    uwsgi = require_program("uwsgi")
    paths = write(directory, files)
    (ini,) = [p for n, p in paths.items() if n.endswith(".ini")]
    result = run([uwsgi, "--ini", ini, "--get", "master"])
    if result.returncode != 0 or result.stdout.strip() != "true":
        fail("uwsgi --ini", result, ini)
    return ini


# -- entry files ----------------------------------------------------------------


def check_python_entry(directory: Path, files: t.Mapping[str, str]) -> None:
    """Entry files compile, and executable ones start with this Python."""
    paths = write(directory, files)
    for name, path in paths.items():
        if name.endswith((".wsgi", ".fcgi", ".cgi", ".py")):
            source = path.read_text()
            compile(source, str(path), "exec")
            if name.endswith((".fcgi", ".cgi")):
                assert source.startswith(f"#!{sys.executable}\n"), source.splitlines()[
                    0
                ]
