"""Rendering: quoting filters, where templates are found, what the rendered
files say about forwarded headers, and that the checkers used by the other
tests really reject broken files (including the reference documents' typos)."""

from __future__ import annotations

import dataclasses
import re
import typing as t
from pathlib import Path

import deploy_checks as checks
import pytest

from gateway.deploy import render, template_dir
from gateway.deploy.render import (
    TEMPLATE_GROUPS,
    apache_quote,
    host_regex,
    ini_value,
    lighttpd_quote,
    nginx_quote,
    supervisor_arg,
    systemd_arg,
)
from gateway.toml import LimitsConfig, ProxyConfig

Make = t.Callable[..., t.Any]
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        pytest.param(nginx_quote, "/srv/a", "/srv/a", id="nginx-bare"),
        pytest.param(nginx_quote, "/srv/my site", '"/srv/my site"', id="nginx-space"),
        pytest.param(nginx_quote, "a;b", '"a;b"', id="nginx-semicolon"),
        pytest.param(apache_quote, "/srv/a", '"/srv/a"', id="apache"),
        pytest.param(apache_quote, 'a"b', '"a\\"b"', id="apache-quote"),
        pytest.param(
            lighttpd_quote, r"^/a\.b$", r'"^/a\.b$"', id="lighttpd-keeps-backslash"
        ),
        pytest.param(systemd_arg, "/srv/a", "/srv/a", id="systemd-bare"),
        pytest.param(systemd_arg, "/srv/100%", "/srv/100%%", id="systemd-specifier"),
        pytest.param(systemd_arg, "/srv/my site", '"/srv/my site"', id="systemd-space"),
        pytest.param(systemd_arg, "$HOME", "$$HOME", id="systemd-variable"),
        pytest.param(
            supervisor_arg, "/srv/my site", "'/srv/my site'", id="supervisor-space"
        ),
        pytest.param(supervisor_arg, "50%", "50%%", id="supervisor-expansion"),
    ],
)
def test_quoting_filters(
    func: t.Callable[[str], str], value: str, expected: str
) -> None:
    assert func(value) == expected


def test_ini_values_refuse_magic_variables() -> None:
    with pytest.raises(ValueError, match="cannot be written in a uWSGI ini"):
        ini_value("/srv/100%d")


@pytest.mark.parametrize(
    ("names", "matches", "misses"),
    [
        pytest.param(
            ("example.com",),
            ["example.com", "example.com:8080"],
            ["a.example.com", "example.community", "xexample.com"],
            id="exact",
        ),
        pytest.param(
            ("*.example.com",),
            ["a.example.com", "a.b.example.com:81"],
            ["example.com", "a.example.com.evil"],
            id="wildcard",
        ),
        pytest.param(
            (".example.com",),
            ["example.com", "a.example.com"],
            ["evilexample.com"],
            id="dot-domain",
        ),
    ],
)
def test_host_regex(
    names: tuple[str, ...], matches: list[str], misses: list[str]
) -> None:
    pattern = re.compile(host_regex(names))
    assert all(pattern.search(h) for h in matches)
    assert not any(pattern.search(h) for h in misses)


def test_templates_come_from_the_repository_in_a_source_checkout() -> None:
    assert template_dir() == REPO / "deploy"
    for group in TEMPLATE_GROUPS:
        assert list((REPO / "deploy" / group).glob("*.j2")), group


# -- forwarded headers as written ------------------------------------------------------


def _nginx(make_config: Make, adapter: str, proxy: ProxyConfig) -> str:
    config = make_config("tenants", adapter).replace(proxy=proxy)
    (text,) = render("nginx", config).values()
    return text


@pytest.mark.parametrize("adapter", ["gunicorn", "uwsgi", "fastcgi"])
def test_nginx_first_proxy_replaces_x_forwarded_for(
    make_config: Make, adapter: str
) -> None:
    text = _nginx(make_config, adapter, ProxyConfig())
    assert re.search(
        r"(proxy_set_header X-Forwarded-For|HTTP_X_FORWARDED_FOR) \$remote_addr;", text
    )
    assert "$proxy_add_x_forwarded_for" not in text
    assert re.search(
        r'(X-Forwarded-Host|HTTP_X_FORWARDED_HOST) "";', text
    )  # x_host = 0


@pytest.mark.parametrize("adapter", ["gunicorn", "uwsgi", "fastcgi"])
def test_nginx_sets_the_host_header_only_when_believed(
    make_config: Make, adapter: str
) -> None:
    text = _nginx(make_config, adapter, ProxyConfig(x_host=1, x_port=1))
    assert re.search(
        r'(X-Forwarded-Host|HTTP_X_FORWARDED_HOST) "\$gw_acme_host";', text
    )
    assert re.search(r'(X-Forwarded-Port|HTTP_X_FORWARDED_PORT) "\$server_port";', text)


def test_nginx_behind_another_proxy_appends(make_config: Make) -> None:
    text = _nginx(make_config, "gunicorn", ProxyConfig(x_for=2, x_proto=2))
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert "proxy_set_header X-Forwarded-Proto $gw_acme_scheme;" in text
    assert 'default "$http_x_forwarded_proto, $scheme";' in text


@pytest.mark.parametrize("adapter", ["uwsgi", "fastcgi", "cgi"])
def test_nginx_never_includes_debian_params(make_config: Make, adapter: str) -> None:
    text = _nginx(make_config, adapter, ProxyConfig())
    assert not re.search(r"^\s*include\b", text, re.M)
    assert "HTTP_HOST" not in text  # nginx passes the client's own Host header


def test_apache_proxy_headers_follow_trust(make_config: Make) -> None:
    config = make_config("tenants", "gunicorn").replace(
        proxy=ProxyConfig(x_for=2, x_host=1)
    )
    (text,) = render("apache-proxy", config).values()
    assert 'RequestHeader append X-Forwarded-For "expr=%{REMOTE_ADDR}"' in text
    assert 'RequestHeader set X-Forwarded-Host "expr=%{HTTP_HOST}"' in text
    assert "RequestHeader unset X-Forwarded-Port" in text
    assert "ProxyAddHeaders Off" in text


@pytest.mark.parametrize(
    ("kind", "adapter", "limit"),
    [
        pytest.param("nginx", "gevent", "client_max_body_size 8m;", id="nginx"),
        pytest.param("apache-proxy", "gevent", "LimitRequestBody 8388608", id="apache"),
        pytest.param(
            "apache-fcgid", "fastcgi", "FcgidMaxRequestLen 8388608", id="fcgid"
        ),
        pytest.param(
            "lighttpd", "fastcgi", "server.max-request-size = 8192", id="lighttpd"
        ),
    ],
)
def test_request_body_limit_comes_from_gateway_toml_limits(
    make_config: Make, kind: str, adapter: str, limit: str
) -> None:
    config = make_config("tenants", adapter).replace(
        limits=LimitsConfig(max_body=8 << 20)
    )
    (text,) = render(kind, config).values()
    assert limit in text


@pytest.mark.parametrize(
    ("kind", "adapter", "limit"),
    [
        pytest.param("nginx", "gevent", "client_max_body_size 1m;", id="nginx"),
        pytest.param("apache-proxy", "gevent", "LimitRequestBody 1048576", id="apache"),
        pytest.param(
            "lighttpd", "fastcgi", "server.max-request-size = 1024", id="lighttpd"
        ),
    ],
)
def test_the_default_body_limit_is_one_mebibyte_everywhere(
    make_config: Make, kind: str, adapter: str, limit: str
) -> None:
    (text,) = render(kind, make_config("tenants", adapter)).values()
    assert limit in text


@pytest.mark.parametrize(
    ("max_body", "nginx", "apache", "lighttpd"),
    [
        pytest.param(0, "0", "0", "0", id="no-limit"),
        pytest.param(1000, "1000", "1000", "1", id="kib-rounded-up"),
        pytest.param(3 << 30, "3g", "0", str(3 << 20), id="above-apache-maximum"),
    ],
)
def test_body_limits_each_server_writes_its_own_way(
    make_config: Make, max_body: int, nginx: str, apache: str, lighttpd: str
) -> None:
    def text(kind: str, adapter: str) -> str:
        config = make_config("tenants", adapter).replace(
            limits=LimitsConfig(max_body=max_body)
        )
        return "".join(render(kind, config).values())

    assert f"client_max_body_size {nginx};" in text("nginx", "gevent")
    assert f"LimitRequestBody {apache}\n" in text("apache-proxy", "gevent")
    assert f"server.max-request-size = {lighttpd}\n" in text("lighttpd", "fastcgi")
    # uWSGI's limit-post drops the connection without an answer ("Invalid
    # (too big) CONTENT_LENGTH. skip."): the gateway's 413 is the answer.
    assert "limit-post" not in text("uwsgi", "uwsgi")


def _with_mount_limits(config: t.Any, **by_prefix: int) -> t.Any:
    mounts = tuple(
        dataclasses.replace(
            m, max_body=by_prefix.get(m.prefix.strip("/").replace("/", "_"))
        )
        for m in config.mounts
    )
    return config.replace(mounts=mounts)


@pytest.mark.parametrize("adapter", ["gevent", "uwsgi", "fastcgi"])
@pytest.mark.parametrize("shape", ["mounts", "both"])
def test_nginx_gives_a_mount_with_a_larger_body_limit_its_own_location(
    make_config: Make, adapter: str, shape: str
) -> None:
    config = make_config(shape, adapter)
    config = _with_mount_limits(config, admin=50 << 20, api_v1=1000)
    (text,) = render("nginx", config).values()
    sn = config.server.script_name
    block = re.search(
        r"location \^~ " + re.escape(sn + "/admin") + r" \{(.*?)\n    \}", text, re.S
    )
    assert block is not None, text
    assert "client_max_body_size 50m;" in block[1]
    # the location forwards like the gateway's own
    main = re.search(
        r"location (?:\^~ " + re.escape(sn + "/") + r"|/) \{(.*?)\n    \}", text, re.S
    )
    assert main is not None
    forward = main[1].replace(
        "proxy_pass http://gateway_" + config.name.replace("-", "_") + "/;",
        "proxy_pass http://gateway_" + config.name.replace("-", "_") + "/admin;",
    )
    assert block[1].replace("        client_max_body_size 50m;\n", "") == forward
    # a smaller mount limit needs nothing from nginx: the gateway enforces it
    assert "/api/v1 {" not in text
    assert "client_max_body_size 1m;" in text


def test_static_cache_can_be_turned_off(make_config: Make) -> None:
    (text,) = render(
        "nginx", make_config("tenants", "gevent"), static_max_age=0
    ).values()
    assert 'add_header Cache-Control "no-cache";' in text
    assert "expires" not in text


def test_paths_with_spaces_are_quoted_everywhere(
    make_config: Make, tmp_path: Path
) -> None:
    config = make_config("tenants", "gunicorn", directory=tmp_path / "my site")
    nginx = render("nginx", config)["acme.nginx.conf"]
    assert f'alias "{tmp_path}/my site/static/";' in nginx
    service = render("systemd", config)["acme.service"]
    assert f'"{tmp_path}/my site/gateway.toml"' in service
    checks.check_nginx(tmp_path / "n", {"acme.nginx.conf": nginx})
    checks.check_systemd(tmp_path / "s", render("systemd", config))


# -- the checkers catch what they must ---------------------------------------------------


def _broken(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    assert old in files[name], f"{old!r} not in {name}"
    return {**files, name: files[name].replace(old, new, 1)}


def test_checkers_reject_broken_files(make_config: Make, tmp_path: Path) -> None:
    fail = pytest.fail.Exception
    nginx = render("nginx", make_config("tenants", "gevent"))
    with pytest.raises(fail):
        checks.check_nginx(
            tmp_path / "n",
            _broken(
                nginx,
                "acme.nginx.conf",
                "absolute_redirect off;",
                "absolute_redirect maybe;",
            ),
        )
    apache = render("apache-proxy", make_config("tenants", "gevent"))
    with pytest.raises(fail):
        checks.check_apache(
            tmp_path / "a",
            _broken(
                apache, "acme.apache.conf", "ProxyRequests Off", "ProxyRequests Perhaps"
            ),
            "proxy",
            tls=False,
        )
    units = render("systemd", make_config("tenants", "gevent"))
    with pytest.raises(fail):  # only a warning from systemd-analyze: still a failure
        checks.check_systemd(
            tmp_path / "s",
            _broken(
                units,
                "acme.service",
                "Restart=on-failure",
                "Restart=on-failure\nRestartSecs=2",
            ),
        )
    ini = render("uwsgi", make_config("tenants", "uwsgi"))
    with pytest.raises(fail):
        checks.check_uwsgi(
            tmp_path / "u",
            _broken(ini, "acme.uwsgi.ini", "need-app = true", "need-apps = true"),
        )
    program = render("supervisor", make_config("tenants", "gevent"))
    with pytest.raises(fail):
        checks.check_supervisor(
            tmp_path / "p",
            _broken(program, "acme.supervisor.conf", "startsecs=2", "startsecs=soon"),
        )


def test_the_reference_documents_typos_are_real_errors(
    make_config: Make, tmp_path: Path
) -> None:
    """The .htaccess RewriteCond with an inline comment and lighttpd's
    url.rewrite-once without its closing parenthesis are rejected by the
    servers: the generated files must not carry them."""
    fail = pytest.fail.Exception
    config = make_config("mounts", "cgi")
    htaccess = render("htaccess-cgi", config)
    checks.check_htaccess(tmp_path / "ok", htaccess, "cgi")
    documented = (
        "RewriteCond %{REQUEST_FILENAME} !-f # Don't interfere with static files"
    )
    with pytest.raises(fail):
        checks.check_htaccess(
            tmp_path / "typo",
            _broken(
                htaccess, ".htaccess", "RewriteCond %{REQUEST_FILENAME} !-f", documented
            ),
            "cgi",
        )
    lighttpd = render("lighttpd", make_config("mounts", "fastcgi"))
    unclosed = 'url.rewrite-once = (\n    "^(/static.*)$" => "$1",\n    "^(/.*)$" => "/paths.fcgi$1"\n'
    with pytest.raises(fail):
        checks.check_lighttpd(
            tmp_path / "l", {k: v + unclosed for k, v in lighttpd.items()}
        )


def test_htaccess_documents_no_inline_comment(make_config: Make) -> None:
    config = make_config("mounts", "fastcgi")
    config = config.replace(server=dataclasses.replace(config.server, static=()))
    text = render("htaccess-fcgi", config)[".htaccess"]
    for line in text.splitlines():
        if line.strip().startswith(("RewriteCond", "RewriteRule")):
            assert "#" not in line
