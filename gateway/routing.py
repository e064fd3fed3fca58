"""URL rules whose builders are compiled on first use.

Werkzeug compiles two Python functions per rule (to build URLs with and
without extra query arguments) when the rule is added to a map. Most rules of
a freshly created app are never used to build a URL, so doing that work up
front dominates the cost of creating an app (a tenant, say). This rule class
parses and matches exactly like Werkzeug's, and compiles a builder the first
time ``url_for`` needs it.

Apps made by one factory have equal rules; their parsed parts (Werkzeug's
``RulePart`` objects and the build trace, never changed once parsed) are
interned, so a thousand tenants hold one copy of each rather than a thousand.
"""

from __future__ import annotations

import typing as t
import weakref

from werkzeug.routing import Rule as _WerkzeugRule
from werkzeug.routing.rules import RulePart

_compile_builder = _WerkzeugRule._compile_builder


class _MarkLazy:
    """Returned where Werkzeug asks for a compiled builder: binding it gives
    a marker that tells the builder attribute to compile on first use."""

    __slots__ = ()

    def __get__(self, rule: t.Any, owner: type | None = None) -> _MarkLazy:
        return self


_MARK = _MarkLazy()


class _LazyBuilderAttr:
    """The ``_build`` / ``_build_unknown`` attribute of a rule: compiled by
    Werkzeug's code generator the first time it is read, then kept."""

    __slots__ = ("append_unknown", "key")

    def __init__(self, append_unknown: bool) -> None:
        self.append_unknown = append_unknown
        self.key = "_lazy_build_unknown" if append_unknown else "_lazy_build"

    def __get__(self, rule: t.Any, owner: type | None = None) -> t.Any:
        if rule is None:
            return self
        try:
            return rule.__dict__[self.key]
        except KeyError:
            builder = _compile_builder(rule, self.append_unknown).__get__(rule, None)
            rule.__dict__[self.key] = builder
            return builder

    def __set__(self, rule: t.Any, value: t.Any) -> None:
        if value is _MARK:
            # (Re)compiled rule: drop a stale builder, build again when used.
            rule.__dict__.pop(self.key, None)
        else:
            rule.__dict__[self.key] = value


#: Parsed rule parts are equal across apps built by the same factory; one
#: shared instance stands for all equal ones while any rule uses it.
_interned_parts: weakref.WeakValueDictionary[tuple[t.Any, ...], RulePart] = (
    weakref.WeakValueDictionary()
)
_interned_trace: weakref.WeakValueDictionary[tuple[t.Any, ...], _Trace] = (
    weakref.WeakValueDictionary()
)


class _Trace(list[t.Any]):
    """A rule's trace list, weak-referenceable so equal ones can be shared."""

    __slots__ = ("__weakref__",)


def _intern_part(part: RulePart) -> RulePart:
    weight = part.weight
    key = (
        part.content,
        part.final,
        part.static,
        part.suffixed,
        weight.number_static_weights,
        tuple(weight.static_weights),
        weight.number_argument_weights,
        tuple(weight.argument_weights),
    )
    shared = _interned_parts.get(key)
    if shared is None:
        _interned_parts[key] = shared = part
    return shared


def _intern_trace(trace: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    key = tuple(trace)
    shared = _interned_trace.get(key)
    if shared is None:
        _interned_trace[key] = shared = _Trace(key)
    return shared


class Rule(_WerkzeugRule):
    """:class:`werkzeug.routing.Rule` with URL builders compiled lazily, and
    parsed parts shared with equal rules (of other tenants' apps)."""

    def compile(self) -> None:
        super().compile()
        self._parts = [_intern_part(part) for part in self._parts]
        self._trace = _intern_trace(self._trace)

    _build = _LazyBuilderAttr(False)
    _build_unknown = _LazyBuilderAttr(True)

    def _compile_builder(self, append_unknown: bool = True) -> t.Any:
        return _MARK
