"""The pure deployment model: names, virtual hosts, upstreams, forwarded
header rules, options and the checks that refuse what cannot be expressed."""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path

import pytest

from gateway.deploy.model import (
    DeployError,
    DeployOptions,
    HeaderRule,
    build_site,
    check_path,
    check_proxy_trust,
    header_rules,
    server_names,
    upstream_for,
    virtual_hosts,
)
from gateway.toml import (
    ConfigError,
    GatewayConfig,
    MountConfig,
    ProxyConfig,
    ServerConfig,
    StaticConfig,
    TenantsConfig,
)


def config(**changes: t.Any) -> GatewayConfig:
    """A GatewayConfig built in Python (as the loader would resolve it)."""
    server = changes.pop("server", {})
    defaults = {
        "name": "acme",
        "root": Path("/srv/acme"),
        "path": Path("/srv/acme/gateway.toml"),
        "base_domain": "example.com",
    }
    defaults.update(changes)
    server_defaults = {
        "server_name": "example.com *.example.com" if defaults["base_domain"] else "",
        "python_home": "/srv/venv",
        "workdir": "/srv/acme",
        "socket": f"/run/{defaults['name']}/{defaults['name']}.sock",
    }
    server_defaults.update(server)
    return GatewayConfig(server=ServerConfig(**server_defaults), **defaults)


def modes(rules: tuple[HeaderRule, ...]) -> dict[str, str]:
    return {rule.header: rule.mode for rule in rules}


# -- forwarded headers ---------------------------------------------------------------

X = (
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "X-Forwarded-Prefix",
    "Forwarded",
)


@pytest.mark.parametrize(
    ("proxy", "script_name", "expected"),
    [
        pytest.param(
            ProxyConfig(),
            "",
            ("set", "set", "clear", "clear", "clear", "clear"),
            id="defaults-first-proxy",
        ),
        pytest.param(
            ProxyConfig(x_host=1, x_port=1, x_prefix=1),
            "/gw",
            ("set", "set", "set", "set", "set", "clear"),
            id="all-believed-one-hop",
        ),
        pytest.param(
            ProxyConfig(x_prefix=1),
            "",
            ("set", "set", "clear", "clear", "clear", "clear"),
            id="prefix-believed-but-none-to-send-is-cleared",
        ),
        pytest.param(
            ProxyConfig(x_for=2, x_proto=3, x_prefix=2),
            "",
            ("append", "append", "clear", "clear", "keep", "clear"),
            id="behind-another-proxy-appends",
        ),
        pytest.param(
            ProxyConfig(x_for=0, x_proto=0),
            "",
            ("clear",) * 6,
            id="nothing-believed",
        ),
        pytest.param(
            ProxyConfig(forwarded=True, x_host=1),
            "",
            ("clear", "clear", "clear", "clear", "clear", "set"),
            id="rfc7239-replaces-x-forwarded",
        ),
        pytest.param(
            ProxyConfig(forwarded=True, x_for=2, x_prefix=1),
            "/app",
            ("clear", "clear", "clear", "clear", "set", "append"),
            id="rfc7239-behind-another-proxy-keeps-prefix-header",
        ),
    ],
)
def test_header_rules_follow_proxy_trust(
    proxy: ProxyConfig, script_name: str, expected: tuple[str, ...]
) -> None:
    assert modes(header_rules(proxy, script_name)) == dict(
        zip(X, expected, strict=True)
    )


def test_header_rule_names_its_cgi_variable_and_nginx_variable() -> None:
    rule = HeaderRule("X-Forwarded-For", "set", "client")
    assert rule.environ_key == "HTTP_X_FORWARDED_FOR"
    assert rule.variable == "http_x_forwarded_for"


# -- names and virtual hosts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, ("example.com", "*.example.com"), id="base-and-wildcard"),
        pytest.param(
            {
                "tenants": TenantsConfig(
                    factory="m:f", pattern="{tenant}.apps.example.com"
                )
            },
            ("example.com", "*.example.com"),
            id="tenant-domain-covered-by-wildcard",
        ),
        pytest.param(
            {
                "server": {"server_name": "example.com"},
                "tenants": TenantsConfig(factory="m:f", pattern="{tenant}.example.com"),
            },
            ("example.com", "*.example.com"),
            id="tenant-wildcard-added",
        ),
        pytest.param(
            {"hosts": {"status.example.com": "m:a", "other.org": "m:b"}},
            ("example.com", "*.example.com", "other.org"),
            id="exact-hosts-outside-the-domain-added",
        ),
        pytest.param(
            {"base_domain": "", "mounts": (MountConfig("/a", "m:a"),)},
            (),
            id="no-names",
        ),
        pytest.param(
            {"base_domain": "", "mounts": (MountConfig("/a", "m:a", host="api.test"),)},
            ("api.test",),
            id="mount-host",
        ),
        pytest.param(
            {"server": {"server_name": "_ example.com example.com"}},
            ("example.com",),
            id="underscore-and-duplicates-dropped",
        ),
    ],
)
def test_server_names(changes: dict[str, t.Any], expected: tuple[str, ...]) -> None:
    assert server_names(config(**changes)) == expected


def test_host_specific_static_routes_get_their_own_virtual_host_first() -> None:
    cfg = config(
        server={
            "static": (
                StaticConfig("/static", Path("/srv/s")),
                StaticConfig("/static/img", Path("/srv/img")),
                StaticConfig("/media", Path("/srv/m"), host=""),
            )
        }
    )
    first, rest = virtual_hosts(cfg, server_names(cfg))
    assert first.names == ("example.com",)
    assert [s.url for s in first.statics] == ["/static/img", "/static", "/media"]
    assert rest.names == ("*.example.com",)
    assert [s.url for s in rest.statics] == ["/static/img", "/static"]


def test_bare_domain_static_without_base_domain_is_refused() -> None:
    cfg = config(
        base_domain="", server={"static": (StaticConfig("/m", Path("/m"), host=""),)}
    )
    with pytest.raises(
        DeployError, match=r"\[\[server.static\]\] #1 .host: .*base_domain"
    ):
        virtual_hosts(cfg, ())


def test_apache_server_name_is_never_a_wildcard() -> None:
    cfg = config(server={"static": (StaticConfig("/m", Path("/m"), host=""),)})
    base, wildcard = virtual_hosts(cfg, server_names(cfg))
    assert base.server_name == "example.com"
    assert wildcard.server_name == "example.com"
    assert wildcard.names == ("*.example.com",)


# -- upstreams and proxy trust ----------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "options", "expected"),
    [
        pytest.param(
            {
                "adapter": "gunicorn",
                "bind": "0.0.0.0:8000",
                "backends": ("10.0.0.2:8000",),
            },
            {},
            ("http", ("127.0.0.1:8000", "10.0.0.2:8000")),
            id="wildcard-bind-reached-on-loopback",
        ),
        pytest.param(
            {"adapter": "gevent", "bind": "[::]:9000"},
            {},
            ("http", ("[::1]:9000",)),
            id="ipv6-wildcard",
        ),
        pytest.param(
            {"adapter": "tornado", "bind": "unix:/run/acme/http.sock"},
            {},
            ("http", ("unix:/run/acme/http.sock",)),
            id="unix-bind",
        ),
        pytest.param(
            {"adapter": "uwsgi"},
            {},
            ("uwsgi", ("unix:/run/acme/acme.sock",)),
            id="uwsgi-protocol-on-socket",
        ),
        pytest.param(
            {"adapter": "uwsgi", "bind": "127.0.0.1:9001"},
            {"uwsgi_http": True},
            ("http", ("127.0.0.1:9001",)),
            id="uwsgi-http-on-bind",
        ),
        pytest.param(
            {"adapter": "fastcgi", "backends": ("10.0.0.9:9000",)},
            {},
            ("fastcgi", ("unix:/run/acme/acme.sock", "10.0.0.9:9000")),
            id="fastcgi",
        ),
        pytest.param(
            {"adapter": "cgi"},
            {},
            ("cgi", ("unix:/run/fcgiwrap.socket",)),
            id="cgi-via-fcgiwrap",
        ),
    ],
)
def test_upstream_for_nginx(
    server: dict[str, t.Any],
    options: dict[str, t.Any],
    expected: tuple[str, tuple[str, ...]],
) -> None:
    upstream = upstream_for(config(server=server), "nginx", DeployOptions(**options))
    assert upstream is not None
    assert (upstream.protocol, upstream.servers) == expected


def test_cgi_behind_nginx_cannot_have_backends() -> None:
    cfg = config(server={"adapter": "cgi", "backends": ("10.0.0.2:80",)})
    with pytest.raises(DeployError, match=r"\[server\].backends: the cgi adapter"):
        upstream_for(cfg, "nginx", DeployOptions())


@pytest.mark.parametrize(
    ("trusted", "bind", "fails"),
    [
        pytest.param(("127.0.0.1/32",), "127.0.0.1:8000", False, id="trusted"),
        pytest.param(
            ("10.0.0.0/8",), "127.0.0.1:8000", True, id="loopback-not-trusted"
        ),
        pytest.param(
            ("127.0.0.0/8",), "0.0.0.0:8000", False, id="wildcard-bind-trusted"
        ),
        pytest.param(
            ("10.0.0.0/8",), "[::1]:8000", True, id="ipv6-loopback-not-trusted"
        ),
        pytest.param(
            ("10.0.0.0/8",), "unix:/run/a.sock", False, id="unix-peer-unknown"
        ),
        pytest.param(("10.0.0.0/8",), "192.0.2.10:8000", False, id="remote-backend"),
    ],
)
def test_proxy_trust_must_cover_the_front_server(
    trusted: tuple[str, ...], bind: str, fails: bool
) -> None:
    cfg = config(proxy=ProxyConfig(trusted=trusted), server={"bind": bind})
    upstream = upstream_for(cfg, "nginx", DeployOptions())
    assert upstream is not None
    if fails:
        with pytest.raises(DeployError, match=r"\[proxy\].trusted does not include"):
            check_proxy_trust(cfg, upstream, "nginx")
    else:
        check_proxy_trust(cfg, upstream, "nginx")


def test_proxy_trust_is_irrelevant_when_nothing_is_believed() -> None:
    cfg = config(proxy=ProxyConfig(trusted=(), x_for=0, x_proto=0))
    upstream = upstream_for(cfg, "nginx", DeployOptions())
    assert upstream is not None
    check_proxy_trust(cfg, upstream, "nginx")


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param(
            {"http_prot": 80}, "unknown render option 'http_prot'", id="unknown"
        ),
        pytest.param(
            {"http_port": "80"}, "option http_port: expected an integer", id="int"
        ),
        pytest.param(
            {"http_port": True}, "option http_port: expected an integer", id="bool-int"
        ),
        pytest.param(
            {"standalone": 1}, "option standalone: expected true or false", id="bool"
        ),
        pytest.param(
            {"http_port": 0}, "option http_port: expected a port", id="port-range"
        ),
        pytest.param(
            {"http_port": 8443, "https_port": 8443}, "both 8443", id="same-ports"
        ),
        pytest.param(
            {"entry_dir": "srv/x"},
            "option entry_dir: expected an absolute path",
            id="rel",
        ),
        pytest.param({"socket_mode": "rw"}, "option socket_mode", id="mode"),
        pytest.param(
            {"listen": "localhost"},
            "option listen: expected an IP address",
            id="listen",
        ),
        pytest.param({"static_max_age": -1}, "option static_max_age", id="max-age"),
    ],
)
def test_bad_options_are_refused_by_name(given: dict[str, t.Any], message: str) -> None:
    with pytest.raises(DeployError, match=message):
        DeployOptions.from_kwargs(given)


def test_options_accept_paths_and_normalise_ipv6_listen() -> None:
    options = DeployOptions.from_kwargs(
        {"entry_dir": Path("/srv/e"), "listen": "[::1]"}
    )
    assert options.entry_dir == "/srv/e"
    site = build_site("nginx", config(), options)
    assert site.listen_on(8080) == ("[::1]:8080",)
    assert build_site("nginx", config(), DeployOptions()).listen_on(80) == (
        "80",
        "[::]:80",
    )


def test_deploy_error_is_a_config_error() -> None:
    assert issubclass(DeployError, ConfigError)


# -- site ------------------------------------------------------------------------------------


def test_tls_with_only_a_certificate_is_refused() -> None:
    cfg = config(server={"tls_cert": "/etc/ssl/acme.pem"})
    with pytest.raises(
        DeployError, match=r"\[server\].tls_key is empty: TLS needs both"
    ):
        build_site("nginx", cfg, DeployOptions())


def test_too_long_socket_path_is_refused() -> None:
    cfg = config(server={"socket": "/run/" + "x" * 120 + ".sock", "adapter": "uwsgi"})
    with pytest.raises(
        DeployError, match=r"\[server\].socket: .* longer than the 107 bytes"
    ):
        build_site("nginx", cfg, DeployOptions())


@pytest.mark.parametrize("bad", ['"', "$", ";", "{", "\\", "\n", "'"])
def test_paths_with_characters_configs_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(DeployError, match="cannot carry safely"):
        check_path("[server].workdir", f"/srv/we{bad}ird")
    cfg = config(server={"workdir": f"/srv/we{bad}ird"})
    with pytest.raises(DeployError, match=r"\[server\].workdir"):
        build_site("nginx", cfg, DeployOptions())


def test_paths_with_spaces_are_allowed() -> None:
    assert check_path("x", "/srv/my site/static") == "/srv/my site/static"


def test_site_defaults_come_from_the_config() -> None:
    site = build_site(
        "systemd", config(server={"script_name": "/gw/"}), DeployOptions()
    )
    assert site.toml_path == "/srv/acme/gateway.toml"
    assert site.python == "/srv/venv/bin/python"
    assert site.entry_dir == "/srv/acme"
    assert site.entry(".wsgi") == "/srv/acme/acme.wsgi"
    assert site.script_name == "/gw"
    assert site.runtime_dir == "/srv/acme/run"


@pytest.mark.parametrize(
    ("server", "options", "run_dir"),
    [
        pytest.param({"adapter": "fastcgi"}, {}, "acme", id="fastcgi-default-socket"),
        pytest.param(
            {"adapter": "uwsgi"}, {"uwsgi_http": True}, "", id="uwsgi-http-tcp"
        ),
        pytest.param(
            {"adapter": "gunicorn", "bind": "unix:/run/acme/g.sock"},
            {},
            "acme",
            id="unix-bind",
        ),
        pytest.param(
            {"adapter": "fastcgi", "socket": "/tmp/a.sock"}, {}, "", id="elsewhere"
        ),
        pytest.param({"adapter": "gevent"}, {}, "", id="tcp"),
    ],
)
def test_run_dir_only_for_sockets_in_run_name(
    server: dict[str, t.Any], options: dict[str, t.Any], run_dir: str
) -> None:
    site = build_site("systemd", config(server=server), DeployOptions(**options))
    assert site.run_dir == run_dir


def test_upstream_protocol_follows_the_adapter() -> None:
    cfg = config()
    changed = cfg.replace(server=dataclasses.replace(cfg.server, adapter="uwsgi"))
    assert build_site("nginx", changed, DeployOptions()).upstream.protocol == "uwsgi"  # type: ignore[union-attr]
    assert build_site("nginx", cfg, DeployOptions()).upstream.protocol == "http"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("header", "spellings"),
    [
        pytest.param(
            "X-Forwarded-For",
            {"X_Forwarded-For", "X-Forwarded_For", "X_Forwarded_For"},
            id="two-dashes",
        ),
        pytest.param("X-Real", {"X_Real"}, id="one-dash"),
        pytest.param("Forwarded", set(), id="no-dash"),
    ],
)
def test_every_underscored_spelling_of_a_forwarded_header(header, spellings):
    from gateway.deploy.model import HeaderRule

    found = HeaderRule(header, "set", "client").underscored
    assert set(found) == spellings and len(found) == len(spellings)


def test_apache_removes_the_underscored_spellings_of_believed_headers(
    make_config,
):
    from gateway.deploy import render

    conf = "\n".join(render("apache-proxy", make_config("mounts", "granian")).values())
    for name in ("X_Forwarded_For", "X-Forwarded_Proto", "X_Forwarded-Proto"):
        assert f"RequestHeader unset {name}\n" in conf
