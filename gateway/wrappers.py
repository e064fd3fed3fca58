"""The request and response classes an application uses by default."""

from __future__ import annotations

import typing as t
from io import BytesIO

from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.sansio.http import parse_cookie
from werkzeug.utils import cached_property
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response as _WerkzeugResponse
from werkzeug.wsgi import get_input_stream

from . import json
from .globals import _cv_app

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from werkzeug.routing import Rule


class UnreadableBody(BadRequest):
    """400: the server could not read the request body the client sent
    (malformed chunked encoding, a connection lost halfway, ...).

    Raised by :attr:`Request.stream` (so by ``form``, ``files``, ``json``,
    ``data``, ``get_data()`` and a view's own reads) in place of whatever the
    WSGI server's ``wsgi.input`` raised, which stays as ``__cause__``. It is
    a :exc:`~werkzeug.exceptions.BadRequest`: error handlers for 400 see it.
    """

    description = "The request body could not be read."


class _GuardedInput:
    """The request body stream as the server gives it, with any exception a
    read raises turned into :exc:`UnreadableBody` (HTTP errors, such as
    Werkzeug's 413 for a body over the limit, pass as they are)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: t.IO[bytes]) -> None:
        self._stream = stream

    def read(self, *args: t.Any) -> bytes:
        try:
            return self._stream.read(*args)
        except HTTPException:
            raise
        except Exception as e:
            raise UnreadableBody() from e

    def readline(self, *args: t.Any) -> bytes:
        try:
            return self._stream.readline(*args)
        except HTTPException:
            raise
        except Exception as e:
            raise UnreadableBody() from e

    def readlines(self, *args: t.Any) -> list[bytes]:
        try:
            return self._stream.readlines(*args)
        except HTTPException:
            raise
        except Exception as e:
            raise UnreadableBody() from e

    def readinto(self, buffer: t.Any) -> int | None:
        # Looked up outside the try: a stream without readinto is no 400.
        stream: t.Any = self._stream  # WSGI requires read() only
        readinto: t.Callable[[t.Any], int | None] = stream.readinto
        try:
            return readinto(buffer)
        except HTTPException:
            raise
        except Exception as e:
            raise UnreadableBody() from e

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self.readline, b"")

    def __getattr__(self, name: str) -> t.Any:
        # close(), readable(), the wrapped stream's own attributes.
        return getattr(self._stream, name)


class Request(_WerkzeugRequest):
    """Werkzeug's request, plus what routing found (``url_rule``,
    ``view_args``, ``endpoint``, ``blueprint``) and size limits taken from the
    current app's config unless set on the request itself."""

    json_module: t.Any = json

    #: The rule that matched, or None before matching or when nothing matched.
    url_rule: Rule | None = None

    #: The view arguments of the matched rule.
    view_args: dict[str, t.Any] | None = None

    #: The exception matching raised (404, 405, a redirect), kept until the
    #: app dispatches the request so error handlers see it.
    routing_exception: HTTPException | None = None

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted (413 beyond it): set on the request, or
        ``MAX_CONTENT_LENGTH`` of the current app."""
        if self._max_content_length is not None:
            return self._max_content_length
        ctx = _cv_app.get(None)
        if ctx is None:
            return super().max_content_length
        return ctx.app.config["MAX_CONTENT_LENGTH"]  # type: ignore[no-any-return]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field (413 beyond it): set on the
        request, or ``MAX_FORM_MEMORY_SIZE`` of the current app."""
        if self._max_form_memory_size is not None:
            return self._max_form_memory_size
        ctx = _cv_app.get(None)
        if ctx is None:
            return super().max_form_memory_size
        return ctx.app.config["MAX_FORM_MEMORY_SIZE"]  # type: ignore[no-any-return]

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    # Werkzeug declares a plain int class attribute; None (no limit, which
    # its form parser accepts) comes from MAX_FORM_PARTS = None.
    @property  # type: ignore[override]
    def max_form_parts(self) -> int | None:
        """The most multipart parts accepted (413 beyond it): set on the
        request, or ``MAX_FORM_PARTS`` of the current app."""
        if self._max_form_parts is not None:
            return self._max_form_parts
        ctx = _cv_app.get(None)
        if ctx is None:
            return super().max_form_parts
        return ctx.app.config["MAX_FORM_PARTS"]  # type: ignore[no-any-return]

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @cached_property
    def stream(self) -> t.IO[bytes]:
        """Werkzeug's guarded input stream (never past ``Content-Length`` or
        ``max_content_length``), whose read errors are a 400
        (:exc:`UnreadableBody`) instead of the server's own exception type,
        which would be a 500: gevent's ``_InvalidClientInput`` and
        gunicorn's ``InvalidChunkSize`` for malformed chunked encoding, a
        server's ``OSError`` for a lost connection."""
        if self.shallow:
            raise RuntimeError(
                "This request was created with 'shallow=True', reading"
                " from the input stream is disabled."
            )
        stream = get_input_stream(
            self.environ, max_content_length=self.max_content_length
        )
        if type(stream) is BytesIO:  # no body to read: Werkzeug's empty stream
            return stream
        # (t.cast(t.IO[bytes], ...) would build a generic alias per request)
        guarded: t.Any = _GuardedInput(stream)
        return guarded  # type: ignore[no-any-return]

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The request's cookies, as Werkzeug parses them.

        Werkzeug finds the header by iterating every environ key through
        :class:`~werkzeug.datastructures.EnvironHeaders` (about 330 bytecodes,
        7% of a request that reads the session); a WSGI server names it
        ``HTTP_COOKIE`` (upper-case CGI names, PEP 3333), so that key is read
        directly, and the value is what Werkzeug would join and parse."""
        return parse_cookie(  # type: ignore[return-value]
            self.environ.get("HTTP_COOKIE"), cls=self.dict_storage_class
        )

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or None."""
        if self.url_rule is not None:
            return self.url_rule.endpoint  # type: ignore[no-any-return]
        return None

    @property
    def blueprint(self) -> str | None:
        """The full dotted name of the blueprint the endpoint belongs to."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The blueprint and its parents, innermost first:
        ``["a.b.c", "a.b", "a"]`` for a view in the nested blueprint ``c``."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

    def _load_form_data(self) -> None:
        super()._load_form_data()
        ctx = _cv_app.get(None)
        if (
            ctx is not None
            and ctx.app.debug
            and self.mimetype != "multipart/form-data"
            and not self.files
        ):
            from .debughelpers import attach_enctype_error_multidict

            attach_enctype_error_multidict(self)

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        try:
            return super().on_json_loading_failed(e)
        except BadRequest as ebr:
            ctx = _cv_app.get(None)
            if ctx is not None and ctx.app.debug:
                raise
            raise BadRequest() from ebr


class Response(_WerkzeugResponse):
    """Werkzeug's response with ``text/html`` as the default mimetype and
    the cookie size limit taken from the current app."""

    default_mimetype: str | None = "text/html"
    json_module = json
    autocorrect_location_header = False

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]  # a property over Werkzeug's attribute
        """``MAX_COOKIE_SIZE`` of the current app, else Werkzeug's default."""
        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.config["MAX_COOKIE_SIZE"]  # type: ignore[no-any-return]
        return super().max_cookie_size

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        """Answer as a WSGI application.

        The common case (a buffered body of bytes, no ``Location`` header, a
        status with a body, no close callbacks) starts the response with a
        copy of the headers and returns the body list itself: what
        Werkzeug's method gives, byte for byte, without copying and
        re-validating the headers and wrapping the body in two iterators.
        Everything else, and every subclass that overrides a step of the
        WSGI response, goes through Werkzeug.
        """
        cls = type(self)
        plain = _plain_wsgi.get(cls)
        if plain is None:
            plain = _plain_wsgi[cls] = _is_plain_wsgi(cls)
        body = self.response
        if (
            plain
            and type(body) is list
            and not self.direct_passthrough
            and not self._on_close
        ):
            status = self.status_code
            headers = self.headers
            if (
                status >= 200
                and status != 204
                and status != 304
                and type(headers) is Headers
                and environ["REQUEST_METHOD"] != "HEAD"
            ):
                wsgi_headers = _plain_wsgi_headers(headers, body, self)
                if wsgi_headers is not None:
                    start_response(self.status, wsgi_headers)
                    return body
        return super().__call__(environ, start_response)


# The steps of Werkzeug's WSGI response; a class overriding none of them can
# take the fast path of Response.__call__.
_WSGI_STEPS = (
    "get_wsgi_response",
    "get_wsgi_headers",
    "get_app_iter",
    "iter_encoded",
    "close",
    "status",
    "status_code",
    "automatically_set_content_length",
)
# Response class -> whether it may take that fast path (decided on first use).
_plain_wsgi: dict[type, bool] = {}


def _is_plain_wsgi(cls: type) -> bool:
    """Whether ``cls`` answers exactly as Werkzeug's steps do."""
    return cls.__call__ is Response.__call__ and all(
        getattr(cls, name) is getattr(_WerkzeugResponse, name) for name in _WSGI_STEPS
    )


def _plain_wsgi_headers(
    headers: Headers, body: list[t.Any], response: Response
) -> list[tuple[str, str]] | None:
    """The WSGI header list Werkzeug would send for this body, or None when
    it would change a header (``Location``, ``Content-Location``) or the body
    holds something other than bytes."""
    has_length = False
    for key, _value in headers._list:
        lower = key.lower()
        if lower == "content-length":
            has_length = True
        elif lower == "location" or lower == "content-location":
            return None
    for chunk in body:
        if type(chunk) is not bytes:
            return None
    rv = headers._list.copy()
    if not has_length and response.automatically_set_content_length:
        rv.append(("Content-Length", str(sum(map(len, body)))))
    return rv
