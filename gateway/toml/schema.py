"""How ``gateway.toml`` is declared and read.

A table is a frozen dataclass and a key is one of its fields, made by
:func:`key`::

    @dataclass(frozen=True)
    class HealthConfig:
        path: str = key("/_gateway/health", doc="where the health endpoint answers",
                        check=values.prefix)

The field's annotation is the key's TOML type (``str``, ``bool``, ``int``,
``float`` for seconds, ``Path``, ``tuple[str, ...]``, a table class,
``tuple[TableClass, ...]`` for an array of tables, a mapping for a table of
free names), its default is the key's default, and :class:`Key` holds the
rest: the one line of doc, the check, a default derived from other keys.
:class:`Reader` reads a TOML table against such a class and raises
:class:`~gateway.config.ConfigError` naming the key as the file spells it
(``[tenants].max_instances: expected an integer >= 1, got "ten"``; entries of
arrays of tables are numbered from 1: ``[[mounts]] #2 .prefix``).
:func:`reference` lists every table and key for the documentation.

A class may also declare ``rules``, a ``ClassVar`` tuple of functions run on
its :class:`Reader` once every key is read, for what involves several keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError
from .values import absolute, show

MISSING: t.Any = dataclasses.MISSING

Rule = t.Callable[["Reader"], None]


class Invalid(ValueError):
    """A check's complaint about another key than the one it checks: a key of
    the same table (``key``), or a key of one entry of an array of tables
    (``entry``, numbered from 1, and ``key``)."""

    def __init__(
        self, message: str, *, key: str | None = None, entry: int | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.entry = entry


@dataclass(frozen=True)
class Key:
    """What a field of a table class says about its key besides its type and
    default. Made by :func:`key`."""

    #: One line: what the key means (the reference's last column).
    doc: str
    #: ``value -> value``: validates (``ValueError``) and normalises a value,
    #: given or default.
    check: t.Callable[[t.Any], t.Any] | None = None
    #: ``Reader -> value``: the default when the key is absent (or ``""``
    #: when that is the declared default: "not set"), computed from other
    #: keys (``[tenants].pattern`` from ``base_domain``).
    derive: t.Callable[[Reader], t.Any] | None = None
    #: The derived default in words, for the reference.
    default_doc: str = ""
    #: ``(value, Reader) -> value``: a last step that needs other keys.
    resolve: t.Callable[[t.Any, Reader], t.Any] | None = None
    #: The smallest allowed ``int`` or ``float``.
    minimum: float = 0
    #: The allowed values of a string.
    choices: tuple[str, ...] = ()
    #: A string that is a path, made absolute against the file's directory.
    path: bool = False
    #: The type in words, when the annotation says too little.
    type_doc: str = ""
    #: ``check`` takes the value as written, of any TOML type, and does the
    #: type checking itself (a size is ``1048576`` or ``"1M"``).
    raw: bool = False


def key(
    default: t.Any = MISSING,
    *,
    doc: str,
    default_factory: t.Callable[[], t.Any] = MISSING,
    **options: t.Any,
) -> t.Any:
    """A dataclass field that is a ``gateway.toml`` key (options: the fields
    of :class:`Key`). Without a default the key is required, unless it has
    ``derive``."""
    meta = {"toml": Key(doc=doc, **options)}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


# -- introspection ---------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One key of a table class: its field, :class:`Key` and TOML shape.

    ``shape`` is ``"value"`` (``python`` its type), ``"strings"``, ``"map"``,
    ``"table"`` or ``"tables"`` (``python`` the table class).
    """

    name: str
    field: dataclasses.Field[t.Any]
    meta: Key
    shape: str
    python: t.Any
    optional: bool

    @property
    def required(self) -> bool:
        return (
            self.field.default is MISSING
            and self.field.default_factory is MISSING
            and self.meta.derive is None
        )

    def default(self) -> t.Any:
        if self.field.default_factory is not MISSING:
            # mypy does not narrow the MISSING sentinel away.
            return self.field.default_factory()  # type: ignore[misc]
        return self.field.default

    @property
    def is_table(self) -> bool:
        return self.shape in ("map", "table", "tables")


_SPECS: dict[type, tuple[Spec, ...]] = {}


def specs(cls: type) -> tuple[Spec, ...]:
    """The keys of table class ``cls``, in declaration order."""
    found = _SPECS.get(cls)
    if found is None:
        hints = t.get_type_hints(cls)
        found = tuple(
            _spec(f, f.metadata["toml"], hints[f.name])
            for f in dataclasses.fields(cls)
            if "toml" in f.metadata
        )
        _SPECS[cls] = found
    return found


def _spec(f: dataclasses.Field[t.Any], meta: Key, hint: t.Any) -> Spec:
    optional = False
    args = t.get_args(hint)
    if t.get_origin(hint) in (t.Union, types.UnionType) and type(None) in args:
        optional = True
        (hint,) = [a for a in args if a is not type(None)]
        args = t.get_args(hint)
    origin = t.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return Spec(f.name, f, meta, "table", hint, optional)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if dataclasses.is_dataclass(args[0]):
            return Spec(f.name, f, meta, "tables", args[0], optional)
        if args[0] is str:
            return Spec(f.name, f, meta, "strings", str, optional)
    if origin is not None and issubclass(origin, t.Mapping):
        return Spec(f.name, f, meta, "map", str, optional)
    if hint in (str, bool, int, float, Path):
        return Spec(f.name, f, meta, "value", hint, optional)
    raise TypeError(f"{f.name}: no TOML shape for the annotation {hint!r}")


def suggest(word: str, choices: t.Iterable[str]) -> str:
    """``'; did you mean "x"?'`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


# -- reading -------------------------------------------------------------------------------


class Reader:
    """One TOML table being read against table class ``cls``.

    ``reader[name]`` is a key's final value (type-checked, defaulted, derived,
    checked), computed on first use, so checks and derived defaults may ask
    for other keys in any order. ``top`` is the reader of the whole document
    (``[gateway]``), ``root`` the file's directory.

    :param where: how key errors start: ``"[tenants]"``, ``"[[mounts]] #2 "``.
    :param dotted: the table's dotted name: ``"tenants"``, ``"server.static"``.
    :param document: the whole parsed file, when ``cls`` is the document
        class whose own keys are the ``data`` table and whose table fields
        are top-level tables.
    """

    def __init__(
        self,
        cls: type,
        data: t.Any,
        *,
        where: str,
        dotted: str,
        root: Path,
        top: Reader | None = None,
        document: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table, got {show(data)}")
        self.cls = cls
        self.data = data
        self.where = where
        self.dotted = dotted
        self.root = root
        self.top = top if top is not None else self
        self.document = document
        self.specs = {s.name: s for s in specs(cls)}
        self._values: dict[str, t.Any] = {}
        self._reading: set[str] = set()
        known = [s.name for s in self.specs.values() if not self._top_level(s)]
        for name in data:
            if name not in known:
                raise ConfigError(
                    f"{where}.{name}: unknown key{suggest(name, known)}"
                    f" (known keys: {', '.join(known)})"
                )

    def _top_level(self, spec: Spec) -> bool:
        return self.document is not None and spec.is_table

    def field_where(self, spec: Spec) -> str:
        """How errors about this key start: ``[server].bind``, or for a
        top-level table ``[tenants]`` / ``[[mounts]]``."""
        if self._top_level(spec):
            return f"[[{spec.name}]]" if spec.shape == "tables" else f"[{spec.name}]"
        return f"{self.where}.{spec.name}"

    def error(self, message: str, key: str | None = None) -> ConfigError:
        if key is None:
            return ConfigError(f"{self.where.rstrip()}: {message}")
        return ConfigError(f"{self.where}.{key}: {message}")

    def __getitem__(self, name: str) -> t.Any:
        if name not in self._values:
            if name in self._reading:
                raise RuntimeError(f"{self.where}.{name} depends on itself")
            self._reading.add(name)
            try:
                self._values[name] = self._read(self.specs[name])
            finally:
                self._reading.discard(name)
        return self._values[name]

    def _read(self, spec: Spec) -> t.Any:
        meta = spec.meta
        where = self.field_where(spec)
        source = self.document if self._top_level(spec) else self.data
        assert source is not None
        given = spec.name in source
        try:
            if given:
                value = self._convert(spec, source[spec.name])
            elif spec.required:
                raise ValueError("missing required key")
            elif spec.shape == "table":
                value = None if spec.optional else self._convert(spec, {})
            else:
                value = spec.default()
            if meta.derive is not None and (
                not given or value == spec.field.default == ""
            ):
                value = meta.derive(self)
            if meta.path and isinstance(value, str):
                value = absolute(self.root, value)
            if meta.choices and value not in meta.choices:
                raise ValueError(
                    f"expected one of {', '.join(meta.choices)}, got {show(value)}"
                    f"{suggest(str(value), meta.choices)}"
                )
            if meta.check is not None and value is not None:
                value = meta.check(value)
            if meta.resolve is not None:
                value = meta.resolve(value, self)
        except Invalid as e:
            if e.entry is not None:
                where = f"[[{self._dotted(spec)}]] #{e.entry} .{e.key}"
            elif e.key is not None:
                where = f"{where if spec.is_table else self.where}.{e.key}"
            raise ConfigError(f"{where}: {e}") from None
        except ValueError as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"{where}: {e}") from None
        return value

    def _dotted(self, spec: Spec) -> str:
        return spec.name if self._top_level(spec) else f"{self.dotted}.{spec.name}"

    def _convert(self, spec: Spec, value: t.Any) -> t.Any:
        """A value as written, type-checked, as the dataclass holds it."""
        python = spec.python
        if spec.meta.raw:
            return value  # the check reads it
        if spec.shape == "table":
            return self._sub(python, value, self.field_where(spec), self._dotted(spec))
        if spec.shape == "tables":
            dotted = self._dotted(spec)
            if not isinstance(value, list):
                raise ValueError(f"expected an array of tables ([[{dotted}]] entries)")
            return tuple(
                self._sub(python, entry, f"[[{dotted}]] #{index} ", dotted)
                for index, entry in enumerate(value, 1)
            )
        if spec.shape == "map":
            if not isinstance(value, dict):
                raise ValueError(f"expected {spec.meta.type_doc}, got {show(value)}")
            return value
        if spec.shape == "strings":
            if not isinstance(value, list) or not all(
                isinstance(v, str) for v in value
            ):
                raise ValueError(f"expected an array of strings, got {show(value)}")
            return tuple(value)
        minimum = spec.meta.minimum
        if python is bool and not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {show(value)}")
        if python is int and (
            isinstance(value, bool) or not isinstance(value, int) or value < minimum
        ):
            raise ValueError(f"expected an integer >= {minimum:g}, got {show(value)}")
        if python is float and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value != value  # NaN
            or value < minimum
            or value == float("inf")
        ):
            raise ValueError(
                f"expected a number of seconds >= {minimum:g}, got {show(value)}"
            )
        if python in (str, Path):
            if not isinstance(value, str):
                raise ValueError(f"expected a string, got {show(value)}")
            if python is Path:
                return Path(absolute(self.root, value))
        return value

    def _sub(self, cls: type, data: t.Any, where: str, dotted: str) -> t.Any:
        return Reader(
            cls, data, where=where, dotted=dotted, root=self.root, top=self.top
        ).build()

    def build(self, **extra: t.Any) -> t.Any:
        """Read every key, apply the class's ``rules`` and make the instance
        (``extra``: the fields that are not keys)."""
        values = {name: self[name] for name in self.specs}
        for rule in getattr(self.cls, "rules", ()):
            try:
                rule(self)
            except Invalid as e:
                raise self.error(str(e), e.key) from None
        return self.cls(**values, **extra)


# -- the reference ----------------------------------------------------------------------


class Row(t.NamedTuple):
    """One line of the reference: a table or a key."""

    key: str
    type: str
    default: str
    doc: str


def reference(document: type, own: str, doc: str) -> list[Row]:
    """Every table and key of ``document``, whose own keys are the table
    ``[own]`` (``doc`` says what that table is), in the order of the
    declarations."""
    rows = [Row(f"[{own}]", "table", "required", doc)]
    rows += _rows(document, f"[{own}]", top=True)
    return rows


def _rows(cls: type, table: str, top: bool = False) -> list[Row]:
    scalars, tables = [], []
    for spec in specs(cls):
        if not spec.is_table:
            scalars.append(Row(f"{table}.{spec.name}", *_describe(spec)))
            continue
        dotted = spec.name if top else f"{table.strip('[]')}.{spec.name}"
        if spec.shape == "map":
            tables.append(Row(f"[{dotted}]", *_describe(spec)))
        elif spec.shape == "tables":
            tables.append(Row(f"[[{dotted}]]", *_describe(spec)))
            tables += _rows(spec.python, f"[[{dotted}]]")
        else:
            tables.append(Row(f"[{dotted}]", *_describe(spec)))
            tables += _rows(spec.python, f"[{dotted}]")
    return scalars + tables


def _describe(spec: Spec) -> tuple[str, str, str]:
    meta = spec.meta
    words = meta.type_doc or getattr(meta.check, "type_doc", "")
    if spec.shape == "table":
        words = words or "table"
    elif spec.shape == "tables":
        words = words or "array of tables"
    elif meta.choices:
        words = words or "one of " + ", ".join(meta.choices)
    elif not words:
        python = spec.python
        words = {
            bool: "boolean",
            int: f"integer >= {meta.minimum:g}",
            float: f"seconds >= {meta.minimum:g}",
            Path: "path",
        }.get(python, "path" if meta.path else "string")
        if spec.shape == "strings":
            words = "array of strings"
    if meta.default_doc or meta.derive is not None:
        default = meta.default_doc or "derived from other keys"
    elif spec.required:
        default = "required"
    elif spec.shape == "table":
        default = "not set" if spec.optional else "every key's default"
    else:
        value = spec.default()
        default = (
            "`" + json.dumps(list(value) if isinstance(value, tuple) else value) + "`"
        )
    return words, default, meta.doc
