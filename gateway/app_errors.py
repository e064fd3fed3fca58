"""How :class:`~gateway.App` turns exceptions into responses: handler lookup,
trapping, propagation, logging."""

from __future__ import annotations

import sys
import typing as t
from types import TracebackType

from werkzeug.exceptions import (
    BadRequest,
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.routing import RoutingException

from .globals import request
from .signals import got_request_exception
from .wrappers import Response

if t.TYPE_CHECKING:  # pragma: no cover
    import logging

    from . import typing as ft
    from .config import Config


class ErrorsMixin:
    """Error handling of an application (mixed into :class:`~gateway.App`).

    Needs from the class it is mixed into (declared below): the config, the
    ``debug`` and ``testing`` flags, the logger, ``ensure_sync`` and
    ``finalize_request`` (all from :class:`~gateway.App`), and the registered
    handlers with their lookup key (from :class:`~gateway.scaffold.Scaffold`).
    """

    config: Config
    debug: bool
    testing: bool
    logger: logging.Logger
    error_handler_spec: dict[
        ft.AppOrBlueprintKey,
        dict[int | None, dict[type[Exception], ft.ErrorHandlerCallable]],
    ]

    if t.TYPE_CHECKING:  # pragma: no cover
        # Declarations only: at run time these would shadow the real methods
        # of App and Scaffold, which come later in App's MRO.
        @staticmethod
        def _get_exc_class_and_code(
            exc_class_or_code: type[Exception] | int,
        ) -> tuple[type[Exception], int | None]: ...

        def ensure_sync(
            self, func: t.Callable[..., t.Any]
        ) -> t.Callable[..., t.Any]: ...

        def finalize_request(
            self,
            rv: ft.ResponseReturnValue | HTTPException,
            from_error_handler: bool = False,
        ) -> Response: ...

    def _find_error_handler(
        self, e: Exception, blueprints: list[str]
    ) -> ft.ErrorHandlerCallable | None:
        """The handler for ``e``: by code, then by class along its MRO; the
        request's blueprints (innermost first) before the app."""
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        spec = self.error_handler_spec
        for c in (code, None) if code is not None else (None,):
            for name in names:
                if name not in spec:
                    continue
                handler_map = spec[name].get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should propagate like any other error
        instead of becoming its error page (``TRAP_HTTP_EXCEPTIONS``,
        ``TRAP_BAD_REQUEST_ERRORS``; key errors of ``request.form`` are
        trapped in debug mode)."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if (
            trap_bad_request is None
            and self.debug
            and isinstance(e, BadRequestKeyError)
        ):
            return True
        if trap_bad_request:
            return isinstance(e, BadRequest)
        return False

    def handle_http_exception(
        self, e: HTTPException
    ) -> HTTPException | ft.ResponseReturnValue:
        """Answer an HTTP exception with its registered handler, or with the
        exception itself (its default error page). Redirects from routing
        are never handled."""
        if e.code is None:
            return e
        if isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_user_exception(
        self, e: Exception
    ) -> HTTPException | ft.ResponseReturnValue:
        """Handle an exception raised by a hook or a view: HTTP exceptions
        through :meth:`handle_http_exception`, others through a registered
        handler; re-raised when there is none."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_exception(self, e: Exception) -> Response:
        """Handle an exception no user handler caught: re-raise it when
        exceptions propagate (testing, debug, ``PROPAGATE_EXCEPTIONS``), else
        log it and answer 500 (through a 500 handler if one is registered,
        which gets an :class:`InternalServerError` with ``original_exception``)."""
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(
                self, _async_wrapper=self.ensure_sync, exception=e
            )
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: InternalServerError | ft.ResponseReturnValue
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            server_error = self.ensure_sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception with the request's path and method."""
        self.logger.error(
            f"Exception on {request.path} [{request.method}]", exc_info=exc_info
        )

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions should not see ``error``."""
        return False
