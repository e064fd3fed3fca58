"""JSON helpers that follow the current application's provider.

Inside an application context :func:`dumps`, :func:`dump`, :func:`loads` and
:func:`load` go through ``current_app.json``, so an application that changes its
provider (or its options such as ``sort_keys``) changes these too. Outside one
they use the standard library with the same extra types as
:class:`~gateway.json.provider.DefaultJSONProvider`.
"""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import current_app
from .provider import _default

if t.TYPE_CHECKING:  # pragma: no cover
    from ..wrappers import Response

__all__ = ["dump", "dumps", "jsonify", "load", "loads"]


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize ``obj`` to a JSON string.

    Uses ``current_app.json.dumps`` when an application context is active,
    otherwise :func:`json.dumps` able to encode dates, UUIDs, decimals,
    dataclasses and ``__html__`` objects.
    """
    if current_app:
        return current_app.json.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialize ``obj`` as JSON into the text file ``fp``; see :func:`dumps`."""
    if current_app:
        current_app.json.dump(obj, fp, **kwargs)
    else:
        kwargs.setdefault("default", _default)
        _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Parse JSON text or bytes, through ``current_app.json`` when there is one."""
    if current_app:
        return current_app.json.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Parse JSON read from ``fp``, through ``current_app.json`` when there is one."""
    if current_app:
        return current_app.json.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """Build an ``application/json`` response from the arguments.

    One positional argument is serialized as is, several as a list, keyword
    arguments as an object; mixing the two is a :exc:`TypeError`. Needs an
    application context: it calls ``current_app.json.response``. A view may
    also simply return a dict or a list, which does the same.
    """
    # Providers build current_app.response_class; the base class's annotation
    # says only a Werkzeug response.
    return current_app.json.response(*args, **kwargs)  # type: ignore[return-value]
