"""OpenTelemetry tracing: ``[logging].tracing`` (``pip install 'gateway[otel]'``).

:func:`traced` wraps a WSGI application in OpenTelemetry's WSGI middleware
(``opentelemetry-instrumentation-wsgi``), which opens one server span per
request with the HTTP semantic attributes. The gateway adds what only it
knows, once dispatch has chosen the application: the tenant, the mount and
the request id (:data:`SPAN_ATTRIBUTES`). Spans go to the tracer provider the
process configured (the SDK in code, or ``opentelemetry-instrument`` with the
``OTEL_*`` environment variables); without one they cost little and go
nowhere.
"""

from __future__ import annotations

import typing as t

from ..config import ConfigError
from .accesslog import REQUEST_ID_KEY, mount_of

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: Span attribute -> how it is read from the environ once the response starts.
SPAN_ATTRIBUTES: dict[str, t.Callable[[WSGIEnvironment], str | None]] = {
    "gateway.tenant": lambda environ: environ.get("gateway.tenant"),
    "gateway.mount": mount_of,
    "gateway.request_id": lambda environ: environ.get(REQUEST_ID_KEY),
}

#: What to install when the middleware is missing.
EXTRA = "pip install 'gateway[otel]'"


def span_attributes(environ: WSGIEnvironment) -> dict[str, str]:
    """The gateway's attributes for a request's span (those that are set)."""
    found = {name: read(environ) for name, read in SPAN_ATTRIBUTES.items()}
    return {name: value for name, value in found.items() if value}


def _response_hook(
    span: t.Any, environ: WSGIEnvironment, status: str, headers: t.Any
) -> None:
    if span is not None and span.is_recording():
        span.set_attributes(span_attributes(environ))


def traced(app: WSGIApplication, *, tracer_provider: t.Any = None) -> WSGIApplication:
    """``app`` inside OpenTelemetry's WSGI middleware, with the gateway's
    span attributes; ``tracer_provider`` None is the global one.

    :raises ConfigError: ``opentelemetry-instrumentation-wsgi`` is missing.
    """
    try:
        from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
    except ImportError as e:
        raise ConfigError(
            f"[logging].tracing needs OpenTelemetry's WSGI middleware ({e}): {EXTRA}"
        ) from None
    return t.cast(
        "WSGIApplication",
        OpenTelemetryMiddleware(
            app, response_hook=_response_hook, tracer_provider=tracer_provider
        ),
    )
