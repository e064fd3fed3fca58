"""Parsing and merging of the options ``gateway serve`` hands an adapter."""

from __future__ import annotations

import inspect

import pytest

from gateway.adapters.options import (
    GRACEFUL_TIMEOUT,
    OptionError,
    ServeOptions,
    check_exposure,
    check_tls,
    format_bind,
    normalize_script_name,
    parse_bind,
    resolve_options,
)
from gateway.toml import ADAPTERS, ServerConfig


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("127.0.0.1:8000", ("127.0.0.1", 8000), id="ipv4"),
        pytest.param("[::1]:8080", ("::1", 8080), id="ipv6"),
        pytest.param("localhost:1", ("localhost", 1), id="name"),
        pytest.param("unix:/run/app/app.sock", "/run/app/app.sock", id="unix"),
    ],
)
def test_parse_bind_accepts(value, expected):
    assert parse_bind(value) == expected
    assert format_bind(expected) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("8000", "host:port", id="port-only"),
        pytest.param("127.0.0.1:http", "port", id="named-port"),
        pytest.param("127.0.0.1:70000", "port", id="port-range"),
        pytest.param("unix:app.sock", "absolute path", id="relative-unix"),
        pytest.param("::1:80", "host:port", id="bare-ipv6"),
    ],
)
def test_parse_bind_rejects_with_the_fix(value, message):
    with pytest.raises(OptionError, match=message) as info:
        parse_bind(value)
    assert str(info.value).startswith("bind: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("/", "", id="root"),
        pytest.param("/app", "/app", id="prefix"),
        pytest.param("/app/", "/app", id="trailing-slash"),
        pytest.param("/a/b", "/a/b", id="nested"),
    ],
)
def test_normalize_script_name(value, expected):
    assert normalize_script_name(value) == expected


@pytest.mark.parametrize("value", ["app", "//app", "/a/../b", "/a//b"])
def test_normalize_script_name_rejects(value):
    with pytest.raises(OptionError, match="script_name"):
        normalize_script_name(value)


SERVER = ServerConfig(
    bind="127.0.0.1:8000", socket="/run/site/site.sock", workers=2, threads=4
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {},
            ServeOptions(
                bind=("127.0.0.1", 8000),
                socket="/run/site/site.sock",
                workers=2,
                threads=4,
            ),
            id="config-only",
        ),
        pytest.param(
            {"bind": "127.0.0.1:9000", "workers": 3},
            ServeOptions(
                bind=("127.0.0.1", 9000),
                socket=("127.0.0.1", 9000),
                workers=3,
                threads=4,
            ),
            id="bind-replaces-socket",
        ),
        pytest.param(
            {"bind": "unix:/tmp/x.sock", "threads": 1, "script_name": "/app/"},
            ServeOptions(
                bind="/tmp/x.sock",
                socket="/tmp/x.sock",
                workers=2,
                threads=1,
                script_name="/app",
            ),
            id="unix-and-prefix",
        ),
        pytest.param(
            {"graceful_timeout": 0.5, "reload": True, "http": True},
            ServeOptions(
                bind=("127.0.0.1", 8000),
                socket="/run/site/site.sock",
                workers=2,
                threads=4,
                graceful_timeout=0.5,
                reload=True,
                http=True,
            ),
            id="flags",
        ),
    ],
)
def test_resolve_options_merges_overrides(overrides, expected):
    assert resolve_options(SERVER, **overrides) == expected


def test_resolve_options_carries_the_connection_timeouts():
    server = ServerConfig(header_timeout=7.5, keepalive_timeout=0)
    options = resolve_options(server)
    assert (options.header_timeout, options.keepalive_timeout) == (7.5, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"workers": 0}, "workers: expected an integer >= 1", id="workers"),
        pytest.param({"threads": 0}, "threads: expected an integer >= 1", id="threads"),
        pytest.param({"graceful_timeout": -1}, "graceful_timeout", id="timeout"),
        pytest.param({"bind": "nowhere"}, "bind: ", id="bind"),
    ],
)
def test_resolve_options_rejects(overrides, message):
    with pytest.raises(OptionError, match=message):
        resolve_options(SERVER, **overrides)


def test_resolve_options_uses_bind_as_socket_when_no_socket_is_configured():
    options = resolve_options(ServerConfig(bind="unix:/srv/gw.sock", socket=""))
    assert options.socket == "/srv/gw.sock"


def test_one_graceful_timeout_default() -> None:
    """The default of ServeOptions, of --graceful-timeout, and of every
    serve() that stops gracefully is GRACEFUL_TIMEOUT (deploy's process
    managers wait for it too: tests/deploy/test_kinds.py)."""
    import importlib

    from click.testing import CliRunner

    from gateway.adapters.cli import serve_command

    assert ServeOptions().graceful_timeout == GRACEFUL_TIMEOUT
    assert resolve_options(ServerConfig()).graceful_timeout == GRACEFUL_TIMEOUT
    for name in ("gevent", "gunicorn", "tornado"):
        serve = importlib.import_module(f"gateway.adapters.{name}").serve
        default = inspect.signature(serve).parameters["graceful_timeout"].default
        assert default == GRACEFUL_TIMEOUT, name
    help_text = CliRunner().invoke(serve_command, ["--help"]).output
    assert f"[default: {GRACEFUL_TIMEOUT:g}]" in " ".join(help_text.split())


def test_serve_options_default_to_the_server_table() -> None:
    # Without [server].socket, fastcgi and uwsgi listen where HTTP would.
    assert resolve_options(ServerConfig()) == ServeOptions(socket=ServeOptions.bind)


#: adapter, bind, http mode, behind_proxy -> "refused", "notice" or None.
EXPOSURE = [
    pytest.param(
        "gunicorn", "127.0.0.1:8000", False, False, "notice", id="gunicorn-loopback"
    ),
    pytest.param(
        "gunicorn", "127.9.9.9:8000", False, False, "notice", id="gunicorn-127/8"
    ),
    pytest.param(
        "gunicorn", "[::1]:8000", False, False, "notice", id="gunicorn-ipv6-loopback"
    ),
    pytest.param(
        "gunicorn", "localhost:8000", False, False, "notice", id="gunicorn-localhost"
    ),
    pytest.param(
        "gunicorn", "unix:/run/gw.sock", False, False, "notice", id="gunicorn-unix"
    ),
    pytest.param(
        "gunicorn", "0.0.0.0:8000", False, False, "refused", id="gunicorn-any"
    ),
    pytest.param(
        "gunicorn", "[::]:8000", False, False, "refused", id="gunicorn-any-v6"
    ),
    pytest.param(
        "gunicorn", "192.0.2.10:80", False, False, "refused", id="gunicorn-public"
    ),
    pytest.param("gunicorn", "web1:8000", False, False, "refused", id="gunicorn-name"),
    pytest.param(
        "gunicorn", "0.0.0.0:8000", False, True, "notice", id="gunicorn-behind-proxy"
    ),
    pytest.param("uwsgi", "0.0.0.0:8000", True, False, "refused", id="uwsgi-http-any"),
    pytest.param(
        "uwsgi", "0.0.0.0:8000", True, True, "notice", id="uwsgi-http-behind-proxy"
    ),
    pytest.param(
        "uwsgi", "127.0.0.1:8000", True, False, "notice", id="uwsgi-http-loopback"
    ),
    pytest.param("uwsgi", "0.0.0.0:8000", False, False, None, id="uwsgi-protocol"),
    pytest.param("gevent", "0.0.0.0:8000", False, False, None, id="gevent"),
    pytest.param("tornado", "0.0.0.0:8000", False, False, None, id="tornado"),
]


@pytest.mark.parametrize(("adapter", "bind", "http", "behind", "outcome"), EXPOSURE)
def test_servers_starved_by_slow_clients_face_them_only_behind_a_proxy(
    adapter, bind, http, behind, outcome
):
    options = ServeOptions(bind=parse_bind(bind), http=http, behind_proxy=behind)
    if outcome == "refused":
        with pytest.raises(OptionError) as caught:
            check_exposure(adapter, options)
        message = str(caught.value)
        assert message.startswith(
            f"bind: {adapter} would listen on {format_bind(parse_bind(bind))}"
        )
        for fix in ("behind_proxy = true", "--behind-proxy", "127.0.0.1", "gevent"):
            assert fix in message
    elif outcome == "notice":
        notice = check_exposure(adapter, options)
        assert notice is not None and "buffering proxy" in notice
    else:
        assert check_exposure(adapter, options) is None


def test_only_the_starved_adapters_need_a_proxy():
    """The rule is declared on the adapter (gateway.toml.ADAPTERS), and the
    [server].behind_proxy doc names exactly those."""
    starved = {name for name, a in ADAPTERS.items() if a.needs_buffering_proxy}
    assert starved == {"gunicorn", "uwsgi"}
    doc = ServerConfig.__dataclass_fields__["behind_proxy"].metadata
    assert all(name in str(doc) for name in starved)


def test_behind_proxy_comes_from_the_server_table_unless_overridden():
    assert not resolve_options(ServerConfig()).behind_proxy
    assert resolve_options(ServerConfig(behind_proxy=True)).behind_proxy
    assert not resolve_options(
        ServerConfig(behind_proxy=True), behind_proxy=False
    ).behind_proxy


def test_serve_tls_hands_the_adapter_the_certificate_and_key():
    pair = {"tls_cert": "/etc/ssl/site.pem", "tls_key": "/etc/ssl/site.key"}
    front = resolve_options(ServerConfig(**pair))
    assert (front.tls_cert, front.tls_key) == ("", ""), "the front server's pair"
    direct = resolve_options(ServerConfig(**pair, serve_tls=True))
    assert (direct.tls_cert, direct.tls_key) == (pair["tls_cert"], pair["tls_key"])


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_only_an_adapter_that_speaks_tls_takes_serve_tls(adapter):
    options = ServeOptions(tls_cert="/c.pem", tls_key="/k.pem")
    check_tls(adapter, ServeOptions())  # without serve_tls: nothing to check
    if ADAPTERS[adapter].tls:
        check_tls(adapter, options)
    else:
        with pytest.raises(
            OptionError, match=f"the {adapter} adapter does not speak TLS"
        ):
            check_tls(adapter, options)
