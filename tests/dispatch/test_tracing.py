"""OpenTelemetry tracing (issue 19, point 4): ``[logging].tracing`` wraps the
gateway in OpenTelemetry's WSGI middleware and its spans carry the tenant,
the mount and the request id; checked with the SDK's in-memory exporter."""

from __future__ import annotations

import sys
import typing as t

import pytest

pytest.importorskip("opentelemetry.instrumentation.wsgi")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from gateway.config import ConfigError  # noqa: E402
from gateway.dispatch import Gateway, Mount  # noqa: E402
from gateway.dispatch.tracing import span_attributes, traced  # noqa: E402
from gateway.toml import LoggingConfig  # noqa: E402

ATTRIBUTES = [
    pytest.param({}, {}, id="nothing-known"),
    pytest.param({"gateway.tenant": "acme"}, {"gateway.tenant": "acme"}, id="tenant"),
    pytest.param(
        {"gateway.root": "", "SCRIPT_NAME": "/admin", "gateway.request_id": "r1"},
        {"gateway.mount": "/admin", "gateway.request_id": "r1"},
        id="mount-and-id",
    ),
]


@pytest.mark.parametrize(("environ", "expected"), ATTRIBUTES)
def test_span_attributes(environ: dict[str, str], expected: dict[str, str]) -> None:
    assert span_attributes(environ) == expected


def status_of(span: t.Any) -> t.Any:
    """The HTTP status attribute, in the old or the stable semantic conventions
    (``OTEL_SEMCONV_STABILITY_OPT_IN`` chooses)."""
    attrs = span.attributes
    return attrs.get("http.response.status_code", attrs.get("http.status_code"))


@pytest.fixture
def spans() -> t.Iterator[InMemorySpanExporter]:
    """The global tracer provider (set once per process) exporting to memory."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()  # exports nothing more


def test_tenant_span_through_a_configured_gateway(
    spans: InMemorySpanExporter, call: t.Any, echo: t.Any
) -> None:
    gw = Gateway(
        base_domain="example.com",
        tenants=echo,
        logging=LoggingConfig(access="off", tracing=True),
    )
    assert call(gw, path="/x", host="acme.example.com").status == 200
    (span,) = spans.get_finished_spans()
    assert span.kind == trace.SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["gateway.tenant"] == "acme"
    assert "gateway.mount" not in span.attributes
    assert status_of(span) == 200


def test_mount_span_carries_the_request_id_of_the_access_log(
    spans: InMemorySpanExporter, call: t.Any, echo: t.Any, tmp_path: t.Any
) -> None:
    gw = Gateway(
        echo("root"),
        mounts=[Mount("/admin", echo("admin"))],
        logging=LoggingConfig(access=str(tmp_path / "a.log"), tracing=True),
    )
    result = call(gw, path="/admin/users")
    (span,) = spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gateway.mount"] == "/admin"
    assert span.attributes["gateway.request_id"] == result.headers["X-Request-ID"]


def test_traced_takes_a_tracer_provider(call: t.Any, factory: t.Any) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    factory.unknown.add("ghost")
    gw = Gateway(base_domain="example.com", tenants=factory)
    app = traced(gw, tracer_provider=provider)
    assert call(app, host="ghost.example.com").status == 404
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gateway.tenant"] == "ghost"
    assert status_of(span) == 404


def test_missing_middleware_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, echo: t.Any
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.wsgi", None)
    with pytest.raises(ConfigError, match=r"pip install 'gateway\[otel\]'"):
        Gateway(echo("x"), logging=LoggingConfig(tracing=True))
