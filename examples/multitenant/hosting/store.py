"""The tenant store: one table of tenants, their members and contact messages.

Two back ends share the same SQL: SQLite (the default, a file under ``var/``
created and seeded on first use) and PostgreSQL (psycopg 3) when the database
URL says ``postgresql://``. Several gateway processes, even on several
machines, can share one PostgreSQL store; each learns about changes by
polling :meth:`Store.versions` (the gateway's ``[tenants].lookup``).

Every method opens (or borrows) a connection for the duration of one call,
so a store is safe to use from many threads and greenlets at once.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import typing as t
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from werkzeug.security import check_password_hash, generate_password_hash

from gateway import Unavailable

from .themes import THEMES

#: Sub-domains a tenant may not take: they name the platform's own hosts.
RESERVED_SLUGS = frozenset(
    {"www", "admin", "docs", "api", "static", "mail", "localhost"}
)

_SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?\Z")
_USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}\Z")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")


class StoreError(ValueError):
    """A change the store refuses; the message is shown to the admin as is."""


#: Seconds a client is told to wait while the database is down, and the
#: gateway's back-off before it tries a tenant's factory again: a refused
#: connection costs nothing, so the site comes back within a second of the
#: database.
OUTAGE_RETRY_AFTER = 1


class StoreUnavailable(Unavailable):
    """The database is down or unreachable (PostgreSQL's OperationalError).

    An :class:`gateway.Unavailable`: a page that lets it through answers 503
    with ``Retry-After`` (``ui``'s page), a tenant factory or lookup that
    raises it makes the gateway answer 503 and retry, never "no such
    tenant". Nothing half-written stays behind: the transaction rolls back.
    """

    description = (
        "The tenant database is not answering right now. Nothing was lost;"
        " this page will be back in a moment."
    )

    def __init__(self, cause: BaseException) -> None:
        super().__init__(retry_after=OUTAGE_RETRY_AFTER)
        self.__cause__ = cause

    def __str__(self) -> str:
        return f"{type(self.__cause__).__name__}: {self.__cause__}"


# -- validation: pure functions, tested with plain tables ---------------------


def validate_slug(value: str) -> str:
    """Normalise a tenant's sub-domain label (lower case, stripped) or raise
    :class:`StoreError` saying what a valid one looks like."""
    slug = (value or "").strip().lower()
    if not slug:
        raise StoreError("The sub-domain is required.")
    if not _SLUG_RE.match(slug):
        raise StoreError(
            f"{slug!r} is not a valid sub-domain: use 1-40 letters, digits or"
            " hyphens, not starting or ending with a hyphen."
        )
    if slug in RESERVED_SLUGS:
        raise StoreError(f"{slug!r} is reserved for the platform; pick another name.")
    return slug


def validate_name(value: str) -> str:
    """A display name: 1-60 characters once stripped."""
    name = " ".join((value or "").split())
    if not name:
        raise StoreError("The name is required.")
    if len(name) > 60:
        raise StoreError("The name is longer than 60 characters.")
    return name


def validate_theme(value: str) -> str:
    """One of :data:`~hosting.themes.THEMES`."""
    if value not in THEMES:
        raise StoreError(f"Unknown theme {value!r}; choose one of {', '.join(THEMES)}.")
    return value


def validate_username(value: str) -> str:
    """A member's login name: 1-32 letters, digits, ``_``, ``.`` or ``-``."""
    name = (value or "").strip()
    if not _USERNAME_RE.match(name):
        raise StoreError("The username must be 1-32 letters, digits, '_', '.' or '-'.")
    return name


def validate_password(value: str) -> str:
    """At least 4 characters (this is a demo; a real site asks for more)."""
    if len(value or "") < 4:
        raise StoreError("The password must have at least 4 characters.")
    return value


def contact_errors(name: str, email: str, body: str) -> list[str]:
    """What is wrong with a contact-form submission (empty list: nothing)."""
    errors = []
    if not name.strip():
        errors.append("Please tell us your name.")
    elif len(name) > 80:
        errors.append("Your name is longer than 80 characters.")
    if not _EMAIL_RE.match(email.strip()):
        errors.append("Please give an e-mail address we can answer to.")
    if not body.strip():
        errors.append("The message is empty.")
    elif len(body) > 2000:
        errors.append("The message is longer than 2000 characters.")
    return errors


# -- records ------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """One tenant's row. ``version`` grows on every change of the row."""

    id: int
    slug: str
    name: str
    tagline: str
    theme: str
    version: int
    created_at: str


@dataclass(frozen=True)
class Member:
    id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class Message:
    id: int
    name: str
    email: str
    body: str
    created_at: str


#: What a new store is seeded with: slug, name, tagline, theme, members.
SEED: tuple[tuple[str, str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "acme",
        "Acme Rockets",
        "Reliable rockets since 1949. Mostly.",
        "ocean",
        (("demo", "Demo Member", "demo"), ("wile", "Wile E. Coyote", "beepbeep")),
    ),
    (
        "bistro",
        "Le Petit Bistro",
        "Seasonal food, natural wine, twelve tables.",
        "sunset",
        (("demo", "Demo Member", "demo"), ("chef", "Camille (chef)", "ratatouille")),
    ),
    (
        "nimbus",
        "Nimbus Studio",
        "A small design studio with its head in the clouds.",
        "forest",
        (("demo", "Demo Member", "demo"),),
    ),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id {id_type},
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    tagline TEXT NOT NULL DEFAULT '',
    theme TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    id {id_type},
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    UNIQUE (tenant_id, username)
);
CREATE TABLE IF NOT EXISTS messages (
    id {id_type},
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS store_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_TENANT_COLUMNS = "id, slug, name, tagline, theme, version, created_at"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Store:
    """The tenant store's operations, written once over a DB-API cursor.

    Subclasses provide :meth:`_connect` (a context manager yielding a cursor
    inside a transaction), :attr:`id_type` for the schema and the parameter
    style. SQL is written with ``?`` and translated for ``%s`` drivers.
    """

    id_type = "INTEGER PRIMARY KEY"
    paramstyle = "qmark"
    url = ""

    # -- plumbing -------------------------------------------------------------

    @contextmanager
    def _connect(self, write: bool = False) -> t.Iterator[t.Any]:  # pragma: no cover
        raise NotImplementedError
        yield

    def _sql(self, sql: str) -> str:
        return sql if self.paramstyle == "qmark" else sql.replace("?", "%s")

    def _run(self, cur: t.Any, sql: str, params: t.Sequence[t.Any] = ()) -> t.Any:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def _lock_for_setup(self, cur: t.Any) -> None:
        """Serialise schema creation and seeding between processes."""

    def initialize(self, seed: bool = True) -> None:
        """Create the tables if needed and, the first time only, add the
        :data:`SEED` tenants. Safe to run from many processes at once."""
        with self._connect(write=True) as cur:
            self._lock_for_setup(cur)
            for statement in _SCHEMA.format(id_type=self.id_type).split(";"):
                if statement.strip():
                    cur.execute(statement)
            done = self._run(
                cur, "SELECT value FROM store_meta WHERE name = ?", ("seeded",)
            ).fetchone()
            if done is not None:
                return
            if seed:
                for slug, name, tagline, theme, members in SEED:
                    tenant_id = self._insert_tenant(cur, slug, name, tagline, theme)
                    for username, display, password in members:
                        self._insert_member(cur, tenant_id, username, display, password)
            self._run(
                cur,
                "INSERT INTO store_meta (name, value) VALUES (?, ?)",
                ("seeded", _now()),
            )

    # -- tenants --------------------------------------------------------------

    def tenants(self) -> list[Tenant]:
        """Every tenant, by sub-domain."""
        with self._connect() as cur:
            rows = self._run(
                cur, f"SELECT {_TENANT_COLUMNS} FROM tenants ORDER BY slug"
            )
            return [Tenant(*row) for row in rows.fetchall()]

    def versions(self) -> dict[str, tuple[int, int]]:
        """``{slug: (id, version)}`` of every tenant: what every process polls.

        The row id is part of the version, so a tenant removed and added again
        under the same sub-domain differs from the old one."""
        with self._connect() as cur:
            rows = self._run(cur, "SELECT slug, id, version FROM tenants").fetchall()
        return {slug: (row_id, version) for slug, row_id, version in rows}

    def get(self, slug: str) -> Tenant | None:
        """The tenant with this sub-domain, or None."""
        with self._connect() as cur:
            row = self._run(
                cur, f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE slug = ?", (slug,)
            ).fetchone()
        return Tenant(*row) if row is not None else None

    def _insert_tenant(
        self, cur: t.Any, slug: str, name: str, tagline: str, theme: str
    ) -> int:
        row = self._run(
            cur,
            "INSERT INTO tenants (slug, name, tagline, theme, version, created_at)"
            " VALUES (?, ?, ?, ?, 1, ?) RETURNING id",
            (slug, name, tagline, theme, _now()),
        ).fetchone()
        return int(row[0])

    def _insert_member(
        self, cur: t.Any, tenant_id: int, username: str, display: str, password: str
    ) -> None:
        self._run(
            cur,
            "INSERT INTO members (tenant_id, username, display_name, password_hash)"
            " VALUES (?, ?, ?, ?)",
            (tenant_id, username, display, generate_password_hash(password)),
        )

    def _slug_taken(self, cur: t.Any, slug: str) -> bool:
        return (
            self._run(cur, "SELECT 1 FROM tenants WHERE slug = ?", (slug,)).fetchone()
            is not None
        )

    def add(
        self,
        slug: str,
        name: str,
        theme: str,
        tagline: str = "",
        username: str = "demo",
        password: str = "demo",
    ) -> Tenant:
        """Add a tenant with its first member; :class:`StoreError` when the
        input is invalid or the sub-domain is taken."""
        slug = validate_slug(slug)
        name = validate_name(name)
        theme = validate_theme(theme)
        username = validate_username(username)
        password = validate_password(password)
        tagline = " ".join(tagline.split())[:120]
        with self._connect(write=True) as cur:
            if self._slug_taken(cur, slug):
                raise StoreError(f"A tenant called {slug!r} already exists.")
            tenant_id = self._insert_tenant(cur, slug, name, tagline, theme)
            self._insert_member(cur, tenant_id, username, "Site owner", password)
        tenant = self.get(slug)
        assert tenant is not None
        return tenant

    def rename(self, slug: str, new_slug: str) -> Tenant:
        """Move a tenant to another sub-domain (members and messages follow)."""
        new_slug = validate_slug(new_slug)
        with self._connect(write=True) as cur:
            if new_slug != slug and self._slug_taken(cur, new_slug):
                raise StoreError(f"A tenant called {new_slug!r} already exists.")
            updated = self._run(
                cur,
                "UPDATE tenants SET slug = ?, version = version + 1 WHERE slug = ?",
                (new_slug, slug),
            ).rowcount
            if not updated:
                raise StoreError(f"There is no tenant called {slug!r}.")
        tenant = self.get(new_slug)
        assert tenant is not None
        return tenant

    def update(self, slug: str, name: str, theme: str, tagline: str) -> Tenant:
        """Change a tenant's name, theme and tagline."""
        name = validate_name(name)
        theme = validate_theme(theme)
        tagline = " ".join(tagline.split())[:120]
        with self._connect(write=True) as cur:
            updated = self._run(
                cur,
                "UPDATE tenants SET name = ?, theme = ?, tagline = ?, version = version + 1"
                " WHERE slug = ?",
                (name, theme, tagline, slug),
            ).rowcount
        if not updated:
            raise StoreError(f"There is no tenant called {slug!r}.")
        tenant = self.get(slug)
        assert tenant is not None
        return tenant

    def remove(self, slug: str) -> bool:
        """Delete a tenant with its members and messages; False if absent."""
        with self._connect(write=True) as cur:
            return bool(
                self._run(cur, "DELETE FROM tenants WHERE slug = ?", (slug,)).rowcount
            )

    # -- members and messages -------------------------------------------------

    def check_login(
        self, tenant_id: int, username: str, password: str
    ) -> Member | None:
        """The member whose password matches, else None."""
        with self._connect() as cur:
            row = self._run(
                cur,
                "SELECT id, username, display_name, password_hash FROM members"
                " WHERE tenant_id = ? AND username = ?",
                (tenant_id, username.strip()),
            ).fetchone()
        if row is None or not check_password_hash(row[3], password):
            return None
        return Member(row[0], row[1], row[2])

    def members(self, tenant_id: int) -> list[Member]:
        with self._connect() as cur:
            rows = self._run(
                cur,
                "SELECT id, username, display_name FROM members WHERE tenant_id = ?"
                " ORDER BY username",
                (tenant_id,),
            ).fetchall()
        return [Member(*row) for row in rows]

    def member_counts(self) -> dict[int, int]:
        """``{tenant_id: number of members}`` for the admin's table."""
        with self._connect() as cur:
            rows = self._run(
                cur, "SELECT tenant_id, COUNT(*) FROM members GROUP BY tenant_id"
            ).fetchall()
        return {tenant_id: count for tenant_id, count in rows}

    def add_message(self, tenant_id: int, name: str, email: str, body: str) -> None:
        errors = contact_errors(name, email, body)
        if errors:
            raise StoreError(" ".join(errors))
        with self._connect(write=True) as cur:
            self._run(
                cur,
                "INSERT INTO messages (tenant_id, name, email, body, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (tenant_id, name.strip(), email.strip(), body.strip(), _now()),
            )

    def messages(self, tenant_id: int, limit: int = 20) -> list[Message]:
        """The latest contact messages, newest first."""
        with self._connect() as cur:
            rows = self._run(
                cur,
                "SELECT id, name, email, body, created_at FROM messages"
                " WHERE tenant_id = ? ORDER BY id DESC LIMIT ?",
                (tenant_id, limit),
            ).fetchall()
        return [Message(*row) for row in rows]

    def close(self) -> None:
        """Release pooled connections (a no-op for SQLite)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


class SQLiteStore(Store):
    """A SQLite file; WAL mode lets other processes read while one writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _connect(self, write: bool = False) -> t.Iterator[t.Any]:
        conn = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 15000")
            if write:
                conn.execute("BEGIN IMMEDIATE")
            cur = conn.cursor()
            try:
                yield cur
            except BaseException:
                if write:
                    conn.execute("ROLLBACK")
                raise
            if write:
                conn.execute("COMMIT")
        finally:
            conn.close()

    def initialize(self, seed: bool = True) -> None:
        conn = sqlite3.connect(self.path, timeout=15)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        super().initialize(seed)


class PostgresStore(Store):
    """PostgreSQL through psycopg 3, with a small pool of idle connections."""

    id_type = "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    paramstyle = "format"

    def __init__(self, url: str, max_idle: int = 4) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "A postgresql:// database URL needs psycopg 3:"
                " pip install 'psycopg[binary]' (or gateway[postgres])."
            ) from None
        self._psycopg = psycopg
        self.url = url
        self.max_idle = max_idle
        self._idle: list[t.Any] = []
        self._lock = threading.Lock()

    def _borrow(self) -> t.Any:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        return self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def _give_back(self, conn: t.Any) -> None:
        if (
            conn.closed
            or conn.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE
        ):
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def _connect(self, write: bool = False) -> t.Iterator[t.Any]:
        """A cursor in a transaction; the server being down or going away
        (refused, terminated, shutting down) is :class:`StoreUnavailable`."""
        try:
            conn = self._borrow()
        except self._psycopg.OperationalError as e:
            raise StoreUnavailable(e) from e
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._psycopg.OperationalError as e:
            conn.close()  # a broken connection never goes back to the pool
            raise StoreUnavailable(e) from e
        finally:
            self._give_back(conn)

    def _lock_for_setup(self, cur: t.Any) -> None:
        # Released when the set-up transaction ends; any constant will do.
        cur.execute("SELECT pg_advisory_xact_lock(7248001)")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def open_store(url: str) -> Store:
    """A store for ``sqlite:///path`` (relative paths allowed:
    ``sqlite:///var/x.db``; absolute: ``sqlite:////abs/x.db``) or
    ``postgresql://user@host:port/db``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("/"):
            path = path[1:]
        if not path:
            raise StoreError(
                f"{url!r}: expected sqlite:///relative/path or sqlite:////absolute/path"
            )
        return SQLiteStore(path)
    if parts.scheme in ("postgres", "postgresql"):
        return PostgresStore(url)
    raise StoreError(
        f"unsupported database URL {url!r}: use sqlite:///path/to/file.sqlite3"
        " or postgresql://user:password@host:port/dbname"
    )
