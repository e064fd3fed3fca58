"""The application logger and the handler that writes to the WSGI error stream."""

from __future__ import annotations

import logging
import sys
import typing as t

from werkzeug.local import LocalProxy

from .globals import request

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import App


@LocalProxy
def wsgi_errors_stream() -> t.TextIO:
    """The stream a log record should go to right now: the server's
    ``wsgi.errors`` during a request, ``sys.stderr`` otherwise."""
    if request:
        return request.environ["wsgi.errors"]  # type: ignore[no-any-return]
    return sys.stderr


def has_level_handler(logger: logging.Logger) -> bool:
    """Whether some handler in the logger's chain will emit at its effective
    level, so we do not add a second one that duplicates output."""
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            break
        current = current.parent
    return False


# The proxy writes to whichever text stream is current (see above).
default_handler = logging.StreamHandler(t.cast(t.TextIO, wsgi_errors_stream))
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def create_logger(app: App) -> logging.Logger:
    """Return the logger named after ``app.name``: DEBUG level in debug mode
    when no level was set, and the default handler when nothing else emits."""
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
