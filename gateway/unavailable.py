"""``Unavailable``: "down for now, try again", as a 503 with ``Retry-After``.

When the database or store a request needs is down, the page is neither
broken (500) nor missing (404): nobody knows the answer yet. Saying so with
503 and ``Retry-After`` tells browsers, crawlers and load balancers to come
back, and keeps the outage out of error trackers. Two ways, as a Flask user
would write them:

- raise :class:`Unavailable` (or a subclass) where the failure is known, for
  instance in the store layer for every driver error that means "down"::

      except psycopg.OperationalError as e:
          raise Unavailable("The tenant database is down.") from e

  It is an :class:`~werkzeug.exceptions.HTTPException`, so any view (and any
  Flask application) that lets it through answers 503 with ``Retry-After``,
  through the application's own 503 handler when it has one;
- or register :func:`unavailable_handler` for the driver's exception class
  and leave the code that reads the store as it is::

      app.register_error_handler(psycopg.OperationalError, unavailable_handler())

The tenant registry (:mod:`gateway.dispatch`) treats it the same way when a
tenant factory or ``lookup`` raises it: the key answers 503, is never
remembered as "no such tenant", and is retried after ``retry_after``.
"""

from __future__ import annotations

import math
import typing as t
from datetime import datetime

from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.http import http_date

from .globals import current_app, request
from .toml.tables import TenantsConfig

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

    from . import typing as ft

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "Unavailable",
    "retry_after_value",
    "unavailable_handler",
]

#: ``Retry-After`` seconds when none is given: ``[tenants].retry_after``'s
#: default, so a page and a tenant that wait on the same store agree.
DEFAULT_RETRY_AFTER: t.Final[float] = TenantsConfig.retry_after


def retry_after_value(retry_after: float | datetime | None) -> str:
    """The ``Retry-After`` header value: whole seconds rounded up, at least
    1 (a client may read ``0`` as "at once", a fraction is invalid), or an
    HTTP date; None gives :data:`DEFAULT_RETRY_AFTER`."""
    if isinstance(retry_after, datetime):
        return http_date(retry_after)
    seconds = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
    return str(max(1, math.ceil(seconds)))


class Unavailable(ServiceUnavailable):
    """503 Service Unavailable with ``Retry-After``: something the request
    needs is down for now; nothing is wrong with the request.

    :param description: what the client reads (the default says to retry).
    :param retry_after: seconds (or a :class:`~datetime.datetime`) to wait;
        None: the header says :data:`DEFAULT_RETRY_AFTER`, and the tenant
        registry uses its own ``retry_after`` back-off.
    """

    description = (
        "A service this page needs is down for a moment. Nothing was lost;"
        " please try again in a few seconds."
    )

    def __init__(
        self,
        description: str | None = None,
        response: t.Any = None,
        *,
        retry_after: float | datetime | None = None,
    ) -> None:
        if isinstance(retry_after, bool) or not (
            retry_after is None
            or isinstance(retry_after, datetime)
            or (isinstance(retry_after, int | float) and retry_after >= 0)
        ):
            raise ValueError(
                "retry_after must be a number of seconds >= 0, a datetime or"
                f" None, got {retry_after!r}"
            )
        super().__init__(description, response)
        # Werkzeug types it as whole seconds; a fraction is a back-off here
        # and rounded up in the header (retry_after_value).
        self.retry_after = retry_after  # type: ignore[assignment]

    def get_headers(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> list[tuple[str, str]]:
        """The page's headers and ``Retry-After`` (always present)."""
        headers = HTTPException.get_headers(self, environ, scope)
        headers.append(("Retry-After", retry_after_value(self.retry_after)))
        return headers


def unavailable_handler(
    retry_after: float | datetime | None = None, description: str | None = None
) -> t.Callable[[Exception], HTTPException | ft.ResponseReturnValue]:
    """An error handler answering :class:`Unavailable` for the exception it
    is registered for (``app.register_error_handler(DriverError,
    unavailable_handler())``, or a blueprint's ``app_errorhandler``).

    The answer goes through the application's own 503 handler when it has
    one, and the error is logged on the application's logger as one warning
    line without a traceback: an outage is expected, not a bug.
    """

    def handle(error: Exception) -> HTTPException | ft.ResponseReturnValue:
        current_app.logger.warning(
            "%s %s: answering 503, %s: %s",
            request.method,
            request.path,
            type(error).__name__,
            error,
        )
        unavailable = Unavailable(description, retry_after=retry_after)
        unavailable.__cause__ = error
        return current_app.handle_http_exception(unavailable)

    return handle
