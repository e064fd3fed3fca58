"""HostDispatcher and the drop-in SubdomainDispatcher: the Host header picks
the application, and the documented pattern's defects are gone."""

from __future__ import annotations

import threading

import pytest

from gateway.dispatch import AppRegistry, HostDispatcher, SubdomainDispatcher


@pytest.fixture
def dispatcher(factory, echo) -> HostDispatcher:
    factory.unknown = {"ghost"}
    return HostDispatcher(
        "example.com",
        factory,
        hosts={"status.example.com": echo("status"), "other.org": echo("other")},
        default=echo("main"),
    )


HOST_CASES = [
    pytest.param("acme.example.com", 200, "acme", id="tenant"),
    pytest.param("acme.example.com:8080", 200, "acme", id="tenant-with-port"),
    pytest.param("ACME.Example.COM", 200, "acme", id="upper-case"),
    pytest.param("acme.example.com.", 200, "acme", id="trailing-dot"),
    pytest.param("acme.example.com.:443", 200, "acme", id="trailing-dot-and-port"),
    pytest.param("example.com", 200, "main", id="bare-domain"),
    pytest.param("EXAMPLE.com.", 200, "main", id="bare-domain-case-and-dot"),
    pytest.param("status.example.com", 200, "status", id="exact-host-before-tenants"),
    pytest.param("other.org:81", 200, "other", id="exact-host-outside-domain"),
    pytest.param("evilexample.com", 404, None, id="lookalike-is-not-tenant-evil"),
    pytest.param("acme.evilexample.com", 404, None, id="tenant-of-lookalike"),
    pytest.param("example.com.evil.tld", 404, None, id="domain-as-prefix"),
    pytest.param("elsewhere.org", 404, None, id="outside-domain"),
    pytest.param("a.b.example.com", 404, None, id="nested-refused"),
    pytest.param("ghost.example.com", 404, None, id="factory-returned-none"),
    pytest.param("xn--bcher-kva.example.com", 200, "xn--bcher-kva", id="idna"),
    pytest.param(
        "bücher.example.com".encode().decode("latin-1"), 400, None, id="raw-utf8"
    ),
    pytest.param("acme.example.com:", 200, "acme", id="empty-port"),
    pytest.param("acme.example.com:0", 400, None, id="port-zero"),
    pytest.param("acme.example.com:0080", 400, None, id="port-leading-zeros"),
    pytest.param("[::1]:8000", 404, None, id="ipv6-literal"),
    pytest.param("example.com@evil.tld", 400, None, id="userinfo-poison"),
    pytest.param("acme.example.com/x", 400, None, id="path-in-host"),
    pytest.param("", 400, None, id="empty-host"),
    pytest.param(None, 400, None, id="missing-host"),
    pytest.param("acme..example.com", 400, None, id="empty-label"),
    pytest.param("acme.example.com:99999", 400, None, id="bad-port"),
]


@pytest.mark.parametrize(("host", "status", "app"), HOST_CASES)
def test_host_edge_cases(
    dispatcher, call, host: str | None, status: int, app: str | None
) -> None:
    result = call(dispatcher, path="/x", host=host)
    assert result.status == status
    if app is not None:
        seen = result.seen
        assert seen["app"] == app
        assert seen["path_info"] == "/x" and seen["script_name"] == ""
    else:
        assert b"Traceback" not in result.body


def test_tenant_key_is_in_the_environ(dispatcher, call) -> None:
    assert call(dispatcher, path="/", host="acme.example.com").seen["tenant"] == "acme"
    assert call(dispatcher, path="/", host="example.com").seen["tenant"] is None


def test_nested_keys_when_configured(factory, call) -> None:
    dispatcher = HostDispatcher("example.com", factory, nested=True)
    assert call(dispatcher, path="/", host="a.b.example.com").seen["app"] == "a.b"


def test_configured_fallbacks(factory, echo, call) -> None:
    factory.unknown = {"ghost"}
    dispatcher = HostDispatcher(
        "example.com", factory, outside=echo("outside"), unknown_tenant=echo("signup")
    )
    assert call(dispatcher, path="/", host="elsewhere.org").seen["app"] == "outside"
    assert call(dispatcher, path="/", host="ghost.example.com").seen["app"] == "signup"
    assert (
        call(dispatcher, path="/", host="example.com").status == 404
    )  # no default app


def test_custom_pattern_without_base_domain(factory, call) -> None:
    dispatcher = HostDispatcher(None, factory, pattern="{tenant}.apps.test")
    assert call(dispatcher, path="/", host="acme.apps.test").seen["app"] == "acme"
    assert call(dispatcher, path="/", host="apps.test").status == 404


def test_random_hosts_do_not_grow_memory(factory, call) -> None:
    factory.unknown = {f"r{i}" for i in range(3000)}
    dispatcher = HostDispatcher(
        "example.com", factory, cache_size=64, negative_limit=100
    )
    for i in range(3000):
        assert call(dispatcher, path="/", host=f"r{i}.example.com").status == 404
    assert len(dispatcher._routes) <= 64
    assert dispatcher.registry.stats()["negative"] <= 100
    assert dispatcher.registry.stats()["live"] == 0


def test_registry_can_be_shared(factory, call) -> None:
    registry = AppRegistry(factory)
    dispatcher = HostDispatcher("example.com", registry)
    assert dispatcher.registry is registry
    call(dispatcher, path="/", host="acme.example.com")
    assert registry.keys() == ["acme"]


def test_tenants_need_a_domain_or_pattern(factory) -> None:
    with pytest.raises(ValueError, match="base_domain or a pattern"):
        HostDispatcher(None, factory)


def test_registry_options_need_a_factory(factory) -> None:
    with pytest.raises(TypeError, match="need a factory"):
        HostDispatcher("example.com", AppRegistry(factory), max_instances=3)


def test_host_exists_and_helpers(dispatcher) -> None:
    assert dispatcher.host_exists("acme.example.com")
    assert dispatcher.host_exists("status.example.com")
    assert dispatcher.host_exists("example.com")
    assert not dispatcher.host_exists("ghost.example.com")
    assert not dispatcher.host_exists("elsewhere.org")
    assert not dispatcher.host_exists("bad host")
    assert dispatcher.tenant_key("Acme.example.com:80") == "acme"
    assert dispatcher.tenant_key("status.example.com") is None
    assert dispatcher.host_for("acme") == "acme.example.com"
    assert "example.com" in repr(dispatcher)


# -- the documented SubdomainDispatcher ------------------------------------------


def make_documented_app(subdomain: str):
    """The documentation's make_app: a NotFound app for unknown users."""
    from werkzeug.exceptions import NotFound

    if subdomain == "nobody":
        return NotFound()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"user {subdomain}".encode()]

    return app


def test_subdomain_dispatcher_as_documented(call) -> None:
    application = SubdomainDispatcher("example.com", make_documented_app)
    assert call(application, path="/", host="alice.example.com").text == "user alice"
    assert call(application, path="/", host="nobody.example.com").status == 404
    # the bare domain asks the factory for "" as the documented code does
    assert call(application, path="/", host="example.com").text == "user "
    assert application.domain == "example.com"
    assert application.create_app is make_documented_app
    assert set(application.instances) == {"alice", "nobody", ""}
    assert (
        application.get_application("alice.example.com:80")
        is application.instances["alice"]
    )
    assert application.get_application("elsewhere.org") is None


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("EXAMPLE.com", 200, id="upper-case-no-assertion"),
        pytest.param("alice.example.com.", 200, id="trailing-dot-no-assertion"),
        pytest.param("evilexample.com", 404, id="lookalike-not-tenant-evil"),
        pytest.param("elsewhere.org", 404, id="outside-no-assertion"),
        pytest.param(None, 400, id="missing-host-no-keyerror"),
        pytest.param("a.b.example.com", 404, id="nested-refused"),
    ],
)
def test_subdomain_dispatcher_fixes_documented_defects(
    call, host: str | None, status: int
) -> None:
    application = SubdomainDispatcher("example.com", make_documented_app)
    assert call(application, path="/", host=host).status == status


def test_subdomain_dispatcher_does_not_remember_unknown_hosts_forever(
    call, clock
) -> None:
    calls: list[str] = []

    def make(subdomain: str):
        calls.append(subdomain)
        return None

    application = SubdomainDispatcher("example.com", make, negative_ttl=5, clock=clock)
    for _ in range(3):
        assert call(application, path="/", host="random.example.com").status == 404
    assert calls == ["random"]
    clock.advance(6)
    call(application, path="/", host="random.example.com")
    assert calls == ["random", "random"]
    assert application.instances == {}


def test_subdomain_dispatcher_slow_tenant_does_not_stall_others(call) -> None:
    gate = threading.Event()
    started = threading.Event()

    def make(subdomain: str):
        if subdomain == "slow":
            started.set()
            gate.wait(10)
        return make_documented_app(subdomain)

    application = SubdomainDispatcher("example.com", make)
    call(application, path="/", host="fast.example.com")
    slow = threading.Thread(
        target=call,
        args=(application,),
        kwargs={"path": "/", "host": "slow.example.com"},
    )
    slow.start()
    started.wait(10)
    results = []
    helper = threading.Thread(
        target=lambda: results.append(
            call(application, path="/", host="fast.example.com")
        )
    )
    helper.start()
    helper.join(10)
    assert not helper.is_alive() and results[0].text == "user fast"
    gate.set()
    slow.join(10)
