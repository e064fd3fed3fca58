"""One planner per ``gateway config`` kind: which adapter it can front, which
files it writes from which templates, and the next steps to print.

A planner checks what only its server cares about and raises
:class:`~gateway.deploy.model.DeployError` for a gateway.toml the server
cannot express (an Apache mod_wsgi config for a gevent gateway, TLS on a
shared host's ``.htaccess``, ``workers`` for CGI...). Planners are pure:
they return a :class:`Plan`, and :mod:`gateway.deploy.render` renders it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from gateway.adapters.entry import render_entry
from gateway.adapters.master import RELOAD_SIGNAL
from gateway.adapters.mod_wsgi import daemon_options
from gateway.adapters.options import (
    GRACEFUL_TIMEOUT,
    OptionError,
    ServeOptions,
    check_exposure,
    check_tls,
    resolve_options,
)
from gateway.adapters.uwsgi import Standalone, uwsgi_options
from gateway.toml import ADAPTERS

from .model import HTTP_ADAPTERS, DeployError, Site, check_proxy_trust

if t.TYPE_CHECKING:  # pragma: no cover
    from gateway.toml import GatewayConfig

#: Seconds a process manager waits on top of ``gateway serve``'s graceful
#: timeout (:data:`~gateway.adapters.options.GRACEFUL_TIMEOUT`) before killing.
STOP_MARGIN = 15
STOP_TIMEOUT = round(GRACEFUL_TIMEOUT) + STOP_MARGIN


#: What a reload signal does to every service adapter (gateway serve's master,
#: gunicorn's arbiter, uWSGI's master).
RELOADS = (
    "graceful: new processes load the code and gateway.toml,"
    " the old ones finish their requests"
)
#: ... and to the .fcgi entry supervisor's [fcgi-program:x] runs.
_FCGI_PROGRAM_RELOADS = (
    "flup finishes its requests and exits; supervisor starts it again on the"
    " socket it holds, where new requests wait meanwhile"
)


@dataclass(frozen=True)
class OutputFile:
    """One file of a plan: rendered from ``template``, or ``content`` as is."""

    name: str
    template: str = ""
    content: str = ""
    executable: bool = False


@dataclass(frozen=True)
class Plan:
    """What one kind writes. ``next_steps`` may name output files as
    ``@{file name}``; the command replaces them with the written paths."""

    kind: str
    site: Site
    files: tuple[OutputFile, ...]
    context: dict[str, t.Any] = field(default_factory=dict)
    next_steps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


Planner = t.Callable[[Site, "GatewayConfig"], Plan]

_PLANNERS: dict[str, Planner] = {}

#: What each kind is, for ``--help`` and error messages.
DESCRIPTIONS: dict[str, str] = {}


def _planner(kind: str, description: str) -> t.Callable[[Planner], Planner]:
    def register(func: Planner) -> Planner:
        _PLANNERS[kind] = func
        DESCRIPTIONS[kind] = description
        return func

    return register


def kinds() -> tuple[str, ...]:
    """Every kind ``render`` accepts, in documentation order."""
    return tuple(_PLANNERS)


def plan(site: Site, config: GatewayConfig) -> Plan:
    """The plan for ``site.kind``."""
    try:
        planner = _PLANNERS[site.kind]
    except KeyError:
        raise DeployError(
            f"unknown kind {site.kind!r}; choose one of: {', '.join(_PLANNERS)}"
        ) from None
    return planner(site, config)


# -- shared checks -------------------------------------------------------------------


def _require_adapter(
    site: Site, allowed: t.Sequence[str], kind: str, instead: str
) -> None:
    if site.adapter not in allowed:
        wanted = " or ".join(f'"{a}"' for a in allowed)
        raise DeployError(
            f'[server].adapter is "{site.adapter}", but `gateway config {kind}` is for'
            f" adapter = {wanted}; {instead}"
        )


def _no_backends(site: Site, config: GatewayConfig, why: str) -> None:
    if config.server.backends:
        raise DeployError(f"[server].backends: {why}; remove backends")


def _single_process_cgi(site: Site) -> None:
    if site.adapter == "cgi" and site.workers > 1:
        raise DeployError(
            f"[server].workers = {site.workers}: the cgi adapter starts one process per"
            " request, so it has no worker count; remove workers (or use fastcgi)"
        )


def _need_toml(site: Site) -> None:
    if not site.toml_path:
        raise DeployError(
            "this configuration was built in Python, not read from a gateway.toml:"
            " pass toml_path= (the absolute path the server will load)"
        )


def _need_python(site: Site) -> None:
    if not site.python:
        raise DeployError(
            "no interpreter known: set [server].python_home or pass python="
        )


def _entry(kind: str, site: Site) -> OutputFile:
    _need_toml(site)
    _need_python(site)
    entry = render_entry(kind, site.toml_path, name=site.name, python=site.python)
    return OutputFile(
        entry.filename, content=entry.content, executable=entry.executable
    )


def _proxy_warnings(site: Site, config: GatewayConfig) -> list[str]:
    warnings = []
    if site.adapter == "dev":
        warnings.append(
            'adapter "dev" is Werkzeug\'s development server: use gevent, tornado,'
            " gunicorn or uwsgi in production"
        )
    if (
        site.upstream is not None
        and site.upstream.protocol == "http"
        and not config.proxy.x_for
    ):
        warnings.append(
            "[proxy].x_for = 0: the gateway will see the front server's address as"
            " every client's REMOTE_ADDR; set x_for = 1 to believe X-Forwarded-For"
        )
    return warnings


def _gateway_unit_hint(site: Site) -> str:
    if ADAPTERS[site.adapter].service:
        return (
            f"run the gateway itself: gateway config systemd {site.toml_path or 'gateway.toml'}"
            " (or supervisor)"
        )
    return ""


def _no_serve_tls(config: GatewayConfig, front: str) -> None:
    if config.server.serve_tls:
        raise DeployError(
            f"[server].serve_tls = true: the adapter speaks TLS to clients itself,"
            f" so {front} would have to proxy to it over TLS; set serve_tls = false"
            f" and let {front} terminate TLS with tls_cert and tls_key"
        )


def _serve_options(site: Site, config: GatewayConfig) -> ServeOptions:
    """What ``gateway serve`` would run this gateway with: the servers whose
    options are declared by their adapter are written from it. Refuses what
    ``gateway serve`` would refuse (:func:`check_exposure`)."""
    try:
        options = resolve_options(config.server, http=site.options.uwsgi_http)
        check_exposure(site.adapter, options)
        check_tls(site.adapter, options)
        return options
    except OptionError as e:
        raise DeployError(f"[server].{e}") from None


def _steps(*steps: str) -> tuple[str, ...]:
    return tuple(s for s in steps if s)


# -- nginx ---------------------------------------------------------------------------


@_planner("nginx", "nginx site: proxy_pass, uwsgi_pass or fastcgi_pass to the gateway")
def _nginx(site: Site, config: GatewayConfig) -> Plan:
    if site.adapter == "mod_wsgi":
        raise DeployError(
            '[server].adapter is "mod_wsgi", which runs inside Apache: use'
            " `gateway config apache`, or choose an adapter nginx can reach"
            " (gunicorn, gevent, tornado, uwsgi, fastcgi, cgi)"
        )
    if site.upstream is None:  # pragma: no cover - every other adapter has one
        raise DeployError(
            f'[server].adapter "{site.adapter}" cannot be reached by nginx'
        )
    check_proxy_trust(config, site.upstream, "nginx")
    _no_serve_tls(config, "nginx")
    _single_process_cgi(site)
    files = []
    if site.standalone:
        files.append(OutputFile("nginx.conf", "nginx/nginx.conf.j2"))
        main = "nginx.conf"
        steps = [
            "check:  nginx -t -c @{nginx.conf}",
            "start:  nginx -c @{nginx.conf}",
            "reload: nginx -s reload -c @{nginx.conf}",
            "stop:   nginx -s quit -c @{nginx.conf}",
        ]
    else:
        main = f"{site.name}.nginx.conf"
        files.append(OutputFile(main, "nginx/site.conf.j2"))
        steps = [
            f"install: cp @{{{main}}} /etc/nginx/sites-available/{site.name}"
            f" && ln -sf ../sites-available/{site.name} /etc/nginx/sites-enabled/{site.name}",
            "default: rm /etc/nginx/sites-enabled/default   (this site has its own"
            " default server, refusing unknown hosts)",
            "check:   nginx -t",
            "reload:  systemctl reload nginx   (or: nginx -s reload)",
        ]
    if site.adapter == "cgi":
        steps.insert(
            0,
            f"write the CGI program: gateway config cgi-file {site.toml_path}"
            f" -o {site.entry_dir}",
        )
        steps.append(
            f"fcgiwrap must listen on {site.options.fcgiwrap_socket}"
            " (Debian: systemctl enable --now fcgiwrap.socket)"
        )
    hint = _gateway_unit_hint(site)
    if hint:
        steps.append(hint)
    return Plan(
        "nginx",
        site,
        tuple(files),
        next_steps=_steps(*steps),
        warnings=tuple(_proxy_warnings(site, config)),
    )


# -- Apache ------------------------------------------------------------------------


def _apache_files(site: Site, mode: str) -> tuple[list[OutputFile], list[str]]:
    if site.standalone:
        files = [OutputFile("httpd.conf", "apache/httpd.conf.j2")]
        steps = [
            "check:  apache2 -t -f @{httpd.conf}",
            "start:  apache2 -f @{httpd.conf} -k start",
            "reload: apache2 -f @{httpd.conf} -k graceful",
            "stop:   apache2 -f @{httpd.conf} -k graceful-stop",
        ]
    else:
        name = f"{site.name}.apache.conf"
        files = [OutputFile(name, "apache/site.conf.j2")]
        modules = {
            "wsgi": "wsgi headers",
            "proxy": "proxy proxy_http headers"
            + (
                ""
                if site.upstream and site.upstream.single
                else " proxy_balancer lbmethod_byrequests slotmem_shm"
            ),
            "fcgid": "fcgid alias headers",
            "cgi": "cgid alias headers",
        }[mode]
        if site.tls:
            modules += " ssl"
        steps = [
            f"install: cp @{{{name}}} /etc/apache2/sites-available/{site.name}.conf"
            f" && a2ensite {site.name}",
            f"modules: a2enmod {modules}"
            + (
                "   (mod_wsgi from pip: mod_wsgi-express module-config)"
                if mode == "wsgi"
                else ""
            ),
            "default: a2dissite 000-default   (the first virtual host of this site"
            " refuses unknown hosts)",
            "check:   apache2ctl configtest",
            "reload:  systemctl reload apache2   (or: apache2ctl graceful)",
        ]
    return files, steps


@_planner("apache", "Apache with mod_wsgi in daemon mode (WSGIDaemonProcess)")
def _apache(site: Site, config: GatewayConfig) -> Plan:
    _require_adapter(
        site,
        ("mod_wsgi",),
        "apache",
        'set adapter = "mod_wsgi", or use `gateway config apache-proxy` to put Apache'
        " in front of an HTTP adapter",
    )
    _no_backends(
        site, config, "mod_wsgi runs the gateway inside Apache on this machine"
    )
    if site.user == "root" or site.group == "root":
        raise DeployError(
            "[server].user/group: mod_wsgi refuses to run its daemon processes as root;"
            ' set an unprivileged account such as user = "www-data"'
        )
    if site.standalone and not site.options.mod_wsgi_module:
        raise DeployError(
            "option mod_wsgi_module: a standalone Apache config needs the path of"
            " mod_wsgi's module (mod_wsgi-express module-config prints it;"
            " pip install mod_wsgi)"
        )
    _need_toml(site)
    files, steps = _apache_files(site, "wsgi")
    steps.insert(
        0,
        f"write the entry: gateway config wsgi-file {site.toml_path} -o {site.entry_dir}",
    )
    context = {"mode": "wsgi", "daemon": daemon_options(_serve_options(site, config))}
    return Plan("apache", site, tuple(files), context, _steps(*steps))


@_planner("apache-proxy", "Apache mod_proxy in front of an HTTP adapter (gunicorn...)")
def _apache_proxy(site: Site, config: GatewayConfig) -> Plan:
    if site.upstream is None or site.upstream.protocol != "http":
        raise DeployError(
            f'[server].adapter is "{site.adapter}": `gateway config apache-proxy` forwards'
            f" HTTP, so it needs one of {', '.join(HTTP_ADAPTERS)} (or uwsgi with"
            " uwsgi_http); for fastcgi use apache-fcgid, for cgi apache-cgi, for"
            " mod_wsgi apache"
        )
    check_proxy_trust(config, site.upstream, "Apache")
    _no_serve_tls(config, "Apache")
    files, steps = _apache_files(site, "proxy")
    hint = _gateway_unit_hint(site)
    if hint:
        steps.append(hint)
    return Plan(
        "apache-proxy",
        site,
        tuple(files),
        {"mode": "proxy"},
        _steps(*steps),
        tuple(_proxy_warnings(site, config)),
    )


@_planner("apache-fcgid", "Apache mod_fcgid spawning the .fcgi entry (ScriptAlias)")
def _apache_fcgid(site: Site, config: GatewayConfig) -> Plan:
    _require_adapter(
        site,
        ("fastcgi",),
        "apache-fcgid",
        'set adapter = "fastcgi" (mod_fcgid spawns the .fcgi entry itself)',
    )
    _no_backends(site, config, "mod_fcgid spawns the FastCGI processes on this machine")
    _need_toml(site)
    files, steps = _apache_files(site, "fcgid")
    steps.insert(
        0,
        f"write the entry: gateway config fcgi-file {site.toml_path} -o {site.entry_dir}",
    )
    return Plan("apache-fcgid", site, tuple(files), {"mode": "fcgid"}, _steps(*steps))


@_planner("apache-cgi", "Apache mod_cgid running the .cgi entry (ScriptAlias)")
def _apache_cgi(site: Site, config: GatewayConfig) -> Plan:
    _require_adapter(
        site, ("cgi",), "apache-cgi", 'set adapter = "cgi" (one process per request)'
    )
    _single_process_cgi(site)
    _no_backends(site, config, "CGI programs run on this machine")
    _need_toml(site)
    files, steps = _apache_files(site, "cgi")
    steps.insert(
        0,
        f"write the entry: gateway config cgi-file {site.toml_path} -o {site.entry_dir}",
    )
    return Plan("apache-cgi", site, tuple(files), {"mode": "cgi"}, _steps(*steps))


def _htaccess(
    site: Site, config: GatewayConfig, kind: str, adapter: str, entry: str
) -> Plan:
    _require_adapter(site, (adapter,), kind, f'set adapter = "{adapter}"')
    _single_process_cgi(site)
    _no_backends(site, config, "a shared host runs the program itself")
    if site.tls:
        raise DeployError(
            "[server].tls_cert/tls_key: on shared hosting the host terminates TLS;"
            " an .htaccess file cannot configure certificates, remove them"
        )
    for index, static in enumerate(config.server.static, 1):
        if static.host != "*":
            raise DeployError(
                f"[[server.static]] #{index} .host: an .htaccess file applies to one"
                ' directory whatever the host; use host = "*" for its static routes'
            )
    files = [
        OutputFile(
            ".htaccess", f"apache/htaccess-{adapter.replace('fastcgi', 'fcgi')}.j2"
        ),
        _entry(adapter, site),
    ]
    where = site.script_name or "/"
    steps = (
        f"upload .htaccess and {entry} into the public directory served at {where}"
        f" (chmod 755 {entry}); the host must allow .htaccess overrides"
        " (AllowOverride FileInfo Options) and run mod_rewrite",
        f"test: run ./{entry} by hand as your hosting user to see import errors",
    )
    return Plan(kind, site, tuple(files), {}, steps)


@_planner(
    "htaccess-fcgi", "shared hosting: .htaccess + .fcgi entry (mod_fcgid, mod_rewrite)"
)
def _htaccess_fcgi(site: Site, config: GatewayConfig) -> Plan:
    return _htaccess(site, config, "htaccess-fcgi", "fastcgi", f"{site.name}.fcgi")


@_planner("htaccess-cgi", "shared hosting: .htaccess + .cgi entry (mod_rewrite)")
def _htaccess_cgi(site: Site, config: GatewayConfig) -> Plan:
    return _htaccess(site, config, "htaccess-cgi", "cgi", f"{site.name}.cgi")


# -- lighttpd -------------------------------------------------------------------------


@_planner("lighttpd", "lighttpd mod_fastcgi in front of the fastcgi adapter")
def _lighttpd(site: Site, config: GatewayConfig) -> Plan:
    _require_adapter(
        site,
        ("fastcgi",),
        "lighttpd",
        'set adapter = "fastcgi", or use `gateway config nginx` for the other adapters',
    )
    proxy = config.proxy
    deep = [
        k
        for k in ("x_for", "x_proto", "x_host", "x_port", "x_prefix")
        if getattr(proxy, k) > 1
    ]
    if deep or proxy.forwarded:
        what = ", ".join(f"[proxy].{k} = {getattr(proxy, k)}" for k in deep) or (
            "[proxy].forwarded = true"
        )
        raise DeployError(
            f"{what}: lighttpd passes the client address to FastCGI directly and"
            " cannot append itself to forwarded headers; with a proxy in front of"
            " lighttpd use `gateway config nginx`, or set the hop counts to 0 or 1"
            " and forwarded = false"
        )
    if site.standalone:
        files = [OutputFile("lighttpd.conf", "lighttpd/lighttpd.conf.j2")]
        steps = [
            "check:  lighttpd -tt -f @{lighttpd.conf}",
            "start:  lighttpd -f @{lighttpd.conf}",
            "reload: kill -USR1 $(cat "
            f"{site.runtime_dir}/lighttpd.pid)   (graceful restart)",
        ]
    else:
        name = f"{site.name}.lighttpd.conf"
        files = [OutputFile(name, "lighttpd/site.conf.j2")]
        steps = [
            f"install: cp @{{{name}}} /etc/lighttpd/conf-available/50-{site.name}.conf"
            f" && lighty-enable-mod {site.name}",
            "check:   lighttpd -tt -f /etc/lighttpd/lighttpd.conf",
            "reload:  systemctl reload lighttpd",
        ]
    steps.append(_gateway_unit_hint(site))
    return Plan("lighttpd", site, tuple(files), {}, _steps(*steps))


# -- process managers ------------------------------------------------------------------


def _serve_argv(site: Site, config: GatewayConfig) -> list[str]:
    _serve_options(site, config)  # what `gateway serve` refuses, refused now
    argv = [
        site.python,
        "-m",
        "gateway",
        "serve",
        site.toml_path,
        "--adapter",
        site.adapter,
    ]
    if site.adapter == "uwsgi" and site.options.uwsgi_http:
        argv.append("--http")
    return argv


_SERVICES = [name for name, adapter in ADAPTERS.items() if adapter.service]

#: Why an adapter that is not a service (``gateway.toml.ADAPTERS``) has no unit.
_NOT_A_SERVICE = {
    "cgi": "the cgi adapter is started by the web server once per request:"
    " use `gateway config apache-cgi` or `gateway config nginx` (fcgiwrap)",
    "mod_wsgi": "the mod_wsgi adapter runs inside Apache, which has its own unit:"
    " use `gateway config apache`",
    "dev": 'adapter "dev" is the development server: choose'
    f" {', '.join(_SERVICES[:-1])} or {_SERVICES[-1]} for a service",
}


@_planner("systemd", "systemd service (and .socket where the server inherits it)")
def _systemd(site: Site, config: GatewayConfig) -> Plan:
    if not ADAPTERS[site.adapter].service:
        raise DeployError(
            f'[server].adapter is "{site.adapter}": {_NOT_A_SERVICE[site.adapter]}'
        )
    _need_toml(site)
    _need_python(site)
    # gunicorn's arbiter takes its listening socket from LISTEN_FDS (and leaves
    # a unix socket file in place on exit). gevent, tornado and flup bind their
    # own; uWSGI could inherit one too, but its vacuum would unlink the socket
    # file systemd keeps listening on.
    activated = site.options.socket_activation and site.adapter == "gunicorn"
    listen = site.bind.removeprefix("unix:") if activated else ""
    files = [OutputFile(f"{site.name}.service", "systemd/service.j2")]
    if activated:
        files.append(OutputFile(f"{site.name}.socket", "systemd/socket.j2"))
    unit = f"{site.name}.socket" if activated else f"{site.name}.service"
    steps = [
        f"install: cp {' '.join('@{' + f.name + '}' for f in files)} /etc/systemd/system/"
        " && systemctl daemon-reload",
        f"check:   systemd-analyze verify /etc/systemd/system/{site.name}.service",
        f"start:   systemctl enable --now {unit}",
        f"reload:  systemctl reload {site.name}   ({RELOADS})",
        f"logs:    journalctl -u {site.name}",
    ]
    home = (site.python_home, site.workdir, site.toml_path, site.entry_dir)
    context = {
        "argv": _serve_argv(site, config),
        "activated": activated,
        "listen_stream": listen,
        "notify": site.adapter in ("gunicorn", "uwsgi"),
        "reload_signal": RELOAD_SIGNAL.name.removeprefix("SIG"),
        "stop_timeout": STOP_TIMEOUT,
        "runtime_directory": "" if activated else site.run_dir,
        "protect_home": "read-only"
        if any(p.startswith(("/home/", "/root/", "/root", "/run/user/")) for p in home)
        else "true",
    }
    return Plan("systemd", site, tuple(files), context, _steps(*steps))


@_planner("supervisor", "supervisord [program:x], or [fcgi-program:x] for FastCGI")
def _supervisor(site: Site, config: GatewayConfig) -> Plan:
    if not ADAPTERS[site.adapter].service:
        raise DeployError(
            f'[server].adapter is "{site.adapter}": {_NOT_A_SERVICE[site.adapter]}'
        )
    _need_toml(site)
    _need_python(site)
    fcgi = site.adapter == "fastcgi"
    if fcgi and site.workers > 1:
        raise DeployError(
            f"[server].workers = {site.workers}: supervisor's [fcgi-program:x] runs flup's"
            " threaded server, whose processes block in accept() and ignore SIGTERM"
            " when numprocs > 1; set workers = 1 (threads serve concurrency)"
        )
    name = f"{site.name}.supervisor.conf"
    steps = [
        f"install: cp @{{{name}}} /etc/supervisor/conf.d/{site.name}.conf",
        "check:   supervisorctl reread   (parses the configuration, lists what changed)",
        f"start:   supervisorctl update {site.name}",
        f"reload:  supervisorctl signal {RELOAD_SIGNAL.name.removeprefix('SIG')}"
        f" {site.name}   ({_FCGI_PROGRAM_RELOADS if fcgi else RELOADS})",
        f"restart: supervisorctl restart {site.name}",
    ]
    if site.run_dir:
        steps.insert(
            0,
            f"socket directory: install -d -o {site.user} -g {site.group} /run/{site.run_dir}"
            f"  (at boot: echo 'd /run/{site.run_dir} 0755 {site.user} {site.group} -'"
            f" > /etc/tmpfiles.d/{site.name}.conf)",
        )
    if fcgi:
        steps.insert(
            0,
            f"write the entry: gateway config fcgi-file {site.toml_path} -o {site.entry_dir}",
        )
    context = {
        "argv": [site.python, site.entry(".fcgi")]
        if fcgi
        else _serve_argv(site, config),
        "fcgi": fcgi,
        "stop_timeout": STOP_TIMEOUT,
    }
    return Plan(
        "supervisor",
        site,
        (OutputFile(name, "supervisor/program.conf.j2"),),
        context,
        _steps(*steps),
    )


@_planner("uwsgi", "uWSGI ini: the options `gateway serve --adapter uwsgi` runs with")
def _uwsgi(site: Site, config: GatewayConfig) -> Plan:
    _require_adapter(site, ("uwsgi",), "uwsgi", 'set adapter = "uwsgi"')
    _need_toml(site)
    name = f"{site.name}.uwsgi.ini"
    steps = [
        f"run:     uwsgi --ini @{{{name}}}   (as the service user; or"
        f" `gateway config systemd {site.toml_path}`, which runs the same options)",
        f"install: cp @{{{name}}} /etc/uwsgi/apps-available/{site.name}.ini"
        f" && ln -sf ../apps-available/{site.name}.ini /etc/uwsgi/apps-enabled/",
        "reload:  kill -HUP <master pid>   (graceful: workers finish their requests)",
    ]
    serve = _serve_options(site, config)
    standalone = Standalone(
        user=site.user,
        group=site.group,
        workdir=site.workdir,
        python_home=site.python_home,
        socket_mode=site.options.socket_mode.lstrip("0"),
    )
    context = {
        "options": uwsgi_options(
            site.toml_path, serve, name=site.name, standalone=standalone
        )
    }
    return Plan(
        "uwsgi", site, (OutputFile(name, "uwsgi/app.ini.j2"),), context, _steps(*steps)
    )


# -- entry files ------------------------------------------------------------------------


def _entry_plan(kind: str, entry_kind: str, site: Site, step: str) -> Plan:
    entry = _entry(entry_kind, site)
    return Plan(kind, site, (entry,), {}, (step.format(file=f"@{{{entry.name}}}"),))


@_planner("wsgi-file", "the .wsgi entry file mod_wsgi loads")
def _wsgi_file(site: Site, config: GatewayConfig) -> Plan:
    return _entry_plan(
        "wsgi-file",
        "mod_wsgi",
        site,
        "Apache's WSGIScriptAlias loads {file} (see `gateway config apache`)",
    )


@_planner("fcgi-file", "the .fcgi FastCGI program (flup)")
def _fcgi_file(site: Site, config: GatewayConfig) -> Plan:
    _single_process_cgi(site)
    return _entry_plan(
        "fcgi-file",
        "fastcgi",
        site,
        "test it by hand: {file} listens on [server].socket; mod_fcgid, lighttpd"
        " and supervisor spawn it with a socket on stdin",
    )


@_planner("cgi-file", "the .cgi CGI program (wsgiref CGIHandler)")
def _cgi_file(site: Site, config: GatewayConfig) -> Plan:
    _single_process_cgi(site)
    return _entry_plan(
        "cgi-file",
        "cgi",
        site,
        "test it by hand: REQUEST_METHOD=GET PATH_INFO=/ SERVER_NAME=localhost"
        " SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 {file}",
    )
