"""The reference table of docs/gateway-toml.md, generated from the schema.

::

    python -m gateway.toml.reference                        # print the table
    python -m gateway.toml.reference docs/gateway-toml.md   # rewrite it there

The table sits between :data:`BEGIN` and :data:`END` in the document;
tests/docs/test_gateway_toml.py fails, naming the key, when the two disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .load import OWN_TABLE
from .schema import Row, reference
from .tables import GatewayConfig

BEGIN = (
    "<!-- reference: generated from gateway/toml/tables.py by"
    " `python -m gateway.toml.reference docs/gateway-toml.md`; do not edit -->"
)
END = "<!-- end of reference -->"

HEADER = ("key", "type", "default", "meaning")


def rows() -> list[Row]:
    """One row per table and key of ``gateway.toml``."""
    return reference(
        GatewayConfig, OWN_TABLE, "the gateway's own keys; the only required table"
    )


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The reference as a Markdown table, with its markers."""
    lines = [BEGIN, "| " + " | ".join(HEADER) + " |", "|---|---|---|---|"]
    for row in rows():
        key, type_, default, doc = (cell(part) for part in row)
        lines.append(f"| `{key}` | {type_} | {default} | {doc} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def rewrite(path: str | Path) -> bool:
    """Replace the reference in the document at ``path``; whether it changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end < start:
        raise SystemExit(f"{path}: no {BEGIN!r} ... {END!r} block to rewrite")
    new = text[:start] + markdown().rstrip("\n") + text[end + len(END) :]
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    if not argv:
        sys.stdout.write(markdown())
        return 0
    for name in argv:
        print(f"{name}: {'rewritten' if rewrite(name) else 'up to date'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
