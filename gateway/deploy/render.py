"""Rendering plans into file contents with the Jinja2 templates.

The templates live in the repository's top-level ``deploy/`` directory (one
folder per server). A wheel carries them as ``gateway/deploy/templates/``
(``pyproject.toml`` maps the folder into the package), so the package looks
there first and falls back to the source checkout for an editable install.

This module also fills the defaults that depend on the machine rendering
(the interpreter, mod_wsgi's module path), so :mod:`~gateway.deploy.model`
stays pure.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

import jinja2

from ..toml.values import format_size
from .kinds import Plan, plan
from .model import DeployError, DeployOptions, build_site

if t.TYPE_CHECKING:  # pragma: no cover
    from gateway.toml import GatewayConfig

#: Sub-directories of the template folder, one per server (plus entry files).
TEMPLATE_GROUPS = ("nginx", "apache", "lighttpd", "systemd", "supervisor", "uwsgi")


def template_dir() -> Path:
    """The directory holding the ``nginx/``, ``apache/``... template folders.

    ``gateway/deploy/templates`` in an installed wheel, the repository's
    ``deploy/`` in a source checkout (editable install).
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent.parent / "deploy"):
        if all((candidate / group).is_dir() for group in TEMPLATE_GROUPS):
            return candidate
    raise RuntimeError(
        f"the deploy templates are missing: looked in {here / 'templates'} and"
        f" {here.parent.parent / 'deploy'}; reinstall the gateway package"
    )


# -- quoting filters: every value that reaches a config file goes through one ----------

_BARE = re.compile(r"[^\s\"'#;{}\\$]+")


def nginx_quote(value: object) -> str:
    """An nginx string: bare when safe, else double-quoted."""
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def apache_quote(value: object) -> str:
    """An Apache argument, always double-quoted."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def lighttpd_quote(value: object) -> str:
    """A lighttpd string literal (only ``\\"`` is an escape there: a regular
    expression keeps its backslashes)."""
    return '"' + str(value).replace('"', '\\"') + '"'


def systemd_escape(value: object) -> str:
    """A systemd setting value: ``%`` starts a specifier, so it is doubled."""
    return str(value).replace("%", "%%")


def systemd_arg(value: object) -> str:
    """One ``ExecStart=`` argument: specifiers and variables escaped, quoted
    when it contains spaces or quotes."""
    text = systemd_escape(value).replace("$", "$$")
    if not text or re.search(r"[\s\"'\\;]", text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def supervisor_arg(value: object) -> str:
    """One argument of a supervisor ``command=`` (shell-like words; ``%``
    starts an expansion there)."""
    return shlex.quote(str(value)).replace("%", "%%")


def supervisor_value(value: object) -> str:
    return str(value).replace("%", "%%")


def host_regex(names: t.Iterable[str]) -> str:
    """A regular expression matching a ``Host`` header (port allowed) for
    nginx-style server names: ``example.com``, ``*.example.com``, ``.example.com``."""
    parts = []
    for name in names:
        if name.startswith("*."):
            parts.append(r".+\." + re.escape(name[2:]))
        elif name.startswith("."):
            parts.append(r"(.+\.)?" + re.escape(name[1:]))
        else:
            parts.append(re.escape(name))
    return "^(" + "|".join(parts) + ")(:[0-9]+)?$"


def ini_value(value: object) -> str:
    """A uWSGI ini value: ``%`` starts a magic variable, so it is refused."""
    text = str(value)
    if "%" in text or "\n" in text:
        raise DeployError(
            f"{text!r} cannot be written in a uWSGI ini (it contains '%')"
        )
    return text


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the deploy templates (strict: an undefined
    name is an error, never an empty string in a server config)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(
        nq=nginx_quote,
        aq=apache_quote,
        lq=lighttpd_quote,
        sd=systemd_escape,
        sdarg=systemd_arg,
        suparg=supervisor_arg,
        supv=supervisor_value,
        ini=ini_value,
        re_escape=re.escape,
        host_regex=host_regex,
        size=format_size,
    )
    return env


# -- machine-dependent defaults ------------------------------------------------------------


def _mod_wsgi_module() -> str:
    """The mod_wsgi module installed with pip beside this Python, or "".

    Asks ``mod_wsgi-express module-config``, the command mod_wsgi documents for
    this, rather than a module attribute that moved between mod_wsgi 5 and 6.
    """
    beside = Path(sys.executable).parent / "mod_wsgi-express"
    express = str(beside) if beside.is_file() else shutil.which("mod_wsgi-express")
    if not express:
        return ""
    try:
        result = subprocess.run(
            [express, "module-config"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    found = re.search(r'^LoadModule\s+wsgi_module\s+"?([^"\n]+)"?', result.stdout, re.M)
    return found.group(1).strip() if found else ""


def _machine_defaults(
    kind: str, config: GatewayConfig, options: dict[str, t.Any]
) -> None:
    if not options.get("python"):
        home = config.server.python_home.rstrip("/")
        if not home or Path(home).resolve() == Path(sys.prefix).resolve():
            options["python"] = sys.executable
    if (
        kind == "apache"
        and options.get("standalone")
        and not options.get("mod_wsgi_module")
    ):
        found = _mod_wsgi_module()
        if found:
            options["mod_wsgi_module"] = found


def make_plan(kind: str, config: GatewayConfig, **options: t.Any) -> Plan:
    """Validate ``config`` for ``kind`` and decide what to write.

    Raises :class:`~gateway.deploy.model.DeployError` naming the gateway.toml
    key or the option that cannot be expressed.
    """
    options = dict(options)
    _machine_defaults(kind, config, options)
    opts = DeployOptions.from_kwargs(options)
    site = build_site(kind, config, opts)
    return plan(site, config)


def render_plan(result: Plan) -> dict[str, str]:
    """The contents of every file of ``result`` (relative name -> text)."""
    env = environment()
    files: dict[str, str] = {}
    for output in result.files:
        if output.template:
            template = env.get_template(output.template)
            files[output.name] = template.render(
                site=result.site, kind=result.kind, **result.context
            )
        else:
            files[output.name] = output.content
    return files


def render(kind: str, config: GatewayConfig, **options: t.Any) -> dict[str, str]:
    """Render the server files of ``kind`` for ``config``.

    Returns relative file name -> content. ``options`` are the fields of
    :class:`~gateway.deploy.model.DeployOptions` (ports, standalone mode,
    paths on the target machine).
    """
    return render_plan(make_plan(kind, config, **options))
