"""Issue 18, point 2: dispatch and the application agree on the Host.

Every Host is either refused with 400 before any application runs, or the
application's ``request.host`` is the host dispatch routed on (in its
canonical spelling, see ``gateway.hostnames.canonical_host``) and the
absolute URLs it builds name that host. Run over a real Gateway with
gateway.App tenants, with and without the TrustedHosts layer in front, and
each Host twice (the second time from the dispatch caches).
"""

from __future__ import annotations

import json
import typing as t

import pytest
from werkzeug.test import create_environ

import gateway
from gateway import request, url_for
from gateway.dispatch import Gateway, TrustedHosts

UTF8_HOST = "té.example.test".encode().decode("latin-1")  # as WSGI hands it


def make_site(name: str, ran: list[str]) -> gateway.App:
    app = gateway.App(name)

    @app.route("/where")
    def where() -> t.Any:
        ran.append(name)
        return {
            "app": name,
            "host": request.host,
            "url": url_for("where", _external=True),
            "tenant": request.environ.get("gateway.tenant"),
            "server_name": request.environ.get("SERVER_NAME"),
        }

    return app


@pytest.fixture(params=["trusted-hosts", "host-dispatch-only"])
def site(request: pytest.FixtureRequest) -> tuple[Gateway, list[str]]:
    ran: list[str] = []
    tenants: dict[str, gateway.App] = {}

    def factory(key: str) -> gateway.App:
        ran.append(f"factory:{key}")
        return tenants.setdefault(key, make_site(f"tenant:{key}", ran))

    trusted = None if request.param == "trusted-hosts" else ()
    gw = Gateway(
        make_site("main", ran),
        base_domain="example.test",
        tenants=factory,
        trusted_hosts=trusted,
        health=False,
    )
    assert (type(gw._app) is TrustedHosts) == (request.param == "trusted-hosts")
    return gw, ran


def environ_for(host: str, server_name: str = "gateway.internal") -> dict[str, t.Any]:
    environ = create_environ("/where")
    environ["HTTP_HOST"] = host
    environ["SERVER_NAME"] = server_name
    environ["SERVER_PORT"] = "8000"
    return environ


# Host sent -> (app, the host the app must read: routed host and port).
ACCEPTED = [
    pytest.param("t1.example.test", "tenant:t1", "t1.example.test", id="canonical"),
    pytest.param("T1.Example.TEST", "tenant:t1", "t1.example.test", id="upper-case"),
    pytest.param("t1.example.test.", "tenant:t1", "t1.example.test", id="trailing-dot"),
    pytest.param("t1.example.test:", "tenant:t1", "t1.example.test", id="empty-port"),
    pytest.param(
        "t1.example.test:8080", "tenant:t1", "t1.example.test:8080", id="port"
    ),
    pytest.param(
        "T1.example.test.:8080", "tenant:t1", "t1.example.test:8080", id="case-dot-port"
    ),
    pytest.param(
        "XN--T-BGA.example.test",
        "tenant:xn--t-bga",
        "xn--t-bga.example.test",
        id="a-label",
    ),
    pytest.param("Example.Test.:", "main", "example.test", id="bare-domain"),
]

REFUSED = [
    pytest.param("t1.example.test:0", id="port-zero"),
    pytest.param("t1.example.test:0080", id="port-leading-zeros"),
    pytest.param(UTF8_HOST, id="raw-utf8"),
    pytest.param("té.example.test", id="non-ascii"),
    pytest.param("example.test:0", id="bare-port-zero"),
    pytest.param("t1.example.test:65536", id="port-above-range"),
]


@pytest.mark.parametrize(("host", "app", "seen"), ACCEPTED)
def test_the_app_reads_the_host_dispatch_routed_on(
    site: tuple[Gateway, list[str]], call: t.Any, host: str, app: str, seen: str
) -> None:
    gw, _ran = site
    for _ in range(2):
        result = call(gw, environ=environ_for(host))
        assert result.status == 200, result.body
        body = json.loads(result.body)
        assert body["app"] == app
        assert body["host"] == seen
        assert body["url"] == f"http://{seen}/where"
        # The server's own name is not the client's to rewrite.
        assert body["server_name"] == "gateway.internal"


@pytest.mark.parametrize("host", REFUSED)
def test_refused_before_any_app_runs(
    site: tuple[Gateway, list[str]], call: t.Any, host: str
) -> None:
    gw, ran = site
    for _ in range(2):
        result = call(gw, environ=environ_for(host))
        assert result.status == 400
        assert b"Host" in result.body
    assert ran == []


def test_server_name_spelling_the_host_follows_it(
    site: tuple[Gateway, list[str]], call: t.Any
) -> None:
    """As a proxy fix of X-Forwarded-Host leaves it: SERVER_NAME is the
    client's host, so it is handed over in the same spelling."""
    gw, _ran = site
    body = json.loads(
        call(gw, environ=environ_for("T1.Example.Test.", "T1.Example.Test.")).body
    )
    assert body["host"] == body["server_name"] == "t1.example.test"


def test_trusted_hosts_alone_hands_over_the_canonical_host(call: t.Any) -> None:
    ran: list[str] = []
    app = TrustedHosts(make_site("alone", ran), [".example.test"])
    body = json.loads(call(app, environ=environ_for("A.Example.Test.:")).body)
    assert body["host"] == "a.example.test"
    assert body["url"] == "http://a.example.test/where"
    assert call(app, environ=environ_for("a.example.test:0")).status == 400
    assert call(app, environ=environ_for(UTF8_HOST)).status == 400
    assert app.check("A.Example.Test.") and app.check("a.example.test")
    assert not app.check("a.example.test:0080") and not app.check("other.test")
    assert ran == ["alone"]


@pytest.fixture
def path_only() -> tuple[Gateway, list[str]]:
    """A Gateway of path prefixes alone: nothing dispatches on the Host."""
    ran: list[str] = []
    main = make_site("main", ran)
    gw = Gateway(main, mounts=[gateway.dispatch.Mount("/m", main)], health=False)
    return gw, ran


@pytest.mark.parametrize("host", REFUSED)
def test_a_path_only_gateway_refuses_a_host_its_apps_cannot_read(
    path_only: tuple[Gateway, list[str]], call: t.Any, host: str
) -> None:
    gw, ran = path_only
    for _ in range(2):
        assert call(gw, environ=environ_for(host)).status == 400
    assert ran == []


@pytest.mark.parametrize(
    ("host", "seen"), [(p.values[0], p.values[2]) for p in ACCEPTED]
)
def test_a_path_only_gateway_hands_over_any_valid_host_canonical(
    path_only: tuple[Gateway, list[str]], call: t.Any, host: str, seen: str
) -> None:
    gw, _ran = path_only
    body = json.loads(call(gw, environ=environ_for(host)).body)
    assert (body["app"], body["host"]) == ("main", seen)
    assert body["url"] == f"http://{seen}/where"


def test_a_path_only_gateway_serves_a_request_without_host_by_server_name(
    path_only: tuple[Gateway, list[str]], call: t.Any
) -> None:
    environ = environ_for("unused")
    del environ["HTTP_HOST"]
    body = json.loads(call(path_only[0], environ=environ).body)
    assert body["host"] == "gateway.internal:8000"
