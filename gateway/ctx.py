"""Application and request contexts.

A context makes an app (and a request) "current" for the code that runs inside
it, through the proxies in :mod:`gateway.globals`. Contexts live in
:class:`contextvars.ContextVar` objects, so threads, greenlets and asyncio tasks
each see their own.
"""

from __future__ import annotations

import contextvars
import sys
import typing as t
from functools import update_wrapper
from types import TracebackType

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request as _WerkzeugRequest

from . import _names
from .globals import _cv_app, _cv_request
from .signals import appcontext_popped, appcontext_pushed

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment

    from . import typing as ft
    from .app import App
    from .sessions import SessionMixin
    from .wrappers import Request

# Any: the default of parameters typed otherwise, told apart by identity.
_sentinel: t.Any = object()
_werkzeug_close = _WerkzeugRequest.close


class _AppCtxGlobals:
    """The ``g`` object: a namespace for data that lives as long as one
    application context (in practice, one request)."""

    def __getattr__(self, name: str) -> t.Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: t.Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        """The attribute ``name``, or ``default`` when it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove and return ``name``; raise ``KeyError`` when it is not set
        and no default is given."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """Return ``name``, setting it to ``default`` first if it is missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<{_names.package()}.g of '{ctx.app.name}'>"
        return object.__repr__(self)


def after_this_request(
    f: ft.AfterRequestCallable[t.Any],
) -> ft.AfterRequestCallable[t.Any]:
    """Run ``f(response)`` after the current request, before the app's own
    ``after_request`` functions, e.g. to set a cookie from inside a view."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def copy_current_request_context(f: F) -> F:
    """Decorate ``f`` so that, called later (in a thread or greenlet), it runs
    inside a copy of the request context active when it was decorated."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    ctx = ctx.copy()

    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with ctx:
            return ctx.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def has_request_context() -> bool:
    """Whether a request context is active (``request`` can be used)."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """Whether an application context is active (``current_app`` and ``g``
    can be used)."""
    return _cv_app.get(None) is not None


class AppContext:
    """Makes an application current: ``current_app`` and ``g`` point at it.

    Pushed automatically for each request; push one yourself with
    ``with app.app_context():`` to use the app from a script or a CLI command.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.url_adapter = app.create_url_adapter(None)
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self._cv_tokens: list[contextvars.Token[AppContext]] = []

    def push(self) -> None:
        """Bind this context to the current context (thread, greenlet, task)."""
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Unbind this context, running the teardown functions when it is
        the outermost push."""
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(
                f"Popped wrong app context. ({ctx!r} instead of {self!r})"
            )
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.app.name!r}>"


class RequestContext:
    """Everything about one request: the request object, the URL adapter,
    the session and flashed messages. Pushing it also pushes an app context
    when that app is not current already.

    The session is opened on first use when the app uses the default cookie
    session interface (the result is the same as opening it up front: an
    unread cookie is still refreshed or removed when the response is made).
    """

    def __init__(
        self,
        app: App,
        environ: WSGIEnvironment,
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
            request.json_module = app.json
        self.request: Request = request
        self.url_adapter = None
        try:
            self.url_adapter = app.create_url_adapter(self.request)
        except HTTPException as e:
            self.request.routing_exception = e
        self.flashes: list[tuple[str, str]] | None = None
        self._session_if_open = session
        self._after_request_functions: list[ft.AfterRequestCallable[t.Any]] = []
        self._cv_tokens: list[
            tuple[contextvars.Token[RequestContext], AppContext | None]
        ] = []

    @property
    def session(self) -> SessionMixin:
        """The session of this request, opened the first time it is read.
        Reading it (as the ``session`` proxy does) marks it accessed, so the
        response varies on ``Cookie``."""
        rv = self._session_if_open
        if rv is None:
            rv = self._open_session()
        rv.accessed = True
        return rv

    @session.setter
    def session(self, value: SessionMixin | None) -> None:
        self._session_if_open = value

    @property
    def _session(self) -> SessionMixin | None:
        """Flask's attribute for the session object, read without marking it
        accessed. Flask opens the session when the context is pushed, so code
        reading this expects it there: a session gateway left unopened (the
        cookie interface's, opened on first use) is opened by this read."""
        rv = self._session_if_open
        if rv is None and self.app._lazy_session:
            rv = self._open_session()
        return rv

    @_session.setter
    def _session(self, value: SessionMixin | None) -> None:
        self._session_if_open = value

    def _open_session(self) -> SessionMixin:
        interface = self.app.session_interface
        rv = interface.open_session(self.app, self.request)
        if rv is None:
            rv = interface.make_null_session(self.app)
        self._session_if_open = rv
        return rv

    def copy(self) -> RequestContext:
        """A new context for the same request object and session, for use in
        another thread or greenlet (see :func:`copy_current_request_context`)."""
        # Share the session object, opening it if needed, without marking it
        # accessed: copying a context is not a use of the session.
        session = self._session_if_open
        if session is None:
            session = self._open_session()
        return self.__class__(
            self.app,
            environ=self.request.environ,
            request=self.request,
            session=session,
        )

    def match_request(self) -> None:
        """Match the URL against the app's rules and store the rule and view
        arguments on the request, or the routing exception to raise later."""
        try:
            # Only called when there is an adapter; the view arguments come
            # back as a Mapping (a dict at run time).
            result = self.url_adapter.match(return_rule=True)  # type: ignore[union-attr]
            self.request.url_rule, self.request.view_args = result  # type: ignore[assignment]
        except HTTPException as e:
            self.request.routing_exception = e

    def push(self) -> None:
        """Bind the request (and its app, if needed) to the current context."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        if self._session_if_open is None and not self.app._lazy_session:
            self._open_session()
        if self.url_adapter is not None:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Unbind the request; on the outermost pop run the teardown request
        functions, close the request and pop the app context pushed for it."""
        clear_request = len(self._cv_tokens) == 1
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)
                req = self.request
                # Werkzeug's close() only closes parsed uploads: skip the call
                # when there are none.
                if type(req).close is not _werkzeug_close or "files" in req.__dict__:
                    req.close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            if clear_request:
                ctx.request.environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)
            if ctx is not self:
                raise AssertionError(
                    f"Popped wrong request context. ({ctx!r} instead of {self!r})"
                )

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.request.url!r}"
            f" [{self.request.method}] of {self.app.name}>"
        )
