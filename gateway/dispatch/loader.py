"""Import what a ``gateway.toml`` names, and build the gateway.

Reading and validating the file is :mod:`gateway.toml`'s job
(:func:`gateway.toml.load_config`), which imports nothing, so ``gateway
config`` can render server files on a machine without the application.
:func:`build_gateway` imports the applications and composes the
:class:`~gateway.dispatch.gateway.Gateway`. Import problems raise
:class:`~gateway.config.ConfigError` naming the key they came from.
"""

from __future__ import annotations

import importlib
import sys
import typing as t
from pathlib import Path

from ..config import ConfigError
from ..toml import GatewayConfig, parse_import_string
from ..toml.schema import suggest

if t.TYPE_CHECKING:  # pragma: no cover
    from .gateway import Gateway

__all__ = ["build_gateway", "import_app", "import_string"]


def import_string(spec: str, root: Path | str | None = None, where: str = "") -> t.Any:
    """Import ``module:attr`` (calling ``module:factory(args)``) and return it.

    ``root`` is put first on ``sys.path``. Errors are :class:`ConfigError`
    prefixed with ``where`` and tell apart a missing module, a missing
    attribute, an exception raised while importing the module, and one raised
    by the factory call.
    """
    prefix = f"{where}: " if where else ""
    try:
        parsed = parse_import_string(spec)
    except ValueError as e:
        raise ConfigError(f"{prefix}{e}") from None
    if root is not None:
        root_s = str(Path(root).resolve())
        if not sys.path or sys.path[0] != root_s:
            sys.path.insert(0, root_s)
    try:
        module = importlib.import_module(parsed.module)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing == parsed.module or parsed.module.startswith(missing + "."):
            looked = f" (searched {root_s} first)" if root is not None else ""
            raise ConfigError(f"{prefix}no module named {missing!r}{looked}") from None
        raise ConfigError(
            f"{prefix}importing {parsed.module!r} failed: {type(e).__name__}: {e}"
        ) from e
    except Exception as e:
        raise ConfigError(
            f"{prefix}importing {parsed.module!r} failed: {type(e).__name__}: {e}"
        ) from e
    obj: t.Any = module
    for part in parsed.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ConfigError(
                f"{prefix}module {parsed.module!r} has no attribute {parsed.attr!r}"
                f"{suggest(part, names)}"
            ) from None
    if parsed.call:
        if not callable(obj):
            raise ConfigError(f"{prefix}{parsed.module}:{parsed.attr} is not callable")
        try:
            obj = obj(*parsed.args, **parsed.kwargs)
        except Exception as e:
            raise ConfigError(
                f"{prefix}calling {spec.strip()} raised {type(e).__name__}: {e}"
            ) from e
    return obj


def import_app(spec: str, root: Path | str | None = None, where: str = "") -> t.Any:
    """:func:`import_string` that also checks the result is a WSGI callable."""
    app = import_string(spec, root, where)
    if not callable(app):
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}{spec!r} is a {type(app).__name__}, not a WSGI application"
            " (use 'module:factory()' to call a factory)"
        )
    return app


def build_gateway(config: GatewayConfig) -> Gateway:
    """Import every application named in ``config`` and compose a Gateway."""
    from .gateway import Gateway

    return Gateway.from_config(config)
