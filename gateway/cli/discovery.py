"""Finding the application the command line should load.

``--app`` accepts ``module``, ``module:name``, ``module:factory(args)`` or a path
to a file or package; without a name the module is searched for an app or a
factory. Every failure is a :class:`NoAppException` saying what to fix.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
import traceback
import typing as t
from types import ModuleType

import click

from .. import _names

if t.TYPE_CHECKING:  # pragma: no cover
    from ..app import App


class NoAppException(click.UsageError):
    """The application could not be found, imported or created."""


# -- application discovery ---------------------------------------------------

#: Attribute names holding an application, tried in this order.
APP_NAMES = ("app", "application")
#: Attribute names of factories called without arguments, tried in this order.
FACTORY_NAMES = ("create_app", "make_app")


def find_best_app(module: ModuleType) -> App:
    """Return the application a module most plausibly means.

    An :class:`~gateway.App` named ``app`` or ``application`` wins, then the
    only App instance in the module, then the result of calling a
    ``create_app`` or ``make_app`` factory without arguments.
    """
    from ..app import App

    for attr_name in APP_NAMES:
        app = getattr(module, attr_name, None)

        if isinstance(app, App):
            return app

    matches = [v for v in module.__dict__.values() if isinstance(v, App)]

    if len(matches) == 1:
        return matches[0]

    if len(matches) > 1:
        raise NoAppException(
            f"Detected multiple {_names.product()} applications in module {module.__name__!r}."
            f" Use '{module.__name__}:name' to specify the correct one."
        )

    for attr_name in FACTORY_NAMES:
        factory = getattr(module, attr_name, None)

        if not inspect.isfunction(factory):
            continue

        try:
            app = factory()
        except TypeError as e:
            if not _called_with_wrong_args(factory):
                raise

            raise NoAppException(
                f"Detected factory {attr_name!r} in module {module.__name__!r},"
                " but could not call it without arguments. Use"
                f" '{module.__name__}:{attr_name}(args)' to specify arguments."
            ) from e

        if isinstance(app, App):
            return app

    raise NoAppException(
        f"Failed to find a {_names.product()} application or factory in module"
        f" {module.__name__!r}. Use '{module.__name__}:name' to specify one."
    )


def _called_with_wrong_args(f: t.Callable[..., t.Any]) -> bool:
    """Tell whether the ``TypeError`` being handled came from calling ``f``
    with the wrong arguments (``True``) or from code running inside ``f``.

    The traceback reaches ``f``'s own frame only if the call itself worked.
    """
    tb = sys.exc_info()[2]

    try:
        while tb is not None:
            if tb.tb_frame.f_code is f.__code__:
                return False

            tb = tb.tb_next

        return True
    finally:
        del tb  # break the frame <-> traceback reference cycle


def parse_app_expression(
    expression: str,
) -> tuple[str, list[t.Any], dict[str, t.Any]]:
    """Split ``name`` or ``name(args)`` into the name, positional and keyword
    arguments. Arguments must be Python literals; nothing is evaluated.
    """
    try:
        expr = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {expression!r} as an attribute name or function call."
        ) from None

    if isinstance(expr, ast.Name):
        return expr.id, [], {}

    if not isinstance(expr, ast.Call):
        raise NoAppException(
            f"Failed to parse {expression!r} as an attribute name or function call."
        )

    if not isinstance(expr.func, ast.Name):
        raise NoAppException(
            f"Function reference must be a simple name: {expression!r}."
        )

    try:
        args = [ast.literal_eval(arg) for arg in expr.args]
        kwargs = {
            kw.arg: ast.literal_eval(kw.value)
            for kw in expr.keywords
            if kw.arg is not None
        }
    except ValueError:
        # literal_eval's own message names only the node type; show the input.
        raise NoAppException(
            f"Failed to parse arguments as literal values: {expression!r}."
        ) from None

    return expr.func.id, args, kwargs


def find_app_by_string(module: ModuleType, app_name: str) -> App:
    """Get the application named by ``app_name`` from ``module``: an attribute,
    or a factory function called with the literal arguments given.
    """
    from ..app import App

    name, args, kwargs = parse_app_expression(app_name)

    try:
        attr = getattr(module, name)
    except AttributeError as e:
        raise NoAppException(
            f"Failed to find attribute {name!r} in {module.__name__!r}."
        ) from e

    if inspect.isfunction(attr):
        try:
            app = attr(*args, **kwargs)
        except TypeError as e:
            if not _called_with_wrong_args(attr):
                raise

            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could"
                " not be called with the specified arguments."
            ) from e
    else:
        app = attr

    if isinstance(app, App):
        return app

    raise NoAppException(
        f"A valid {_names.product()} application was not obtained from"
        f" '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """Turn a file or package path into an importable module name.

    Walks up past every directory holding an ``__init__.py`` so packages are
    imported under their full dotted name, and puts the first directory above
    the package on ``sys.path``.
    """
    path = os.path.realpath(path)
    base, ext = os.path.splitext(path)

    if ext == ".py":
        path = base

    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts = []

    while True:
        path, name = os.path.split(path)
        parts.append(name)

        if not os.path.exists(os.path.join(path, "__init__.py")):
            break

    if sys.path[0] != path:
        sys.path.insert(0, path)

    return ".".join(reversed(parts))


def split_import_path(value: str) -> tuple[str, str | None]:
    """Split ``module:name`` at the first colon not followed by a path
    separator, so Windows drive letters (``C:\\app.py``) stay in the path.
    """
    path, *rest = re.split(r":(?![\\/])", value, maxsplit=1)
    return path, rest[0] if rest else None


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> App: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[False] = ...
) -> App | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> App | None:
    """Import ``module_name`` and find the application in it.

    An ``ImportError`` raised while the module itself runs is reported with
    its traceback; a module that does not exist is reported briefly, or gives
    ``None`` when ``raise_if_not_found`` is false.
    """
    try:
        __import__(module_name)
    except ImportError:
        # A traceback deeper than this frame means the module was found and
        # failed while executing.
        if sys.exc_info()[2].tb_next:  # type: ignore[union-attr]  # in an except
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was"
                f" raised:\n\n{traceback.format_exc()}"
            ) from None

        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None

        return None

    module = sys.modules[module_name]

    if app_name is None:
        return find_best_app(module)

    return find_app_by_string(module, app_name)
