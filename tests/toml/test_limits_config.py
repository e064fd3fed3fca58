"""The [limits] table, its overrides on [[mounts]] and [tenants], and the
size values they take (issue 18, point 5)."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.toml import LimitsConfig, body_limit_under, limit_overrides, parse_config
from gateway.toml.values import format_size, size

SIZES = [
    pytest.param(0, 0, id="zero-is-no-limit"),
    pytest.param(1048576, 1048576, id="integer-bytes"),
    pytest.param("1048576", 1048576, id="digits-string"),
    pytest.param("512K", 512 * 1024, id="kibibytes"),
    pytest.param("10M", 10 * 1024 * 1024, id="mebibytes"),
    pytest.param("10m", 10 * 1024 * 1024, id="lower-case-unit"),
    pytest.param("1G", 1 << 30, id="gibibytes"),
    pytest.param("0M", 0, id="zero-with-unit"),
]


@pytest.mark.parametrize(("value", "expected"), SIZES)
def test_a_size_is_bytes_or_digits_with_a_1024_based_unit(
    value: t.Any, expected: int
) -> None:
    assert size(value) == expected


BAD_SIZES = [
    pytest.param(-1, id="negative"),
    pytest.param(1.5, id="float"),
    pytest.param(True, id="boolean"),
    pytest.param("", id="empty"),
    pytest.param("ten", id="words"),
    pytest.param("10 M", id="space"),
    pytest.param("10MB", id="two-letter-unit"),
    pytest.param("10T", id="unknown-unit"),
    pytest.param("-1M", id="negative-string"),
    pytest.param("1.5M", id="fraction"),
    pytest.param(["1M"], id="array"),
]


@pytest.mark.parametrize("value", BAD_SIZES)
def test_a_bad_size_is_refused_with_the_accepted_forms(value: t.Any) -> None:
    with pytest.raises(
        ValueError, match=r'expected a size in bytes such as 1048576 or "1M"'
    ):
        size(value)


FORMATTED = [
    pytest.param(0, "0", id="zero"),
    pytest.param(1000, "1000", id="not-a-multiple"),
    pytest.param(1024, "1k", id="kibibyte"),
    pytest.param(1536 * 1024, "1536k", id="kibibytes-not-mebibytes"),
    pytest.param(10 * 1024 * 1024, "10m", id="mebibytes"),
    pytest.param(2 << 30, "2g", id="gibibytes"),
]


@pytest.mark.parametrize(("value", "expected"), FORMATTED)
def test_format_size_writes_the_largest_exact_unit(value: int, expected: str) -> None:
    assert format_size(value) == expected
    assert size(expected) == value


def _parse(tmp_path: Path, **tables: t.Any) -> t.Any:
    data = {"gateway": {"base_domain": "example.com", "default_app": "m:app"}}
    data.update(tables)
    return parse_config(data, tmp_path)


def test_limits_default_to_nginx_body_and_flask_form_limits(tmp_path: Path) -> None:
    config = _parse(tmp_path)
    assert config.limits == LimitsConfig(
        max_body=1 << 20, max_form_memory=500_000, max_form_parts=1000
    )
    assert config.limits.app_config() == {
        "MAX_CONTENT_LENGTH": 1 << 20,
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1000,
    }


def test_limits_are_read_as_sizes(tmp_path: Path) -> None:
    config = _parse(
        tmp_path,
        limits={"max_body": "10M", "max_form_memory": "64K", "max_form_parts": 50},
    )
    assert config.limits == LimitsConfig(10 << 20, 64 << 10, 50)


def test_zero_is_no_limit_in_the_app_config(tmp_path: Path) -> None:
    config = _parse(
        tmp_path, limits={"max_body": 0, "max_form_memory": 0, "max_form_parts": 0}
    )
    assert config.limits.app_config() == {
        "MAX_CONTENT_LENGTH": None,
        "MAX_FORM_MEMORY_SIZE": None,
        "MAX_FORM_PARTS": None,
    }


def test_mounts_and_tenants_override_only_what_they_set(tmp_path: Path) -> None:
    config = _parse(
        tmp_path,
        tenants={"factory": "m:make", "max_body": "2M"},
        mounts=[
            {
                "prefix": "/upload",
                "app": "m:up",
                "max_body": "50M",
                "max_form_parts": 5,
            },
            {"prefix": "/plain", "app": "m:plain"},
        ],
    )
    upload, plain = config.mounts
    assert limit_overrides(upload) == {"max_body": 50 << 20, "max_form_parts": 5}
    assert limit_overrides(plain) == {}
    assert limit_overrides(config.tenants) == {"max_body": 2 << 20}
    assert config.limits.override(limit_overrides(upload)) == LimitsConfig(
        50 << 20, 500_000, 5
    )
    assert config.limits.override({}) is config.limits


BAD_LIMITS = [
    pytest.param(
        {"limits": {"max_body": "ten"}},
        r'^\[limits\]\.max_body: expected a size in bytes .* got "ten"',
        id="limits-max-body",
    ),
    pytest.param(
        {"limits": {"max_form_parts": -1}},
        r"^\[limits\]\.max_form_parts: expected an integer >= 0, got -1",
        id="limits-parts-negative",
    ),
    pytest.param(
        {"limits": {"max_bdy": "1M"}},
        r'^\[limits\]\.max_bdy: unknown key; did you mean "max_body"\?',
        id="limits-typo",
    ),
    pytest.param(
        {"mounts": [{"prefix": "/a", "app": "m:a", "max_body": "1.5M"}]},
        r"^\[\[mounts\]\] #1 \.max_body: expected a size",
        id="mount-max-body",
    ),
    pytest.param(
        {"tenants": {"factory": "m:f", "max_form_parts": "many"}},
        r'^\[tenants\]\.max_form_parts: expected an integer >= 0, got "many"',
        id="tenants-parts",
    ),
]


@pytest.mark.parametrize(("tables", "message"), BAD_LIMITS)
def test_a_bad_limit_names_its_key(
    tmp_path: Path, tables: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(tmp_path, **tables)


def _site(tmp_path: Path, tenants: str | None, **mounts: str | None) -> t.Any:
    """A config with [limits].max_body = "1M", tenants overriding it with
    ``tenants`` and a mount per keyword (prefix "/" + name, "_" for "/")."""
    data: dict[str, t.Any] = {"limits": {"max_body": "1M"}}
    if tenants is not None:
        data["tenants"] = {"factory": "m:f", "max_body": tenants}
    data["mounts"] = [
        {"prefix": "/" + name.replace("_", "/"), "app": "m:a", "host": "*"}
        | ({"max_body": size} if size is not None else {})
        for name, size in mounts.items()
    ]
    if tenants is None:
        for mount in data["mounts"]:
            mount["host"] = ""
    return _parse(tmp_path, **data)


BODY_LIMITS_UNDER = [
    pytest.param(None, {}, None, 1 << 20, id="only-limits"),
    pytest.param("4M", {}, None, 4 << 20, id="tenants-larger"),
    pytest.param("4K", {}, None, 1 << 20, id="tenants-smaller"),
    pytest.param(None, {"up": "8M"}, None, 8 << 20, id="site-counts-mounts"),
    pytest.param(None, {"up": "8M"}, "/", 1 << 20, id="root-ignores-mounts"),
    pytest.param(None, {"up": "8M"}, "/up", 8 << 20, id="under-the-mount"),
    pytest.param(None, {"up": "8M"}, "/up/more", 8 << 20, id="below-the-mount"),
    pytest.param(None, {"up": "8M"}, "/upload", 1 << 20, id="not-a-segment-match"),
    pytest.param(None, {"up": "10K"}, "/up", 1 << 20, id="root-apps-count-too"),
    pytest.param(None, {"a": "2M", "a_b": "3M"}, "/a/b", 3 << 20, id="nested-mounts"),
    pytest.param(None, {"a": "5M", "a_b": "3M"}, "/a/b", 5 << 20, id="outer-larger"),
    pytest.param("0", {}, "/", 0, id="zero-is-the-largest"),
    pytest.param(None, {"up": "0"}, None, 0, id="zero-mount"),
    pytest.param(None, {"up": None}, "/up", 1 << 20, id="mount-without-override"),
]


@pytest.mark.parametrize(("tenants", "mounts", "prefix", "expected"), BODY_LIMITS_UNDER)
def test_body_limit_under_is_the_largest_limit_that_may_serve_there(
    tmp_path: Path,
    tenants: str | None,
    mounts: dict[str, str | None],
    prefix: str | None,
    expected: int,
) -> None:
    config = _site(tmp_path, tenants, **mounts)
    assert body_limit_under(config, prefix) == expected
