"""Errors and reports that make debug-mode mistakes easy to understand."""

from __future__ import annotations

import typing as t

from jinja2.loaders import BaseLoader
from werkzeug.routing import RequestRedirect

from .globals import _cv_request

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import App
    from .wrappers import Request


class UnexpectedUnicodeError(AssertionError, UnicodeError):
    """Raised where the API refuses non-bytes data."""


class DebugFilesKeyError(KeyError, AssertionError):
    """Raised in debug mode when ``request.files`` is read for a form sent
    without ``enctype="multipart/form-data"``."""

    def __init__(self, request: Request, key: str) -> None:
        form_matches = request.form.getlist(key)
        buf = [
            f"You tried to access the file {key!r} in the request.files"
            " dictionary but it does not exist. The mimetype for the"
            f" request is {request.mimetype!r} instead of"
            " 'multipart/form-data' which means that no file contents"
            " were transmitted. To fix this error you should provide"
            ' enctype="multipart/form-data" in your form.'
        ]
        if form_matches:
            names = ", ".join(repr(x) for x in form_matches)
            buf.append(
                "\n\nThe browser instead transmitted some file names. "
                f"This was submitted: {names}"
            )
        self.msg = "".join(buf)

    def __str__(self) -> str:
        return self.msg


class FormDataRoutingRedirect(AssertionError):
    """Raised in debug mode when routing redirects a request with a body
    using 301/302, which would make the browser drop the form data."""

    def __init__(self, request: Request) -> None:
        exc = request.routing_exception
        if not isinstance(exc, RequestRedirect):
            raise TypeError("routing_exception must be a RequestRedirect")
        buf = [
            f"A request was sent to '{request.url}', but routing issued"
            f" a redirect to the canonical URL '{exc.new_url}'."
        ]
        if f"{request.base_url}/" == exc.new_url.partition("?")[0]:
            buf.append(
                " The URL was defined with a trailing slash. Routing"
                " redirects to the URL with a trailing slash if it"
                " was accessed without one."
            )
        buf.append(
            " Send requests to the canonical URL, or use 307 or 308 for"
            " routing redirects. Otherwise, browsers will drop form"
            " data.\n\n"
            "This exception is only raised in debug mode."
        )
        super().__init__("".join(buf))


def attach_enctype_error_multidict(request: Request) -> None:
    """Make ``request.files[key]`` explain a missing enctype in debug mode."""
    oldcls = request.files.__class__

    class newcls(oldcls):  # type: ignore[valid-type, misc]
        def __getitem__(self, key: str) -> t.Any:
            try:
                return super().__getitem__(key)
            except KeyError as e:
                if key not in request.form:
                    raise
                raise DebugFilesKeyError(request, key).with_traceback(
                    e.__traceback__
                ) from None

    newcls.__name__ = oldcls.__name__
    newcls.__module__ = oldcls.__module__
    request.files.__class__ = newcls


def _describe_loader(loader: BaseLoader) -> list[str]:
    """A few lines saying what a loader is and where it looks."""
    cls = type(loader)
    lines = [f"class: {cls.__module__}.{cls.__name__}"]
    for attr in ("encoding", "followlinks", "package_name", "package_path"):
        value = getattr(loader, attr, None)
        if value is not None:
            lines.append(f"{attr}: {value!r}")
    searchpath = getattr(loader, "searchpath", None)
    if searchpath is not None:
        lines.append("searchpath:")
        lines.extend(f"  {path}" for path in searchpath)
    return lines


def explain_template_loading_attempts(
    app: App,
    template: str,
    attempts: list[tuple[BaseLoader, t.Any, tuple[str, str | None, t.Any] | None]],
) -> None:
    """Log a readable account of one template lookup (``EXPLAIN_TEMPLATE_LOADING``).

    Lists every loader tried, in order, with where it searched and whether it
    matched, then says whether the template was missing (with a hint when the
    request belongs to a blueprint) or found more than once (only the first
    match is used).
    """
    lines = [f"Locating template {template!r}:"]
    found = 0

    for number, (loader, srcobj, triple) in enumerate(attempts, 1):
        if srcobj is app:
            owner = f"application {srcobj.import_name!r}"
        else:
            owner = f"blueprint {srcobj.name!r} ({srcobj.import_name})"
        lines.append(f"{number:5}: trying loader of {owner}")
        lines.extend(f"       {line}" for line in _describe_loader(loader))

        if triple is None:
            lines.append("       -> no match")
        else:
            found += 1
            lines.append(f"       -> found ({triple[1] or '<string>'!r})")

    if found == 0:
        lines.append("Error: the template could not be found.")
        reqctx = _cv_request.get(None)
        blueprint = reqctx.request.blueprint if reqctx is not None else None
        if blueprint is not None:
            name = blueprint.rpartition(".")[2]
            lines.append(
                f"  The request was routed to the blueprint {blueprint!r}. Its"
                " template_folder is searched after the application's, and all"
                " folders share one namespace: check that template_folder is"
                " set, and keep the blueprint's templates in a subfolder named"
                f" after it (render '{name}/{template}') so that no other"
                " folder can shadow them."
            )
    elif found > 1:
        lines.append(
            "Warning: more than one loader matched the template; the first"
            " match is used and the others are shadowed."
        )

    app.logger.info("\n".join(lines))
