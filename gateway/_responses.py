"""Building the responses views return most often (text and JSON bodies)
without going through Werkzeug's general constructor.

Kept apart from :mod:`gateway.wrappers` so the JSON provider can use it
without an import cycle.
"""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import Headers
from werkzeug.utils import get_content_type
from werkzeug.wrappers import Response as _WerkzeugResponse

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.sansio.response import Response

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
_status_prototypes: dict[type, dict[str, t.Any] | None] = {}
_content_types: dict[str, str | None] = {}


def _status_prototype(cls: type[Response]) -> dict[str, t.Any] | None:
    """The status attributes of a fresh ``cls()``, or None when ``cls``
    constructs itself in any way but Werkzeug's."""
    try:
        return _status_prototypes[cls]
    except KeyError:
        pass
    proto = None
    if (
        cls.__init__ is _werkzeug_init
        and cls.set_data is _werkzeug_set_data
        and cls.__new__ is object.__new__
        and cls.__setattr__ is object.__setattr__
    ):
        probe = cls(b"", content_type="text/plain")
        attrs = vars(probe)
        if attrs.keys() == _INIT_ATTRS:
            proto = {
                "_status": attrs["_status"],
                "_status_code": attrs["_status_code"],
                "direct_passthrough": False,
            }
    _status_prototypes[cls] = proto
    return proto


def text_response(
    cls: type[Response], body: str, mimetype: str | None = None
) -> Response:
    """``cls(body, mimetype=mimetype)`` (``cls(body)`` when ``mimetype`` is
    None), built directly when ``cls`` keeps Werkzeug's constructor: same
    attributes, same headers in the same order, a fraction of the time."""
    mime = cls.default_mimetype if mimetype is None else mimetype
    proto = _status_prototype(cls) if mime is not None else None
    content_type = _content_types.get(mime) if proto is not None else None  # type: ignore[arg-type]
    if content_type is None and proto is not None:
        value = get_content_type(mime, "utf-8")  # type: ignore[arg-type]
        # A value Werkzeug would refuse goes the slow way, to raise there.
        content_type = None if "\n" in value or "\r" in value else value
        _content_types[mime] = content_type  # type: ignore[index]
    if content_type is None:
        return cls(body) if mimetype is None else cls(body, mimetype=mimetype)
    data = body.encode()
    rv = object.__new__(cls)
    attrs = rv.__dict__
    attrs.update(proto)  # type: ignore[arg-type]
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
