"""Tagged JSON: a compact JSON form that keeps Python types JSON does not have.

The session cookie is stored with it. A value JSON cannot represent exactly is
written as an object with one key, the *tag* (for example ``{" t": [1, 2]}`` for
the tuple ``(1, 2)``), and turned back into the original type when loaded. The
built-in tags cover tuples, bytes, :class:`~markupsafe.Markup`,
:class:`uuid.UUID`, :class:`datetime.datetime`, and dicts whose only key happens
to look like a tag (so user data can never be mistaken for a tagged value). The
tag keys are the ones Flask uses, so cookies are readable by either framework.

Register a custom tag by subclassing :class:`JSONTag`::

    class TagOrderedDict(JSONTag):
        __slots__ = ("serializer",)
        key = " od"

        def check(self, value):
            return isinstance(value, OrderedDict)

        def to_json(self, value):
            return [[k, self.serializer.tag(v)] for k, v in value.items()]

        def to_python(self, value):
            return OrderedDict(value)

    app.session_interface.serializer.register(TagOrderedDict, index=0)
"""

from __future__ import annotations

import typing as t
from base64 import b64decode, b64encode
from datetime import datetime
from uuid import UUID

from markupsafe import Markup
from werkzeug.http import http_date, parse_date

from ..json import dumps, loads

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
    "TaggedJSONSerializer",
]


class JSONTag:
    """One type the :class:`TaggedJSONSerializer` knows how to round-trip.

    :attr:`key` is the tag written in the JSON object; a tag with an empty key
    only transforms values on the way out (like :class:`PassDict`) and is never
    looked up when loading.
    """

    __slots__ = ("serializer",)

    #: The single key of the JSON object that marks a tagged value.
    key: str = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: t.Any) -> bool:
        """Return whether this tag handles ``value``."""
        raise NotImplementedError

    def to_json(self, value: t.Any) -> t.Any:
        """Convert ``value`` to a JSON-able value (without the tag)."""
        raise NotImplementedError

    def to_python(self, value: t.Any) -> t.Any:
        """Rebuild the Python value from what :meth:`to_json` produced."""
        raise NotImplementedError

    def tag(self, value: t.Any) -> dict[str, t.Any]:
        """Convert ``value`` and wrap it in ``{key: ...}``."""
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """A dict whose single key is a registered tag.

    Without this, ``{" t": [1]}`` stored by the application would load as the
    tuple ``(1,)``. The key gets a ``__`` suffix on the way out, removed again on
    the way in.
    """

    __slots__ = ()
    key = " di"

    def check(self, value: t.Any) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: t.Any) -> t.Any:
        key = next(iter(value))
        return {f"{key}__": self.serializer.tag(value[key])}

    def to_python(self, value: t.Any) -> t.Any:
        key = next(iter(value))
        return {key[:-2]: value[key]}


class PassDict(JSONTag):
    """Any other dict: kept as an object, its values tagged recursively."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: t.Any) -> t.Any:
        # JSON object keys are strings; keys are left for json to convert.
        tag = self.serializer.tag
        return {k: tag(v) for k, v in value.items()}

    tag = to_json


class TagTuple(JSONTag):
    """A tuple, stored as a list and rebuilt as a tuple."""

    __slots__ = ()
    key = " t"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return [tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        return tuple(value)


class PassList(JSONTag):
    """A list: kept as a list, its items tagged recursively."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, list)

    def to_json(self, value: t.Any) -> t.Any:
        tag = self.serializer.tag
        return [tag(item) for item in value]

    tag = to_json


class TagBytes(JSONTag):
    """Bytes, stored as base64 text."""

    __slots__ = ()
    key = " b"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: t.Any) -> t.Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: t.Any) -> t.Any:
        return b64decode(value)


class TagMarkup(JSONTag):
    """An HTML-safe object (anything with ``__html__``), loaded as
    :class:`~markupsafe.Markup` so it stays unescaped in templates.
    """

    __slots__ = ()
    key = " m"

    def check(self, value: t.Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: t.Any) -> t.Any:
        return str(value.__html__())

    def to_python(self, value: t.Any) -> t.Any:
        return Markup(value)


class TagUUID(JSONTag):
    """A :class:`uuid.UUID`, stored as its hex string."""

    __slots__ = ()
    key = " u"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: t.Any) -> t.Any:
        return value.hex

    def to_python(self, value: t.Any) -> t.Any:
        return UUID(value)


class TagDateTime(JSONTag):
    """A :class:`datetime.datetime`, stored as an HTTP date.

    The format has whole seconds and is in UTC: a naive value is taken as UTC
    and comes back timezone-aware; microseconds are dropped.
    """

    __slots__ = ()
    key = " d"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        return http_date(value)

    def to_python(self, value: t.Any) -> t.Any:
        return parse_date(value)


_BUILTIN_TAGS = frozenset(
    {TagDict, PassDict, TagTuple, PassList, TagBytes, TagMarkup, TagUUID, TagDateTime}
)
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


class TaggedJSONSerializer:
    """Serialize to and from tagged JSON using an ordered list of tags.

    The first tag whose :meth:`~JSONTag.check` accepts a value converts it, so
    order matters: :class:`TagDict` must run before :class:`PassDict`.
    """

    __slots__ = ("tags", "order", "_plain_is_final")

    #: The tag classes every new serializer starts with, in checking order.
    default_tags = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        self.tags: dict[str, JSONTag] = {}
        self.order: list[JSONTag] = []
        self._plain_is_final = True

        for cls in self.default_tags:
            self.register(cls)

    def register(
        self,
        tag_class: type[JSONTag],
        force: bool = False,
        index: int | None = None,
    ) -> None:
        """Add a tag to this serializer.

        :param tag_class: The :class:`JSONTag` subclass; it is instantiated with
            this serializer.
        :param force: Replace a tag already registered under the same key
            instead of raising :exc:`KeyError`.
        :param index: Where to insert the tag in the checking order; the end
            by default. Custom types that are also dicts, lists or tuples need
            an index before the generic tags.
        """
        tag = tag_class(self)
        key = tag.key

        if key:
            if not force and key in self.tags:
                raise KeyError(
                    f"Tag '{key}' is already registered; pass force=True to replace it."
                )
            self.tags[key] = tag

        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

        # No built-in tag claims strings, numbers, booleans or None, so while
        # only built-in tags are registered those skip the tag checks.
        self._plain_is_final = all(type(each) in _BUILTIN_TAGS for each in self.order)

    def tag(self, value: t.Any) -> t.Any:
        """Convert ``value`` to its tagged JSON-able form (recursively)."""
        if type(value) in _PLAIN_TYPES and self._plain_is_final:
            return value

        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)

        return value

    def untag(self, value: dict[str, t.Any]) -> t.Any:
        """Turn one tagged JSON object back into its Python value; any other
        object is returned unchanged.
        """
        if len(value) != 1:
            return value

        key = next(iter(value))

        if key not in self.tags:
            return value

        return self.tags[key].to_python(value[key])

    def _untag_scan(self, value: t.Any) -> t.Any:
        if isinstance(value, dict):
            # Inner values first, so an outer tag receives Python values.
            value = {k: self._untag_scan(v) for k, v in value.items()}
            value = self.untag(value)
        elif isinstance(value, list):
            value = [self._untag_scan(item) for item in value]

        return value

    def dumps(self, value: t.Any) -> str:
        """Tag ``value`` and serialize it to compact JSON."""
        return dumps(self.tag(value), separators=(",", ":"))

    def loads(self, value: str | bytes) -> t.Any:
        """Parse tagged JSON and rebuild the tagged Python values."""
        return self._untag_scan(loads(value))
