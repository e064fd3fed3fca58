"""Entry files: rendering (pure) and running a written one for real."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask_switch_probe import (
    REAL_FLASK,
    SWITCHED,
    probe_env,
    run_child,
    write_probe_site,
)

from gateway.adapters.entry import (
    ENTRY_KINDS,
    EXECUTABLE_KINDS,
    EntryError,
    normalize_kind,
    render_entry,
    write_entry,
)


def run_cgi(entry: Path, env: dict[str, str]) -> tuple[bytes, bytes, bytes]:
    """Run an entry file as a web server runs a CGI program (root cwd, the
    given environment, no stdin); its headers, body and stderr."""
    result = subprocess.run(
        [str(entry)],
        cwd="/",
        env=env,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    return head, body, result.stderr


@pytest.mark.parametrize(
    ("kind", "filename", "executable", "call"),
    [
        pytest.param(
            "mod_wsgi", "acme.wsgi", False, "application = load_application(", id="wsgi"
        ),
        pytest.param(
            "wsgi",
            "acme.wsgi",
            False,
            "application = load_application(",
            id="wsgi-alias",
        ),
        pytest.param(
            "uwsgi",
            "acme_site_uwsgi.py",
            False,
            "application = load_application(",
            id="uwsgi",
        ),
        pytest.param("fastcgi", "acme.fcgi", True, "run_entry(", id="fcgi"),
        pytest.param("fcgi", "acme.fcgi", True, "run_entry(", id="fcgi-alias"),
        pytest.param("cgi", "acme.cgi", True, "run_entry(", id="cgi"),
    ],
)
def test_render_entry(kind, filename, executable, call):
    name = "acme-site" if kind == "uwsgi" else "acme"
    entry = render_entry(
        kind,
        "/srv/acme/gateway.toml",
        name=name,
        python="/opt/py/bin/python3",
        root="/opt/src",
    )
    assert entry.filename == filename
    assert entry.executable is executable
    assert f"{call}'/srv/acme/gateway.toml'" in entry.content
    assert entry.content.startswith("#!/opt/py/bin/python3\n") is executable
    assert "sys.path.append('/opt/src')" in entry.content
    compile(entry.content, entry.filename, "exec")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"kind": "php", "config_path": "/x/gateway.toml"},
            "unknown entry kind 'php'",
            id="kind",
        ),
        pytest.param(
            {"kind": "cgi", "config_path": "gateway.toml"},
            "must be absolute",
            id="relative-toml",
        ),
        pytest.param(
            {"kind": "cgi", "config_path": "/x/gateway.toml", "python": "python3"},
            "#! interpreter must be an absolute path",
            id="relative-python",
        ),
    ],
)
def test_render_entry_rejects(kwargs, message):
    with pytest.raises(EntryError, match=message):
        render_entry(**kwargs)


def test_normalize_kind_lists_choices():
    with pytest.raises(EntryError, match="cgi, fastcgi, fcgi, mod_wsgi, uwsgi, wsgi"):
        normalize_kind("scgi")
    assert EXECUTABLE_KINDS == {"fastcgi", "cgi"}


def test_write_entry_sets_modes(server_dir):
    cgi = write_entry(render_entry("cgi", "/x/gateway.toml"), server_dir / "out")
    wsgi = write_entry(render_entry("wsgi", "/x/gateway.toml"), server_dir / "out")
    assert cgi.is_absolute() and cgi.stat().st_mode & 0o777 == 0o755
    assert wsgi.stat().st_mode & 0o777 == 0o644


def test_wsgi_entry_works_from_any_directory(mini_site, server_dir):
    entry = write_entry(
        render_entry("wsgi", mini_site, name="mini"), server_dir / "entry"
    )
    script = (
        "import runpy, sys\n"
        "from werkzeug.test import Client\n"
        f"ns = runpy.run_path({str(entry)!r})\n"
        "r = Client(ns['application']).get('/x', headers={'Host': 'mini.test'})\n"
        "sys.stderr.write(r.get_data(as_text=True))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.endswith("mini |/x")


def test_cgi_entry_answers_one_request_with_a_clean_stdout(mini_site, server_dir):
    entry = write_entry(
        render_entry("cgi", mini_site, name="mini"), server_dir / "entry"
    )
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/cgi",
        "PATH_INFO": "/x",
        "QUERY_STRING": "",
        "SERVER_NAME": "mini.test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "mini.test",
        "REMOTE_ADDR": "127.0.0.1",
    }
    # No PYTHONPATH, root cwd: what a web server gives a CGI program.
    head, body, stderr = run_cgi(entry, env)
    assert head.startswith(b"Status: 200 OK")
    assert body == b"mini /cgi|/x"
    assert b"print() during a request" in stderr
    assert "PYTHONPATH" not in env and os.access(entry, os.X_OK)


# -- [gateway].flask_compat: applied by what the entry calls ------------------

#: What an entry file may import before it builds the gateway (which turns
#: the Flask compatibility switch on first when the gateway.toml says so).
ENTRY_IMPORTS = {"sys", "gateway.adapters", "gateway.adapters.fastcgi", "gateway.adapters.cgi"}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(set(ENTRY_KINDS.values())))
def test_entry_files_import_only_gateway_before_building_the_gateway(kind):
    tree = ast.parse(render_entry(kind, "/srv/acme/gateway.toml").content)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= ENTRY_IMPORTS


def test_what_entry_files_import_does_not_import_flask(tmp_path):
    script = f"import sys\nimport {', '.join(sorted(ENTRY_IMPORTS))}\n"
    script += "print(sorted(m for m in sys.modules if m.split('.')[0] == 'flask'))\n"
    result = run_child([sys.executable, "-c", script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


@pytest.mark.parametrize(
    ("flask_compat", "core", "switched"),
    [
        pytest.param("true", SWITCHED, True, id="key-true"),
        pytest.param("false", REAL_FLASK, False, id="key-false"),
    ],
)
def test_wsgi_entry_written_by_gateway_entry_applies_flask_compat(
    server_dir, flask_compat, core, switched
):
    toml = write_probe_site(server_dir / "site", flask_compat)
    written = run_child(
        [sys.executable, "-m", "gateway", "entry", "wsgi", toml, "-o", server_dir],
        cwd=server_dir,
    )
    assert written.returncode == 0, written.stderr
    entry = written.stdout.strip()
    script = (
        "import runpy, sys\n"
        "from werkzeug.test import Client\n"
        "ns = runpy.run_path(sys.argv[1])\n"
        "r = Client(ns['application']).get('/core', base_url='http://probe.test')\n"
        "import flask, gateway\n"
        "print(r.status_code, r.get_data(as_text=True))\n"
        "print(flask.Flask is gateway.App)\n"
    )
    result = run_child([sys.executable, "-c", script, entry], cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"200 {core}", str(switched)]


def test_cgi_entry_written_by_gateway_config_applies_flask_compat(server_dir):
    toml = write_probe_site(server_dir / "site", "true")
    written = run_child(
        [sys.executable, "-m", "gateway", "config", "cgi-file", toml, "-o", server_dir],
        cwd=server_dir,
    )
    assert written.returncode == 0, written.stderr
    entry = server_dir / "probe.cgi"
    # What a web server gives a CGI program: no PYTHONPATH, the root as cwd.
    env = probe_env(
        GATEWAY_INTERFACE="CGI/1.1",
        REQUEST_METHOD="GET",
        SCRIPT_NAME="/cgi",
        PATH_INFO="/core",
        QUERY_STRING="",
        SERVER_NAME="probe.test",
        SERVER_PORT="80",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="probe.test",
        REMOTE_ADDR="127.0.0.1",
    )
    env.pop("PYTHONPATH", None)
    head, body, stderr = run_cgi(entry, env)
    assert head.startswith(b"Status: 200 OK")
    assert body.decode() == SWITCHED
