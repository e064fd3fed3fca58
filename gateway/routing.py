"""URL rules whose builders are compiled on first use.

Werkzeug compiles two Python functions per rule (to build URLs with and
without extra query arguments) when the rule is added to a map. Most rules of
a freshly created app are never used to build a URL, so doing that work up
front dominates the cost of creating an app (a tenant, say). This rule class
parses and matches exactly like Werkzeug's, and compiles a builder the first
time ``url_for`` needs it.

Apps made by one factory have equal rules; their parsed parts (Werkzeug's
``RulePart`` objects and the build trace), method sets and argument sets,
never changed once parsed, are interned, so a thousand tenants hold one copy
of each rather than a thousand. Equal converters of one map are one object.

:class:`Map` is Werkzeug's map with a leaner matcher: the same state machine
and the same matching code, but a state is a slotted object holding
containers only for the transitions and rules it has (most states have one of
the three kinds). With the sharing above, a tenant app of ten routes takes
about a third less memory (``benchmarks/tenants.py``). The matcher also
remembers which static rule each request it has seen matched, and
:class:`RequestAdapter` answers such a request from that memo: a hello
request runs about a sixth fewer instructions (``benchmarks/instructions.py``).
"""

from __future__ import annotations

import typing as t
import weakref
from types import MappingProxyType

from werkzeug.routing import Map as _WerkzeugMap
from werkzeug.routing import MapAdapter
from werkzeug.routing import Rule as _WerkzeugRule
from werkzeug.routing.matcher import StateMachineMatcher
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

    # The builder is kept as a plain instance attribute under ``key`` (no
    # descriptor has that name), set and read without touching
    # ``rule.__dict__``: reading that would turn the rule's inline attribute
    # values into a dict of its own, 64 bytes a rule for nothing.

    def __get__(self, rule: t.Any, owner: type | None = None) -> t.Any:
        if rule is None:
            return self
        try:
            return getattr(rule, self.key)
        except AttributeError:
            builder = _compile_builder(rule, self.append_unknown).__get__(rule, None)
            setattr(rule, self.key, builder)
            return builder

    def __set__(self, rule: t.Any, value: t.Any) -> None:
        if value is _MARK:
            # (Re)compiled rule: drop a stale builder, build again when used.
            try:
                delattr(rule, self.key)
            except AttributeError:
                pass
        else:
            setattr(rule, self.key, value)


#: Parsed rule parts are equal across apps built by the same factory; one
#: shared instance stands for all equal ones while any rule uses it.
_interned_parts: weakref.WeakValueDictionary[tuple[t.Any, ...], RulePart] = (
    weakref.WeakValueDictionary()
)
_interned_trace: weakref.WeakValueDictionary[tuple[t.Any, ...], _Shared] = (
    weakref.WeakValueDictionary()
)
_interned_part_lists: weakref.WeakValueDictionary[tuple[int, ...], _Shared] = (
    weakref.WeakValueDictionary()
)


class _Shared(list[t.Any]):
    """A rule's trace or parts list, weak-referenceable so that equal ones
    can be shared."""

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
        _interned_trace[key] = shared = _Shared(key)
    return shared


def _intern_part_list(parts: list[RulePart]) -> list[RulePart]:
    interned = [_intern_part(part) for part in parts]
    # The parts are interned, and the shared list keeps them alive: their
    # ids stand for them while it exists.
    key = tuple(map(id, interned))
    shared = _interned_part_lists.get(key)
    if shared is None:
        _interned_part_lists[key] = shared = _Shared(interned)
    return shared


#: Equal method and argument name sets, shared (frozensets are
#: weak-referenceable) while any rule uses them. They are keyed by their order
#: too: a response's ``Allow`` header lists a rule's methods in the order its
#: set iterates, which depends on how the set was built.
_interned_names: weakref.WeakValueDictionary[tuple[str, ...], frozenset[str]] = (
    weakref.WeakValueDictionary()
)


def _intern_names(names: set[str]) -> t.AbstractSet[str]:
    key = tuple(names)
    shared = _interned_names.get(key)
    if shared is None:
        # A copy of a set of up to four names (all common method sets) keeps
        # its layout, hence its order. A larger one may not: then the rule
        # keeps its own set.
        shared = frozenset(names)
        if tuple(shared) != key:
            return names
        _interned_names[key] = shared
    return shared


#: Werkzeug's own converters keep no state but their arguments (and the map,
#: unused): equal ones are shared by the rules of one map.
_STATELESS_CONVERTERS = frozenset(_WerkzeugMap.default_converters.values())


class Rule(_WerkzeugRule):
    """:class:`werkzeug.routing.Rule` with URL builders compiled lazily, and
    parsed parts shared with equal rules (of other tenants' apps).

    ``methods`` and ``arguments`` are frozensets shared by equal rules (but
    for sets of five names or more, see :func:`_intern_names`); the
    converters of a rule are shared with equal converters of its map.
    """

    def __init__(self, string: str, **options: t.Any) -> None:
        super().__init__(string, **options)
        if self.methods is not None:
            # A frozenset where Werkzeug has a set: read, never changed.
            self.methods = _intern_names(self.methods)  # type: ignore[assignment]

    def compile(self) -> None:
        # Werkzeug adds the rule's variables to ``arguments`` while parsing.
        self.arguments = set(self.arguments)
        super().compile()
        self.arguments = _intern_names(self.arguments)  # type: ignore[assignment]
        self._parts = _intern_part_list(self._parts)
        self._trace = _intern_trace(self._trace)
        shared = getattr(self.map, "_shared_converters", None)
        converters = self._converters.values()
        if shared is not None and all(
            type(converter) in _STATELESS_CONVERTERS for converter in converters
        ):
            # Rules of a map with the same variables share one name ->
            # converter dict (these converters are shared, see get_converter).
            key = ("mapping", *((k, id(v)) for k, v in self._converters.items()))
            self._converters = shared.setdefault(key, self._converters)

    def get_converter(
        self,
        variable_name: str,
        converter_name: str,
        args: tuple[t.Any, ...],
        kwargs: t.Mapping[str, t.Any],
    ) -> t.Any:
        shared: dict[t.Any, t.Any] | None
        shared = getattr(self.map, "_shared_converters", None)
        cls = self.map.converters.get(converter_name)
        if shared is None or cls not in _STATELESS_CONVERTERS:
            return super().get_converter(variable_name, converter_name, args, kwargs)
        # The arguments are literals parsed from rule strings; their repr
        # tells 1, 1.0 and True apart, which equality would not.
        key = ("converter", cls, repr(args), repr(sorted(kwargs.items())))
        converter = shared.get(key)
        if converter is None:
            converter = shared[key] = cls(self.map, *args, **kwargs)
        return converter

    _build = _LazyBuilderAttr(False)
    _build_unknown = _LazyBuilderAttr(True)

    def _compile_builder(self, append_unknown: bool = True) -> t.Any:
        return _MARK


#: What a state without transitions of a kind reads: shared, never written
#: (``_Matcher.add`` gives the state a dict of its own first).
_NO_TRANSITIONS: t.Final[t.Mapping[str, t.Any]] = MappingProxyType({})


class _State:
    """A state of the matcher: Werkzeug's ``State`` (the ``static`` and
    ``dynamic`` transitions, the ``rules`` ending here) with slots.

    Werkzeug's ``match`` only reads a state, so ``dynamic`` and ``rules`` are
    tuples (a list and its spare capacity cost twice as much), and a state
    without static transitions shares one empty mapping. Most states have
    items of one kind only; a tenant app's routing takes about a third less.
    """

    __slots__ = ("dynamic", "rules", "static")

    def __init__(self) -> None:
        self.dynamic: tuple[tuple[RulePart, _State], ...] = ()
        self.rules: tuple[_WerkzeugRule, ...] = ()
        self.static: t.Mapping[str, _State] = _NO_TRANSITIONS


#: How many matches of static rules a map remembers (see :class:`_Matcher`);
#: past that it forgets them all and starts again.
STATIC_MATCHES_KEPT: t.Final = 1024


class _Matcher(StateMachineMatcher):
    """Werkzeug's state machine matcher building :class:`_State` states, and
    remembering where requests for static rules went.

    Matching is Werkzeug's own code. When it ends at a rule without
    variables, no converter ran and the outcome depends only on the request's
    domain, path, method and websocket flag and on the rules, so the next
    equal request is answered by one dict lookup: for a hello that is about
    a sixth of the request's instructions. Adding rules starts a new memo.
    Only rules with methods are remembered: a rule for any method would take
    one entry per method name a client makes up.
    """

    def __init__(self, merge_slashes: bool) -> None:
        self._root = _State()  # type: ignore[assignment]
        self.merge_slashes = merge_slashes
        #: (domain, path, method, websocket) -> the static rule it matches.
        self._static_matches: dict[tuple[str, str, str, bool], _WerkzeugRule] = {}

    def match(
        self, domain: str, path: str, method: str, websocket: bool
    ) -> tuple[_WerkzeugRule, t.MutableMapping[str, t.Any]]:
        # Read once: a match racing with an update stores into the memo the
        # update has just replaced, never into the new one.
        memo = self._static_matches
        key = (domain, path, method, websocket)
        rule = memo.get(key)
        if rule is not None:
            # A dict of its own for each request: views may change theirs.
            return rule, dict(rule.defaults) if rule.defaults else {}
        rule, values = super().match(domain, path, method, websocket)
        # An alias is left out: whether it redirects depends on the map's
        # redirect_defaults when it is matched, which this match raises for.
        if not rule._converters and rule.methods is not None and not rule.alias:
            if len(memo) >= STATIC_MATCHES_KEPT:
                memo.clear()
            memo[key] = rule
        return rule, values

    def add(self, rule: _WerkzeugRule) -> None:
        self._static_matches = {}
        # The same walk as Werkzeug's: follow (or make) a static transition
        # for a static part, the dynamic transition of an equal part otherwise.
        state: _State = self._root  # type: ignore[assignment]
        for part in rule._parts:
            if part.static:
                if state.static is _NO_TRANSITIONS:
                    state.static = {}
                following = state.static.get(part.content)
                if following is None:
                    following = _State()
                    state.static[part.content] = following  # type: ignore[index]
            else:
                for test_part, candidate in state.dynamic:
                    if test_part == part:
                        following = candidate
                        break
                else:
                    following = _State()
                    state.dynamic = (*state.dynamic, (part, following))
            state = following
        state.rules = (*state.rules, rule)

    def update(self) -> None:
        # As Werkzeug's: each state's dynamic transitions sorted (stably) by
        # the weight of their part.
        self._static_matches = {}
        pending: list[_State] = [self._root]  # type: ignore[list-item]
        while pending:
            state = pending.pop()
            if len(state.dynamic) > 1:
                state.dynamic = tuple(
                    sorted(state.dynamic, key=lambda entry: entry[0].weight)
                )
            pending.extend(state.static.values())
            pending.extend(following for _, following in state.dynamic)


class Map(_WerkzeugMap):
    """:class:`werkzeug.routing.Map` matching with :class:`_Matcher`: the
    same rules match the same way, in less memory."""

    def __init__(
        self, rules: t.Iterable[t.Any] | None = None, *args: t.Any, **kwargs: t.Any
    ) -> None:
        super().__init__(None, *args, **kwargs)
        self._matcher = _Matcher(self._matcher.merge_slashes)
        #: Equal converters of Werkzeug's classes, and equal name -> converter
        #: dicts, shared by this map's rules (see :class:`Rule`).
        self._shared_converters: dict[t.Any, t.Any] = {}
        for rulefactory in rules or ():
            self.add(rulefactory)


class RequestAdapter(MapAdapter):
    """The adapter :class:`~gateway.App` binds its map with for a request:
    Werkzeug's, answering ``match()`` for a static rule the matcher has
    seen from its memo.

    Werkzeug's ``match`` would find the same rule there and then check
    whether it redirects: a rule with ``redirect_to`` does, and with
    ``redirect_defaults`` so may an earlier rule of the same endpoint; a rule
    that is its endpoint's first has none before it. Everything else (other
    arguments, a map with Werkzeug's matcher, a miss) takes Werkzeug's path.
    """

    def match(
        self,
        path_info: str | None = None,
        method: str | None = None,
        return_rule: bool = False,
        query_args: t.Mapping[str, t.Any] | str | None = None,
        websocket: bool | None = None,
    ) -> t.Any:
        url_map = self.map
        memo = getattr(url_map._matcher, "_static_matches", None)
        if memo and path_info is None and method is None and websocket is None:
            # The domain and path parts exactly as Werkzeug's match makes them.
            domain = self.server_name
            if not url_map.host_matching and self.subdomain is not None:
                domain = self.subdomain
            path = self.path_info
            path = f"/{path.lstrip('/')}" if path else ""
            key = (domain, path, self.default_method.upper(), self.websocket)
            rule = memo.get(key)
            if (
                rule is not None
                and rule.redirect_to is None
                and (
                    not url_map.redirect_defaults
                    or url_map._rules_by_endpoint[rule.endpoint][0] is rule
                )
            ):
                values = dict(rule.defaults) if rule.defaults else {}
                return (rule, values) if return_rule else (rule.endpoint, values)
        return super().match(  # type: ignore[call-overload]
            path_info, method, return_rule, query_args, websocket
        )
