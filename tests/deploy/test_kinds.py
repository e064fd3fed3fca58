"""What each kind writes, and the gateway.toml shapes a kind refuses with a
message naming the key and the fix."""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path

import pytest

from gateway.adapters.options import GRACEFUL_TIMEOUT
from gateway.deploy import KINDS, DeployError, make_plan, render
from gateway.deploy.kinds import STOP_MARGIN, plan
from gateway.deploy.model import DeployOptions, build_site
from gateway.toml import ADAPTERS, GatewayConfig, ProxyConfig, StaticConfig


def with_server(config: GatewayConfig, **changes: t.Any) -> GatewayConfig:
    return config.replace(server=dataclasses.replace(config.server, **changes))


# (kind, adapter, change to the loaded config, expected message fragment)
REFUSED: list[t.Any] = [
    pytest.param(
        "nginx",
        "mod_wsgi",
        {},
        "runs inside Apache: use `gateway config apache`",
        id="nginx-cannot-reach-mod_wsgi",
    ),
    pytest.param(
        "nginx",
        "gunicorn",
        {"proxy": ProxyConfig(trusted=("10.0.0.0/8",))},
        "[proxy].trusted does not include 127.0.0.1",
        id="nginx-untrusted-loopback",
    ),
    pytest.param(
        "nginx",
        "cgi",
        {"workers": 4},
        "[server].workers = 4: the cgi adapter",
        id="nginx-cgi-with-workers",
    ),
    pytest.param(
        "apache", "gunicorn", {}, 'adapter = "mod_wsgi"', id="apache-needs-mod_wsgi"
    ),
    pytest.param(
        "apache",
        "mod_wsgi",
        {"user": "root"},
        "refuses to run its daemon processes as root",
        id="apache-mod_wsgi-as-root",
    ),
    pytest.param(
        "apache",
        "mod_wsgi",
        {"backends": ("10.0.0.2:80",)},
        "[server].backends",
        id="apache-mod_wsgi-backends",
    ),
    pytest.param(
        "apache-proxy", "fastcgi", {}, "use apache-fcgid", id="apache-proxy-needs-http"
    ),
    pytest.param(
        "apache-proxy",
        "gevent",
        {"proxy": ProxyConfig(trusted=("::1/128",))},
        "[proxy].trusted does not include 127.0.0.1",
        id="apache-proxy-untrusted",
    ),
    pytest.param(
        "apache-fcgid",
        "fastcgi",
        {"backends": ("10.0.0.2:80",)},
        "mod_fcgid spawns the FastCGI processes",
        id="fcgid-backends",
    ),
    pytest.param(
        "apache-fcgid", "cgi", {}, 'set adapter = "fastcgi"', id="fcgid-needs-fastcgi"
    ),
    pytest.param(
        "apache-cgi",
        "cgi",
        {"workers": 2},
        "[server].workers = 2",
        id="cgi-with-workers",
    ),
    pytest.param(
        "htaccess-cgi",
        "cgi",
        {"tls_cert": "/c.pem", "tls_key": "/k.pem"},
        "on shared hosting the host terminates TLS",
        id="htaccess-tls",
    ),
    pytest.param(
        "htaccess-fcgi",
        "fastcgi",
        {"static": (StaticConfig("/s", Path("/s"), host="example.com"),)},
        'use host = "*"',
        id="htaccess-host-static",
    ),
    pytest.param(
        "lighttpd", "gevent", {}, 'set adapter = "fastcgi"', id="lighttpd-needs-fastcgi"
    ),
    pytest.param(
        "lighttpd",
        "fastcgi",
        {"proxy": ProxyConfig(x_for=2)},
        "[proxy].x_for = 2: lighttpd",
        id="lighttpd-cannot-append",
    ),
    pytest.param(
        "lighttpd",
        "fastcgi",
        {"proxy": ProxyConfig(forwarded=True)},
        "[proxy].forwarded = true: lighttpd",
        id="lighttpd-no-rfc7239",
    ),
    pytest.param(
        "systemd",
        "cgi",
        {},
        "started by the web server once per request",
        id="systemd-cgi",
    ),
    pytest.param(
        "systemd", "mod_wsgi", {}, "runs inside Apache", id="systemd-mod_wsgi"
    ),
    pytest.param(
        "supervisor", "dev", {}, "the development server", id="supervisor-dev"
    ),
    pytest.param(
        "supervisor",
        "fastcgi",
        {"workers": 2},
        "[server].workers = 2: supervisor's [fcgi-program:x]",
        id="supervisor-fcgi-numprocs",
    ),
    pytest.param(
        "uwsgi", "gevent", {}, 'set adapter = "uwsgi"', id="uwsgi-needs-uwsgi"
    ),
    pytest.param(
        "cgi-file", "cgi", {"workers": 3}, "[server].workers = 3", id="cgi-file-workers"
    ),
    *(
        pytest.param(
            kind,
            "gunicorn",
            {"bind": "0.0.0.0:8000"},
            "[server].bind: gunicorn would listen on 0.0.0.0:8000",
            id=f"{kind}-gunicorn-facing-clients",
        )
        for kind in ("systemd", "supervisor")
    ),
    pytest.param(
        "systemd",
        "gevent",
        {"serve_tls": True, "tls_cert": "/c.pem", "tls_key": "/k.pem"},
        "[server].serve_tls: the gevent adapter does not speak TLS itself",
        id="systemd-serve-tls-gevent",
    ),
    *(
        pytest.param(
            kind,
            "granian",
            {"serve_tls": True, "tls_cert": "/c.pem", "tls_key": "/k.pem"},
            "[server].serve_tls = true: the adapter speaks TLS to clients itself",
            id=f"{kind}-in-front-of-serve-tls",
        )
        for kind in ("nginx", "apache-proxy")
    ),
]


@pytest.mark.parametrize(("kind", "adapter", "change", "message"), REFUSED)
def test_inexpressible_configs_are_refused_with_the_key_and_fix(
    kind: str,
    adapter: str,
    change: dict[str, t.Any],
    message: str,
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    config = make_config("mounts", adapter)
    change = dict(change)
    proxy = change.pop("proxy", None)
    config = with_server(config, **change)
    if proxy is not None:
        config = config.replace(proxy=proxy)
    with pytest.raises(DeployError) as info:
        render(kind, config)
    assert message in str(info.value)


@pytest.mark.parametrize("kind", ["systemd", "supervisor", "nginx"])
def test_gunicorn_may_listen_anywhere_when_a_proxy_is_in_front(
    kind: str, make_config: t.Callable[..., GatewayConfig]
) -> None:
    config = with_server(
        make_config("mounts", "gunicorn"), bind="0.0.0.0:8000", behind_proxy=True
    )
    assert render(kind, config)


def test_unknown_kind_lists_the_known_ones(
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    with pytest.raises(
        DeployError, match="unknown kind 'caddy'; choose one of: nginx, apache,"
    ):
        render("caddy", make_config())


def test_config_built_in_python_needs_toml_path(
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    config = make_config("tenants", "gevent").replace(path=None)
    with pytest.raises(DeployError, match="pass toml_path="):
        render("systemd", config)
    files = render("systemd", config, toml_path="/srv/acme/gateway.toml")
    assert "serve /srv/acme/gateway.toml --adapter gevent" in files["acme.service"]


def test_standalone_apache_needs_the_mod_wsgi_module(
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    config = make_config("tenants", "mod_wsgi")
    site = build_site(
        "apache", config, DeployOptions(standalone=True, python="/usr/bin/python3")
    )
    with pytest.raises(DeployError, match="option mod_wsgi_module: .*module-config"):
        plan(site, config)


@pytest.mark.parametrize(
    ("kind", "adapter", "options", "names", "executable"),
    [
        pytest.param(
            "nginx", "gunicorn", {}, ["paths.nginx.conf"], [], id="nginx-site"
        ),
        pytest.param(
            "nginx",
            "gunicorn",
            {"standalone": True},
            ["nginx.conf"],
            [],
            id="nginx-standalone",
        ),
        pytest.param("apache", "mod_wsgi", {}, ["paths.apache.conf"], [], id="apache"),
        pytest.param(
            "apache-proxy",
            "gevent",
            {"standalone": True},
            ["httpd.conf"],
            [],
            id="apache-standalone",
        ),
        pytest.param(
            "htaccess-fcgi",
            "fastcgi",
            {},
            [".htaccess", "paths.fcgi"],
            ["paths.fcgi"],
            id="htaccess-bundles-its-program",
        ),
        pytest.param(
            "lighttpd", "fastcgi", {}, ["paths.lighttpd.conf"], [], id="lighttpd"
        ),
        pytest.param(
            "systemd",
            "gunicorn",
            {},
            ["paths.service", "paths.socket"],
            [],
            id="systemd-socket-activated",
        ),
        pytest.param(
            "systemd",
            "gunicorn",
            {"socket_activation": False},
            ["paths.service"],
            [],
            id="systemd-without-activation",
        ),
        pytest.param("systemd", "uwsgi", {}, ["paths.service"], [], id="systemd-uwsgi"),
        pytest.param(
            "supervisor", "gevent", {}, ["paths.supervisor.conf"], [], id="supervisor"
        ),
        pytest.param("uwsgi", "uwsgi", {}, ["paths.uwsgi.ini"], [], id="uwsgi"),
        pytest.param("wsgi-file", "mod_wsgi", {}, ["paths.wsgi"], [], id="wsgi-file"),
        pytest.param(
            "fcgi-file", "fastcgi", {}, ["paths.fcgi"], ["paths.fcgi"], id="fcgi-file"
        ),
        pytest.param(
            "cgi-file", "cgi", {}, ["paths.cgi"], ["paths.cgi"], id="cgi-file"
        ),
    ],
)
def test_plan_names_files_and_executables(
    kind: str,
    adapter: str,
    options: dict[str, t.Any],
    names: list[str],
    executable: list[str],
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    result = make_plan(kind, make_config("mounts", adapter), **options)
    assert [f.name for f in result.files] == names
    assert [f.name for f in result.files if f.executable] == executable
    assert result.next_steps, "every kind tells what to do next"


@pytest.mark.parametrize(
    ("kind", "adapter", "options", "check", "reload"),
    [
        pytest.param(
            "nginx", "gunicorn", {}, "nginx -t", "systemctl reload nginx", id="nginx"
        ),
        pytest.param(
            "nginx",
            "uwsgi",
            {"standalone": True},
            "nginx -t -c @{nginx.conf}",
            "nginx -s reload -c @{nginx.conf}",
            id="nginx-standalone",
        ),
        pytest.param(
            "apache",
            "mod_wsgi",
            {},
            "apache2ctl configtest",
            "systemctl reload apache2",
            id="apache",
        ),
        pytest.param(
            "lighttpd",
            "fastcgi",
            {"standalone": True},
            "lighttpd -tt -f @{lighttpd.conf}",
            "kill -USR1",
            id="lighttpd",
        ),
        pytest.param(
            "systemd",
            "gunicorn",
            {},
            "systemd-analyze verify",
            "systemctl reload acme",
            id="systemd-gunicorn",
        ),
        pytest.param(
            "systemd",
            "gevent",
            {},
            "systemd-analyze verify",
            "systemctl reload acme",
            id="systemd-gevent",
        ),
        pytest.param(
            "systemd",
            "fastcgi",
            {},
            "systemd-analyze verify",
            "systemctl reload acme",
            id="systemd-fastcgi",
        ),
        pytest.param(
            "supervisor",
            "uwsgi",
            {},
            "supervisorctl reread",
            "supervisorctl signal HUP acme",
            id="supervisor",
        ),
        pytest.param(
            "supervisor",
            "tornado",
            {},
            "supervisorctl reread",
            "supervisorctl signal HUP acme",
            id="supervisor-tornado",
        ),
    ],
)
def test_next_steps_name_the_check_and_reload_commands(
    kind: str,
    adapter: str,
    options: dict[str, t.Any],
    check: str,
    reload: str,
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    steps = "\n".join(
        make_plan(kind, make_config("tenants", adapter), **options).next_steps
    )
    assert check in steps
    assert reload in steps


def test_dev_adapter_behind_nginx_warns(
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    result = make_plan("nginx", make_config("tenants", "dev"))
    assert any("development server" in w for w in result.warnings)


def test_every_kind_is_documented() -> None:
    from gateway.deploy import DESCRIPTIONS

    assert set(DESCRIPTIONS) == set(KINDS)
    assert KINDS[:2] == ("nginx", "apache")


@pytest.mark.parametrize(
    ("adapter", "expected"),
    [
        pytest.param(
            "fastcgi",
            "install -d -o www-data -g www-data /run/acme",
            id="socket-in-run",
        ),
        pytest.param("gevent", None, id="tcp"),
    ],
)
def test_supervisor_says_to_create_the_socket_directory(
    make_config: t.Callable[..., GatewayConfig], adapter: str, expected: str | None
) -> None:
    steps = "\n".join(
        make_plan("supervisor", make_config("tenants", adapter)).next_steps
    )
    if expected is None:
        assert "install -d" not in steps
    else:
        assert expected in steps
        assert "/etc/tmpfiles.d/acme.conf" in steps


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize("kind", ["systemd", "supervisor"])
def test_process_managers_run_exactly_the_adapters_that_are_services(
    make_config: t.Callable[..., GatewayConfig], kind: str, adapter: str
) -> None:
    """gateway.toml's adapter list says which adapters run as a service of
    their own; the others are refused, saying what to use instead."""
    config = make_config("tenants", adapter)
    if ADAPTERS[adapter].service:
        assert render(kind, config)
    else:
        with pytest.raises(
            DeployError, match=f'adapter is "{adapter}": .* (use|choose) '
        ):
            render(kind, config)


def test_process_managers_wait_the_graceful_timeout_and_a_margin(
    make_config: t.Callable[..., GatewayConfig],
) -> None:
    wait = round(GRACEFUL_TIMEOUT) + STOP_MARGIN
    config = make_config("tenants", "gunicorn")
    name = config.name
    unit = render("systemd", config)[f"{name}.service"]
    program = render("supervisor", config)[f"{name}.supervisor.conf"]
    assert f"\nTimeoutStopSec={wait}\n" in unit
    assert f"\nstopwaitsecs={wait}\n" in program
