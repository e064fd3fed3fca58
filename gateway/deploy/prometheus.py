"""``gateway config prometheus``: a scrape config and alert rules for the
metrics of ``[metrics]`` (pure text, from the gateway.toml and the metric
names of :data:`gateway.dispatch.metrics.METRICS`).

Two files: ``NAME.prometheus.yml``, a ``scrape_configs`` entry to paste into
prometheus.yml, and ``NAME.rules.yml``, alert rules on a tenant's error rate
and on factory failures. Every string is written as a double-quoted YAML
scalar (JSON's escapes, which YAML shares), so nothing in a name or a path
can break the file.
"""

from __future__ import annotations

import json

from gateway.dispatch.metrics import METRICS

#: Share of a tenant's requests answered 5xx above which it alerts.
ERROR_RATE = 0.05
#: The window both rules look back over, and how long the error rate must last.
WINDOW = "5m"
ERROR_FOR = "10m"
#: Requests a second below which a tenant's error rate is not judged.
MIN_RATE = 0.1


def _q(value: str) -> str:
    return json.dumps(value)


def _metric(name: str, suffix: str = "") -> str:
    """An exported metric name, checked against METRICS (one source)."""
    m = METRICS[name]
    return name + ("_total" if m.kind == "counter" else "") + suffix


def scrape_config(job: str, path: str, target: str, comment: str) -> str:
    """The ``scrape_configs`` entry of one gateway."""
    return "\n".join(
        [
            f"# {comment}",
            "# Paste under scrape_configs: in prometheus.yml.",
            "scrape_configs:",
            f"  - job_name: {_q(job)}",
            f"    metrics_path: {_q(path)}",
            "    scrape_interval: 15s",
            "    static_configs:",
            f"      - targets: [{_q(target)}]",
            "",
        ]
    )


def alert_rules(job: str) -> str:
    """Alert rules: a tenant's 5xx share, and any factory failure."""
    requests = _metric("gateway_requests")
    failures = _metric("gateway_registry_factory_failures")
    timeouts = _metric("gateway_registry_factory_timeouts")
    sel = f'job="{job}"'
    by_tenant = f'sum by (tenant) (rate({requests}{{{sel}, tenant!=""}}[{WINDOW}]))'
    errors = f'sum by (tenant) (rate({requests}{{{sel}, tenant!="", status="5xx"}}[{WINDOW}]))'
    rules: list[tuple[str, str, str, str, str]] = [
        (
            "GatewayTenantErrorRate",
            f"({errors} / {by_tenant}) > {ERROR_RATE:g} and {by_tenant} > {MIN_RATE:g}",
            ERROR_FOR,
            "tenant {{ $labels.tenant }} answers {{ $value | humanizePercentage }}"
            " of its requests with 5xx",
            f"More than {ERROR_RATE:.0%} of the tenant's requests failed over"
            f" {WINDOW} (for {ERROR_FOR}).",
        ),
        (
            "GatewayFactoryFailures",
            f"sum(increase({failures}{{{sel}}}[{WINDOW}])"
            f" + increase({timeouts}{{{sel}}}[{WINDOW}])) > 0",
            "0m",
            "the tenant factory failed {{ $value }} times in " + WINDOW,
            "Tenants whose factory raised or timed out answer 503 until it"
            " succeeds; the gateway's log names them.",
        ),
    ]
    lines = ["groups:", f"  - name: {_q(job)}", "    rules:"]
    for name, expr, duration, summary, description in rules:
        lines += [
            f"      - alert: {name}",
            f"        expr: {_q(expr)}",
            f"        for: {duration}",
            "        labels:",
            '          severity: "warning"',
            "        annotations:",
            f"          summary: {_q(summary)}",
            f"          description: {_q(description)}",
        ]
    return "\n".join(lines) + "\n"


def files(name: str, path: str, target: str, comment: str) -> dict[str, str]:
    """File name -> content of both files for the gateway ``name``."""
    job = f"gateway-{name}"
    return {
        f"{name}.prometheus.yml": scrape_config(job, path, target, comment),
        f"{name}.rules.yml": alert_rules(job),
    }


def target_of(bind: str, protocol: str, http_port: int) -> tuple[str, str]:
    """Where Prometheus scrapes, and why there: the adapter itself when it
    speaks HTTP on a TCP address, else the front server on this machine."""
    if protocol == "http" and not bind.startswith("unix:"):
        host, _, port = bind.rpartition(":")
        if host in ("", "0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"{host}:{port}", "scraped from the gateway's own HTTP listener"
    return (
        f"127.0.0.1:{http_port}",
        "scraped through the front server (the adapter does not speak HTTP)",
    )
