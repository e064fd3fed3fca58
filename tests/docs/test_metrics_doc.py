"""docs/metrics.md lists every metric the gateway exports: its table is the
one gateway/dispatch/metrics.py generates from METRICS."""

from __future__ import annotations

from pathlib import Path

from gateway.dispatch.metrics import BEGIN, END, reference

DOC = Path(__file__).parents[2] / "docs" / "metrics.md"


def test_the_metrics_table_is_generated_from_the_code() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, "the generated table's markers are gone"
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert table == reference().strip(), (
        "docs/metrics.md is stale: python -m gateway.dispatch.metrics docs/metrics.md"
    )
