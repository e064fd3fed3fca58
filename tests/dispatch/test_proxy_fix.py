"""ProxyFix (trusted peers only), TrustedHosts and the health endpoint."""

from __future__ import annotations

import json

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix as WerkzeugProxyFix

from gateway.dispatch import HealthCheck, ProxyFix, TrustedHosts

FORGED = {
    "X-Forwarded-For": "6.6.6.6",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "admin.example.com",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/evil",
    "Forwarded": "for=6.6.6.6;host=admin.example.com",
}


def full_trust(app):
    return ProxyFix(app, 1, 1, 1, 1, 1, trusted=["127.0.0.1/32", "10.0.0.0/8"])


def test_forged_headers_from_an_untrusted_peer_are_dropped(
    echo, call, make_environ
) -> None:
    captured = {}

    def app(environ, start_response):
        captured.update(environ)
        return echo("app")(environ, start_response)

    environ = make_environ("/", "example.com", remote_addr="6.6.6.7", headers=FORGED)
    seen = call(full_trust(app), environ).seen
    assert seen["remote_addr"] == "6.6.6.7"
    assert seen["scheme"] == "http"
    assert seen["host"] == "example.com"
    assert seen["script_name"] == ""
    # removed, so nothing downstream (request.access_route...) believes them
    assert not any(
        key.startswith("HTTP_X_FORWARDED") or key == "HTTP_FORWARDED"
        for key in captured
    )
    orig = captured["gateway.proxy_fix.orig"]
    assert (
        orig["HTTP_X_FORWARDED_FOR"] == "6.6.6.6" and orig["REMOTE_ADDR"] == "6.6.6.7"
    )
    assert captured["werkzeug.proxy_fix.orig"] is orig


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {"X-Forwarded-For": "6.6.6.6, 1.1.1.1"},
            {"remote_addr": "1.1.1.1"},
            id="client-forged-first-hop-ignored",
        ),
        pytest.param(
            {
                "X-Forwarded-For": "1.1.1.1",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "acme.example.com",
                "X-Forwarded-Port": "8443",
                "X-Forwarded-Prefix": "/app/",
            },
            {
                "remote_addr": "1.1.1.1",
                "scheme": "https",
                "host": "acme.example.com:8443",
                "script_name": "/app",
            },
            id="all-headers",
        ),
        pytest.param(
            {"X-Forwarded-Proto": "javascript", "X-Forwarded-For": "<script>"},
            {"remote_addr": "10.0.0.5", "scheme": "http"},
            id="invalid-values-ignored",
        ),
        pytest.param(
            {
                "X-Forwarded-Host": "example.com@evil.tld",
                "X-Forwarded-Prefix": "/a/../b",
            },
            {"host": "example.com", "script_name": ""},
            id="poisoned-host-and-prefix-ignored",
        ),
        pytest.param(
            {"X-Forwarded-Host": "[::1]:8080"},
            {"host": "[::1]:8080"},
            id="ipv6-host",
        ),
    ],
)
def test_trusted_peer_headers_are_applied(
    echo, call, make_environ, headers, expected
) -> None:
    environ = make_environ("/", "example.com", remote_addr="10.0.0.5", headers=headers)
    seen = call(full_trust(echo("app")), environ).seen
    for key, value in expected.items():
        assert seen[key] == value, key


def test_rfc7239_forwarded(echo, call, make_environ) -> None:
    app = ProxyFix(
        echo("app"),
        x_for=1,
        x_proto=1,
        x_host=1,
        trusted=["127.0.0.1/32"],
        forwarded=True,
    )
    environ = make_environ(
        "/",
        "internal:8000",
        headers={
            "Forwarded": 'for=6.6.6.6, for="[2001:db8::1]:4711";proto=https;host=acme.example.com',
            "X-Forwarded-For": "9.9.9.9",
        },
    )
    seen = call(app, environ).seen
    assert (seen["remote_addr"], seen["scheme"], seen["host"]) == (
        "2001:db8::1",
        "https",
        "acme.example.com",
    )


def test_hop_counts_as_werkzeug(echo, call, make_environ) -> None:
    headers = {
        "X-Forwarded-For": "1.1.1.1, 2.2.2.2, 3.3.3.3",
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "a.example.com, b.example.com",
    }
    for hops in [(1, 1, 1), (2, 2, 2), (3, 3, 3), (0, 0, 0)]:
        ours = ProxyFix(echo("app"), *hops)  # trusted=None: any peer, as Werkzeug
        theirs = WerkzeugProxyFix(echo("app"), *hops)
        assert (
            call(ours, make_environ(headers=headers)).seen
            == call(theirs, make_environ(headers=headers)).seen
        )


def test_no_forwarded_headers_is_a_pass_through(echo, call, make_environ) -> None:
    environ = make_environ("/x", "example.com", remote_addr="6.6.6.6")
    call(full_trust(echo("app")), environ)
    assert "gateway.proxy_fix.orig" not in environ


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"x_for": -1}, id="negative"),
        pytest.param({"x_proto": True}, id="bool"),
        pytest.param({"x_host": "1"}, id="string"),
    ],
)
def test_proxy_fix_validates_hops(echo, kwargs) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 0"):
        ProxyFix(echo("app"), **kwargs)


def test_proxy_fix_rejects_bad_networks(echo) -> None:
    with pytest.raises(ValueError, match="not a network"):
        ProxyFix(echo("app"), trusted=["everyone"])


# -- trusted hosts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("example.com", 200, id="domain"),
        pytest.param("acme.example.com:8000", 200, id="subdomain-with-port"),
        pytest.param("ACME.EXAMPLE.COM.", 200, id="case-and-dot"),
        pytest.param("localhost:5000", 200, id="exact-entry"),
        pytest.param("evilexample.com", 400, id="lookalike"),
        pytest.param("example.com@evil.tld", 400, id="poison"),
        pytest.param("", 400, id="empty"),
        pytest.param(None, 400, id="missing"),
    ],
)
def test_trusted_hosts(echo, call, host: str | None, status: int) -> None:
    app = TrustedHosts(echo("app"), [".example.com", "localhost"])
    for _ in range(2):  # decided, then answered from the cache
        result = call(app, path="/", host=host)
        assert result.status == status
        if status == 400:
            assert result.text.startswith("Bad Request")


def test_trusted_hosts_after_proxy_fix_sees_the_forwarded_host(
    echo, call, make_environ
) -> None:
    app = ProxyFix(
        TrustedHosts(echo("app"), [".example.com"]), x_host=1, trusted=["127.0.0.1/32"]
    )
    environ = make_environ(
        "/", "backend:8000", headers={"X-Forwarded-Host": "acme.example.com"}
    )
    assert call(app, environ).status == 200
    environ = make_environ(
        "/",
        "backend:8000",
        remote_addr="6.6.6.6",
        headers={"X-Forwarded-Host": "acme.example.com"},
    )
    assert call(app, environ).status == 400


def test_trusted_hosts_cache_is_bounded(echo, call) -> None:
    app = TrustedHosts(echo("app"), [".example.com"], cache_size=16)
    for i in range(200):
        call(app, path="/", host=f"h{i}.other.org")
    assert len(app._cache) <= 16


# -- health ------------------------------------------------------------------------


def test_health_answers_allowed_networks_only(echo, call) -> None:
    app = HealthCheck(
        echo("app"), "/_gateway/health", ["127.0.0.0/8"], status=lambda: {"live": 3}
    )
    result = call(app, path="/_gateway/health", host=None, remote_addr="127.0.0.1")
    assert result.status == 200
    assert json.loads(result.body) == {"status": "ok", "live": 3}
    assert result.headers["Cache-Control"] == "no-store"
    assert call(app, path="/_gateway/health", remote_addr="8.8.8.8").status == 404
    assert (
        call(app, path="/_gateway/healthy", remote_addr="127.0.0.1").seen["app"]
        == "app"
    )
    assert call(app, path="/other", remote_addr="127.0.0.1").seen["app"] == "app"


def test_health_tenant_check(echo, call) -> None:
    app = HealthCheck(echo("app"), host_exists=lambda host: host == "acme.example.com")
    ok = call(app, path="/_gateway/health/tenant", query="host=acme.example.com")
    assert ok.status == 200
    assert (
        call(
            app, path="/_gateway/health/tenant", query="domain=acme.example.com"
        ).status
        == 200
    )
    assert (
        call(app, path="/_gateway/health/tenant", query="host=ghost.example.com").status
        == 404
    )
    assert call(app, path="/_gateway/health/tenant").status == 404
    assert (
        call(
            app,
            path="/_gateway/health/tenant",
            query="host=acme.example.com",
            remote_addr="8.8.8.8",
        ).status
        == 404
    )
