"""The CGI adapter: a clean stdout, a drained body, a bare 500."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from gateway.adapters.cgi import read_body, run

HERE = __import__("pathlib").Path(__file__).parent


def cgi_environ(
    path: str = "/env", method: str = "GET", **extra: str
) -> dict[str, str]:
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "/app.cgi",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "example.test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
    }
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("environ", "stream", "expected", "left"),
    [
        pytest.param(
            {"CONTENT_LENGTH": "5"}, b"hello world", b"hello", b" world", id="length"
        ),
        pytest.param(
            {"CONTENT_LENGTH": "50"}, b"short", b"short", b"", id="short-body"
        ),
        pytest.param(
            {"REQUEST_METHOD": "POST"}, b"to eof", b"to eof", b"", id="no-length-post"
        ),
        pytest.param(
            {"REQUEST_METHOD": "GET"}, b"junk", b"", b"junk", id="get-reads-nothing"
        ),
        pytest.param({"CONTENT_LENGTH": ""}, b"x", b"", b"x", id="empty-length-get"),
    ],
)
def test_read_body(environ, stream, expected, left):
    source = io.BytesIO(stream)
    with read_body(source, environ) as body:
        assert body.read() == expected
    assert source.read() == left


def _app(environ, start_response):
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError("boom: this traceback belongs in the log only")
    print("noise from print()")
    data = environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [
        b"got ",
        data,
        b" at ",
        environ["SCRIPT_NAME"].encode(),
        environ["PATH_INFO"].encode(),
    ]


def test_print_goes_to_stderr_and_stdout_is_the_response(capsys):
    out = io.BytesIO()
    run(
        _app,
        stdin=io.BytesIO(b"abc"),
        stdout=out,
        environ=cgi_environ("/x", "POST", CONTENT_LENGTH="3"),
    )
    assert out.getvalue().endswith(b"\r\n\r\ngot abc at /app.cgi/x")
    assert out.getvalue().startswith(b"Status: 201 Created\r\n")
    assert b"noise" not in out.getvalue()
    assert "noise from print()" in capsys.readouterr().err


def test_failure_is_a_bare_500_with_the_traceback_on_stderr(capsys):
    out = io.BytesIO()
    run(_app, stdin=io.BytesIO(b""), stdout=out, environ=cgi_environ("/fail"))
    assert out.getvalue().startswith(b"Status: 500")
    assert b"boom" not in out.getvalue()
    assert "boom: this traceback belongs in the log only" in capsys.readouterr().err


def test_a_large_body_the_app_ignores_is_consumed(server_dir):
    """The server writes the whole body to the CGI program's stdin; if the
    program exits without reading it, the server's write fails (EPIPE) and the
    response is lost."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from plain_app import application\n"
        "from gateway.adapters.cgi import run\n"
        "run(application)\n"
    )
    body = b"z" * (4 * 1024 * 1024)
    env = cgi_environ("/ignore-body", "POST", CONTENT_LENGTH=str(len(body)))
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = proc.communicate(body, timeout=60)  # BrokenPipeError if not drained
    assert proc.returncode == 0, err
    head, _, payload = out.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200 OK")
    assert payload == b"ignored " * 2000
