"""What a tenant factory's or lookup's outcome means to the registry.

The contract of ``factory(key)``:

- it returns an application: the key exists; the instance is cached;
- it returns None: there is no such application. The key answers 404 and
  that answer is remembered for ``negative_ttl`` seconds;
- it raises: the key is *unavailable*, which is not "missing". The key
  answers 503 with ``Retry-After``, nothing is remembered as missing, and
  the factory runs again after the back-off. The back-off is the
  exception's own ``retry_after`` when it is a
  :class:`~werkzeug.exceptions.ServiceUnavailable` that has one
  (:class:`gateway.unavailable.Unavailable`, raised by a store that is
  down), else the registry's ``retry_after``.

``lookup()`` raising is the same "unknown for now": that poll is skipped,
so no live instance is retired and no version is forgotten; the next poll
tries again.

A :class:`~werkzeug.exceptions.ServiceUnavailable` is an expected outage:
it is logged as one warning line. Any other exception is a bug or a crash
in the factory: logged as an error with its traceback.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from werkzeug.exceptions import ServiceUnavailable

logger = logging.getLogger("gateway.dispatch")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says "down for now" rather than "broken"."""
    return isinstance(exc, ServiceUnavailable)


def back_off(exc: BaseException, default: float) -> float:
    """Seconds before the factory of a key that raised ``exc`` runs again:
    the exception's ``retry_after`` when it carries one, else ``default``."""
    if not is_outage(exc):
        return default
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, datetime):
        now = datetime.now(retry_after.tzinfo or UTC)
        return max(0.0, (retry_after - now).total_seconds())
    if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
        return max(0.0, float(retry_after))
    return default


def log_factory_failure(
    name: str, key: object, exc: BaseException, retry_after: float
) -> None:
    """Log a factory that raised: a warning for an outage, else an error
    with the traceback."""
    if is_outage(exc):
        logger.warning(
            "%s %r unavailable (%s: %s); answering 503 and retrying in %gs",
            name,
            key,
            type(exc).__name__,
            exc,
            retry_after,
        )
        return
    logger.error(
        "%s factory failed for %r; answering 503 and retrying in %gs",
        name,
        key,
        retry_after,
        exc_info=exc,
    )


def log_lookup_failure(name: str, exc: BaseException) -> None:
    """Log a ``lookup`` that raised (the poll is skipped, nothing retired)."""
    if is_outage(exc):
        logger.warning(
            "%s lookup unavailable (%s: %s); keeping the live instances",
            name,
            type(exc).__name__,
            exc,
        )
        return
    logger.error("%s lookup failed; keeping the live instances", name, exc_info=exc)
