"""Starting real server processes for tests, and talking HTTP to them.

A server under test runs in its own process group on 127.0.0.1, on a free
port or a unix socket in a temporary directory, with a readiness deadline; it
is stopped by signalling its process group, so forked workers (uWSGI,
gunicorn, fcgiwrap's children, Apache's) go with it.

A server program that is not installed skips its tests with the reason; with
``GATEWAY_REQUIRE_SERVERS=1`` (set by scripts/test when it installed them, as
in CI) it fails them instead, so CI never passes by skipping.

Imported by tests/conftest.py (fixtures) and by test modules (helpers).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Seconds a server gets to accept connections before its test fails.
READY_TIMEOUT = float(os.environ.get("GATEWAY_TEST_READY_TIMEOUT", "30"))
#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0

#: Every server started and not yet stopped (their logs go into failure reports).
running: list[ServerProcess] = []


def strict_servers() -> bool:
    """Whether a missing server program fails instead of skipping."""
    return os.environ.get("GATEWAY_REQUIRE_SERVERS", "") not in ("", "0")


def missing(reason: str) -> t.NoReturn:
    """Skip (or, in strict mode, fail) because something is not installed."""
    if strict_servers():
        pytest.fail(f"{reason} (GATEWAY_REQUIRE_SERVERS is set)", pytrace=False)
    pytest.skip(reason)


def require_program(name: str, *candidates: str) -> str:
    """The absolute path of a server program, next to this Python, on PATH,
    or at one of ``candidates``; skip (fail in strict mode) if absent."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(
        name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    )
    if found:
        return found
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    missing(f"{name} is not installed (scripts/test installs it when run as root)")


def require_module(name: str) -> None:
    """Skip (fail in strict mode) when a server's Python package is missing."""
    try:
        __import__(name)
    except ImportError:
        missing(f"the {name!r} package is not installed: pip install -e '.[servers]'")


#: Ports free_port handed out in this run. The kernel may offer the same
#: ephemeral port to two binds in a row; a fixture that asks for two ports
#: must get two (granian, with SO_REUSEPORT, would share one silently).
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1, never one this
    run has handed out before."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def tcp_ready(host: str, port: int) -> t.Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return probe


def unix_ready(path: str | os.PathLike[str]) -> t.Callable[[], bool]:
    def probe() -> bool:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(0.5)
            try:
                sock.connect(os.fspath(path))
                return True
            except OSError:
                return False

    return probe


class ServerFailed(AssertionError):
    """A server exited or did not become ready in time."""


class ServerProcess:
    """One server process (group) with its log files."""

    def __init__(
        self,
        name: str,
        argv: t.Sequence[str],
        log_dir: str | os.PathLike[str],
        *,
        env: t.Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        extra_logs: t.Sequence[str | os.PathLike[str]] = (),
        stdin: int | None = None,
    ) -> None:
        self.name = name
        self.argv = [os.fspath(a) for a in argv]
        self.log_path = Path(log_dir) / f"{name}.log"
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.extra_logs = [Path(p) for p in extra_logs]
        self.stdin = subprocess.DEVNULL if stdin is None else stdin
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=self.stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        running.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(
        self, probe: t.Callable[[], bool], timeout: float = READY_TIMEOUT
    ) -> ServerProcess:
        """Poll ``probe`` until it is true; fail with the logs if the process
        exits first or the deadline passes."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with status {self.proc.returncode} before"
                    f" it was ready: {self.argv}\n{self.logs()}"
                )
            if probe():
                return self
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"{self.name} was not ready after {timeout:g}s: {self.argv}\n"
                    f"{self.logs()}"
                )
            time.sleep(0.05)

    def send_signal(self, signum: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)

    def signal_leader(self, signum: int) -> None:
        """Signal only the process started (``kill PID``), as a supervisor
        with KillMode=mixed does; its workers hear it from it."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signum)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(
        self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT
    ) -> int | None:
        """Signal the process group, wait, then kill what is left."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.send_signal(signum)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.send_signal(signal.SIGKILL)
                self.proc.wait(5)
        # Children that outlive their leader (fcgiwrap -c N) are in the group.
        self.send_signal(signal.SIGKILL)
        if self in running:
            running.remove(self)
        return self.proc.returncode

    def logs(self, lines: int = 80) -> str:
        """The tail of the server's output and extra log files."""
        parts = []
        for path in [self.log_path, *self.extra_logs]:
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"----- {path} -----\n{tail}")
        return "\n".join(parts)


def world_readable_tempdir(prefix: str) -> Path:
    """A temporary directory servers running as another user (www-data)
    can enter; pytest's own tmp_path is private to root."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@dataclass
class HTTPResult:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> t.Any:
        import json

        return json.loads(self.body)


def scrape_metrics(
    port: int, host: str, logs: t.Callable[[], str] | None = None
) -> dict[str, t.Any]:
    """One scrape of ``/_gateway/metrics`` on its own connection: the
    per-tenant totals (:func:`gateway.dispatch.metrics.tenant_totals`).
    ``logs`` adds the server's output to the message of a failed scrape."""
    from gateway.dispatch.metrics import tenant_totals

    result = http_request(
        port, "/_gateway/metrics", host=host, headers={"Connection": "close"}
    )
    assert result.status == 200, (
        f"{result.text[:300]}\n{logs() if logs is not None else ''}"
    )
    return tenant_totals(result.text)


def http_request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    host: str | None = None,
    headers: t.Mapping[str, str] | None = None,
    body: bytes | None = None,
    address: str = "127.0.0.1",
    source: str | None = None,
    timeout: float = 20.0,
    unix: str | None = None,
    tls: bool = False,
) -> HTTPResult:
    """One HTTP/1.1 request with full control of the Host header, raw header
    names (underscores included) and the client's source address. ``tls``
    speaks HTTPS without verifying the (self-signed) certificate."""
    if unix is not None:
        conn: http.client.HTTPConnection = _UnixHTTPConnection(unix, timeout)
    elif tls:
        conn = _SNIConnection(
            address,
            port,
            sni=(host or address).rsplit(":", 1)[0],
            timeout=timeout,
            source_address=(source, 0) if source else None,
        )
    else:
        conn = http.client.HTTPConnection(
            address,
            port,
            timeout=timeout,
            source_address=(source, 0) if source else None,
        )
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"{address}:{port}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return HTTPResult(response.status, response.headers, response.read())
    finally:
        conn.close()


def _unverified_tls() -> t.Any:
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _SNIConnection(http.client.HTTPConnection):
    """HTTPS to an address, naming the virtual host in TLS SNI (as a browser
    would for the Host it asks for); the certificate is not verified."""

    def __init__(self, address: str, port: int, *, sni: str, **kwargs: t.Any) -> None:
        super().__init__(address, port, **kwargs)
        self.sni = sni

    def connect(self) -> None:
        super().connect()
        self.sock = _unverified_tls().wrap_socket(self.sock, server_hostname=self.sni)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def http_ready(
    port: int, path: str = "/", host: str | None = None
) -> t.Callable[[], bool]:
    """Ready when the server answers any HTTP status on ``path``."""

    def probe() -> bool:
        try:
            http_request(port, path, host=host, timeout=2)
            return True
        except (OSError, http.client.HTTPException):
            return False

    return probe


def wait_for_log(process: ServerProcess, text: str, timeout: float = 10.0) -> bool:
    """Whether ``text`` shows up in the server's logs before the deadline
    (servers write some lines after the response is out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in process.logs(100000):
            return True
        time.sleep(0.05)
    return False


class GatedStream:
    """A GET of a ``/stream?gate=FILE`` view that sends one line, then waits
    until FILE exists before finishing.

    Reading the first line while the gate is closed proves the response is
    streamed (a buffering server would deliver nothing until the app gives
    up); opening the gate lets the request finish. It is also a request that
    is provably in flight, for graceful-stop tests.
    """

    def __init__(
        self,
        port: int,
        path: str,
        gate: Path,
        *,
        host: str | None = None,
        address: str = "127.0.0.1",
        timeout: float = 30.0,
        tls: bool = False,
    ) -> None:
        self.gate = gate
        if tls:
            self.conn: http.client.HTTPConnection = _SNIConnection(
                address, port, sni=(host or address).rsplit(":", 1)[0], timeout=timeout
            )
        else:
            self.conn = http.client.HTTPConnection(address, port, timeout=timeout)
        separator = "&" if "?" in path else "?"
        self.conn.putrequest("GET", f"{path}{separator}gate={gate}", skip_host=True)
        self.conn.putheader("Host", host or f"{address}:{port}")
        self.conn.endheaders()
        self.response = self.conn.getresponse()

    def first_line(self) -> bytes:
        return self.response.readline()

    def release(self) -> None:
        self.gate.touch()
        self.gate.chmod(0o644)

    def rest(self) -> bytes:
        try:
            return self.response.read()
        finally:
            self.conn.close()


def connection_refused(port: int, address: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def eventually(predicate: t.Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


# -- a minimal FastCGI client (to test the flup adapter without a web server) --

_FCGI_BEGIN, _FCGI_END, _FCGI_PARAMS, _FCGI_STDIN, _FCGI_STDOUT, _FCGI_STDERR = (
    1,
    3,
    4,
    5,
    6,
    7,
)


def _fcgi_record(kind: int, content: bytes, request_id: int = 1) -> bytes:
    import struct

    padding = -len(content) % 8
    header = struct.pack(">BBHHBx", 1, kind, request_id, len(content), padding)
    return header + content + b"\0" * padding


def _fcgi_length(n: int) -> bytes:
    import struct

    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


@dataclass
class FastCGIResult:
    status: int
    headers: dict[str, str]
    body: bytes
    stderr: bytes


def fastcgi_request_bytes(params: t.Mapping[str, str], body: bytes = b"") -> bytes:
    """The records of one FastCGI responder request (request id 1)."""
    import struct

    pairs = b"".join(
        _fcgi_length(len(k.encode()))
        + _fcgi_length(len(v.encode()))
        + k.encode()
        + v.encode()
        for k, v in params.items()
    )
    out = _fcgi_record(_FCGI_BEGIN, struct.pack(">HB5x", 1, 0))
    out += _fcgi_record(_FCGI_PARAMS, pairs) + _fcgi_record(_FCGI_PARAMS, b"")
    for start in range(0, len(body), 32768):
        out += _fcgi_record(_FCGI_STDIN, body[start : start + 32768])
    return out + _fcgi_record(_FCGI_STDIN, b"")


def fastcgi_request(
    address: str | tuple[str, int],
    params: t.Mapping[str, str],
    body: bytes = b"",
    timeout: float = 20.0,
) -> FastCGIResult:
    """Send one FastCGI responder request; return the parsed CGI response."""
    import struct

    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(fastcgi_request_bytes(params, body))
        data = b""
        stdout, stderr = b"", b""
        while True:
            while len(data) < 8:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("FastCGI server closed the connection early")
                data += chunk
            _, kind, _, length, padding = struct.unpack(">BBHHBx", data[:8])
            while len(data) < 8 + length + padding:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("FastCGI server closed the connection early")
                data += chunk
            content, data = data[8 : 8 + length], data[8 + length + padding :]
            if kind == _FCGI_STDOUT:
                stdout += content
            elif kind == _FCGI_STDERR:
                stderr += content
            elif kind == _FCGI_END:
                break
    head, _, payload = stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(headers.pop("status", "200").split()[0])
    return FastCGIResult(status, headers, payload, stderr)


def announce_body(
    port: int,
    path: str,
    host: str,
    length: int,
    timeout: float = 10.0,
    content_type: str = "application/x-www-form-urlencoded",
) -> tuple[int, bytes, float]:
    """Send the head of a POST of ``length`` bytes and none of its body;
    return the status and (what arrived of) the body of the response, and
    the seconds it took. Fails when no answer comes within ``timeout``: a
    server that waits for the body instead of refusing it by its length."""
    import select

    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        start = time.monotonic()
        sock.sendall(head.encode())
        readable, _, _ = select.select([sock], [], [], timeout)
        assert readable, f"no answer in {timeout}s without the body: it waits for it"
        response = http.client.HTTPResponse(sock)
        response.begin()
        try:
            body = response.read()
        except http.client.IncompleteRead as e:  # closed at once: the body never came
            body = e.partial
        return response.status, body, time.monotonic() - start


def self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` in ``directory``: a self-signed certificate
    for ``name`` and ``*.name``, made by openssl (skip when it is absent).
    The key is world-readable: Apache's www-data workers read it too."""
    openssl = require_program("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name},DNS:*.{name}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    key.chmod(0o644)
    return cert, key
