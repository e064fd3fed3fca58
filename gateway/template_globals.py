"""Template globals as flat dicts that stay in step with the environment.

Jinja gives each template a ``ChainMap(template_globals, env.globals)`` and
copies it into a new dict (and a set of its keys) at every render. Iterating a
ChainMap runs in Python and costs more than many small templates take to
render. Here each template gets a plain dict holding both layers, and the
environment's globals dict passes every change on to the templates already
loaded, so what a template sees is what the ChainMap would show: template
globals shadow the environment's, and changes to either show at once.
"""

from __future__ import annotations

import threading
import typing as t
import weakref

_missing = object()


class _WritesThrough(dict[str, t.Any]):
    """A dict whose compound writes go through its own ``__setitem__`` and
    ``update``, so a subclass only overrides those to see every change."""

    __slots__ = ()

    # Takes what update() takes (any mapping or pairs), where typeshed's dict
    # | and |= take only a dict.
    def __ior__(self, other: t.Any) -> t.Self:  # type: ignore[override, misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        if key in self:
            return self[key]
        self[key] = default
        return default


class EnvironmentGlobals(_WritesThrough):
    """``Environment.globals``: a dict that tells the templates' flattened
    globals about each change."""

    __slots__ = ("_dependents", "_lock", "__weakref__")

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed by id: the dependents are dicts, hence unhashable.
        self._dependents: weakref.WeakValueDictionary[int, TemplateGlobals] = (
            weakref.WeakValueDictionary()
        )
        self._lock = threading.Lock()

    def derive(self, own: t.Mapping[str, t.Any] | None) -> TemplateGlobals:
        """The globals of a new template: ``own`` over these."""
        rv = TemplateGlobals(self, own or {})
        with self._lock:
            self._dependents[id(rv)] = rv
        return rv

    def _changed(self, keys: t.Iterable[str]) -> None:
        with self._lock:
            dependents = list(self._dependents.values())
        for dependent in dependents:
            for key in keys:
                dependent._inherit(key)

    def __setitem__(self, key: str, value: t.Any) -> None:
        dict.__setitem__(self, key, value)
        self._changed((key,))

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._changed((key,))

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        items = dict(*args, **kwargs)
        dict.update(self, items)
        self._changed(items)

    def pop(self, key: str, default: t.Any = _missing) -> t.Any:
        if key not in self:
            if default is _missing:
                raise KeyError(key)
            return default
        value = dict.pop(self, key)
        self._changed((key,))
        return value

    def popitem(self) -> tuple[str, t.Any]:
        item = dict.popitem(self)
        self._changed((item[0],))
        return item

    def clear(self) -> None:
        keys = list(self)
        dict.clear(self)
        self._changed(keys)


class TemplateGlobals(_WritesThrough):
    """A template's globals, flattened: its own over the environment's.

    Writes and deletions act on the template's own layer, as they would on
    the first map of Jinja's ChainMap.
    """

    __slots__ = ("_parent", "_own", "__weakref__")

    def __init__(self, parent: EnvironmentGlobals, own: t.Mapping[str, t.Any]) -> None:
        super().__init__(parent)
        dict.update(self, own)
        self._parent = parent
        self._own = dict(own)

    def _inherit(self, key: str) -> None:
        """Show the environment's value for ``key`` unless shadowed."""
        if key in self._own:
            return
        value = self._parent.get(key, _missing)
        if value is _missing:
            dict.pop(self, key, None)
        else:
            dict.__setitem__(self, key, value)

    def __setitem__(self, key: str, value: t.Any) -> None:
        self._own[key] = value
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        del self._own[key]
        self._inherit(key)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def pop(self, key: str, default: t.Any = _missing) -> t.Any:
        if key not in self._own:
            if default is _missing:
                raise KeyError(key)
            return default
        value = self._own.pop(key)
        self._inherit(key)
        return value

    def popitem(self) -> tuple[str, t.Any]:
        key, value = self._own.popitem()
        self._inherit(key)
        return key, value

    def clear(self) -> None:
        keys = list(self._own)
        self._own.clear()
        for key in keys:
            self._inherit(key)
