"""The granian adapter's pure parts: its settings and the environ cleaner."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from gateway.adapters.granian import granian_settings, without_process_environ


@pytest.mark.parametrize(
    ("bind", "listen"),
    [
        pytest.param(
            ("127.0.0.1", 8000), {"address": "127.0.0.1", "port": 8000}, id="tcp"
        ),
        pytest.param(("::1", 8000), {"address": "::1", "port": 8000}, id="ipv6"),
        pytest.param(
            "/run/gw/gw.sock",
            {"uds": "/run/gw/gw.sock", "uds_permissions": 0o666},
            id="unix",
        ),
    ],
)
def test_settings_listen_where_bind_says(bind: t.Any, listen: dict[str, t.Any]) -> None:
    settings = granian_settings(bind=bind, workers=2, threads=4, graceful_timeout=30)
    assert {k: settings[k] for k in listen} == listen
    assert not {"address", "port", "uds"} - set(listen) & set(settings)


@pytest.mark.parametrize("threads", [1, 4, 32])
def test_threads_run_requests_and_connections_are_not_bounded_by_them(
    threads: int,
) -> None:
    """backpressure bounds connections, idle and half-sent ones included: it
    stays granian's default (tests/integration/test_slow_clients.py)."""
    settings = granian_settings(
        bind=("127.0.0.1", 1), workers=3, threads=threads, graceful_timeout=5
    )
    assert settings["workers"] == 3
    assert settings["blocking_threads"] == threads
    assert "backpressure" not in settings


@pytest.mark.parametrize(
    ("graceful", "kill_after"), [(30, 30), (0, 1), (2.4, 2), (0.2, 1)]
)
def test_workers_are_killed_only_after_the_graceful_timeout(
    graceful: float, kill_after: int
) -> None:
    settings = granian_settings(
        bind=("127.0.0.1", 1), workers=1, threads=1, graceful_timeout=graceful
    )
    assert settings["workers_kill_timeout"] == kill_after
    assert settings["respawn_failed_workers"] is True
    assert settings["log_access"] is False
    assert settings["interface"] == "wsgi"


@pytest.mark.parametrize(
    ("header_timeout", "keepalive_timeout", "http1"),
    [
        pytest.param(
            20.0, 5.0, {"header_read_timeout": 20000, "keep_alive": True}, id="default"
        ),
        pytest.param(
            2.5,
            0,
            {"header_read_timeout": 2500, "keep_alive": False},
            id="no-keepalive",
        ),
        pytest.param(
            0.0001, 1, {"header_read_timeout": 1, "keep_alive": True}, id="tiny"
        ),
    ],
)
def test_connection_timeouts_become_granian_http1_settings(
    header_timeout: float, keepalive_timeout: float, http1: dict[str, t.Any]
) -> None:
    settings = granian_settings(
        bind=("127.0.0.1", 1),
        workers=1,
        threads=1,
        graceful_timeout=1,
        header_timeout=header_timeout,
        keepalive_timeout=keepalive_timeout,
    )
    assert settings["http1_settings"] == http1


def test_tls_settings_come_only_with_a_certificate() -> None:
    plain = granian_settings(
        bind=("127.0.0.1", 1), workers=1, threads=1, graceful_timeout=1
    )
    assert not {"ssl_cert", "ssl_key", "ssl_protocol_min"} & set(plain)
    tls = granian_settings(
        bind=("127.0.0.1", 1),
        workers=1,
        threads=1,
        graceful_timeout=1,
        tls_cert="/c.pem",
        tls_key="/k.pem",
    )
    assert (tls["ssl_cert"], tls["ssl_key"]) == (Path("/c.pem"), Path("/k.pem"))
    assert tls["ssl_protocol_min"] == "tls1.2"
    assert tls["http"] == "auto"  # HTTP/2 by ALPN


def echo(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
    start_response("200 OK", [])
    return [repr(sorted(environ.items())).encode()]


def call(environment: dict[str, str], environ: dict[str, t.Any]) -> dict[str, t.Any]:
    """What an app under without_process_environ(environment) sees."""
    seen: list[dict[str, t.Any]] = []

    def spy(environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        seen.append(dict(environ))
        return []

    wrapped = without_process_environ(spy, environment)
    wrapped(environ, lambda *a: None)
    return seen[0]


def test_no_request_shaped_variable_means_no_wrapper() -> None:
    assert without_process_environ(echo, {"PATH": "/bin", "HOME": "/root"}) is echo


# process environment, environ as granian built it (process env, then the
# request on top) -> what the app must see of those keys
CLEANED = [
    pytest.param(
        {"HTTP_X_FORWARDED_FOR": "6.6.6.6"},
        {"HTTP_X_FORWARDED_FOR": "6.6.6.6"},
        {},
        id="forged-forwarded-for",
    ),
    pytest.param(
        {"CONTENT_LENGTH": "5", "CONTENT_TYPE": "text/x"},
        {"CONTENT_LENGTH": "5", "CONTENT_TYPE": "text/x"},
        {},
        id="body-of-a-get",
    ),
    pytest.param(
        {"HTTP_X_FORWARDED_FOR": "6.6.6.6"},
        {"HTTP_X_FORWARDED_FOR": "10.0.0.1"},
        {"HTTP_X_FORWARDED_FOR": "10.0.0.1"},
        id="the-client-sent-its-own",
    ),
    pytest.param(
        {"HOME": "/root", "PATH": "/bin"},
        {"HOME": "/root", "PATH": "/bin"},
        {"HOME": "/root", "PATH": "/bin"},
        id="other-variables-stay-as-in-wsgiref",
    ),
]


@pytest.mark.parametrize(("process", "built", "seen"), CLEANED)
def test_request_shaped_process_variables_do_not_pass_for_request_data(
    process: dict[str, str], built: dict[str, str], seen: dict[str, str]
) -> None:
    environment = {**process, "HTTP_ANYTHING": "x"}  # so a wrapper is made
    got = call(environment, {**built, "REQUEST_METHOD": "GET"})
    assert {k: v for k, v in got.items() if k in built} == seen
    assert got["REQUEST_METHOD"] == "GET"
