"""Middleware in front of dispatch: trusted proxies, trusted hosts, health.

:class:`ProxyFix` has Werkzeug's signature and hop semantics, plus
``trusted`` (CIDRs of the peers whose forwarded headers are believed, checked
against ``REMOTE_ADDR`` as gunicorn's ``forwarded_allow_ips`` and mod_wsgi's
trusted proxies do) and ``forwarded`` (RFC 7239). From an untrusted peer the
forwarded headers are removed from the environ, so nothing downstream (not
even ``request.access_route``) believes them. The values that were replaced
or removed are kept in ``environ["gateway.proxy_fix.orig"]`` (also under
Werkzeug's key ``werkzeug.proxy_fix.orig``).
"""

from __future__ import annotations

import json
import typing as t
from urllib.parse import parse_qs

from ..hostnames import HostAllowList, canonical_host
from ..toml import HealthConfig
from .forwarded import FORWARDED_KEYS, Hops, TrustedNetworks, resolve
from .host import rewrite_host
from .responses import respond

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ORIG_KEY = "gateway.proxy_fix.orig"


class ProxyFix:
    """Believe ``X-Forwarded-*`` (or ``Forwarded``) from trusted proxies only.

    :param x_for: values to trust in ``X-Forwarded-For`` (sets ``REMOTE_ADDR``).
    :param x_proto: ... ``X-Forwarded-Proto`` (``wsgi.url_scheme``).
    :param x_host: ... ``X-Forwarded-Host`` (``HTTP_HOST``, ``SERVER_NAME``).
    :param x_port: ... ``X-Forwarded-Port`` (``HTTP_HOST``, ``SERVER_PORT``).
    :param x_prefix: ... ``X-Forwarded-Prefix`` (``SCRIPT_NAME``).
    :param trusted: CIDRs of trusted peers; None (the default, as Werkzeug)
        trusts any peer, which is only safe when nothing but the proxy can
        reach the server. ``gateway.toml`` defaults to loopback.
    :param forwarded: read RFC 7239 ``Forwarded`` instead of ``X-Forwarded-*``
        (for/proto/host; the prefix still comes from ``X-Forwarded-Prefix``).
    """

    def __init__(
        self,
        app: WSGIApplication,
        x_for: int = 1,
        x_proto: int = 1,
        x_host: int = 0,
        x_port: int = 0,
        x_prefix: int = 0,
        *,
        trusted: t.Iterable[str] | None = None,
        forwarded: bool = False,
    ) -> None:
        for name, value in (
            ("x_for", x_for),
            ("x_proto", x_proto),
            ("x_host", x_host),
            ("x_port", x_port),
            ("x_prefix", x_prefix),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        self.app = app
        self.x_for = x_for
        self.x_proto = x_proto
        self.x_host = x_host
        self.x_port = x_port
        self.x_prefix = x_prefix
        self.forwarded = forwarded
        self.hops = Hops(x_for, x_proto, x_host, x_port, x_prefix)
        self.trusted = TrustedNetworks(None if trusted is None else list(trusted))

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        # Most requests carry none: checked in C first (the list below costs
        # about 60 bytecodes, a twentieth of a hello through gateway serve).
        if environ.keys().isdisjoint(FORWARDED_KEYS):
            return self.app(environ, start_response)
        present = [key for key in FORWARDED_KEYS if key in environ]
        orig = {
            "REMOTE_ADDR": environ.get("REMOTE_ADDR"),
            "wsgi.url_scheme": environ.get("wsgi.url_scheme"),
            "HTTP_HOST": environ.get("HTTP_HOST"),
            "SERVER_NAME": environ.get("SERVER_NAME"),
            "SERVER_PORT": environ.get("SERVER_PORT"),
            "SCRIPT_NAME": environ.get("SCRIPT_NAME"),
        }
        environ[ORIG_KEY] = environ["werkzeug.proxy_fix.orig"] = orig
        if environ.get("REMOTE_ADDR") not in self.trusted:
            for key in present:
                orig[key] = environ.pop(key)
            return self.app(environ, start_response)
        fwd = resolve(environ, self.hops, self.forwarded)
        if fwd.remote_addr:
            environ["REMOTE_ADDR"] = fwd.remote_addr
        if fwd.scheme:
            environ["wsgi.url_scheme"] = fwd.scheme
        if fwd.host:
            environ["HTTP_HOST"] = environ["SERVER_NAME"] = fwd.host
            if not fwd.host.endswith("]") and ":" in fwd.host:
                environ["SERVER_NAME"], environ["SERVER_PORT"] = fwd.host.rsplit(":", 1)
        if fwd.port:
            host = environ.get("HTTP_HOST")
            if host:
                if ":" in host and not host.endswith("]"):
                    host = host.rsplit(":", 1)[0]
                environ["HTTP_HOST"] = f"{host}:{fwd.port}"
            environ["SERVER_PORT"] = fwd.port
        if fwd.prefix is not None:
            environ["SCRIPT_NAME"] = fwd.prefix
        return self.app(environ, start_response)

    def __repr__(self) -> str:
        return (
            f"<ProxyFix x_for={self.x_for} x_proto={self.x_proto} x_host={self.x_host}"
            f" x_port={self.x_port} x_prefix={self.x_prefix} trusted={self.trusted!r}>"
        )


class TrustedHosts:
    """Answer 400 unless the ``Host`` (after any proxy fix) is allowed.

    Entries are exact hosts or ``.example.com`` (the domain and every
    subdomain); an empty list allows every valid host, and a request without
    one (HTTP/1.0), which the app then reads from ``SERVER_NAME``. A malformed
    Host is always refused, and a missing one when the list is not empty. An allowed Host in another spelling than its
    canonical one is rewritten in the environ (see
    :func:`~gateway.hostnames.canonical_host`).
    """

    def __init__(
        self, app: WSGIApplication, allowed: t.Iterable[str], cache_size: int = 1024
    ) -> None:
        self.app = app
        self.allowed = HostAllowList(allowed)
        self._cache: dict[str | None, bool] = {}
        self._rewrites: dict[str, tuple[str, str]] = {}
        self._cache_size = cache_size

    def check(self, raw: str | None) -> bool:
        """Whether a raw Host value is valid and allowed."""
        return self._verdict(raw) is not None

    def _verdict(self, raw: str | None) -> tuple[str, str] | None:
        """``canonical_host(raw)`` when valid and allowed, else None; the
        answer is cached: True in ``_cache`` for a canonical value (the fast
        path), the parts in ``_rewrites`` for another spelling."""
        if raw is not None:
            if raw in self._rewrites:
                return self._rewrites[raw]
            if self._cache.get(raw) is False:
                return None
        parts = canonical_host(raw)
        if parts is not None and not self.allowed.allows(parts[0]):
            parts = None
        if raw is not None and len(raw) <= 255:
            if parts is None or parts[1] == raw:
                if len(self._cache) >= self._cache_size:
                    self._cache.clear()
                self._cache[raw] = parts is not None
            else:
                if len(self._rewrites) >= self._cache_size:
                    self._rewrites.clear()
                self._rewrites[raw] = parts
        return parts

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        raw = environ.get("HTTP_HOST")
        # _verdict()'s cache of canonical values, read inline: calling it
        # costs about 520 instructions a request, 4% of what the composed
        # Gateway adds.
        if self._cache.get(raw):
            return self.app(environ, start_response)
        parts = self._verdict(raw)
        if parts is not None:
            if parts[1] != raw:  # the app reads the host as it was checked
                rewrite_host(environ, *parts)
            return self.app(environ, start_response)
        if raw is None and not self.allowed.entries:
            return self.app(environ, start_response)
        return respond(
            environ, start_response, 400, "Bad Request: unknown or invalid Host\n"
        )

    def __repr__(self) -> str:
        return f"<TrustedHosts {list(self.allowed.entries)!r}>"


class HealthCheck:
    """Answer ``path`` (and ``path/tenant?host=...``) before any dispatch.

    Only peers in ``allow`` (CIDRs, checked against ``REMOTE_ADDR`` after the
    proxy fix) see it; others get a 404 as if it did not exist. ``path``
    returns JSON ``{"status": "ok", ...status()}``; ``path/tenant`` answers
    200 or 404 for whether the host names an application, which is what an
    on-demand TLS front end asks before issuing a certificate.
    """

    def __init__(
        self,
        app: WSGIApplication,
        path: str = HealthConfig.path,
        allow: t.Iterable[str] = HealthConfig.allow,
        *,
        status: t.Callable[[], dict[str, t.Any]] | None = None,
        host_exists: t.Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.path = path.rstrip("/")
        self.tenant_path = self.path + "/tenant"
        self.allow = TrustedNetworks(list(allow))
        self.status = status
        self.host_exists = host_exists

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != self.path and path != self.tenant_path:
            return self.app(environ, start_response)
        if environ.get("REMOTE_ADDR") not in self.allow:
            return respond(environ, start_response, 404, "Not Found\n")
        if path == self.path:
            body: dict[str, t.Any] = {"status": "ok"}
            if self.status is not None:
                body.update(self.status())
            return respond(
                environ,
                start_response,
                200,
                json.dumps(body, sort_keys=True) + "\n",
                [("Cache-Control", "no-store")],
                "application/json",
            )
        query = parse_qs(environ.get("QUERY_STRING", ""))
        host = (query.get("host") or query.get("domain") or [""])[0]
        if self.host_exists is None or not host or not self.host_exists(host):
            return respond(environ, start_response, 404, "unknown host\n")
        return respond(
            environ, start_response, 200, "ok\n", [("Cache-Control", "no-store")]
        )

    def __repr__(self) -> str:
        return f"<HealthCheck {self.path!r} allow={self.allow!r}>"
