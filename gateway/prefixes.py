"""Pure path-prefix logic: validating mount prefixes and matching them.

Matching is on segment boundaries (``/api`` matches ``/api`` and ``/api/x``,
never ``/apix``), longest prefix first, on the *canonical* path: dot segments
and empty segments are resolved before matching, so the segment that chose
the application is exactly the one moved into ``SCRIPT_NAME`` (``/./acme/x``
is ``/acme/x``; ``/acme/../admin`` is ``/admin``).

Strings here are WSGI strings (bytes decoded as latin-1), as found in
``PATH_INFO``; :func:`to_wsgi` converts a configured prefix to that form.

Dispatch matches requests with these rules and :mod:`gateway.toml` validates
the file's prefixes with them, so the module sits below both and imports
only the standard library.
"""

from __future__ import annotations

import typing as t

V = t.TypeVar("V")

_FORBIDDEN = frozenset("?#%\\\x7f") | {chr(c) for c in range(33)}


def to_wsgi(value: str) -> str:
    """Text as a WSGI environ string (UTF-8 bytes decoded as latin-1)."""
    return value.encode("utf-8").decode("latin-1")


def normalize_prefix(prefix: str, *, strict: bool = False) -> str:
    """Validate a mount prefix and return it normalised (no trailing slash).

    A prefix starts with ``/``, has no empty, ``.`` or ``..`` segments, and no
    ``?``, ``#``, ``%``, backslash, space or control characters. The root
    ``/`` is not a prefix (that is the default app). With ``strict`` a
    trailing slash is an error instead of being removed (the TOML contract).
    Raises :class:`ValueError` naming the problem.
    """
    if not isinstance(prefix, str):
        raise ValueError(f"expected a string such as '/admin', got {prefix!r}")
    if not prefix.startswith("/"):
        raise ValueError(f"must start with '/', as in '/{prefix}'")
    if prefix == "/":
        raise ValueError("'/' is not a prefix: use the default app for the root")
    if prefix.endswith("/") and not prefix.endswith("//"):
        if strict:
            raise ValueError(f"must not end with '/': use {prefix.rstrip('/')!r}")
        prefix = prefix[:-1]
    bad = _FORBIDDEN.intersection(prefix)
    if bad:
        shown = ", ".join(sorted(repr(c) for c in bad))
        raise ValueError(
            f"{prefix!r} contains characters not allowed in a prefix: {shown}"
        )
    for segment in prefix[1:].split("/"):
        if segment == "":
            raise ValueError(f"{prefix!r} has an empty segment ('//')")
        if segment in (".", ".."):
            raise ValueError(f"{prefix!r} has a {segment!r} segment")
    return prefix


def canonical_path(path: str) -> str:
    """Resolve ``.``, ``..`` and empty segments of an absolute path.

    ``..`` never climbs above the root; a trailing slash (or trailing dot
    segment) is kept as a trailing slash, like RFC 3986 dot removal.
    """
    if not path.startswith("/"):
        return path
    parts = path.split("/")[1:]
    segments: list[str] = []
    for part in parts:
        if part == "" or part == ".":
            continue
        if part == "..":
            if segments:
                segments.pop()
            continue
        segments.append(part)
    if not segments:
        return "/"
    trailing = parts[-1] in ("", ".", "..")
    return "/" + "/".join(segments) + ("/" if trailing else "")


def is_canonical(path: str) -> bool:
    """A cheap test that :func:`canonical_path` would return ``path`` as is."""
    return "//" not in path and "/." not in path


class PrefixTable(t.Generic[V]):
    """Prefixes mapped to values, matched longest first on segment boundaries.

    Built once; :meth:`match` does one ``str.find``, one dict lookup and a
    ``startswith`` per candidate sharing the first segment (usually one).
    """

    __slots__ = ("_by_first", "_items")

    def __init__(self, items: t.Iterable[tuple[str, V]] = ()) -> None:
        self._items: dict[str, V] = {}
        by_first: dict[str, list[tuple[str, int, V]]] = {}
        for prefix, value in items:
            if prefix in self._items:
                raise ValueError(f"duplicate prefix {prefix!r}")
            self._items[prefix] = value
            end = prefix.find("/", 1)
            first = prefix if end == -1 else prefix[:end]
            by_first.setdefault(first, []).append((prefix, len(prefix), value))
        for candidates in by_first.values():
            candidates.sort(key=lambda item: item[1], reverse=True)
        self._by_first = {k: tuple(v) for k, v in by_first.items()}

    def match(self, path: str) -> tuple[V, str, str] | None:
        """Return ``(value, prefix, rest)`` for a canonical path, or None.

        ``rest`` is what follows the prefix: ``""`` or a path starting with
        ``/``. The caller canonicalises first (see :func:`is_canonical`).
        """
        end = path.find("/", 1)
        candidates = self._by_first.get(path if end == -1 else path[:end])
        if candidates is None:
            return None
        for prefix, size, value in candidates:
            if path.startswith(prefix) and (len(path) == size or path[size] == "/"):
                return value, prefix, path[size:]
        return None

    def items(self) -> t.ItemsView[str, V]:
        return self._items.items()

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> t.Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"<PrefixTable {list(self._items)!r}>"
