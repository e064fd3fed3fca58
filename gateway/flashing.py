"""Message flashing: record a message at the end of one request and show it on
the next one (typically after a redirect).

Messages live in the session under ``_flashes`` as ``(category, message)``
pairs, so flashing needs a working session (a secret key). Reading them with
:func:`get_flashed_messages` removes them from the session; repeated calls in
the same request return the same messages.
"""

from __future__ import annotations

import typing as t

from .globals import _cv_request, current_app, session
from .signals import message_flashed


def flash(message: str, category: str = "message") -> None:
    """Store ``message`` for the next request that calls
    :func:`get_flashed_messages`.

    :param message: The text to show.
    :param category: Any string; ``"message"``, ``"error"``, ``"info"`` and
        ``"warning"`` are the conventional ones.

    Sends :data:`~gateway.signals.message_flashed` with ``message`` and
    ``category``.
    """
    # Reassign rather than append in place: the session only notices
    # assignments, and the new list must reach the cookie.
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
    message_flashed.send(
        app,
        _async_wrapper=app.ensure_sync,
        message=message,
        category=category,
    )


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Take the flashed messages out of the session and return them.

    The first call in a request pops them from the session; later calls in the
    same request get the same list. With ``with_categories`` each item is a
    ``(category, message)`` tuple, otherwise just the message.
    ``category_filter`` (a list of categories, or one category as a string)
    keeps only those; the messages filtered out are still consumed.
    """
    ctx = _cv_request.get(None)
    flashes = getattr(ctx, "flashes", None)
    if flashes is None:
        flashes = session.pop("_flashes") if "_flashes" in session else []
        if ctx is not None:
            ctx.flashes = flashes
    if category_filter:
        if isinstance(category_filter, str):
            category_filter = (category_filter,)
        allowed = set(category_filter)
        flashes = [f for f in flashes if f[0] in allowed]
    if not with_categories:
        return [f[1] for f in flashes]
    return flashes
