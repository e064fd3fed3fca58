"""Entry files: the small Python files a server loads or executes.

===========  ======================  ===========================================
adapter      file                    loaded by
===========  ======================  ===========================================
mod_wsgi     ``NAME.wsgi``           Apache ``WSGIScriptAlias``, mod_wsgi-express
uwsgi        ``NAME_uwsgi.py``       ``uwsgi --wsgi-file`` (``application``)
fastcgi      ``NAME.fcgi``           executed: mod_fcgid, lighttpd, supervisor,
                                     or by hand with ``[server].socket``
cgi          ``NAME.cgi``            executed per request: ScriptAlias, fcgiwrap
===========  ======================  ===========================================

Every file names its gateway.toml by absolute path, so it works whatever the
server's working directory, and adds the directory holding the ``gateway``
package to ``sys.path`` only if the interpreter cannot import it otherwise
(web servers pass no ``PYTHONPATH``). Executable entries get a ``#!`` line
with the absolute path of the Python that wrote them.

Each builds the gateway from the file when it starts (through
:func:`~gateway.adapters.load_application` or a ``run_entry``, both ending in
:meth:`Gateway.from_config <gateway.dispatch.Gateway.from_config>`), so
``[gateway].flask_compat = true`` turns the Flask compatibility switch on
before any application is imported, and an edit of the file needs no new
entry file. Nothing an entry file imports before that imports ``flask``.

Rendering is pure (no file system access) and shared with
``gateway.deploy.render(..., "wsgi-file" | "fcgi-file" | "cgi-file")``.
"""

from __future__ import annotations

import os
import re
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

if t.TYPE_CHECKING:  # pragma: no cover
    from gateway.toml import GatewayConfig

#: Accepted spellings of each entry kind (``gateway entry KIND``).
ENTRY_KINDS: dict[str, str] = {
    "mod_wsgi": "mod_wsgi",
    "wsgi": "mod_wsgi",
    "uwsgi": "uwsgi",
    "fastcgi": "fastcgi",
    "fcgi": "fastcgi",
    "cgi": "cgi",
}

_HEADER = '''\
{shebang}"""{title} for the gateway described by {toml}.

Written by `gateway entry {kind}`; {loaded_by}.
The configuration is found by absolute path: the working directory of the
server does not matter.
"""

import sys

try:
    import gateway.adapters  # noqa: F401
except ImportError:  # web servers pass no PYTHONPATH
    sys.path.append({package_root!r})

'''

_BODIES: dict[str, tuple[str, str, str, str]] = {
    # kind: (file name pattern, title, loaded by, body)
    "mod_wsgi": (
        "{name}.wsgi",
        "mod_wsgi entry",
        "Apache's WSGIScriptAlias (or mod_wsgi-express) points at it and calls"
        " `application`",
        "from gateway.adapters import load_application\n\n"
        "application = load_application({toml!r})\n",
    ),
    "uwsgi": (
        "{ident}_uwsgi.py",
        "uWSGI entry",
        "`uwsgi --wsgi-file` loads it and calls `application`",
        "from gateway.adapters import load_application\n\n"
        "application = load_application({toml!r})\n",
    ),
    "fastcgi": (
        "{name}.fcgi",
        "FastCGI (flup) program",
        "a web server spawns it with a socket on stdin, or run it by hand to"
        " listen on [server].socket",
        "from gateway.adapters.fastcgi import run_entry\n\n"
        'if __name__ == "__main__":\n'
        "    run_entry({toml!r}, __file__)\n",
    ),
    "cgi": (
        "{name}.cgi",
        "CGI program",
        "the web server executes it once per request",
        "from gateway.adapters.cgi import run_entry\n\n"
        'if __name__ == "__main__":\n'
        "    run_entry({toml!r}, __file__)\n",
    ),
}

#: Kinds whose file the server executes (needs the executable bit and ``#!``).
EXECUTABLE_KINDS = frozenset({"fastcgi", "cgi"})


@dataclass(frozen=True)
class EntryFile:
    """A rendered entry file: relative file name, text and whether it must be
    executable (mode 0755)."""

    filename: str
    content: str
    executable: bool


class EntryError(ValueError):
    """An entry file that cannot be written as asked."""


def normalize_kind(kind: str) -> str:
    """The canonical entry kind for a spelling, or :class:`EntryError`."""
    try:
        return ENTRY_KINDS[kind]
    except KeyError:
        choices = ", ".join(sorted(set(ENTRY_KINDS)))
        raise EntryError(
            f"unknown entry kind {kind!r}; choose one of: {choices}"
        ) from None


def package_root() -> str:
    """The directory holding the ``gateway`` package (for ``sys.path``)."""
    import gateway

    return str(Path(gateway.__file__).resolve().parent.parent)


def render_entry(
    kind: str,
    config_path: str | os.PathLike[str],
    *,
    name: str = "gateway",
    python: str | None = None,
    root: str | None = None,
) -> EntryFile:
    """Render the entry file of ``kind`` for the gateway.toml at ``config_path``.

    ``config_path`` must be absolute (a relative one would tie the file to
    the server's working directory). ``python`` is the interpreter of the
    ``#!`` line (default: this one); ``root`` the directory added to
    ``sys.path`` when ``gateway`` is not importable (default: where it is now).
    """
    kind = normalize_kind(kind)
    toml = os.fspath(config_path)
    if not os.path.isabs(toml):
        raise EntryError(
            f"the gateway.toml path must be absolute in an entry file, got {toml!r}"
        )
    interpreter = python or sys.executable
    if kind in EXECUTABLE_KINDS and not os.path.isabs(interpreter):
        raise EntryError(
            f"the #! interpreter must be an absolute path, got {interpreter!r}"
        )
    pattern, title, loaded_by, body = _BODIES[kind]
    ident = re.sub(r"\W", "_", name) or "gateway"
    shebang = f"#!{interpreter}\n" if kind in EXECUTABLE_KINDS else ""
    text = _HEADER.format(
        shebang=shebang,
        title=title,
        toml=toml,
        kind=kind,
        loaded_by=loaded_by,
        package_root=root or package_root(),
    ) + body.format(toml=toml)
    return EntryFile(
        filename=pattern.format(name=name, ident=ident),
        content=text,
        executable=kind in EXECUTABLE_KINDS,
    )


def render_for_config(
    kind: str, config: GatewayConfig, *, python: str | None = None
) -> EntryFile:
    """:func:`render_entry` for a loaded config (its path and name)."""
    if config.path is None:
        raise EntryError(
            "this configuration was built in Python, not read from a file: entry"
            " files need the absolute path of a gateway.toml to load"
        )
    return render_entry(kind, config.path.resolve(), name=config.name, python=python)


def write_entry(entry: EntryFile, directory: str | os.PathLike[str]) -> Path:
    """Write ``entry`` into ``directory`` (created if needed); return its
    absolute path. Executable entries get mode 0755, others 0644."""
    target_dir = Path(directory).resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / entry.filename
    target.write_text(entry.content, encoding="utf-8")
    target.chmod(0o755 if entry.executable else 0o644)
    return target
