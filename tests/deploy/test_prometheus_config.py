"""``gateway config prometheus``: the scrape config points at the gateway's
metrics endpoint, and the alert rules query only metrics a real scrape
exports (gateway/deploy/prometheus.py)."""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t
from pathlib import Path

import pytest

from gateway.deploy import DeployError, render
from gateway.deploy.prometheus import target_of
from gateway.toml import MetricsConfig, load_config

EXAMPLE = Path(__file__).parents[2] / "examples" / "multitenant" / "gateway.toml"


@pytest.mark.parametrize(
    ("bind", "protocol", "expected"),
    [
        pytest.param("127.0.0.1:8000", "http", "127.0.0.1:8000", id="loopback"),
        pytest.param("0.0.0.0:9000", "http", "127.0.0.1:9000", id="any-address"),
        pytest.param("[::1]:8000", "http", "[::1]:8000", id="ipv6"),
        pytest.param("unix:/run/x.sock", "http", "127.0.0.1:80", id="unix-socket"),
        pytest.param("127.0.0.1:8000", "fastcgi", "127.0.0.1:80", id="fastcgi"),
        pytest.param("127.0.0.1:8000", "uwsgi", "127.0.0.1:80", id="uwsgi-protocol"),
    ],
)
def test_prometheus_scrapes_http_or_the_front_server(
    bind: str, protocol: str, expected: str
) -> None:
    assert target_of(bind, protocol, 80)[0] == expected


def test_without_metrics_there_is_nothing_to_scrape() -> None:
    config = load_config(EXAMPLE)
    config = config.replace(metrics=dataclasses.replace(config.metrics, enabled=False))
    with pytest.raises(DeployError, match=r"\[metrics\].enabled is false"):
        render("prometheus", config)


def rendered() -> dict[str, str]:
    return render("prometheus", load_config(EXAMPLE))


def test_the_scrape_config_names_the_endpoint_and_the_listener() -> None:
    files = rendered()
    assert set(files) == {"multitenant.prometheus.yml", "multitenant.rules.yml"}
    scrape = files["multitenant.prometheus.yml"]
    assert '  - job_name: "gateway-multitenant"' in scrape
    assert f'    metrics_path: "{MetricsConfig.path}"' in scrape
    assert '      - targets: ["127.0.0.1:8000"]' in scrape


def test_every_quoted_value_is_a_well_formed_string() -> None:
    for text in rendered().values():
        for line in text.splitlines():
            value = line.partition(": ")[2]
            if value.startswith('"'):
                assert isinstance(json.loads(value), str), line
            assert "\t" not in line


def test_the_rules_query_only_what_a_scrape_exports() -> None:
    pytest.importorskip("prometheus_client")
    from werkzeug.test import Client

    from gateway.dispatch import Gateway

    def app(environ: t.Any, start_response: t.Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    gateway = Gateway(
        app,
        base_domain="example.com",
        tenants=lambda key: app,
        metrics=MetricsConfig(enabled=True),
    )
    client = Client(gateway)
    assert client.get("/", headers={"Host": "acme.example.com"}).status_code == 200
    scrape = client.get(
        "/_gateway/metrics",
        headers={"Host": "example.com"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).text
    exported = set(re.findall(r"^(gateway_\w+?)(?:\{| )", scrape, re.M))
    rules = rendered()["multitenant.rules.yml"]
    queried = set(re.findall(r"\b(gateway_\w+?)\{", rules))
    assert queried, rules
    assert queried <= exported, queried - exported
    alerts = re.findall(r"- alert: (\w+)", rules)
    assert alerts == ["GatewayTenantErrorRate", "GatewayFactoryFailures"]
