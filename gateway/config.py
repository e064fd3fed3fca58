"""The configuration mapping of an application and the ways to fill it."""

from __future__ import annotations

import errno
import json
import os
import types
import typing as t

from werkzeug.utils import import_string

from . import _names

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import App

T = t.TypeVar("T")


class ConfigError(ValueError):
    """A gateway configuration (``gateway.toml`` or arguments given in Python)
    is invalid. The message names the offending key and what would fix it.

    Defined here, in the core, because the core raises it too (for
    ``[gateway].flask_compat``, read by :mod:`gateway.compat`);
    :mod:`gateway.dispatch` re-exports it as ``gateway.dispatch.ConfigError``.
    """


class ConfigAttribute(t.Generic[T]):
    """An attribute on the app that reads and writes one config key, e.g.
    ``app.debug`` for ``app.config["DEBUG"]``."""

    def __init__(
        self, name: str, get_converter: t.Callable[[t.Any], T] | None = None
    ) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @t.overload
    def __get__(self, obj: None, owner: None) -> ConfigAttribute[T]: ...

    @t.overload
    def __get__(self, obj: App, owner: type[App]) -> T: ...

    def __get__(self, obj: App | None, owner: type[App] | None = None) -> t.Any:
        if obj is None:
            return self
        rv = obj.config[self.__name__]
        if self.get_converter is not None:
            rv = self.get_converter(rv)
        return rv

    def __set__(self, obj: App, value: t.Any) -> None:
        obj.config[self.__name__] = value


class Config(dict[str, t.Any]):
    """A dict with helpers to load values from files, objects, mappings and
    the environment. Only UPPERCASE keys are taken from any source, so a module
    can hold helpers and temporaries next to its settings.

    :param root_path: relative file names are resolved against this path.
    :param defaults: initial values.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: dict[str, t.Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load the file named by an environment variable with
        :meth:`from_pyfile`."""
        rv = os.environ.get(variable_name)
        if not rv:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set"
                " and as such configuration could not be loaded. Set"
                " this variable and make it point to a configuration"
                " file"
            )
        return self.from_pyfile(rv, silent=silent)

    def from_prefixed_env(
        self,
        prefix: str | None = None,
        *,
        loads: t.Callable[[str], t.Any] = json.loads,
    ) -> bool:
        """Load every ``PREFIX_*`` environment variable, without the prefix.

        ``prefix`` defaults to ``"GATEWAY"`` (``"FLASK"`` under the Flask
        compatibility switch, as Flask's own default).

        Values go through ``loads`` (JSON by default) and stay strings when
        that fails. ``PREFIX_A__B`` sets the nested key ``config["A"]["B"]``.
        Keys are read in sorted order, so the result is deterministic.
        """
        prefix = f"{prefix or _names.prefix()}_"
        for key in sorted(os.environ):
            if not key.startswith(prefix):
                continue
            value: t.Any = os.environ[key]
            key = key.removeprefix(prefix)
            try:
                value = loads(value)
            except Exception:
                pass
            if "__" not in key:
                self[key] = value
                continue
            current: dict[str, t.Any] = self
            *parts, tail = key.split("__")
            for part in parts:
                if part not in current:
                    current[part] = {}
                current = current[part]
            current[tail] = value
        return True

    def from_pyfile(
        self, filename: str | os.PathLike[str], silent: bool = False
    ) -> bool:
        """Execute a Python file and load its uppercase names."""
        filename = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = filename
        try:
            with open(filename, mode="rb") as config_file:
                exec(compile(config_file.read(), filename, "exec"), module.__dict__)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the uppercase attributes of an object, a class or a module
        (an import string is imported first)."""
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: t.Callable[[t.IO[t.Any]], t.Mapping[str, t.Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a file with ``load`` (``json.load``, ``tomllib.load`` with
        ``text=False``, ...) and merge its uppercase top-level keys."""
        filename = os.path.join(self.root_path, filename)
        try:
            with open(filename, "r" if text else "rb") as f:
                obj = load(f)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        return self.from_mapping(obj)

    def from_mapping(
        self, mapping: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any
    ) -> bool:
        """Merge the uppercase keys of a mapping and of keyword arguments."""
        mappings: dict[str, t.Any] = {}
        if mapping is not None:
            mappings.update(mapping)
        mappings.update(kwargs)
        for key, value in mappings.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, t.Any]:
        """Return the keys starting with ``namespace`` as a new dict, e.g.
        ``get_namespace("IMAGE_STORE_")`` gives ``{"type": ..., "path": ...}``."""
        rv = {}
        for k, v in self.items():
            if not k.startswith(namespace):
                continue
            key = k[len(namespace) :] if trim_namespace else k
            if lowercase:
                key = key.lower()
            rv[key] = v
        return rv

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
