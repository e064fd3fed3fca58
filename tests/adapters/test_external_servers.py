"""uWSGI and mod_wsgi-express are other programs: the command lines the
adapters exec, and the permission check done before Apache drops to www-data."""

from __future__ import annotations

import os

import pytest

from gateway.adapters import CannotServe
from gateway.adapters.mod_wsgi import express_argv, untraversable_ancestor
from gateway.adapters.options import ServeOptions
from gateway.adapters.uwsgi import uwsgi_argv


def _value(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


@pytest.mark.parametrize(
    ("options", "listen_flag", "listen", "unix"),
    [
        pytest.param(
            ServeOptions(socket="/run/gw/gw.sock"),
            "--socket",
            "/run/gw/gw.sock",
            True,
            id="uwsgi-unix",
        ),
        pytest.param(
            ServeOptions(socket=("127.0.0.1", 3031)),
            "--socket",
            "127.0.0.1:3031",
            False,
            id="uwsgi-tcp",
        ),
        pytest.param(
            ServeOptions(bind=("::1", 8080), http=True),
            "--http-socket",
            "[::1]:8080",
            False,
            id="http-ipv6",
        ),
    ],
)
def test_uwsgi_argv_listens_where_asked(options, listen_flag, listen, unix):
    argv = uwsgi_argv("/venv/bin/uwsgi", "/srv/gateway.toml", options)
    assert _value(argv, listen_flag) == [listen]
    assert ("--chmod-socket=666" in argv) is unix and ("--vacuum" in argv) is unix


def test_uwsgi_argv_has_the_options_a_gateway_needs():
    options = ServeOptions(
        workers=3,
        threads=2,
        graceful_timeout=12.4,
        script_name="/app",
        socket="/s.sock",
    )
    argv = uwsgi_argv("/venv/bin/uwsgi", "/srv/gateway.toml", options, name="acme")
    assert argv[0] == "/venv/bin/uwsgi"
    for flag in ("--master", "--need-app", "--die-on-term", "--strict"):
        assert flag in argv
    assert "--lazy-apps" not in argv  # see gateway/adapters/uwsgi.py
    assert _value(argv, "--hook-master-start") == [
        "unix_signal:15 gracefully_kill_them_all"
    ]
    assert _value(argv, "--processes") == ["3"] and _value(argv, "--threads") == ["2"]
    assert _value(argv, "--worker-reload-mercy") == ["12"]
    assert _value(argv, "--module") == ["gateway.adapters.uwsgi_app:application"]
    # Behind uwsgi_pass nginx passes SCRIPT_NAME itself: no prefix of our own.
    assert _value(argv, "--env") == ["GATEWAY_CONFIG=/srv/gateway.toml"]
    assert _value(argv, "--add-header") == []  # nginx speaks HTTP to the client


def test_uwsgi_http_mode_sets_the_prefix_and_pins_the_scheme():
    options = ServeOptions(script_name="/app", http=True)
    argv = uwsgi_argv("/venv/bin/uwsgi", "/srv/gateway.toml", options)
    assert _value(argv, "--env") == [
        "GATEWAY_CONFIG=/srv/gateway.toml",
        "GATEWAY_SCRIPT_NAME=/app",
        "GATEWAY_URL_SCHEME=http",
    ]
    # One request per connection, said out loud (tests/integration/test_pipelining.py).
    assert _value(argv, "--add-header") == ["Connection: close"]


@pytest.mark.parametrize(
    ("as_root", "has_user"),
    [
        pytest.param(True, True, id="root-drops-to-user"),
        pytest.param(False, False, id="unprivileged"),
    ],
)
def test_express_argv(as_root, has_user):
    options = ServeOptions(
        bind=("127.0.0.1", 8123), workers=2, threads=5, user="web", group="webg"
    )
    argv = express_argv(
        "/venv/bin/mod_wsgi-express", "/r/x.wsgi", "/r", options, as_root=as_root
    )
    assert argv[1:3] == ["start-server", "/r/x.wsgi"]
    assert _value(argv, "--port") == ["8123"] and _value(argv, "--host") == [
        "127.0.0.1"
    ]
    assert _value(argv, "--processes") == ["2"] and _value(argv, "--threads") == ["5"]
    assert _value(argv, "--locale") == ["C.UTF-8"] and "--log-to-terminal" in argv
    assert (_value(argv, "--user") == ["web"]) is has_user


def test_express_refuses_a_unix_socket():
    with pytest.raises(CannotServe, match="TCP only"):
        express_argv("x", "e", "r", ServeOptions(bind="/tmp/s.sock"), as_root=False)


def test_untraversable_ancestor_finds_the_closed_directory(server_dir):
    closed = server_dir / "home"
    inner = closed / "python" / "lib"
    inner.mkdir(parents=True)
    closed.chmod(0o700)
    try:
        nobody = 65534
        assert untraversable_ancestor(inner, nobody, {nobody}) == closed
        closed.chmod(0o711)
        assert untraversable_ancestor(inner, nobody, {nobody}) is None
        assert untraversable_ancestor(inner, 0, {0}) is None
        owner = os.stat(closed).st_uid
        closed.chmod(0o700)
        assert untraversable_ancestor(inner, owner, {owner}) is None
    finally:
        closed.chmod(0o755)
