"""Starting the example site under ``gateway serve`` with one adapter and
talking to it over HTTP or FastCGI, for the reload and timeout tests."""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from server_harness import (
    ServerProcess,
    fastcgi_request,
    free_port,
    http_request,
    require_module,
    require_program,
)
from site_deployments import BASE_DOMAIN, DIRECT_PROXY, gateway_serve, write_site


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> t.Any:
        return json.loads(self.body)


class Client:
    """GET requests to a served site, whatever its protocol."""

    def __init__(self, port: int = 0, socket_path: str = "") -> None:
        self.port = port
        self.socket_path = socket_path

    def get(self, path: str, timeout: float = 20.0) -> Reply:
        if self.socket_path:
            route, _, query = path.partition("?")
            params = {
                "GATEWAY_INTERFACE": "CGI/1.1",
                "REQUEST_METHOD": "GET",
                "SCRIPT_NAME": "",
                "PATH_INFO": route,
                "QUERY_STRING": query,
                "SERVER_NAME": BASE_DOMAIN,
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_HOST": BASE_DOMAIN,
            }
            result = fastcgi_request(self.socket_path, params, timeout=timeout)
            return Reply(result.status, result.body)
        reply = http_request(
            self.port, path, host=f"{BASE_DOMAIN}:{self.port}", timeout=timeout
        )
        return Reply(reply.status, reply.body)

    def ready(self) -> bool:
        try:
            return self.get("/", timeout=2).status == 200
        except OSError:
            return False


def serve_site(
    server_dir: Path,
    adapter: str,
    needs: str,
    args: t.Sequence[str] = (),
    server: t.Mapping[str, t.Any] | None = None,
) -> tuple[ServerProcess, Client]:
    """The example site under ``gateway serve --adapter ADAPTER``, ready:
    on a free loopback port, or on a unix socket for fastcgi. ``needs`` is
    the Python package (or, for uwsgi, the program) the adapter requires."""
    if needs == "uwsgi":
        require_program("uwsgi")
    else:
        require_module(needs)
    if adapter == "fastcgi":
        path = str(server_dir / "fcgi.sock")
        settings: dict[str, t.Any] = {"adapter": adapter, "socket": path}
        client = Client(socket_path=path)
    else:
        port = free_port()
        settings = {"adapter": adapter, "bind": f"127.0.0.1:{port}"}
        client = Client(port=port)
    settings.update(server or {})
    toml = write_site(server_dir, settings, DIRECT_PROXY)
    process = gateway_serve(toml, server_dir, adapter, *args)
    try:
        process.wait_ready(client.ready)
    except BaseException:
        process.stop()
        raise
    return process, client


@dataclass
class Load:
    """Threads sending GET /whoami back to back, each on a new connection,
    until stopped; every failure (refused, reset, non-200) is kept."""

    client: Client
    threads: int = 4
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)
        ]

    def __enter__(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reply = self.client.get("/whoami")
            except OSError as e:
                with self._lock:
                    self.errors.append(repr(e))
                continue
            with self._lock:
                if reply.status == 200:
                    self.ok += 1
                    self.pids.add(reply.json()["pid"])
                else:
                    self.errors.append(f"{reply.status}: {reply.body[:200]!r}")
