"""Small WSGI pieces every adapter shares.

Headers with underscores
------------------------
CGI and WSGI turn a header name into an environ key by upper-casing it and
replacing ``-`` with ``_``, so ``X_Forwarded_For`` and ``X-Forwarded-For``
both become ``HTTP_X_FORWARDED_FOR``. A client could then smuggle a forwarded
header past a proxy that only overwrites the dashed spelling. Once in the
environ the two are indistinguishable, so the names must be filtered where the
raw header list is still visible:

=================  ==========================================================
server             where ``_`` names are dropped
=================  ==========================================================
gevent             ``gevent.pywsgi.WSGIHandler`` drops them itself
tornado            :class:`gateway.adapters.tornado.GatewayContainer` (here)
gunicorn           gunicorn's ``header_map = "drop"`` (set explicitly)
dev                Werkzeug's request handler drops them itself
nginx front        ``underscores_in_headers off`` (nginx's default): used by
                   uwsgi_pass, fastcgi_pass, fcgiwrap and proxy_pass set-ups
Apache front       Apache 2.4 leaves them out of CGI/FastCGI variables and
                   mod_wsgi drops them from the WSGI environ
uWSGI http mode    uWSGI's own HTTP parser keeps them (it merges both
                   spellings); put nginx in front, as the deploy configs do
=================  ==========================================================

Each row is checked over real HTTP by tests/integration.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_T = t.TypeVar("_T")


def is_ambiguous_header(name: str) -> bool:
    """Whether a raw header name would collide with a dashed one in the
    environ (it contains an underscore) and must be dropped."""
    return "_" in name


def drop_ambiguous_headers(items: t.Iterable[tuple[str, _T]]) -> list[tuple[str, _T]]:
    """The ``(name, value)`` pairs whose names are safe to map into an environ."""
    return [(name, value) for name, value in items if not is_ambiguous_header(name)]


def environ_key(name: str) -> str:
    """The CGI/WSGI environ key for a raw header name (``CONTENT_TYPE`` and
    ``CONTENT_LENGTH`` have no ``HTTP_`` prefix)."""
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key
    return "HTTP_" + key


class ScriptNameMiddleware:
    """Set ``SCRIPT_NAME`` to the prefix a front server strips.

    HTTP servers (gevent, tornado, gunicorn, Werkzeug) know nothing about the
    prefix under which a proxy publishes them and report ``SCRIPT_NAME=""``.
    With ``[server].script_name = "/app"`` the front server forwards
    ``/app/x`` as ``/x``; this puts ``/app`` back in ``SCRIPT_NAME`` so
    ``url_for`` and redirects carry it. ``PATH_INFO`` is left as received.
    A server that already reports the prefix (CGI-style: nginx ``uwsgi_pass``
    / ``fastcgi_pass``, Apache ``ScriptAlias``) is left alone, so the prefix
    never doubles whichever way the front server passes it.
    """

    def __init__(self, app: WSGIApplication, script_name: str) -> None:
        self.app = app
        self.script_name = script_name

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        current = environ.get("SCRIPT_NAME", "")
        if current != self.script_name and not current.startswith(
            self.script_name + "/"
        ):
            environ["SCRIPT_NAME"] = self.script_name + current
        return self.app(environ, start_response)


class EntryScriptName:
    """Publish an executed entry file (``.fcgi`` / ``.cgi``) under the
    configured prefix instead of its own name.

    On shared hosting, ``.htaccess`` rewrites ``/x`` to ``/site.fcgi/x`` and
    Apache then reports ``SCRIPT_NAME=/site.fcgi``, so every URL the app builds
    would contain the file name. When ``SCRIPT_NAME`` ends with the entry's
    own file name, it is replaced by ``[server].script_name``; a server that
    maps the URL itself (``ScriptAlias /site /path/site.fcgi``) is untouched.
    """

    def __init__(self, app: WSGIApplication, entry_name: str, script_name: str) -> None:
        self.app = app
        self.suffix = "/" + entry_name
        self.script_name = script_name

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        if environ.get("SCRIPT_NAME", "").endswith(self.suffix):
            environ["SCRIPT_NAME"] = self.script_name
        return self.app(environ, start_response)


def with_script_name(app: WSGIApplication, script_name: str) -> WSGIApplication:
    """``app`` wrapped in :class:`ScriptNameMiddleware` when a prefix is set."""
    if not script_name:
        return app
    return ScriptNameMiddleware(app, script_name)


def worker_app(
    app: WSGIApplication | t.Callable[[], WSGIApplication],
    lazy: bool,
    script_name: str,
) -> WSGIApplication:
    """What a pre-fork server's worker serves: ``app()`` when ``lazy`` (a
    factory each worker calls after the fork), else ``app``; behind
    ``script_name``."""
    built = app() if lazy else app  # type: ignore[call-arg]  # lazy: a factory
    return with_script_name(built, script_name)  # type: ignore[arg-type]  # as above
