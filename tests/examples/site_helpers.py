"""Helpers for the multi-tenant example's tests (imported by conftest.py and
the test modules; a unique module name, since tests/ has no packages)."""

from __future__ import annotations

import http.client
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from server_harness import free_port
from werkzeug.test import Client, TestResponse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "multitenant"
CONFIG = EXAMPLE / "gateway.toml"

if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

from hosting import DATABASE_URL_ENV  # noqa: E402

# open_store is re-exported for conftest.py.
from hosting.store import open_store  # noqa: E402, F401

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = _CSRF_RE.search(html)
    assert match is not None, "the page has no form with a csrf_token"
    return match.group(1)


# -- in process ---------------------------------------------------------------


class SiteClient:
    """Werkzeug's test client on the composed gateway, one cookie jar per
    host (as a browser keeps them), requests from 127.0.0.1 by default."""

    def __init__(self, gateway: t.Any, port: int = 8000) -> None:
        self.gateway = gateway
        self.port = port
        self.client = Client(gateway)
        self._bare = Client(gateway, use_cookies=False)

    def url(self, host: str) -> str:
        name = f"{host}.localhost" if host else "localhost"
        return f"http://{name}:{self.port}"

    def get(self, host: str, path: str, **kw: t.Any) -> TestResponse:
        kw.setdefault("environ_base", {"REMOTE_ADDR": "127.0.0.1"})
        kw.setdefault("buffered", True)  # read and close the body (static files)
        return self.client.get(path, base_url=self.url(host), **kw)

    def post(
        self, host: str, path: str, data: dict[str, str], **kw: t.Any
    ) -> TestResponse:
        kw.setdefault("environ_base", {"REMOTE_ADDR": "127.0.0.1"})
        return self.client.post(path, base_url=self.url(host), data=data, **kw)

    def get_with_cookie(self, host: str, path: str, cookie: str) -> TestResponse:
        """GET with exactly this ``Cookie`` header, outside the cookie jars
        (Werkzeug's client would replace it with the jar's cookies)."""
        return self._bare.get(
            path,
            base_url=self.url(host),
            headers={"Cookie": cookie},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            buffered=True,
        )

    def form(
        self, host: str, page: str, action: str, data: dict[str, str], **kw: t.Any
    ) -> TestResponse:
        """Load ``page`` (for its CSRF token), then POST ``data`` to ``action``."""
        token = csrf_from(self.get(host, page).text)
        return self.post(host, action, {**data, "csrf_token": token}, **kw)

    def login(
        self, host: str, username: str = "demo", password: str = "demo"
    ) -> TestResponse:
        return self.form(
            host, "/login", "/login", {"username": username, "password": password}
        )

    @property
    def registry(self) -> t.Any:
        return self.gateway.registry


def build_site() -> t.Any:
    from gateway.dispatch import build_gateway, load_config

    return build_gateway(load_config(CONFIG))


# -- real servers -------------------------------------------------------------


class Server:
    """``gateway serve`` in a child process on 127.0.0.1, stopped by pid."""

    def __init__(
        self, config: Path, env: dict[str, str], log: Path, args: t.Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                str(config),
                "--bind",
                f"127.0.0.1:{self.port}",
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"gateway serve exited with {self.proc.returncode}:\n{self.log()}"
                )
            try:
                status, _, _ = raw_request(
                    self.port, "GET", "localhost", "/_gateway/health"
                )
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(
            f"gateway serve did not answer within {timeout}s:\n{self.log()}"
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 15 s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()
        return self.proc.returncode


def raw_request(
    port: int,
    method: str,
    host: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, list[str]], bytes]:
    """One HTTP request to 127.0.0.1:port with ``Host: host:port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            method,
            path,
            body=body,
            headers={"Host": f"{host}:{port}", **(headers or {})},
        )
        response = conn.getresponse()
        data = response.read()
        out: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            out.setdefault(name.lower(), []).append(value)
        return response.status, out, data
    finally:
        conn.close()


class HttpClient:
    """A tiny browser over http.client: a cookie jar per host (host-only
    cookies, as the site sets them), form posts with the CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.jars: dict[str, SimpleCookie] = {}

    @staticmethod
    def host(tenant: str) -> str:
        return f"{tenant}.localhost" if tenant else "localhost"

    def request(
        self, method: str, tenant: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, list[str]], str]:
        host = self.host(tenant)
        jar = self.jars.setdefault(host, SimpleCookie())
        headers = {}
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, response_headers, data = raw_request(
            self.port, method, host, path, body, headers
        )
        for value in response_headers.get("set-cookie", []):
            jar.load(value)
        return status, response_headers, data.decode("utf-8", "replace")

    def get(self, tenant: str, path: str) -> tuple[int, dict[str, list[str]], str]:
        return self.request("GET", tenant, path)

    def submit(
        self, tenant: str, page: str, action: str, data: dict[str, str]
    ) -> tuple[int, dict[str, list[str]], str]:
        _, _, html = self.get(tenant, page)
        return self.request(
            "POST", tenant, action, {**data, "csrf_token": csrf_from(html)}
        )


def add_tenant(browser: HttpClient, slug: str, name: str) -> None:
    """Add a tenant through the admin form (owner ``owner`` / ``pass1234``)."""
    status, _, html = browser.submit(
        "",
        "/admin/",
        "/admin/tenants",
        {
            "slug": slug,
            "name": name,
            "tagline": "",
            "theme": "forest",
            "username": "owner",
            "password": "pass1234",
        },
    )
    assert status == 302, html


def wait_until(predicate: t.Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` every 50 ms until true; returns the seconds it took.
    Fails (with ``what``) after ``timeout`` seconds: a bound, not a measure."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.05)


def server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env[DATABASE_URL_ENV] = database_url
    env.pop("GATEWAY_DEBUG", None)
    return env


# -- a throw-away PostgreSQL server ------------------------------------------


def postgres_bindir() -> Path | None:
    """The directory of Debian's (or any) PostgreSQL server programs."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: (
            int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """initdb + pg_ctl on a temporary data directory and a loopback port.

    PostgreSQL refuses to run as root, so when the tests run as root the
    server programs run as the ``postgres`` user (``runuser``). Stopped with
    ``pg_ctl stop -m fast``, and by the postmaster's pid if that fails.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="gateway-pg-", dir="/tmp"))
        self.data = self.base / "data"
        self.sockets = self.base / "sock"
        self.logfile = self.base / "postgres.log"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root and there is no 'postgres' user"
                ) from None
            self.prefix = ["runuser", "-u", "postgres", "--"]
            self.sockets.mkdir()
            for path in (self.base, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
        else:
            self.sockets.mkdir()
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        done = subprocess.run(
            [*self.prefix, *args],
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n{self.log()}"
            )

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data),
            "-U", "postgres",
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        self.started = True
        self.resume()

    def resume(self) -> None:
        """Start the server on its data directory; returns once it accepts
        connections (``pg_ctl start -w``)."""
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(self.data),
            "-l", str(self.logfile),
            "-o", options,
            "-w", "-t", "60",
            "start",
        )  # fmt: skip

    def pause(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``: open connections are
        terminated), keeping its data for :meth:`resume`."""
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(self.data),
            "-m", "fast", "-w", "-t", "30",
            "stop",
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        try:
            if self.started:
                try:
                    self.pause()
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
