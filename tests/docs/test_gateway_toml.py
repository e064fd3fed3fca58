"""docs/gateway-toml.md and the schema it documents (gateway/toml/tables.py)
agree: the reference table row by row (key, type, default, meaning), and the
annotated example, which may show only declared keys and must load."""

from __future__ import annotations

import re
import tomllib
import typing as t
from pathlib import Path

import pytest

from gateway.toml import parse_config
from gateway.toml.load import table_keys
from gateway.toml.reference import BEGIN, END, rows

DOC = Path(__file__).parents[2] / "docs" / "gateway-toml.md"
REGENERATE = "python -m gateway.toml.reference docs/gateway-toml.md"


def doc_reference() -> dict[str, tuple[str, str, str]]:
    """The rows of the doc's reference table: key -> (type, default, meaning)."""
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"{DOC.name}: the reference markers are gone"
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    found: dict[str, tuple[str, str, str]] = {}
    for line in block.strip().splitlines()[2:]:  # after the header and |---|
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]
        assert cells[0] == cells[-1] == "" and len(cells) == 6, line
        key = cells[1].strip("`")
        assert key not in found, f"{DOC.name}: {key} is in the reference twice"
        found[key] = (cells[2], cells[3], cells[4])
    return found


def test_the_reference_table_is_the_schemas() -> None:
    documented = doc_reference()
    declared = {row.key: (row.type, row.default, row.doc) for row in rows()}
    problems = [
        f"{key}: declared in gateway/toml/tables.py, missing from the doc"
        for key in declared
        if key not in documented
    ]
    problems += [
        f"{key}: in the doc, but gateway/toml/tables.py declares no such key"
        for key in documented
        if key not in declared
    ]
    for key in declared.keys() & documented.keys():
        for column, in_doc, in_schema in zip(
            ("type", "default", "meaning"), documented[key], declared[key], strict=True
        ):
            if in_doc != in_schema:
                problems.append(
                    f"{key}: the doc says {column} {in_doc!r}, the schema {in_schema!r}"
                )
    order = [key for key in documented if key in declared]
    if not problems and order != [key for key in declared if key in documented]:
        problems.append("the rows are not in the order of the declarations")
    assert not problems, (
        f"{DOC.name} and the schema disagree (regenerate with `{REGENERATE}`):\n"
        + "\n".join(problems)
    )


def example() -> dict[str, t.Any]:
    """The annotated ```toml example at the top of the doc."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, f"{DOC.name}: no ```toml example"
    return tomllib.loads(blocks[0])


def keys_of(value: t.Any, table: str) -> set[str]:
    """The table's dotted name and those of every key in it (entries of an
    array of tables merged; the names of ``[hosts]`` are hosts, not keys)."""
    found = {table}
    if table == "hosts":
        return found
    for entry in value if isinstance(value, list) else [value]:
        for key, item in entry.items():
            dotted = f"{table}.{key}"
            found |= keys_of(item, dotted) if dotted in table_keys() else {dotted}
    return found


def test_the_example_shows_only_keys_the_schema_declares() -> None:
    declared = {
        f"{table}.{key}" for table, keys in table_keys().items() for key in keys
    } | set(table_keys())
    shown = set().union(*(keys_of(v, table) for table, v in example().items()))
    assert sorted(shown - declared) == [], "keys in the example the schema lacks"


def test_the_example_loads(tmp_path: Path) -> None:
    config = parse_config(example(), tmp_path)
    assert config.name == "acme-hosting" and config.tenants is not None


@pytest.mark.parametrize("column", ["type", "default", "meaning"])
def test_a_disagreement_names_the_key_and_the_column(
    monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    documented = doc_reference()
    changed = dict(documented)
    index = ("type", "default", "meaning").index(column)
    row = list(changed["[tenants].max_instances"])
    row[index] = "something else"
    changed["[tenants].max_instances"] = (row[0], row[1], row[2])
    monkeypatch.setitem(globals(), "doc_reference", lambda: changed)
    with pytest.raises(AssertionError) as info:
        test_the_reference_table_is_the_schemas()
    assert f"[tenants].max_instances: the doc says {column} 'something else'" in str(
        info.value
    )
