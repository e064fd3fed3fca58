"""Functions used inside views: URLs, redirects, aborts, file sending,
streaming with context, plus a few environment switches."""

from __future__ import annotations

import importlib.util
import os
import sys
import typing as t
from datetime import datetime
from functools import cache, update_wrapper

import werkzeug.utils
from werkzeug.exceptions import abort as _wz_abort
from werkzeug.utils import redirect as _wz_redirect
from werkzeug.wrappers import Response as BaseResponse

from . import _names
from .globals import _cv_app, _cv_request, current_app, request

if t.TYPE_CHECKING:  # pragma: no cover
    from .wrappers import Response


def get_debug_flag() -> bool:
    """Whether ``GATEWAY_DEBUG`` (``FLASK_DEBUG`` under the Flask switch)
    asks for debug mode."""
    val = _names.getenv("DEBUG")
    return bool(val and val.lower() not in {"0", "false", "no"})


def get_load_dotenv(default: bool = True) -> bool:
    """Whether ``.env`` files should be loaded: ``default`` unless
    ``GATEWAY_SKIP_DOTENV`` (or ``FLASK_SKIP_DOTENV``) says otherwise."""
    val = _names.getenv("SKIP_DOTENV")
    if not val:
        return default
    return val.lower() in ("0", "false", "no")


@t.overload
def stream_with_context(
    generator_or_function: t.Iterator[t.AnyStr],
) -> t.Iterator[t.AnyStr]: ...


@t.overload
def stream_with_context(
    generator_or_function: t.Callable[..., t.Iterator[t.AnyStr]],
) -> t.Callable[[t.Iterator[t.AnyStr]], t.Iterator[t.AnyStr]]: ...


def stream_with_context(
    generator_or_function: t.Iterator[t.AnyStr] | t.Callable[..., t.Iterator[t.AnyStr]],
) -> t.Iterator[t.AnyStr] | t.Callable[[t.Iterator[t.AnyStr]], t.Iterator[t.AnyStr]]:
    """Keep the request context alive while a streamed response generator
    runs, so it can still use ``request`` and ``session`` after the view
    returned. Works on a generator or as a decorator of a generator function.
    """
    # A generator or a generator function, told apart by trying iter():
    # mypy cannot narrow the union that way.
    try:
        gen = iter(generator_or_function)  # type: ignore[arg-type]
    except TypeError:

        def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
            gen = generator_or_function(*args, **kwargs)  # type: ignore[operator]
            return stream_with_context(gen)

        return update_wrapper(decorator, generator_or_function)  # type: ignore[arg-type]

    def generator() -> t.Iterator[t.AnyStr | None]:
        req_ctx = _cv_request.get(None)
        if req_ctx is None:
            raise RuntimeError(
                "'stream_with_context' can only be used when a request"
                " context is active, such as in a view function."
            )
        app_ctx = _cv_app.get()
        # Primed below: the contexts are captured while the view runs, but
        # pushed only when the server iterates, in the server's own context
        # (an async view runs in another one, whose tokens could not be reset
        # here). The app context goes first so the request reuses it (same g).
        yield None
        with app_ctx, req_ctx:
            try:
                yield from gen
            finally:
                # The wrapped iterator may be a WSGI body that needs closing.
                if hasattr(gen, "close"):
                    gen.close()

    wrapped_g = generator()
    next(wrapped_g)
    return wrapped_g  # type: ignore[return-value]  # primed: no more None


def make_response(*args: t.Any) -> Response:
    """Turn a view's return value into a response object, to add headers
    before returning it: ``make_response(body, 404)``. No argument gives an
    empty response; one argument or several behave like a view's return value.
    """
    if not args:
        return current_app.response_class()
    if len(args) == 1:
        args = args[0]
    return current_app.make_response(args)


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """Build the URL of ``endpoint`` with ``values`` for its rule's variables
    (unknown ones become the query string). See :meth:`App.url_for`."""
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[BaseResponse] | None = None
) -> BaseResponse:
    """A redirect response to ``location``, built by the current app's
    :meth:`~App.redirect` when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.redirect(location, code=code)
    return _wz_redirect(location, code=code, Response=Response)


def abort(code: int | BaseResponse, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the HTTP exception for ``code`` (or the given response), using
    the current app's :attr:`~App.aborter` when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _wz_abort(code, *args, **kwargs)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """A macro or variable exported by a template, e.g. to call a macro from
    Python: ``get_template_attribute("_macros.html", "hello")("World")``."""
    return getattr(current_app.jinja_env.get_template(template_name).module, attribute)


def _prepare_send_file_kwargs(**kwargs: t.Any) -> dict[str, t.Any]:
    if kwargs.get("max_age") is None:
        kwargs["max_age"] = current_app.get_send_file_max_age
    kwargs.update(
        environ=request.environ,
        use_x_sendfile=current_app.config["USE_X_SENDFILE"],
        response_class=current_app.response_class,
        _root_path=current_app.root_path,
    )
    return kwargs


def send_file(
    path_or_file: os.PathLike[t.AnyStr] | str | t.BinaryIO,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: None | (int | t.Callable[[str | None], int | None]) = None,
) -> Response:
    """Send a file (a path relative to the app's root, or a binary file
    object) with its mimetype guessed, ``ETag`` / ``Last-Modified`` for
    conditional requests (304) and ``Range`` support (206).

    Never pass a path that came from a user: use :func:`send_from_directory`.
    """
    # Built with current_app.response_class (see _prepare_send_file_kwargs).
    return werkzeug.utils.send_file(  # type: ignore[return-value]
        **_prepare_send_file_kwargs(
            path_or_file=path_or_file,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=conditional,
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
        )
    )


def send_from_directory(
    directory: os.PathLike[str] | str,
    path: os.PathLike[str] | str,
    **kwargs: t.Any,
) -> Response:
    """Send ``path`` from inside ``directory``; a path that would leave the
    directory (``..``, absolute, NUL byte) or does not exist gives a 404."""
    # Built with current_app.response_class (see _prepare_send_file_kwargs).
    return werkzeug.utils.send_from_directory(  # type: ignore[return-value]
        directory, path, **_prepare_send_file_kwargs(**kwargs)
    )


def get_root_path(import_name: str) -> str:
    """The directory of the module or package ``import_name``, or the current
    working directory when it cannot be found (an interactive session, a
    namespace package)."""
    mod = sys.modules.get(import_name)
    if mod is not None and hasattr(mod, "__file__") and mod.__file__ is not None:
        return os.path.dirname(os.path.abspath(mod.__file__))
    try:
        spec = importlib.util.find_spec(import_name)
        if spec is None:
            raise ValueError
    except (ImportError, ValueError):
        loader = None
    else:
        loader = spec.loader
    if loader is None:
        return os.getcwd()
    if hasattr(loader, "get_filename"):
        filepath = loader.get_filename(import_name)
    else:
        __import__(import_name)
        mod = sys.modules[import_name]
        filepath = getattr(mod, "__file__", None)
        if filepath is None:
            raise RuntimeError(
                "No root path can be found for the provided module"
                f" {import_name!r}. This can happen because the module"
                " came from an import hook that does not provide file"
                " name information or because it's a namespace package."
                " In this case the root path needs to be explicitly"
                " provided."
            )
    return os.path.dirname(os.path.abspath(filepath))  # type: ignore[no-any-return]


@cache
def _split_blueprint_path(name: str) -> list[str]:
    out: list[str] = [name]
    if "." in name:
        out.extend(_split_blueprint_path(name.rpartition(".")[0]))
    return out


from .flashing import flash as flash  # noqa: E402
from .flashing import get_flashed_messages as get_flashed_messages  # noqa: E402
