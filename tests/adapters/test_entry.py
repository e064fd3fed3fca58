"""Entry files: rendering (pure) and running a written one for real."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gateway.adapters.entry import (
    EXECUTABLE_KINDS,
    EntryError,
    normalize_kind,
    render_entry,
    write_entry,
)


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
    assert head.startswith(b"Status: 200 OK")
    assert body == b"mini /cgi|/x"
    assert b"print() during a request" in result.stderr
    assert "PYTHONPATH" not in env and os.access(entry, os.X_OK)
