"""gateway.toml's declarations (gateway/toml/tables.py) and the machinery
that reads a table against them (gateway/toml/schema.py).

The file's own errors, key by key, are in tests/dispatch/test_loader.py;
here: that every declaration is complete and consistent, and how the reader
treats a table class it has never seen (what adding a key gets for free)."""

from __future__ import annotations

import typing as t
from dataclasses import MISSING, dataclass
from pathlib import Path

import pytest

from gateway.toml import ConfigError, GatewayConfig
from gateway.toml.load import table_keys
from gateway.toml.schema import Invalid, Reader, key, reference, specs


def every_spec() -> list[t.Any]:
    out = []

    def walk(cls: type, table: str) -> None:
        for spec in specs(cls):
            where = f"{table}.{spec.name}"
            out.append(pytest.param(where, spec, id=where))
            if spec.shape in ("table", "tables"):
                walk(spec.python, f"{table}.{spec.name}")

    walk(GatewayConfig, "gateway")
    return out


@pytest.mark.parametrize(("where", "spec"), every_spec())
def test_every_key_has_one_line_of_doc(where: str, spec: t.Any) -> None:
    doc = spec.meta.doc
    assert doc and "\n" not in doc, where


@pytest.mark.parametrize(("where", "spec"), every_spec())
def test_every_declared_default_passes_its_own_check(where: str, spec: t.Any) -> None:
    default = spec.default()
    if default is MISSING or spec.meta.check is None or spec.shape == "table":
        return
    if default is None and spec.optional:  # "not set": the reader checks no None
        return
    assert spec.meta.check(default) == default, where


def test_every_table_is_known_to_the_loader() -> None:
    assert set(table_keys()) == {
        "gateway",
        "tenants",
        "hosts",
        "mounts",
        "proxy",
        "health",
        "limits",
        "metrics",
        "logging",
        "server",
        "server.static",
    }


def test_non_keys_are_not_file_keys() -> None:
    names = [s.name for s in specs(GatewayConfig)]
    assert "root" not in names and "path" not in names


# -- a table class the reader has never seen ---------------------------------------------


def _ten_or_more(value: int) -> int:
    if value < 10:
        raise ValueError("must be at least 10")
    return value


def _same_length(r: Reader) -> None:
    if r["low"] and len(r["low"]) != len(r["high"]):
        raise Invalid("as many as high", key="low")


@dataclass(frozen=True)
class Entry:
    """``[[toy.entries]]``."""

    label: str = key(doc="a label")


@dataclass(frozen=True)
class Toy:
    """``[toy]``."""

    rules: t.ClassVar = (_same_length,)

    twice: int = key(doc="twice the size", derive=lambda r: 2 * r["size"])
    size: int = key(12, doc="a size", minimum=1, check=_ten_or_more)
    mode: str = key("fast", doc="a mode", choices=("fast", "slow"))
    where: str = key("", doc="a path", path=True)
    high: tuple[str, ...] = key(("a",), doc="names")
    low: tuple[str, ...] = key((), doc="other names")
    tag: str = key(
        "",
        doc="a tag that wants the mode",
        resolve=lambda value, r: f"{value}/{r['mode']}" if value else value,
    )
    entries: tuple[Entry, ...] = key((), doc="entries")


def read(data: dict[str, t.Any], root: Path = Path("/srv")) -> Toy:
    return t.cast(
        Toy, Reader(Toy, data, where="[toy]", dotted="toy", root=root).build()
    )


def test_a_new_table_class_reads_with_defaults_derivations_and_paths() -> None:
    toy = read({"size": 20, "where": "rel", "tag": "x", "entries": [{"label": "e"}]})
    assert toy == Toy(
        size=20,
        mode="fast",
        where="/srv/rel",
        twice=40,
        high=("a",),
        low=(),
        tag="x/fast",
        entries=(Entry("e"),),
    )
    assert read({}).twice == 24
    assert read({"twice": 3}).twice == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"sise": 1}, '[toy].sise: unknown key; did you mean "size"?', id="typo"
        ),
        pytest.param(
            {"size": "1"}, '[toy].size: expected an integer >= 1, got "1"', id="type"
        ),
        pytest.param(
            {"size": 0}, "[toy].size: expected an integer >= 1, got 0", id="minimum"
        ),
        pytest.param({"size": 5}, "[toy].size: must be at least 10", id="check"),
        pytest.param(
            {"mode": "fats"},
            '[toy].mode: expected one of fast, slow, got "fats"; did you mean "fast"?',
            id="choices",
        ),
        pytest.param(
            {"high": "a"},
            '[toy].high: expected an array of strings, got "a"',
            id="strings",
        ),
        pytest.param({"low": ["x", "y"]}, "[toy].low: as many as high", id="rule"),
        pytest.param(
            {"entries": {"label": "x"}},
            "[toy].entries: expected an array of tables ([[toy.entries]] entries)",
            id="array-of-tables",
        ),
        pytest.param(
            {"entries": [{"label": "a"}, {}]},
            "[[toy.entries]] #2 .label: missing required key",
            id="entry-required",
        ),
        pytest.param(
            {"entries": [3]},
            "[[toy.entries]] #1 : expected a table, got 3",
            id="entry-not-a-table",
        ),
    ],
)
def test_a_new_table_class_names_the_key_in_errors(
    data: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        read(data)
    assert str(info.value).startswith(message), str(info.value)


def test_a_new_table_class_is_in_the_reference() -> None:
    rows = {row.key: row for row in reference(Toy, "toy", "a toy")}
    assert rows["[toy].size"][1:] == ("integer >= 1", "`12`", "a size")
    assert rows["[toy].mode"].type == "one of fast, slow"
    assert rows["[toy].where"].type == "path"
    assert rows["[toy].twice"].default == "derived from other keys"
    assert rows["[[entries]]"].type == "array of tables"
    assert rows["[[entries]].label"].default == "required"
