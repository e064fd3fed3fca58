"""A server's options are declared once (gateway/adapters/), and both the
command line ``gateway serve`` runs and the file ``gateway config`` writes
are rendered from them: each test renders both for the same gateway.toml and
compares them, option by option (uWSGI: the ini; mod_wsgi: Apache's
WSGIDaemonProcess)."""

from __future__ import annotations

import typing as t

import pytest

from gateway.adapters.mod_wsgi import express_argv
from gateway.adapters.options import resolve_options
from gateway.adapters.uwsgi import uwsgi_argv
from gateway.deploy import render
from gateway.toml import GatewayConfig


def argv_options(argv: list[str]) -> list[tuple[str, str]]:
    """``--name value`` / ``--name=value`` / ``--flag`` as (name, value)."""
    out = []
    rest = list(argv)
    while rest:
        token = rest.pop(0)
        assert token.startswith("--"), token
        name, equals, value = token[2:].partition("=")
        if not equals:
            value = rest.pop(0) if rest and not rest[0].startswith("--") else "true"
        out.append((name, value))
    return out


def ini_options(text: str) -> list[tuple[str, str]]:
    """``name = value`` lines of a uWSGI ini's ``[uwsgi]`` section."""
    out = []
    lines = [line.strip() for line in text.splitlines()]
    assert "[uwsgi]" in lines
    for line in lines[lines.index("[uwsgi]") + 1 :]:
        if line and not line.startswith(";"):
            name, _, value = line.partition(" = ")
            out.append((name, value))
    return out


#: What only the ini sets: ``gateway serve`` gets the account, directory,
#: virtualenv and locale from the process that starts it, and opens its
#: socket to everyone (the ini gives it to the account instead).
def file_only(config: GatewayConfig) -> list[tuple[str, str]]:
    server = config.server
    return [
        ("uid", server.user),
        ("gid", server.group),
        ("chdir", server.workdir),
        ("home", server.python_home),
        ("env", "LANG=C.UTF-8"),
    ]


UWSGI = [
    pytest.param("", False, id="uwsgi-protocol"),
    pytest.param('script_name = "/gw"', False, id="uwsgi-protocol-sub-path"),
    pytest.param('bind = "127.0.0.1:9100"\nscript_name = "/gw"', True, id="http"),
    pytest.param('bind = "unix:/run/acme/http.sock"', True, id="http-unix"),
    pytest.param('socket = "/srv/acme/u.sock"', False, id="socket"),
]


@pytest.mark.parametrize(("server", "http"), UWSGI)
def test_the_uwsgi_ini_runs_the_options_gateway_serve_runs(
    make_config: t.Callable[..., GatewayConfig], server: str, http: bool
) -> None:
    config = make_config("tenants", "uwsgi", server)
    assert config.path is not None
    (ini,) = render("uwsgi", config, uwsgi_http=http).values()
    in_file = ini_options(ini)
    argv = uwsgi_argv(
        "/venv/bin/uwsgi",
        str(config.path),
        resolve_options(config.server, http=http),
        name=config.name,
    )
    assert argv[0] == "/venv/bin/uwsgi"
    on_command_line = argv_options(argv[1:])

    extra = file_only(config)
    unix = dict(on_command_line).get("chmod-socket") is not None
    if unix:
        user, group = config.server.user, config.server.group
        extra.append(("chown-socket", f"{user}:{group}"))
    assert [o for o in in_file if o in extra] == extra
    shared = [o for o in in_file if o not in extra]

    def socket_mode_aside(options: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, "MODE" if n == "chmod-socket" else v) for n, v in options]

    assert socket_mode_aside(shared) == socket_mode_aside(on_command_line)
    assert ("chmod-socket", "666") in on_command_line or not unix
    assert ("chmod-socket", "660") in in_file or not unix
    for options in (in_file, on_command_line):
        assert "lazy-apps" not in dict(options)  # see gateway/adapters/uwsgi.py


def daemon_process_options(text: str) -> list[tuple[str, str]]:
    """``name=value`` options of the ``WSGIDaemonProcess`` line of an
    Apache config (after the group name)."""
    (line,) = [x for x in text.splitlines() if x.startswith("WSGIDaemonProcess ")]
    return [
        (name, value.strip('"'))
        for name, _, value in (word.partition("=") for word in line.split()[2:])
    ]


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("", id="defaults"),
        pytest.param('user = "web"\ngroup = "web"', id="account"),
    ],
)
def test_the_apache_config_runs_the_daemon_mod_wsgi_express_runs(
    make_config: t.Callable[..., GatewayConfig], server: str
) -> None:
    config = make_config("tenants", "mod_wsgi", server)
    (conf,) = render("apache", config).values()
    in_file = daemon_process_options(conf)
    argv = express_argv(
        "/venv/bin/mod_wsgi-express",
        "/srv/acme.wsgi",
        "/tmp/root",
        resolve_options(config.server),
        as_root=False,
    )
    on_command_line = argv_options(argv[3:])
    shared = [(n, v) for n, v in on_command_line if n in dict(in_file)]
    assert [(n, v) for n, v in in_file if n in dict(on_command_line)] == shared
    assert {n for n, _ in shared} >= {"processes", "threads", "shutdown-timeout"}
    # What express takes from its own process (or, as root, --user/--group),
    # Apache's daemon process is told.
    server_table = config.server
    assert [o for o in in_file if o not in shared] == [
        ("python-home", server_table.python_home),
        ("home", server_table.workdir),
        ("user", server_table.user),
        ("group", server_table.group),
        ("display-name", "%{GROUP}"),
    ]
