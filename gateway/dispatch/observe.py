"""What ``[logging]`` puts around a Gateway: the access log, then tracing.

::

    OpenTelemetry -> AccessLog -> ProxyFix -> ...

The access log sits outside the proxy fix so that it judges ``X-Request-ID``
by the real peer and times the whole request; tracing sits outside both so
its span covers the request and can read the id.
"""

from __future__ import annotations

import typing as t

from ..toml import LoggingConfig
from ..toml.tables import ACCESS_LOG_OFF
from .accesslog import AccessLog
from .forwarded import TrustedNetworks
from .logsinks import Sink, open_sink
from .tracing import traced

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIApplication


def open_access_sink(config: LoggingConfig) -> Sink | None:
    """The access log's destination, opened; None when it is off."""
    if config.access == ACCESS_LOG_OFF:
        return None
    return open_sink(config.access)


def request_id_peers(proxy: t.Mapping[str, t.Any] | None) -> TrustedNetworks:
    """The peers whose ``X-Request-ID`` is kept: those whose forwarded
    headers :class:`~gateway.dispatch.proxy.ProxyFix` believes, nobody
    without a proxy fix."""
    if proxy is None:
        return TrustedNetworks([])
    trusted = proxy.get("trusted")
    return TrustedNetworks(None if trusted is None else list(trusted))


def observed(
    app: WSGIApplication,
    config: LoggingConfig,
    sink: Sink | None,
    proxy: t.Mapping[str, t.Any] | None,
) -> WSGIApplication:
    """``app`` with the access log (when ``sink`` is given) and tracing
    (``config.tracing``) around it."""
    if sink is not None:
        # Its bound __call__, as for Metrics: a call through the instance
        # goes by a type slot, some 650 instructions a request more.
        app = AccessLog(
            app, sink, format=config.format, trusted=request_id_peers(proxy)
        ).__call__
    if config.tracing:
        app = traced(app)
    return app
