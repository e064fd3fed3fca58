"""Building the responses views return most often (text and JSON bodies)
without going through Werkzeug's general constructor.

Kept apart from :mod:`gateway.wrappers` so the JSON provider can use it
without an import cycle.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Response as _WerkzeugResponse

_ResponseT = t.TypeVar("_ResponseT", bound=_WerkzeugResponse)

_werkzeug_init = _WerkzeugResponse.__init__
_werkzeug_set_data = _WerkzeugResponse.set_data
# What Werkzeug's __init__ sets on a response; the fast constructor below is
# only used while that is still the whole list.
_INIT_ATTRS = frozenset(
    {
        "headers",
        "_status",
        "_status_code",
        "direct_passthrough",
        "_on_close",
        "response",
    }
)
# (response class, mimetype) -> (status attributes, Content-Type value), or
# None when that class must be called to build its responses.
_recipes: dict[tuple[type, str], tuple[dict[str, t.Any], str] | None] = {}


def _recipe(
    cls: type[_WerkzeugResponse], mimetype: str
) -> tuple[dict[str, t.Any], str] | None:
    """What a fresh ``cls(..., mimetype=mimetype)`` is made of, or None when
    ``cls`` constructs itself in any way but Werkzeug's, or when Werkzeug
    would refuse the header value (so that it raises there)."""
    if not (
        cls.__init__ is _werkzeug_init
        and cls.set_data is _werkzeug_set_data
        and cls.__new__ is object.__new__
        and cls.__setattr__ is object.__setattr__
    ):
        return None
    content_type = get_content_type(mimetype, "utf-8")
    if "\n" in content_type or "\r" in content_type:
        return None
    attrs = vars(cls(b"", content_type="text/plain"))
    if attrs.keys() != _INIT_ATTRS:
        return None
    status = {
        "_status": attrs["_status"],
        "_status_code": attrs["_status_code"],
        "direct_passthrough": False,
    }
    return status, content_type


def _cached_recipe(
    cls: type[_WerkzeugResponse], mimetype: str
) -> tuple[dict[str, t.Any], str] | None:
    key = (cls, mimetype)
    try:
        return _recipes[key]
    except KeyError:
        recipe = _recipes[key] = _recipe(cls, mimetype)
        return recipe


def text_response(
    cls: type[_ResponseT], body: str, mimetype: str | None = None
) -> _ResponseT:
    """``cls(body, mimetype=mimetype)`` (``cls(body)`` when ``mimetype`` is
    None), built directly when ``cls`` keeps Werkzeug's constructor: same
    attributes, same headers in the same order, a fraction of the time."""
    mime = cls.default_mimetype if mimetype is None else mimetype
    recipe = None if mime is None else _cached_recipe(cls, mime)
    if recipe is None:
        return cls(body) if mimetype is None else cls(body, mimetype=mimetype)
    status, content_type = recipe
    data = body.encode()
    rv = object.__new__(cls)
    attrs = rv.__dict__
    attrs.update(status)
    headers = Headers()
    if cls.automatically_set_content_length:
        headers._list = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
        ]
    else:
        headers._list = [("Content-Type", content_type)]
    attrs["headers"] = headers
    attrs["_on_close"] = []
    attrs["response"] = [data]
    return rv


# What an HTTPException's default page is made of; a class overriding none of
# them shows the same page for every instance keeping its class's description.
_PAGE_STEPS = ("get_response", "get_body", "get_description", "get_headers", "name")
# Exception class -> its page, built once; None when the class builds its own.
_error_pages: dict[type, str | None] = {}


def http_error_response(
    cls: type[_ResponseT], e: HTTPException, environ: t.Any
) -> _ResponseT:
    """``cls.force_type(e.get_response(environ))``: Werkzeug's error page.

    For an exception as routing raises it (its class's description, no
    response of its own) the page is built once per class and the response
    by :func:`text_response`: escaping the page and importing inside
    ``get_response`` on every request cost about 280 bytecodes, a tenth of a
    404 (the 404 row of benchmarks/core.py). Same status, headers, body and
    class."""
    klass = type(e)
    # ``__dict__`` alone: a subclass that skips HTTPException.__init__ (as
    # ihatemoney's Redirect303) has no ``response`` attribute at all.
    state = e.__dict__
    if len(state) == 1 and state.get("response", e) is None and e.code is not None:
        try:
            page = _error_pages[klass]
        except KeyError:
            plain = all(
                getattr(klass, name) is getattr(HTTPException, name)
                for name in _PAGE_STEPS
            )
            page = _error_pages[klass] = e.get_body(environ) if plain else None
        if page is not None:
            # As get_response: a Werkzeug response, then made a ``cls``.
            rv = text_response(_WerkzeugResponse, page, "text/html")
            rv.status_code = e.code
            return cls.force_type(rv)  # type: ignore[return-value]
    return cls.force_type(e.get_response(environ))  # type: ignore[return-value]
