"""How :class:`~gateway.App` binds its URL map to a request and builds URLs."""

from __future__ import annotations

import builtins
import sys
import types
import typing as t
from itertools import chain
from urllib.parse import quote as _url_quote

from werkzeug.exceptions import BadHost
from werkzeug.routing import BuildError, MapAdapter
from werkzeug.utils import redirect as _wz_redirect
from werkzeug.wrappers import Response as BaseResponse
from werkzeug.wsgi import get_host

from . import _names
from .globals import _cv_app, _cv_request
from .helpers import _split_blueprint_path
from .routing import RequestAdapter
from .wrappers import Request

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import Map

    from . import typing as ft
    from .config import Config
    from .wrappers import Response


def _is_websocket_upgrade(environ: WSGIEnvironment) -> bool:
    connection = environ.get("HTTP_CONNECTION", "").lower().split(",")
    return any(v.strip() == "upgrade" for v in connection) and (
        environ.get("HTTP_UPGRADE", "").lower() == "websocket"
    )


def _bind_to_environ(
    url_map: Map, environ: WSGIEnvironment, server_name: str | None
) -> MapAdapter:
    return url_map.bind_to_environ(environ, server_name=server_name, subdomain=None)


# Werkzeug warns when the request's host does not end in SERVER_NAME
# ("Current server name ... doesn't match ...") and attributes the warning to
# the module that called bind_to_environ: flask.app in Flask, the module a
# warnings filter written for Flask names. So the call is made from a copy of
# the function above whose module is the application class's: gateway.app, or
# flask.app under the Flask compatibility switch.
_BIND_TO_ENVIRON: dict[
    str, t.Callable[[Map, WSGIEnvironment, str | None], MapAdapter]
] = {
    package: types.FunctionType(
        _bind_to_environ.__code__,
        {"__name__": f"{package}.app", "__builtins__": builtins},
        "_bind_to_environ",
    )
    for package in ("gateway", "flask")
}


class URLsMixin:
    """URL matching set-up and URL building of an application (mixed into
    :class:`~gateway.App`).

    Needs from the class it is mixed into (declared below, set by
    :class:`~gateway.App` and :class:`~gateway.scaffold.Scaffold`): the
    config, the URL map and whether subdomains are matched, the
    ``url_defaults`` functions, the URL build error handlers, the response
    class and a cache of IDNA-encoded server names.
    """

    config: Config
    url_map: Map
    subdomain_matching: bool
    #: A server name, or what a request's host is derived from, -> the
    #: host's IDNA form (:meth:`_bind_to_request`).
    _idna_cache: dict[t.Any, str]
    url_default_functions: dict[ft.AppOrBlueprintKey, list[ft.URLDefaultCallable]]
    url_build_error_handlers: list[t.Callable[[Exception, str, dict[str, t.Any]], str]]
    response_class: type[Response]

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to a request, or (outside a request) to
        ``SERVER_NAME``, ``APPLICATION_ROOT`` and ``PREFERRED_URL_SCHEME``;
        None when there is neither. ``TRUSTED_HOSTS`` is checked here."""
        if request is not None:
            trusted_hosts = self.config["TRUSTED_HOSTS"]
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
                request.host = get_host(request.environ, trusted_hosts)
            server_name = self.config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                return self._bind_to_request(request, server_name)
            bind = _BIND_TO_ENVIRON[_names.package()]
            return bind(self.url_map, request.environ, server_name)
        if self.config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return None

    def _bind_to_request(self, request: Request, server_name: str | None) -> MapAdapter:
        """``url_map.bind_to_environ`` for the common case (no subdomain or
        host matching), reusing what the request object already decoded and
        caching the IDNA form of the few server names a process sees."""
        environ = request.environ
        scheme = environ["wsgi.url_scheme"]
        cache = self._idna_cache
        idna_name = None
        host_key: tuple[t.Any, ...] | None = None
        if server_name is None:
            # The host Werkzeug derives depends on the scheme and the Host
            # header, or the server's name and port without one (TRUSTED_HOSTS
            # were checked in create_url_adapter): its IDNA form is cached
            # under those, and request.host (a validation and a port check) is
            # not computed for a hit.
            host_header = environ.get("HTTP_HOST")
            if host_header is not None:
                host_key = (scheme, host_header)
            else:
                host_key = (scheme, None, request.server)
            idna_name = cache.get(host_key)
        if "HTTP_UPGRADE" in environ and _is_websocket_upgrade(environ):
            scheme = "wss" if scheme == "https" else "ws"
        if idna_name is None:
            if server_name is None:
                server_name = request.host.lower()
            else:
                server_name = server_name.lower()
                if scheme in {"http", "ws"} and server_name.endswith(":80"):
                    server_name = server_name[:-3]
                elif scheme in {"https", "wss"} and server_name.endswith(":443"):
                    server_name = server_name[:-4]
            idna_name = cache.get(server_name)
            if idna_name is None:
                name, sep, port = server_name.partition(":")
                try:
                    idna_name = f"{name.encode('idna').decode('ascii')}{sep}{port}"
                except UnicodeError as e:
                    raise BadHost() from e
            # Clients choose Host headers: the cache forgets them all past a
            # few hundred.
            if len(cache) >= 256:
                cache.clear()
            cache[server_name] = idna_name
            if host_key is not None:
                cache[host_key] = idna_name
        query = environ.get("QUERY_STRING")
        if query:
            query = query.encode("latin1").decode(errors="replace")
        url_map = self.url_map
        return RequestAdapter(
            url_map,
            idna_name,
            request.root_path or "/",
            url_map.default_subdomain or "",
            scheme,
            request.path,
            environ["REQUEST_METHOD"],
            query,
        )

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL of ``endpoint``.

        Inside a request the URL is relative to it (``.name`` means an
        endpoint of the current blueprint) and external only when asked or
        when ``_scheme`` is given; outside one it needs ``SERVER_NAME`` and is
        external. Unknown values become the query string; ``_anchor`` adds a
        fragment, ``_method`` picks the rule for a method. A build error goes
        through :meth:`handle_url_build_error`.
        """
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            blueprint_name = req_ctx.request.blueprint
            if endpoint[:1] == ".":
                if blueprint_name is not None:
                    endpoint = f"{blueprint_name}{endpoint}"
                else:
                    endpoint = endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request"
                    " without 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as"
                    " needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        self.inject_url_defaults(endpoint, values)
        try:
            rv = url_adapter.build(  # type: ignore[union-attr]
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(
                _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external
            )
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            _anchor = _url_quote(_anchor, safe="%!#$&'()*+,/:;=?@")
            rv = f"{rv}#{_anchor}"
        return rv

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Let the ``url_defaults`` functions of the app and of the
        endpoint's blueprints fill in ``values``."""
        names: t.Iterable[str | None] = (None,)
        if "." in endpoint:
            names = chain(
                names, reversed(_split_blueprint_path(endpoint.rpartition(".")[0]))
            )
        for name in names:
            if name in self.url_default_functions:
                for func in self.url_default_functions[name]:
                    func(endpoint, values)

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Ask each of :attr:`url_build_error_handlers` for a URL; re-raise
        the error when none gives one."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    def redirect(self, location: str, code: int = 302) -> BaseResponse:
        """A redirect response of this app's response class."""
        return _wz_redirect(location, code=code, Response=self.response_class)
