"""Deployments of the example site (tests/integration/site) on real servers.

Used by conftest.py (the ``deployment`` fixture) and the test modules.

Each deployment copies the site into a world-readable temporary directory,
writes its gateway.toml ([server] and [proxy] set for that server), renders
the front server's configuration with ``gateway.deploy.render`` (the same
files ``gateway config`` writes), checks it with the server's own checker,
starts everything on 127.0.0.1 in parallel where it can, and waits for
readiness with a deadline. Processes are stopped by process group at the end
of the test module that used them; their logs are attached to failures.

The client connects from 127.0.0.2 (any 127/8 address is local), so the
address the application reports proves where it came from: the peer itself,
or a forwarded header set by a trusted front server, never the spoofed
headers the tests send.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from server_harness import (
    ServerProcess,
    free_port,
    http_ready,
    missing,
    require_module,
    require_program,
    self_signed_certificate,
    tcp_ready,
    unix_ready,
)

SITE = Path(__file__).parent / "site"
BASE_DOMAIN = "gateway.test"
#: Where test clients connect from; the servers listen on 127.0.0.1.
CLIENT_ADDRESS = "127.0.0.2"
NGINX_CANDIDATES = ("/usr/sbin/nginx",)
APACHE_CANDIDATES = ("/usr/sbin/apache2",)


@dataclass
class Deployment:
    """A running deployment: where to send requests and what to expect."""

    name: str
    port: int
    #: The sub-path the whole gateway is published under ("" at the root).
    prefix: str = ""
    #: The account the application code runs as.
    user: str = "root"
    processes: list[ServerProcess] = field(default_factory=list)
    #: Whether the response body reaches the client while the app still runs.
    streams: bool = True
    #: "https" when the client talks TLS to the front server.
    scheme: str = "http"
    #: What the app reads as X-Probe when a client sends both "X-Probe:
    #: dashed" and "X_Probe: underscored": headers with "_" in their names are
    #: dropped before the app, but uWSGI's own HTTP parser merges them into the
    #: dashed spelling and granian's lets the later one win.
    underscore_probe: str = "dashed"
    workdir: Path = Path()

    def host(self, tenant: str = "") -> str:
        name = f"{tenant}.{BASE_DOMAIN}" if tenant else BASE_DOMAIN
        return f"{name}:{self.port}"

    #: Directories a server created outside ``workdir``, removed after it stops.
    leftovers: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        for path in self.leftovers:
            shutil.rmtree(path, ignore_errors=True)


# -- writing the site ---------------------------------------------------------------


def _toml_value(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(data: t.Mapping[str, t.Any]) -> str:
    """Just enough TOML writing for gateway.toml: tables of scalars and
    lists, and arrays of tables."""
    lines: list[str] = []
    for table, content in data.items():
        rows = content if isinstance(content, list) else [content]
        for row in rows:
            lines.append(f"[[{table}]]" if isinstance(content, list) else f"[{table}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in row.items()]
            lines.append("")
    return "\n".join(lines)


def write_site(
    directory: Path,
    server: t.Mapping[str, t.Any],
    proxy: t.Mapping[str, t.Any] | None = None,
) -> Path:
    """Copy the example site into ``directory`` and write its gateway.toml
    with these [server] (and [proxy]) settings; return the toml's path."""
    import tomllib

    shutil.copytree(SITE / "gwsite", directory / "gwsite", dirs_exist_ok=True)
    data = tomllib.loads((SITE / "gateway.toml").read_text())
    data["server"] = dict(server)
    if proxy is not None:
        data["proxy"] = dict(proxy)
    toml = directory / "gateway.toml"
    toml.write_text(dump_toml(data))
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return toml


def render_files(kind: str, toml: Path, out: Path, **options: t.Any) -> dict[str, Path]:
    """Render ``gateway config KIND`` for ``toml`` into ``out``."""
    from gateway.deploy import render
    from gateway.dispatch import load_config

    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o755)
    written = {}
    for name, content in render(kind, load_config(toml), **options).items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        mode = 0o755 if name.endswith((".fcgi", ".cgi")) else 0o644
        path.chmod(mode)
        written[name] = path
    return written


def check_config(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or "error" in result.stderr.lower():
        pytest.fail(
            f"{what} rejected the generated config:\n{result.stdout}{result.stderr}"
        )


# -- the account Apache's children run as ---------------------------------------------


def require_www_data_reaches_python() -> None:
    """Apache's children (mod_wsgi daemons, CGI and FastCGI programs) run as
    www-data: they must be able to enter this Python's installation and the
    source tree (see servers.md, the 0700 home directory)."""
    from gateway.adapters.mod_wsgi import untraversable_ancestor

    try:
        account = pwd.getpwnam("www-data")
    except KeyError:
        missing("there is no www-data account for Apache's children")
    import gateway

    for path in (sys.base_prefix, sys.prefix, str(Path(gateway.__file__).parent)):
        blocked = untraversable_ancestor(path, account.pw_uid, {account.pw_gid})
        if blocked is not None:
            missing(
                f"www-data cannot enter {blocked} on the way to {path}: run scripts/test"
                " with GATEWAY_FIX_PERMISSIONS=1 (it runs 'chmod o+x' on it)"
            )


# -- front servers ------------------------------------------------------------------------


def start_nginx(
    toml: Path, workdir: Path, port: int, **options: t.Any
) -> ServerProcess:
    nginx = require_program("nginx", *NGINX_CANDIDATES)
    runtime = workdir / "nginx"
    files = render_files(
        "nginx",
        toml,
        runtime,
        standalone=True,
        runtime_dir=str(runtime),
        listen="127.0.0.1",
        http_port=port,
        server_user="www-data",
        **options,
    )
    conf = files["nginx.conf"]
    check_config(
        [nginx, "-t", "-q", "-c", str(conf), "-e", str(runtime / "check.log")],
        "nginx -t",
    )
    return ServerProcess(
        "nginx",
        [
            nginx,
            "-c",
            str(conf),
            "-e",
            str(runtime / "nginx.error.log"),
            "-g",
            "daemon off;",
        ],
        workdir,
        extra_logs=[runtime / "nginx.error.log", runtime / "gwsite.error.log"],
    ).start()


def start_apache(
    kind: str, toml: Path, workdir: Path, port: int, **options: t.Any
) -> ServerProcess:
    apache = require_program("apache2", *APACHE_CANDIDATES)
    if kind != "apache-proxy":  # the others run Python as Apache's user
        require_www_data_reaches_python()
    runtime = workdir / "apache"
    files = render_files(
        kind,
        toml,
        runtime,
        standalone=True,
        runtime_dir=str(runtime),
        listen="127.0.0.1",
        http_port=port,
        **options,
    )
    conf = files["httpd.conf"]
    check_config([apache, "-t", "-f", str(conf)], "apache2 -t")
    return ServerProcess(
        "apache",
        [apache, "-f", str(conf), "-DFOREGROUND"],
        workdir,
        env={**os.environ, "APACHE_RUN_DIR": str(runtime), "LANG": "C.UTF-8"},
        extra_logs=[runtime / "httpd.error.log", runtime / "gwsite.error.log"],
    ).start()


def gateway_serve(toml: Path, workdir: Path, adapter: str, *args: str) -> ServerProcess:
    return ServerProcess(
        f"gateway-serve-{adapter}",
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            str(toml),
            "--adapter",
            adapter,
            *args,
        ],
        workdir,
        cwd="/",
    ).start()


# -- deployments --------------------------------------------------------------------------

DIRECT_PROXY = {"trusted": ["127.0.0.1/32"]}


def _direct(
    adapter: str, module: str | None, *args: str, **expect: t.Any
) -> t.Callable[[Path], Deployment]:
    """An HTTP adapter serving clients itself (no front server)."""

    def build(workdir: Path) -> Deployment:
        if module:
            require_module(module)
        port = free_port()
        toml = write_site(
            workdir, {"adapter": adapter, "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
        )
        process = gateway_serve(toml, workdir, adapter, *args)
        deployment = Deployment(
            adapter, port, processes=[process], workdir=workdir, **expect
        )
        process.wait_ready(http_ready(port, host=deployment.host()))
        return deployment

    return build


def _behind_nginx(
    adapter: str,
    module: str | None,
    prefix: str = "",
    *,
    program: str | None = None,
    front: str = "nginx",
    **expect: t.Any,
) -> t.Callable[[Path], Deployment]:
    """An adapter behind a generated nginx: proxy_pass (gevent, gunicorn),
    uwsgi_pass (uwsgi) or fastcgi_pass (flup); or, with ``front=
    "apache-proxy"``, behind Apache's mod_proxy."""

    def build(workdir: Path) -> Deployment:
        if module:
            require_module(module)
        if program:
            require_program(program)
        port, backend = free_port(), free_port()
        server: dict[str, t.Any] = {"adapter": adapter, "bind": f"127.0.0.1:{backend}"}
        if adapter in ("uwsgi", "fastcgi"):
            server["socket"] = str(workdir / f"{adapter}.sock")
        if prefix:
            server["script_name"] = prefix
        toml = write_site(workdir, server, DIRECT_PROXY)
        backend_process = gateway_serve(toml, workdir, adapter)
        if front == "nginx":
            nginx = start_nginx(toml, workdir, port)
        else:
            nginx = start_apache(front, toml, workdir, port)
        deployment = Deployment(
            f"{adapter}+{front}{prefix}",
            port,
            prefix,
            processes=[backend_process, nginx],
            workdir=workdir,
            **expect,
        )
        probe = (
            unix_ready(server["socket"])
            if "socket" in server
            else tcp_ready("127.0.0.1", backend)
        )
        backend_process.wait_ready(probe)
        nginx.wait_ready(http_ready(port, f"{prefix}/", host=deployment.host()))
        return deployment

    return build


def _gunicorn_behind_nginx_tls(workdir: Path) -> Deployment:
    """nginx terminating TLS: the app must see https (X-Forwarded-Proto from
    its trusted proxy) and the client's address (X-Forwarded-For)."""
    require_module("gunicorn")
    cert, key = self_signed_certificate(workdir, BASE_DOMAIN)
    http_port, https_port, backend = free_port(), free_port(), free_port()
    server = {
        "adapter": "gunicorn",
        "bind": f"127.0.0.1:{backend}",
        "tls_cert": str(cert),
        "tls_key": str(key),
    }
    toml = write_site(workdir, server, DIRECT_PROXY)
    backend_process = gateway_serve(toml, workdir, "gunicorn")
    nginx = start_nginx(toml, workdir, http_port, https_port=https_port)
    deployment = Deployment(
        "gunicorn+nginx-tls",
        https_port,
        processes=[backend_process, nginx],
        workdir=workdir,
        scheme="https",
    )
    backend_process.wait_ready(tcp_ready("127.0.0.1", backend))
    nginx.wait_ready(tcp_ready("127.0.0.1", https_port))
    return deployment


def _cgi_behind_nginx(workdir: Path) -> Deployment:
    fcgiwrap = require_program("fcgiwrap", "/usr/sbin/fcgiwrap")
    port = free_port()
    socket_path = workdir / "fcgiwrap.sock"
    toml = write_site(workdir, {"adapter": "cgi", "bind": "127.0.0.1:1"}, DIRECT_PROXY)
    entry_dir = workdir / "www"
    render_files(
        "cgi-file", toml, entry_dir, toml_path=str(toml), entry_dir=str(entry_dir)
    )
    # fcgiwrap creates its socket with the umask: let nginx's www-data workers in.
    wrapper = ServerProcess(
        "fcgiwrap",
        ["sh", "-c", f'umask 000 && exec "{fcgiwrap}" -c 2 -s "unix:{socket_path}"'],
        workdir,
    ).start()
    nginx = start_nginx(
        toml,
        workdir,
        port,
        fcgiwrap_socket=str(socket_path),
        entry_dir=str(entry_dir),
        toml_path=str(toml),
    )
    # fcgiwrap buffers the CGI program's output: responses arrive complete.
    deployment = Deployment(
        "cgi+nginx-fcgiwrap",
        port,
        processes=[wrapper, nginx],
        workdir=workdir,
        streams=False,
    )
    wrapper.wait_ready(unix_ready(socket_path))
    nginx.wait_ready(http_ready(port, "/", host=deployment.host()))
    return deployment


def _behind_apache(
    kind: str, adapter: str, name: str, prefix: str = ""
) -> t.Callable[[Path], Deployment]:
    """Apache running the gateway itself: mod_wsgi daemon processes, mod_fcgid
    spawning the .fcgi entry, or mod_cgid running the .cgi entry; at the
    root or under ``prefix`` (WSGIScriptAlias / ScriptAlias /prefix)."""

    def build(workdir: Path) -> Deployment:
        if adapter == "fastcgi":
            require_module("flup")
        port = free_port()
        server = {"adapter": adapter, "bind": "127.0.0.1:1"}
        if prefix:
            server["script_name"] = prefix
        toml = write_site(workdir, server, DIRECT_PROXY)
        entry_dir = workdir / "www"
        entry_kind = {
            "mod_wsgi": "wsgi-file",
            "fastcgi": "fcgi-file",
            "cgi": "cgi-file",
        }[adapter]
        render_files(
            entry_kind, toml, entry_dir, toml_path=str(toml), entry_dir=str(entry_dir)
        )
        apache = start_apache(
            kind, toml, workdir, port, toml_path=str(toml), entry_dir=str(entry_dir)
        )
        deployment = Deployment(
            name, port, prefix, user="www-data", processes=[apache], workdir=workdir
        )
        apache.wait_ready(http_ready(port, f"{prefix}/", host=deployment.host()))
        return deployment

    return build


#: What a shared host's Apache provides (not ours to generate: on shared hosting
#: the user only uploads the .htaccess and the entry file that render() writes).
SHARED_HOST_CONF = """\
ServerRoot "{run}"
DefaultRuntimeDir "{run}"
PidFile "{run}/httpd.pid"
ErrorLog "{run}/httpd.error.log"
LogLevel warn
ServerName {host}
Listen 127.0.0.1:{port}
<IfModule !mpm_event_module>
    LoadModule mpm_event_module {modules}/mod_mpm_event.so
</IfModule>
<IfModule !unixd_module>
    LoadModule unixd_module {modules}/mod_unixd.so
</IfModule>
<IfModule !log_config_module>
    LoadModule log_config_module {modules}/mod_log_config.so
</IfModule>
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule headers_module {modules}/mod_headers.so
LoadModule rewrite_module {modules}/mod_rewrite.so
LoadModule cgid_module {modules}/mod_cgid.so
LoadModule fcgid_module {modules}/mod_fcgid.so
User www-data
Group www-data
TypesConfig /etc/mime.types
ScriptSock "{run}/cgid.sock"
FcgidIPCDir "{run}/fcgid"
FcgidProcessTableFile "{run}/fcgid_shm"
# mod_fcgid refuses bodies over 128 KiB by default; hosts raise it here.
FcgidMaxRequestLen 67108864
DocumentRoot "{docroot}"
<Directory "/">
    AllowOverride None
    Require all denied
</Directory>
<Directory "{docroot}">
    AllowOverride All
    Options +FollowSymLinks
    Require all granted
</Directory>
"""


def _shared_hosting(kind: str, adapter: str) -> t.Callable[[Path], Deployment]:
    """A shared host's Apache with AllowOverride All: the generated .htaccess
    rewrites every URL to the generated entry file (mod_fcgid or mod_cgid).
    The app must be published at the root, not under the entry's file name."""

    def build(workdir: Path) -> Deployment:
        apache_bin = require_program("apache2", *APACHE_CANDIDATES)
        require_www_data_reaches_python()
        if adapter == "fastcgi":
            require_module("flup")
        port = free_port()
        toml = write_site(
            workdir, {"adapter": adapter, "bind": "127.0.0.1:1"}, DIRECT_PROXY
        )
        docroot = workdir / "public"
        render_files(kind, toml, docroot, toml_path=str(toml), entry_dir=str(docroot))
        run = workdir / "apache"
        run.mkdir()
        conf = run / "httpd.conf"
        conf.write_text(
            SHARED_HOST_CONF.format(
                run=run,
                host=BASE_DOMAIN,
                port=port,
                docroot=docroot,
                modules="/usr/lib/apache2/modules",
            )
        )
        check_config([apache_bin, "-t", "-f", str(conf)], "apache2 -t")
        apache = ServerProcess(
            "apache-shared",
            [apache_bin, "-f", str(conf), "-DFOREGROUND"],
            workdir,
            extra_logs=[run / "httpd.error.log"],
        ).start()
        deployment = Deployment(
            f"{kind}",
            port,
            user="www-data",
            processes=[apache],
            workdir=workdir,
            # mod_fcgid buffers by default and a .htaccess cannot change it.
            streams=adapter != "fastcgi",
        )
        apache.wait_ready(http_ready(port, "/", host=deployment.host()))
        return deployment

    return build


def _mod_wsgi_express(workdir: Path) -> Deployment:
    require_program("mod_wsgi-express")
    require_program("apache2", *APACHE_CANDIDATES)
    require_www_data_reaches_python()
    port = free_port()
    toml = write_site(
        workdir, {"adapter": "mod_wsgi", "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
    )
    process = gateway_serve(toml, workdir, "mod_wsgi")
    deployment = Deployment(
        "mod_wsgi-express", port, user="www-data", processes=[process], workdir=workdir
    )
    # mod_wsgi-express's server root (see gateway/adapters/mod_wsgi.py).
    deployment.leftovers.append(
        Path(tempfile.gettempdir()) / f"gateway-mod_wsgi-gwsite-{port}"
    )
    process.wait_ready(http_ready(port, "/", host=deployment.host()), timeout=60)
    return deployment


DEPLOYMENTS: dict[str, t.Callable[[Path], Deployment]] = {
    "gevent": _direct("gevent", "gevent"),
    "tornado": _direct("tornado", "tornado"),
    "dev": _direct("dev", None, "--no-reload"),
    "uwsgi-http": _direct(
        "uwsgi", None, "--http", underscore_probe="dashed, underscored"
    ),
    "granian": _direct("granian", "granian", underscore_probe="underscored"),
    "granian+nginx-subpath": _behind_nginx("granian", "granian", "/site"),
    # Apache passes underscored names on: the generated config removes the
    # spellings of the forwarded headers; others reach granian, as direct.
    "granian+apache-proxy": _behind_nginx(
        "granian", "granian", front="apache-proxy", underscore_probe="underscored"
    ),
    "mod_wsgi-express": _mod_wsgi_express,
    "gunicorn+nginx": _behind_nginx("gunicorn", "gunicorn"),
    "gunicorn+nginx-tls": _gunicorn_behind_nginx_tls,
    "gunicorn+apache-proxy": _behind_nginx(
        "gunicorn", "gunicorn", front="apache-proxy"
    ),
    "gevent+apache-proxy-subpath": _behind_nginx(
        "gevent", "gevent", "/site", front="apache-proxy"
    ),
    "gevent+nginx-subpath": _behind_nginx("gevent", "gevent", "/site"),
    "uwsgi+nginx": _behind_nginx("uwsgi", None, program="uwsgi"),
    "uwsgi+nginx-subpath": _behind_nginx("uwsgi", None, "/site", program="uwsgi"),
    "fastcgi+nginx": _behind_nginx("fastcgi", "flup"),
    "fastcgi+nginx-subpath": _behind_nginx("fastcgi", "flup", "/site"),
    "cgi+nginx-fcgiwrap": _cgi_behind_nginx,
    "mod_wsgi+apache": _behind_apache("apache", "mod_wsgi", "mod_wsgi+apache"),
    "fastcgi+apache-fcgid": _behind_apache(
        "apache-fcgid", "fastcgi", "fastcgi+apache-fcgid"
    ),
    "cgi+apache": _behind_apache("apache-cgi", "cgi", "cgi+apache"),
    "mod_wsgi+apache-subpath": _behind_apache(
        "apache", "mod_wsgi", "mod_wsgi+apache/site", "/site"
    ),
    "fastcgi+apache-fcgid-subpath": _behind_apache(
        "apache-fcgid", "fastcgi", "fastcgi+apache-fcgid/site", "/site"
    ),
    "htaccess-cgi": _shared_hosting("htaccess-cgi", "cgi"),
    "htaccess-fcgi": _shared_hosting("htaccess-fcgi", "fastcgi"),
    "cgi+apache-subpath": _behind_apache(
        "apache-cgi", "cgi", "cgi+apache/site", "/site"
    ),
}
