"""The tagged JSON serializer used for session cookies (gateway.json.tag)."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from gateway.json.tag import JSONTag, PassDict, TaggedJSONSerializer


@pytest.fixture
def serializer() -> TaggedJSONSerializer:
    return TaggedJSONSerializer()


ROUND_TRIPS = [
    pytest.param({" t": (1, 2, 3)}, id="dict-with-tag-key-holding-tuple"),
    pytest.param({" t__": b"a"}, id="dict-with-escaped-looking-key"),
    pytest.param({" di": " di"}, id="dict-keyed-by-the-dict-tag"),
    pytest.param({"x": (1, 2, 3), "y": 4}, id="dict-of-tuple"),
    pytest.param((1, 2, 3), id="tuple"),
    pytest.param((), id="empty-tuple"),
    pytest.param([(1, 2), [3, (4,)]], id="list-of-nested-tuples"),
    pytest.param(b"\x00\xffbytes", id="bytes"),
    pytest.param([b"a", b""], id="list-of-bytes"),
    pytest.param(Markup("<b>safe</b>"), id="markup"),
    pytest.param(UUID("12345678-1234-5678-1234-567812345678"), id="uuid"),
    pytest.param(datetime(2024, 2, 29, 13, 14, 15, tzinfo=UTC), id="aware-datetime"),
    pytest.param({" t": {" b": b"x"}}, id="tag-key-dicts-nested"),
    pytest.param({}, id="empty-dict"),
    pytest.param([], id="empty-list"),
    pytest.param("string", id="string"),
    pytest.param(" t", id="string-that-looks-like-a-tag"),
    pytest.param(42, id="int"),
    pytest.param(1.5, id="float"),
    pytest.param(None, id="none"),
    pytest.param(True, id="bool"),
    pytest.param({"a": None, "b": [1, "2"]}, id="plain-structure"),
]


@pytest.mark.parametrize("data", ROUND_TRIPS)
def test_round_trip_is_exact(serializer: TaggedJSONSerializer, data: t.Any) -> None:
    loaded = serializer.loads(serializer.dumps(data))
    assert loaded == data
    assert type(loaded) is type(data)


def test_markup_comes_back_as_markup(serializer: TaggedJSONSerializer) -> None:
    class Html:
        def __html__(self) -> str:
            return "<i>x</i>"

    loaded = serializer.loads(serializer.dumps(Html()))
    assert isinstance(loaded, Markup)
    assert loaded == "<i>x</i>"


def test_naive_datetime_is_read_back_as_utc_without_microseconds(
    serializer: TaggedJSONSerializer,
) -> None:
    naive = datetime(2020, 1, 2, 3, 4, 5, 678901)
    loaded = serializer.loads(serializer.dumps(naive))
    assert loaded == naive.replace(microsecond=0, tzinfo=UTC)
    assert loaded.tzinfo is not None


def test_aware_datetime_in_other_zone_is_converted_to_utc(
    serializer: TaggedJSONSerializer,
) -> None:
    cet = timezone(timedelta(hours=1))
    value = datetime(2020, 1, 2, 3, 4, 5, tzinfo=cet)
    loaded = serializer.loads(serializer.dumps(value))
    assert loaded == value
    assert loaded.utcoffset() == timedelta(0)


WIRE_FORMAT = [
    pytest.param((1, 2), '{" t":[1,2]}', id="tuple"),
    pytest.param(b"hi", '{" b":"aGk="}', id="bytes"),
    pytest.param(Markup("<p>"), '{" m":"<p>"}', id="markup"),
    pytest.param(
        UUID("12345678-1234-5678-1234-567812345678"),
        '{" u":"12345678123456781234567812345678"}',
        id="uuid",
    ),
    pytest.param(
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        '{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}',
        id="datetime",
    ),
    pytest.param({" t": 1}, '{" di":{" t__":1}}', id="dict-with-tag-key"),
    pytest.param({"b": 1, "a": [2, (3,)]}, '{"b":1,"a":[2,{" t":[3]}]}', id="nested"),
]


@pytest.mark.parametrize(("value", "expected"), WIRE_FORMAT)
def test_wire_format_is_compact_with_flask_compatible_tags(
    serializer: TaggedJSONSerializer, value: t.Any, expected: str
) -> None:
    # The same tags and layout as Flask's, so cookies move between the two.
    # (Outside an application the keys keep their order; with one, the app's
    # provider sorts them: see test_sessions.)
    assert serializer.dumps(value) == expected


def test_untag_leaves_unknown_and_multi_key_objects_alone(
    serializer: TaggedJSONSerializer,
) -> None:
    assert serializer.loads('{" zz":[1]}') == {" zz": [1]}
    assert serializer.loads('{" t":[1],"x":2}') == {" t": [1], "x": 2}


def test_duplicate_key_needs_force(serializer: TaggedJSONSerializer) -> None:
    class TagOther(JSONTag):
        __slots__ = ()
        key = " t"

        def check(self, value: t.Any) -> bool:
            return False

    with pytest.raises(KeyError, match="' t' is already registered"):
        serializer.register(TagOther)

    serializer.register(TagOther, force=True)
    assert isinstance(serializer.tags[" t"], TagOther)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


class TagPoint(JSONTag):
    __slots__ = ()
    key = " p"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, Point)

    def to_json(self, value: Point) -> t.Any:
        return [value.x, value.y]

    def to_python(self, value: t.Any) -> Point:
        return Point(*value)


def test_custom_tag_round_trips(serializer: TaggedJSONSerializer) -> None:
    serializer.register(TagPoint)
    data = {"where": Point(1, 2), "path": (Point(3, 4),)}
    assert serializer.loads(serializer.dumps(data)) == data
    # A user dict keyed by the new tag is still kept apart from a Point.
    assert serializer.loads(serializer.dumps({" p": [1, 2]})) == {" p": [1, 2]}


def test_index_decides_which_tag_wins(serializer: TaggedJSONSerializer) -> None:
    class OrderedPairs(dict):  # a dict subclass PassDict would otherwise take
        pass

    class TagPairs(JSONTag):
        __slots__ = ()
        key = " op"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, OrderedPairs)

        def to_json(self, value: t.Any) -> t.Any:
            return [[k, v] for k, v in value.items()]

        def to_python(self, value: t.Any) -> t.Any:
            return OrderedPairs(value)

    serializer.register(TagPairs)  # appended: PassDict sees the value first
    assert type(serializer.loads(serializer.dumps(OrderedPairs(a=1)))) is dict

    serializer.register(TagPairs, force=True, index=0)
    loaded = serializer.loads(serializer.dumps(OrderedPairs(a=1)))
    assert type(loaded) is OrderedPairs
    assert loaded == {"a": 1}


def test_keyless_tag_is_only_used_on_the_way_out(
    serializer: TaggedJSONSerializer,
) -> None:
    class Upper(PassDict):
        __slots__ = ()

        def check(self, value: t.Any) -> bool:
            return isinstance(value, str)

        def to_json(self, value: t.Any) -> t.Any:
            return value.upper()

        tag = to_json

    before = set(serializer.tags)
    serializer.register(Upper, index=0)
    assert set(serializer.tags) == before
    assert serializer.loads(serializer.dumps(["a", ("b",)])) == ["A", ("B",)]


@pytest.mark.parametrize("method", ["check", "to_json", "to_python"])
def test_base_tag_methods_must_be_implemented(
    serializer: TaggedJSONSerializer, method: str
) -> None:
    with pytest.raises(NotImplementedError):
        getattr(JSONTag(serializer), method)(None)


_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.uuids()
    | st.text().map(Markup)
    # HTTP dates read two-digit years as 19xx/20xx, so stay after year 999.
    | st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.replace(microsecond=0)
    )
)
_values = st.recursive(
    _leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(
            st.text() | st.sampled_from([" t", " b", " di", " t__", " m"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@given(_values)
def test_any_supported_structure_round_trips(value: t.Any) -> None:
    serializer = TaggedJSONSerializer()
    assert serializer.loads(serializer.dumps(value)) == value
