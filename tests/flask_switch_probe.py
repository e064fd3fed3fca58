"""A gateway.toml serving an unmodified Flask application that tells which
core runs it, for the tests of ``[gateway].flask_compat``.

Those tests run gateway in child processes: the suite's own process imported
the real Flask first (conftest.py), so the switch cannot be turned on in it.
The application reports two things, as ``core=... names=...``:

- ``core``: the module of ``flask.Flask``, ``gateway.app`` under the switch and
  ``flask.app`` with the real Flask;
- ``names``: what ``app.config.from_prefixed_env()`` read, from
  ``FLASK_SWITCH_PROBE=flask`` or ``GATEWAY_SWITCH_PROBE=gateway``: ``flask``
  when Flask's names are primary. The ``gateway`` command turns the switch on
  by itself, with gateway's names, when an installed extension declares
  ``flask.commands`` plug-ins; only the switch turned on by the key (or the
  environment variable, which the children never get) gives both
  ``gateway.app`` and ``flask``.
"""

from __future__ import annotations

import os
import subprocess
import typing as t
from pathlib import Path

#: What the probe reports when the key turned the switch on.
SWITCHED = "core=gateway.app names=flask"
#: What it reports on the real Flask.
REAL_FLASK = "core=flask.app names=flask"
#: What it reports when the gateway command turned the switch on itself, as
#: it does before loading an app with --app (gateway's names stay primary).
COMMAND_SWITCH = "core=gateway.app names=gateway"

PROBE_APP = """\
import sys

from flask import Flask

app = Flask(__name__)
app.config.from_prefixed_env()


def describe(app):
    return f"core={Flask.__module__} names={app.config.get('SWITCH_PROBE')}"


@app.route("/core")
def core():
    return describe(app)


def create_tenant(key):
    tenant = Flask(__name__)
    tenant.config.from_prefixed_env()
    tenant.add_url_rule("/core", "core", lambda: describe(tenant))
    return tenant


print(f"probe_app imported: {describe(app)}", file=sys.stderr)
"""

#: Where the probe app is named in the gateway.toml -> (lines under
#: [gateway], other tables, the host and path of its /core page).
SERVED_BY: dict[str, tuple[str, str, str, str]] = {
    "default_app": ('default_app = "probe_app:app"\n', "", "probe.test", "/core"),
    "mount": ("", '[[mounts]]\nprefix = "/m"\napp = "probe_app:app"\n', "probe.test", "/m/core"),
    "host": ("", '[hosts]\n"other.test" = "probe_app:app"\n', "other.test", "/core"),
    "tenants": ("", '[tenants]\nfactory = "probe_app:create_tenant"\n', "acme.probe.test", "/core"),
}  # fmt: skip

#: A child process's script: build the gateway of argv[1], GET argv[3] on
#: host argv[2], print the page and whether flask.Flask is gateway.App.
BUILD_AND_GET = """\
import sys

from werkzeug.test import Client

from gateway.dispatch import build_gateway, load_config

application = build_gateway(load_config(sys.argv[1]))
response = Client(application).get(sys.argv[3], base_url=f"http://{sys.argv[2]}")
import flask
import gateway

print(response.status_code, response.get_data(as_text=True))
print("flask.Flask is gateway.App:", flask.Flask is gateway.App)
"""


def write_probe_site(
    directory: Path, flask_compat: str | None = "true", served_by: str = "default_app"
) -> Path:
    """Write ``probe_app.py`` and a ``gateway.toml`` naming it into
    ``directory``; ``flask_compat`` is the key's TOML value (None: no key).
    Returns the toml's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "probe_app.py").write_text(PROBE_APP)
    in_gateway, tables, _, _ = SERVED_BY[served_by]
    key = f"flask_compat = {flask_compat}\n" if flask_compat is not None else ""
    toml = directory / "gateway.toml"
    toml.write_text(
        f'[gateway]\nname = "probe"\nbase_domain = "probe.test"\n{key}{in_gateway}'
        + tables
    )
    return toml


def probe_env(**extra: str) -> dict[str, str]:
    """This environment without any GATEWAY_* or FLASK_* variable (so no
    GATEWAY_FLASK_COMPAT), plus the probe's two."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "FLASK_")) and k != "PYTHONSTARTUP"
    }
    env.update(FLASK_SWITCH_PROBE="flask", GATEWAY_SWITCH_PROBE="gateway", **extra)
    return env


def run_child(
    argv: t.Sequence[str | os.PathLike[str]], cwd: str | os.PathLike[str]
) -> subprocess.CompletedProcess[str]:
    """Run a child process with :func:`probe_env` to completion."""
    return subprocess.run(
        [os.fspath(a) for a in argv],
        cwd=cwd,
        env=probe_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
