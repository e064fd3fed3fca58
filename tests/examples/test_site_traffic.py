"""The admin's traffic page, its pure parts (examples/multitenant/hosting/
admin/traffic.py): rates and error rates between samples, the p95 of a
cumulative histogram, the SVG chart; and the page in process. The page in a
real browser, over real workers: test_site_traffic_browser.py."""

from __future__ import annotations

import math
import typing as t

import pytest

pytest.importorskip("prometheus_client")

from hosting.admin.traffic import (  # noqa: E402
    Totals,
    quantile,
    rows,
    sample_interval,
    sparkline,
)
from site_helpers import wait_until  # noqa: E402

INF = math.inf


@pytest.mark.parametrize(
    ("older", "newer", "expected"),
    [
        pytest.param({}, {0.1: 0, INF: 0}, None, id="no-requests"),
        pytest.param({}, {0.1: 10, 0.5: 10, INF: 10}, 0.095, id="all-in-first-bucket"),
        pytest.param(
            {0.1: 10, 0.5: 10, INF: 10},
            {0.1: 10, 0.5: 30, INF: 30},
            0.1 + 0.4 * 19 / 20,
            id="only-the-difference-counts",
        ),
        pytest.param({}, {0.1: 0, 0.5: 0, INF: 4}, 0.5, id="beyond-the-last-bound"),
    ],
)
def test_p95_interpolates_within_its_bucket(
    older: dict[float, float], newer: dict[float, float], expected: float | None
) -> None:
    got = quantile(0.95, older, newer)
    assert got == (None if expected is None else pytest.approx(expected))


def sample(
    when: float, **tenants: tuple[float, float]
) -> tuple[float, dict[str, Totals]]:
    return when, {
        name: Totals(requests=r, errors=e, buckets={0.1: r, INF: r})
        for name, (r, e) in tenants.items()
    }


def test_rows_are_rates_over_the_recent_window_busiest_first() -> None:
    samples = [
        sample(0, a=(0, 0), b=(0, 0)),
        sample(30, a=(60, 0), b=(3, 0)),
        sample(90, a=(180, 6), b=(9, 0)),  # 60 s after the first one in range
    ]
    table = rows(samples, recent=60)
    assert [r.tenant for r in table] == ["a", "b"]
    a, b = table
    assert a.rate == pytest.approx(120 / 60)
    assert a.error_rate == pytest.approx(6 / 120)
    assert b.rate == pytest.approx(6 / 60)
    assert a.series == pytest.approx([2.0, 2.0])
    assert b.series == pytest.approx([0.1, 0.1])


@pytest.mark.parametrize(
    "samples",
    [
        pytest.param([], id="none"),
        pytest.param([sample(0, a=(5, 0))], id="one"),
    ],
)
def test_no_rows_before_two_samples(samples: list[t.Any]) -> None:
    assert rows(samples) == []


def test_a_tenant_without_requests_has_no_latency_or_error_rate() -> None:
    (row,) = rows([sample(0, a=(5, 1)), sample(10, a=(5, 1))])
    assert row.rate == 0 and row.p95 is None and row.error_rate is None


@pytest.mark.parametrize(
    ("values", "points"),
    [
        pytest.param([], 2, id="empty"),
        pytest.param([3.0], 2, id="one"),
        pytest.param([0.0, 1.0, 4.0, 2.0], 4, id="several"),
    ],
)
def test_the_chart_is_an_svg_with_a_point_per_value(
    values: list[float], points: int
) -> None:
    svg = str(sparkline(values, width=100, height=20))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    line = svg.split('<polyline points="')[1].split('"')[0]
    coords = [tuple(map(float, p.split(","))) for p in line.split()]
    assert len(coords) == points
    assert all(0 <= x <= 100 and 0 <= y <= 20 for x, y in coords)
    if values:
        top = max(range(len(values)), key=values.__getitem__)
        assert coords[top][1] == min(y for _, y in coords)  # the peak is highest


@pytest.mark.parametrize(
    "value", [pytest.param("0", id="zero"), pytest.param("soon", id="words")]
)
def test_a_bad_sample_interval_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="MULTITENANT_TRAFFIC_SAMPLE"):
        sample_interval(value)


def test_the_page_lists_tenants_with_their_charts(
    site: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MULTITENANT_TRAFFIC_SAMPLE", "0.05")
    assert site.get("", "/admin/traffic").status_code == 200  # starts sampling
    for _ in range(3):
        assert site.get("acme", "/").status_code == 200
    assert site.get("bistro", "/").status_code == 200

    def page() -> str:
        return site.get("", "/admin/traffic").text

    wait_until(lambda: 'data-tenant="bistro"' in page(), 10, "a bistro row")
    html = page()
    acme = html.split('data-tenant="acme"')[1].split("</tr>")[0]
    assert "<svg" in acme and "<polyline" in acme
    assert "0.00</td>" not in acme.split("</td>")[1] + "</td>"  # a rate above 0
