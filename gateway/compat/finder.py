"""The import hook behind the switch: ``flask`` and ``flask.*`` resolve to
modules that show gateway's.

Each ``flask.X`` is an :class:`AliasModule`: a module object of its own
(so the import system can set ``__spec__``, ``__path__`` and submodule
attributes on it without touching gateway's), whose attribute reads, writes
and deletes go to the gateway module behind it. Writes going through matters
for code that monkeypatches ``flask.helpers.something`` and expects the code
that runs to see it.
"""

from __future__ import annotations

import collections.abc as cabc
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import typing as t
import warnings

from .names import EXTENSION_MODULES, FLASK_VERSION, MAIN_MODULE, MODULES, Alias


class AliasModule(types.ModuleType):
    """``flask.X``: gateway's module ``target`` under Flask's name, plus the
    Flask names of renamed classes."""

    # Declared for readers and type checkers; stored in the instance dict
    # through object.__setattr__, since __setattr__ forwards.
    _gateway_target: types.ModuleType | None
    _gateway_renames: t.Mapping[str, str]

    @property
    def __dict__(self) -> _Namespace:  # type: ignore[override]
        """The module's namespace as code that reads ``vars(flask.X)`` or
        ``flask.X.__dict__`` expects it: gateway's names too, not only the
        alias's own. pytest's ``monkeypatch.setattr`` and ``mock.patch`` look
        here for the value to restore; without gateway's names they would
        find none and delete gateway's attribute on undo."""
        return _Namespace(self)

    def __init__(self, name: str, alias: Alias) -> None:
        super().__init__(name)
        target = importlib.import_module(alias.target) if alias.target else None
        object.__setattr__(self, "_gateway_target", target)
        object.__setattr__(self, "_gateway_renames", alias.renames)
        if target is not None:
            object.__setattr__(self, "__doc__", target.__doc__)

    def __getattr__(self, name: str) -> t.Any:
        full = f"{self.__name__}.{name}"
        if full in MODULES:
            # `flask.json` before `import flask.json`: the alias, as with Flask.
            return importlib.import_module(full)
        if self.__name__ == "flask" and name == "__version__":
            return _deprecated_version()
        if name == "__all__":
            # What `from flask import *` binds: the public names only (never
            # __name__, __spec__, ... which would overwrite the importer's).
            return [n for n in self.__dir__() if not n.startswith("_")]
        target = self._gateway_target
        if target is not None and (name == "__file__" or not _is_dunder(name)):
            # __file__ says where the code that runs lives: gateway's module.
            try:
                return getattr(target, self._gateway_renames.get(name, name))
            except AttributeError:
                pass
        raise AttributeError(
            f"module {self.__name__!r} has no attribute {name!r}: under gateway's"
            f" Flask compatibility switch, {self.__name__!r} offers what Flask"
            f" {FLASK_VERSION} documents; {full!r} is not among it"
            + (f" (it maps to {target.__name__!r})." if target else ".")
        )

    def __setattr__(self, name: str, value: t.Any) -> None:
        if self._forwards(name):
            setattr(self._gateway_target, self._gateway_renames.get(name, name), value)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._forwards(name) and name not in _own_dict(self):
            delattr(self._gateway_target, self._gateway_renames.get(name, name))
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        names = {n for n in _own_dict(self) if not n.startswith("_gateway_")}
        names.update(self._gateway_renames)
        target = self._gateway_target
        if target is not None:
            names.update(n for n in dir(target) if not n.startswith("_"))
            names.difference_update(self._gateway_renames.values())
        return sorted(names)

    def __repr__(self) -> str:
        target = self._gateway_target
        shown = f"gateway's {target.__name__!r}" if target else "a namespace"
        return f"<module {self.__name__!r}: {shown}, by the Flask compatibility switch>"

    def _forwards(self, name: str) -> bool:
        # The import system's own attributes (__spec__, __path__, ...) and
        # submodules stay on the alias; everything else is gateway's.
        return (
            self._gateway_target is not None
            and not _is_dunder(name)
            and f"{self.__name__}.{name}" not in MODULES
        )


#: The module object's own attribute dictionary, which AliasModule's
#: ``__dict__`` property hides.
_own_dict: t.Callable[[types.ModuleType], dict[str, t.Any]] = vars(types.ModuleType)[
    "__dict__"
].__get__


class _Namespace(cabc.MutableMapping[str, t.Any]):
    """``flask.X.__dict__``: the alias's own attributes (``__name__``,
    ``__spec__``, imported submodules...), then gateway's module's under
    Flask's names; writes and deletes go where attribute writes go."""

    __slots__ = ("_module",)

    def __init__(self, module: AliasModule) -> None:
        self._module = module

    def __getitem__(self, name: str) -> t.Any:
        own = _own_dict(self._module)
        if name in own:
            return own[name]
        module = self._module
        if module._forwards(name):
            try:
                return getattr(
                    module._gateway_target, module._gateway_renames.get(name, name)
                )
            except AttributeError:
                pass
        raise KeyError(name)

    def __setitem__(self, name: str, value: t.Any) -> None:
        setattr(self._module, name, value)

    def __delitem__(self, name: str) -> None:
        try:
            delattr(self._module, name)
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self) -> t.Iterator[str]:
        module = self._module
        own = _own_dict(module)
        seen = set(own)
        yield from list(own)
        target = module._gateway_target
        if target is None:
            return
        # dir() too: a package's lazily imported names (gateway's App, ...)
        # are not in its dict until first used.
        names = [*module._gateway_renames, *_own_dict(target), *dir(target)]
        for name in names:
            if name not in seen and module._forwards(name) and name in self:
                seen.add(name)
                yield name

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<namespace of {self._module!r}>"


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _deprecated_version() -> str:
    # Flask 3.1 warns on flask.__version__; the switch follows it.
    warnings.warn(
        "The '__version__' attribute is deprecated and will be removed in"
        " Flask 3.2. Use feature detection or"
        " 'importlib.metadata.version(\"flask\")' instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    return FLASK_VERSION


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, alias: Alias) -> None:
        self.alias = alias

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return AliasModule(spec.name, self.alias)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _ExtensionLoader(importlib.abc.Loader):
    """``flask.ext.foo`` is the module ``flask_foo`` (or ``flaskext.foo``)."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.own_spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamped the alias's spec on the extension's module
        # object; give it back its own.
        module.__spec__ = self.own_spec


class FlaskFinder(importlib.abc.MetaPathFinder):
    """Finds ``flask`` and every ``flask.*`` module before any other finder."""

    def find_spec(
        self,
        fullname: str,
        path: t.Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "flask" and not fullname.startswith("flask."):
            return None
        alias = MODULES.get(fullname)
        if alias is not None:
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(alias), is_package=alias.package
            )
        if fullname == MAIN_MODULE:
            # gateway's own __main__.py, run as flask.__main__: its relative
            # import then finds flask.cli, which is gateway's CLI.
            ours = importlib.util.find_spec("gateway.__main__")
            if ours is None or ours.origin is None:  # pragma: no cover
                raise ModuleNotFoundError("gateway.__main__ is missing", name=fullname)
            return importlib.util.spec_from_file_location(fullname, ours.origin)
        if fullname.startswith("flask.ext."):
            return _extension_spec(fullname)
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: gateway's Flask compatibility switch"
            f" provides the modules of Flask {FLASK_VERSION}"
            f" ({', '.join(sorted(MODULES))}), and this is not one of them.",
            name=fullname,
        )

    def __repr__(self) -> str:
        return "<gateway Flask compatibility finder>"


def _extension_spec(fullname: str) -> importlib.machinery.ModuleSpec:
    name = fullname.removeprefix("flask.ext.")
    tried = [pattern.format(name) for pattern in EXTENSION_MODULES]
    for candidate in tried:
        try:
            module = importlib.import_module(candidate)
        except ModuleNotFoundError as e:
            # Only "that module does not exist" moves on to the next place;
            # an extension that fails to import fails loudly.
            if e.name == candidate or candidate.startswith(f"{e.name}."):
                continue
            raise
        return importlib.machinery.ModuleSpec(fullname, _ExtensionLoader(module))
    raise ModuleNotFoundError(
        f"No module named {fullname!r}: no extension module {' or '.join(tried)}"
        " is installed.",
        name=fullname,
    )


def install() -> FlaskFinder:
    """Put the finder first on :data:`sys.meta_path` (once) and return it."""
    for finder in sys.meta_path:
        if isinstance(finder, FlaskFinder):
            return finder
    finder = FlaskFinder()
    sys.meta_path.insert(0, finder)
    return finder
