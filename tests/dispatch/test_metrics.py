"""Per-tenant metrics in one process: labels, cardinality, exact counts under
threads, the endpoint's allow-list (gateway/dispatch/metrics.py and
metrics_wsgi.py). The multiprocess sums are tested with real gunicorn and
uWSGI in tests/examples/test_site_metrics_live.py, granian and mod_wsgi
in tests/integration/test_granian_metrics_live.py and test_mod_wsgi_metrics_live.py."""

from __future__ import annotations

import threading
import typing as t

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families

from gateway.config import ConfigError
from gateway.dispatch import Gateway, Mount
from gateway.dispatch.metrics import (
    BUCKETS,
    METRICS,
    OTHER,
    Histogram,
    Recorder,
    TenantLabels,
    content_length,
    method_label,
    mount_label,
    reference,
    status_class,
)
from gateway.toml import MetricsConfig, parse_config

ON = MetricsConfig(enabled=True)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("200 OK", "2xx", id="ok"),
        pytest.param("304 Not Modified", "3xx", id="redirect-class"),
        pytest.param("404 Not Found", "4xx", id="client-error"),
        pytest.param("503 Service Unavailable", "5xx", id="server-error"),
        pytest.param(None, "5xx", id="app-raised"),
        pytest.param("2 OK", "other", id="short-code"),
        pytest.param("OK", "other", id="no-code"),
        pytest.param("", "other", id="empty"),
    ],
)
def test_status_is_counted_by_class(status: str | None, expected: str) -> None:
    assert status_class(status) == expected


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        pytest.param("GET", "GET", id="get"),
        pytest.param("DELETE", "DELETE", id="delete"),
        pytest.param("PROPFIND", "other", id="webdav"),
        pytest.param("get", "other", id="lowercase-is-not-a-method"),
        pytest.param("X" * 300, "other", id="garbage"),
    ],
)
def test_unknown_methods_share_one_label(method: str, expected: str) -> None:
    assert method_label(method) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, 0, id="absent"),
        pytest.param("", 0, id="empty"),
        pytest.param("120", 120, id="number"),
        pytest.param("-5", 0, id="negative"),
        pytest.param("12x", 0, id="malformed"),
    ],
)
def test_request_bytes_come_from_content_length(
    value: str | None, expected: int
) -> None:
    assert content_length(value) == expected


@pytest.mark.parametrize(
    ("script", "root", "expected"),
    [
        pytest.param("/admin", "", "/admin", id="mount"),
        pytest.param("/site/admin", "/site", "/admin", id="under-script-name"),
        pytest.param("", "", "", id="no-mount"),
        pytest.param("/u/alice", "", "", id="undeclared-prefix"),
        pytest.param("/admin", None, "", id="dispatch-never-ran"),
        pytest.param("/other/admin", "/site", "", id="root-changed"),
    ],
)
def test_mount_label_is_a_declared_prefix_or_empty(
    script: str, root: str | None, expected: str
) -> None:
    assert mount_label(script, root, frozenset({"/admin", "/docs"})) == expected


@pytest.mark.parametrize(
    ("keys", "live", "expected"),
    [
        pytest.param(["a", "b"], None, ["a", "b"], id="under-the-bound"),
        pytest.param(["a", "b", "c", "d"], None, ["a", "b", OTHER, OTHER], id="full"),
        pytest.param(["a", "b", "c", "a"], None, ["a", "b", OTHER, "a"], id="kept"),
        pytest.param(["x", "a"], {"a"}, [OTHER, "a"], id="unknown-takes-no-slot"),
        pytest.param([None, "a"], None, ["", "a"], id="no-tenant"),
    ],
)
def test_tenant_labels_are_bounded(
    keys: list[str | None], live: set[str] | None, expected: list[str]
) -> None:
    labels = TenantLabels(2, live.__contains__ if live is not None else None)
    assert [labels.label(k) for k in keys] == expected


def test_released_slots_go_to_the_next_tenants() -> None:
    labels = TenantLabels(2)
    assert [labels.label(k) for k in "abc"] == ["a", "b", OTHER]
    assert labels.release({"b"}) == {"a"}
    assert [labels.label(k) for k in "cad"] == ["c", OTHER, OTHER]


@pytest.mark.parametrize(
    "value",
    [pytest.param(0, id="zero"), pytest.param(-1, id="negative")],
)
def test_a_bound_below_one_names_the_key(value: int) -> None:
    with pytest.raises(ValueError, match=r"\[metrics\].max_tenants"):
        TenantLabels(value)


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    h = Histogram()
    for value in (0.005, 0.006, 20.0):
        h.observe(value)
    buckets = dict(h.cumulative())
    assert buckets["0.005"] == 1  # le is "less than or equal"
    assert buckets["0.01"] == 2
    assert buckets["10.0"] == 2
    assert buckets["+Inf"] == 3
    assert h.total == pytest.approx(20.011)


def test_a_fold_buckets_durations_as_the_histogram_does() -> None:
    """The fold's own bucket choice (a shortcut under the first bound) puts
    every duration where Histogram.observe() would, bounds included."""
    durations = [0.0, 0.001, BUCKETS[0], 0.0051, 0.007, 0.01, 0.3, 10.0, 11.0]
    recorder = Recorder(10)
    route = (None, "", "", "GET", "200 OK")
    recorder.pending.extend((route, None, 0, took) for took in durations)
    recorder.fold()
    expected = Histogram()
    for took in durations:
        expected.observe(took)
    (series,) = recorder.series.values()
    assert series.duration.counts == expected.counts
    assert series.duration.total == pytest.approx(sum(durations))


def test_the_config_table_checks_its_keys(tmp_path: t.Any) -> None:
    with pytest.raises(ConfigError, match="max_tenants"):
        parse_config(
            {"gateway": {"default_app": "x:app"}, "metrics": {"max_tenants": 0}},
            tmp_path,
        )
    config = parse_config(
        {"gateway": {"default_app": "x:app"}, "metrics": {"enabled": True}}, tmp_path
    )
    assert config.metrics.enabled and config.metrics.path == "/_gateway/metrics"


def test_the_reference_lists_every_metric() -> None:
    table = reference()
    for m in METRICS.values():
        assert f"`{m.name}" in table


# -- a gateway with metrics ------------------------------------------------


def tenant_app(environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"abc", b"de"])
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def factory(key: str) -> t.Any:
    return None if key.startswith("nobody") else tenant_app


def make_gateway(**options: t.Any) -> Gateway:
    options.setdefault("metrics", ON)
    return Gateway(tenant_app, base_domain="example.com", tenants=factory, **options)


def scrape(gateway: Gateway, call: t.Any, remote_addr: str = "127.0.0.1") -> t.Any:
    result = call(
        gateway, path="/_gateway/metrics", host="example.com", remote_addr=remote_addr
    )
    return result


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def requests_of(text: str, tenant: str) -> float:
    return sum(
        value
        for (name, labels), value in samples(text).items()
        if name == "gateway_requests_total" and ("tenant", tenant) in labels
    )


def test_threads_hammering_tenants_are_counted_exactly(call: t.Any) -> None:
    gateway = make_gateway()
    per_thread, threads, tenants = 300, 6, ("acme", "globex", "initech")
    errors: list[BaseException] = []

    def hammer(index: int) -> None:
        try:
            host = f"{tenants[index % 3]}.example.com"
            for _ in range(per_thread):
                assert call(gateway, path="/", host=host).status == 200
        except BaseException as e:  # reported below
            errors.append(e)

    workers = [threading.Thread(target=hammer, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors
    result = scrape(gateway, call)
    assert result.status == 200
    assert result.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    expected = per_thread * threads / 3
    for tenant in tenants:
        assert requests_of(result.text, tenant) == expected
    got = samples(result.text)
    key = (
        "gateway_request_duration_seconds_count",
        (("mount", ""), ("tenant", "acme")),
    )
    assert got[key] == expected
    assert got[
        ("gateway_response_bytes_total", (("mount", ""), ("tenant", "acme")))
    ] == (expected * len(b"hello"))
    assert got[("gateway_registry_creations_total", ())] == 3
    assert got[("gateway_registry_instances", ())] == 3


def test_status_method_and_bytes_are_labelled(call: t.Any, make_environ: t.Any) -> None:
    gateway = make_gateway()
    host = "acme.example.com"
    call(gateway, path="/missing", host=host)
    post = make_environ("/", host, method="POST")
    post["CONTENT_LENGTH"] = "7"
    call(gateway, post)
    call(gateway, path="/stream", host=host)
    with pytest.raises(RuntimeError):
        call(gateway, path="/boom", host=host)
    got = samples(scrape(gateway, call).text)

    def req(method: str, status: str) -> float:
        labels = (
            ("method", method),
            ("mount", ""),
            ("status", status),
            ("tenant", "acme"),
        )
        return got.get(("gateway_requests_total", labels), 0)

    assert req("GET", "4xx") == 1
    assert req("POST", "2xx") == 1
    assert req("GET", "2xx") == 1  # the stream, counted at close
    assert req("GET", "5xx") == 1  # the exception
    where = (("mount", ""), ("tenant", "acme"))
    assert got[("gateway_request_bytes_total", where)] == 7
    assert got[("gateway_response_bytes_total", where)] == len(b"nohelloabcde")


def test_requests_outside_tenants_and_under_mounts_have_their_labels(
    call: t.Any, echo: t.Any
) -> None:
    gateway = make_gateway(mounts=[Mount("/admin", echo("admin"), host="*")])
    call(gateway, path="/admin/x", host="acme.example.com")
    call(gateway, path="/", host="example.com")
    call(gateway, path="/", host="nobody.example.com")  # no such tenant: 404
    call(gateway, path="/", host="evil.test")  # refused Host: 400
    got = samples(scrape(gateway, call).text)
    counted = {
        (dict(labels)["tenant"], dict(labels)["mount"], dict(labels)["status"]): v
        for (name, labels), v in got.items()
        if name == "gateway_requests_total"
    }
    assert counted == {
        ("acme", "/admin", "2xx"): 1,
        ("", "", "2xx"): 1,
        (OTHER, "", "4xx"): 1,  # an unknown tenant takes no slot
        ("", "", "4xx"): 1,  # no tenant at all
    }


def test_the_endpoint_is_hidden_from_other_clients(call: t.Any) -> None:
    gateway = make_gateway()
    assert scrape(gateway, call, remote_addr="203.0.113.9").status == 404
    assert scrape(gateway, call, remote_addr="127.0.0.1").status == 200


def test_the_endpoint_follows_the_health_allow_list(call: t.Any) -> None:
    from gateway.toml import HealthConfig

    gateway = make_gateway(health=HealthConfig(allow=("10.0.0.0/8",)))
    assert scrape(gateway, call, remote_addr="127.0.0.1").status == 404
    assert scrape(gateway, call, remote_addr="10.1.2.3").status == 200


def test_without_metrics_the_path_reaches_the_application(call: t.Any) -> None:
    gateway = make_gateway(metrics=None)
    assert call(gateway, path="/_gateway/metrics", host="example.com").text == "hello"


def series_count(text: str) -> int:
    return sum(
        len(family.samples)
        for family in text_string_to_metric_families(text)
        if family.name.startswith("gateway_")
    )


def test_ten_thousand_tenants_keep_the_series_bounded(call: t.Any) -> None:
    gateway = make_gateway(metrics=MetricsConfig(enabled=True, max_tenants=20))
    for i in range(200):
        call(gateway, path="/", host=f"t{i}.example.com")
    after_200 = series_count(scrape(gateway, call).text)
    for i in range(200, 10_000):
        call(gateway, path="/", host=f"t{i}.example.com")
    text = scrape(gateway, call).text
    # 20 tenants + _other, one mount, one method and status each: requests,
    # bytes x2, the histogram (buckets + sum + count); plus the registry's.
    per_label = 1 + 2 + len(gateway._recorder.factory_duration.counts) + 2  # type: ignore[union-attr]
    assert series_count(text) == after_200
    assert series_count(text) <= 21 * per_label + 60
    # t0..t19 were evicted (max_instances 1000): their slots went to live
    # tenants and their series are gone; every other request is counted.
    total = sum(
        v for (name, _), v in samples(text).items() if name == "gateway_requests_total"
    )
    assert total == 10_000 - 20
    assert requests_of(text, OTHER) >= 10_000 - 40


def test_evicted_tenants_leave_no_series_behind(call: t.Any) -> None:
    gateway = make_gateway(max_instances=2)
    for key in ("a", "b", "c"):  # "a" is evicted by the LRU bound
        call(gateway, path="/", host=f"{key}.example.com")
    text = scrape(gateway, call).text
    assert requests_of(text, "a") == 0
    assert requests_of(text, "b") == requests_of(text, "c") == 1
    call(gateway, path="/", host="d.example.com")  # takes a's slot
    assert requests_of(scrape(gateway, call).text, "d") == 1


def test_factory_durations_and_in_flight_are_reported(
    call: t.Any, make_environ: t.Any
) -> None:
    gateway = make_gateway()
    statuses: list[str] = []
    environ = make_environ("/stream", "acme.example.com")
    body = gateway(environ, lambda status, headers, exc=None: statuses.append(status))
    assert statuses == ["200 OK"]  # the response is open: in flight
    got = samples(scrape(gateway, call).text)
    assert got[("gateway_tenant_requests_in_flight", (("tenant", "acme"),))] == 1
    assert got[("gateway_registry_factory_duration_seconds_count", ())] == 1
    assert b"".join(body) == b"abcde"
    body.close()  # type: ignore[attr-defined]
    got = samples(scrape(gateway, call).text)
    assert ("gateway_tenant_requests_in_flight", (("tenant", "acme"),)) not in got
    assert requests_of(scrape(gateway, call).text, "acme") == 1


def test_requests_answered_from_the_negative_cache_are_counted(call: t.Any) -> None:
    """The first request for an unknown tenant asks the factory (None) and is
    remembered; the next ones are answered from the negative cache, each
    counted once. Known tenants and the bare domain count nothing there."""
    gateway = make_gateway()
    for _ in range(7):
        assert call(gateway, path="/", host="nobody1.example.com").status == 404
    for _ in range(3):
        assert call(gateway, path="/", host="nobody2.example.com").status == 404
        assert call(gateway, path="/", host="acme.example.com").status == 200
        assert call(gateway, path="/", host="example.com").status == 200
    got = samples(scrape(gateway, call).text)
    assert got[("gateway_registry_negative_hits_total", ())] == 6 + 2
    assert got[("gateway_registry_negative_entries", ())] == 2
    assert gateway.registry is not None
    assert gateway.registry.stats()["negative_hits"] == 8
