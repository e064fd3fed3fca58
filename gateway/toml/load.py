"""Reading a ``gateway.toml`` file into a :class:`~.tables.GatewayConfig`.

Only parsing and validation: nothing is imported, so ``gateway config`` can
render server files on a machine without the application
(:func:`gateway.dispatch.build_gateway` imports and composes it).

Every problem raises :class:`~gateway.config.ConfigError` with the key spelled
as in the file, ``[tenants].max_instances: expected an integer >= 1, got
"ten"``; entries of arrays of tables are numbered from 1: ``[[mounts]] #2
.prefix``. An unknown key is an error too, with the closest known key
suggested.
"""

from __future__ import annotations

import tomllib
import typing as t
from pathlib import Path

from ..config import ConfigError
from .schema import Reader, specs, suggest
from .tables import GatewayConfig

#: The table holding :class:`GatewayConfig`'s own keys.
OWN_TABLE = "gateway"


def table_keys(
    cls: type = GatewayConfig, dotted: str = OWN_TABLE
) -> dict[str, list[str]]:
    """Dotted table name -> its key names, for every table of the file."""
    found = {dotted: [s.name for s in specs(cls) if not s.is_table]}
    for spec in specs(cls):
        if spec.is_table:
            name = spec.name if cls is GatewayConfig else f"{dotted}.{spec.name}"
            if spec.shape == "map":
                found[name] = []
            else:
                found.update(table_keys(spec.python, name))
                found[name] = [s.name for s in specs(spec.python)]
    return found


def parse_config(
    data: t.Mapping[str, t.Any], root: Path | str, path: Path | str | None = None
) -> GatewayConfig:
    """Validate parsed TOML data (a dict) and resolve defaults.

    ``root`` is the directory relative paths are resolved against (the file's
    own directory for :func:`load_config`); the default ``name`` is its name.
    """
    root = Path(root).resolve()
    tables = [OWN_TABLE, *(s.name for s in specs(GatewayConfig) if s.is_table)]
    for name in data:
        if name not in tables:
            hint = suggest(name, tables)
            owners = [table for table, keys in table_keys().items() if name in keys]
            if owners and not isinstance(data[name], dict | list):
                hint = f'; did you mean to put it under "[{owners[0]}]"?'
            raise ConfigError(f"[{name}]: unknown table or top-level key{hint}")
    if OWN_TABLE not in data:
        raise ConfigError(
            f"[{OWN_TABLE}]: missing table (it holds at least the name or base_domain)"
        )
    reader = Reader(
        GatewayConfig,
        data[OWN_TABLE],
        where=f"[{OWN_TABLE}]",
        dotted=OWN_TABLE,
        root=root,
        document=data,
    )
    return t.cast(
        GatewayConfig,
        reader.build(
            root=root, path=Path(path).resolve() if path is not None else None
        ),
    )


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a ``gateway.toml``.

    Raises :class:`~gateway.config.ConfigError` for a missing file, invalid
    TOML, an unknown key (with the closest known key suggested) or a bad
    value (naming the key).
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a directory, expected a gateway.toml file"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 ({e})") from None
    return parse_config(data, path.resolve().parent, path)
