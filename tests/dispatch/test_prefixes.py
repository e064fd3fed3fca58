"""Pure path-prefix rules: validation, canonical paths, longest-prefix match."""

from __future__ import annotations

import pytest

from gateway.prefixes import (
    PrefixTable,
    canonical_path,
    is_canonical,
    normalize_prefix,
    to_wsgi,
)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        pytest.param("/admin", "/admin", id="plain"),
        pytest.param("/admin/", "/admin", id="trailing-slash-removed"),
        pytest.param("/api/v1", "/api/v1", id="two-segments"),
        pytest.param("/.well-known", "/.well-known", id="dot-prefixed-name"),
        pytest.param("/café", "/café", id="unicode"),
    ],
)
def test_normalize_prefix(prefix: str, expected: str) -> None:
    assert normalize_prefix(prefix) == expected


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        pytest.param("admin", "must start with '/'", id="no-leading-slash"),
        pytest.param("", "must start with '/'", id="empty"),
        pytest.param("/", "'/' is not a prefix", id="root"),
        pytest.param("//admin", "empty segment", id="leading-double-slash"),
        pytest.param("/a//b", "empty segment", id="inner-double-slash"),
        pytest.param("/admin//", "empty segment", id="trailing-double-slash"),
        pytest.param("/a/../b", "'..' segment", id="dotdot"),
        pytest.param("/a/.", "'.' segment", id="dot"),
        pytest.param("/a%2Fb", "not allowed", id="percent"),
        pytest.param("/a?b", "not allowed", id="query"),
        pytest.param("/a#b", "not allowed", id="fragment"),
        pytest.param("/a b", "not allowed", id="space"),
        pytest.param("/a\\b", "not allowed", id="backslash"),
        pytest.param(None, "expected a string", id="not-a-string"),
    ],
)
def test_normalize_prefix_rejects(prefix: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_prefix(prefix)


def test_strict_prefix_refuses_trailing_slash() -> None:
    with pytest.raises(ValueError, match="must not end with '/'"):
        normalize_prefix("/admin/", strict=True)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/acme/x", "/acme/x", id="already-canonical"),
        pytest.param("/./acme/x", "/acme/x", id="leading-dot-segment"),
        pytest.param("//acme//x", "/acme/x", id="double-slashes"),
        pytest.param("/acme/../admin/x", "/admin/x", id="dotdot-switches-app"),
        pytest.param("/../../acme", "/acme", id="dotdot-above-root"),
        pytest.param("/acme/x/", "/acme/x/", id="trailing-slash-kept"),
        pytest.param("/acme/.", "/acme/", id="trailing-dot"),
        pytest.param("/acme/..", "/", id="trailing-dotdot-to-root"),
        pytest.param("/a/b/..", "/a/", id="trailing-dotdot"),
        pytest.param("/", "/", id="root"),
        pytest.param("", "", id="empty"),
        pytest.param("relative", "relative", id="relative-untouched"),
        pytest.param(
            "/.well-known/x", "/.well-known/x", id="dot-name-is-not-dot-segment"
        ),
    ],
)
def test_canonical_path(path: str, expected: str) -> None:
    assert canonical_path(path) == expected
    assert canonical_path(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        pytest.param("/a/b", True, id="plain"),
        pytest.param("/a//b", False, id="double-slash"),
        pytest.param("/a/./b", False, id="dot"),
        pytest.param("/.well-known", False, id="dot-name-checked-slowly"),
    ],
)
def test_is_canonical_is_a_safe_shortcut(path: str, canonical: bool) -> None:
    assert is_canonical(path) is canonical
    if canonical:
        assert canonical_path(path) == path


TABLE = PrefixTable(
    [
        ("/api", "api"),
        ("/api/v2", "api-v2"),
        ("/admin", "admin"),
        (to_wsgi("/café"), "cafe"),
    ]
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/api", ("api", "/api", ""), id="exact"),
        pytest.param("/api/", ("api", "/api", "/"), id="trailing-slash"),
        pytest.param("/api/users", ("api", "/api", "/users"), id="under"),
        pytest.param("/apix", None, id="not-on-segment-boundary"),
        pytest.param("/apix/y", None, id="lookalike-segment"),
        pytest.param("/api/v2", ("api-v2", "/api/v2", ""), id="longest-wins"),
        pytest.param("/api/v2/x", ("api-v2", "/api/v2", "/x"), id="longest-wins-under"),
        pytest.param("/api/v2x", ("api", "/api", "/v2x"), id="longer-not-on-boundary"),
        pytest.param("/API", None, id="case-sensitive"),
        pytest.param("/", None, id="root"),
        pytest.param("", None, id="empty"),
        pytest.param("/ap", None, id="shorter"),
        pytest.param("/ap%69/x", None, id="percent-encoded-is-literal"),
        pytest.param(
            to_wsgi("/café/menu"), ("cafe", to_wsgi("/café"), "/menu"), id="utf8-prefix"
        ),
    ],
)
def test_prefix_table_match(path: str, expected: tuple[str, str, str] | None) -> None:
    assert TABLE.match(path) == expected


def test_prefix_table_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="duplicate prefix '/a'"):
        PrefixTable([("/a", 1), ("/a", 2)])


def test_prefix_table_container_protocol() -> None:
    assert "/api" in TABLE and "/nope" not in TABLE
    assert len(TABLE) == 4
    assert list(TABLE)[:2] == ["/api", "/api/v2"]
    assert dict(TABLE.items())["/admin"] == "admin"
