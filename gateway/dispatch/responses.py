"""The few plain responses the dispatch layer answers itself.

They never depend on a tenant application (which may not exist or may be
failing), never leak a traceback, and are tiny WSGI calls.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

STATUS = {
    200: "200 OK",
    308: "308 Permanent Redirect",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    413: "413 Request Entity Too Large",
    503: "503 Service Unavailable",
}

_URL_SAFE = "/:@!$&'()*+,;=~-._"
_QUERY_SAFE = _URL_SAFE + "?%[]"


def respond(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    code: int,
    text: str,
    headers: t.Sequence[tuple[str, str]] = (),
    content_type: str = "text/plain; charset=utf-8",
) -> list[bytes]:
    """Send a complete small response (no body for HEAD)."""
    body = text.encode("utf-8")
    start_response(
        STATUS[code],
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    if environ.get("REQUEST_METHOD") == "HEAD":
        return []
    return [body]


def error_app(
    code: int, text: str, headers: t.Sequence[tuple[str, str]] = ()
) -> WSGIApplication:
    """A WSGI application that always answers ``code`` with ``text``."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        return respond(environ, start_response, code, text, headers)

    app.__name__ = app.__qualname__ = f"error_{code}"
    return app


not_found = error_app(404, "Not Found\n")
bad_request_host = error_app(400, "Bad Request: missing or invalid Host header\n")


def wsgi_path_to_url(path: str) -> str:
    """Percent-encode a WSGI path string (latin-1 decoded bytes) for a URL."""
    return quote(path.encode("latin-1"), safe=_URL_SAFE)


def redirect(
    environ: WSGIEnvironment, start_response: StartResponse, path: str, code: int = 308
) -> list[bytes]:
    """Redirect to a WSGI path on the same host, keeping the query string."""
    location = wsgi_path_to_url(path)
    query = environ.get("QUERY_STRING")
    if query:
        # Re-quoting keeps existing escapes and makes CR/LF harmless.
        location = f"{location}?{quote(query.encode('latin-1'), safe=_QUERY_SAFE)}"
    return respond(
        environ,
        start_response,
        code,
        f"Redirecting to {location}\n",
        [("Location", location)],
    )
