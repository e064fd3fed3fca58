#!/usr/bin/env python3
"""Screenshots of the multi-tenant example, taken with a real headless browser.

Starts ``gateway serve examples/multitenant/gateway.toml`` on 127.0.0.1 (port
8000 when free, else any free port) with a fresh SQLite tenant store in a
file under the example's ``var/`` (removed afterwards), sends a few requests
so the registry has something to show, and has Debian's headless Chromium
photograph:

- ``landing.png``       http://localhost:PORT/
- ``tenant-acme.png``   http://acme.localhost:PORT/          (a tenant page)
- ``tenant-bistro.png`` http://bistro.localhost:PORT/about   (another tenant, another theme)
- ``admin.png``         http://localhost:PORT/admin/         (the admin page)
- ``docs.png``          http://localhost:PORT/docs/mounts
- ``traffic.png``       http://localhost:PORT/admin/traffic  (after a minute of
  traffic to three tenants, under two gunicorn workers)

Chromium resolves ``*.localhost`` to loopback by itself. The server is
stopped by its pid at the end, whatever happens. Usage::

    python scripts/screenshots.py [--out docs/screenshots] [--chromium PATH]
                                  [--only traffic.png ...]

Install Chromium with ``apt-get install -y chromium`` if it is missing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "multitenant" / "gateway.toml"

#: (file name, host prefix ("" = bare domain), path, window height)
SHOTS: tuple[tuple[str, str, str, int], ...] = (
    ("landing.png", "", "/", 900),
    ("tenant-acme.png", "acme.", "/", 900),
    ("tenant-bistro.png", "bistro.", "/about", 900),
    ("admin.png", "", "/admin/", 1000),
    ("docs.png", "", "/docs/mounts", 900),
    ("traffic.png", "", "/admin/traffic", 640),
)
#: Seconds of varied traffic before the traffic page is photographed, and
#: the admin's sampling interval meanwhile (MULTITENANT_TRAFFIC_SAMPLE).
TRAFFIC_SECONDS = 60
TRAFFIC_SAMPLE = 3

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # Let the page finish loading and painting before the picture is taken.
    "--virtual-time-budget=5000",
)


def pick_port(preferred: int = 8000) -> int:
    """``preferred`` if nothing listens there, else a free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


def find_chromium(given: str | None) -> str:
    for name in (given, "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    raise SystemExit(
        "Chromium is not installed: apt-get install -y chromium (or pass --chromium PATH)"
    )


def get(port: int, host: str, path: str) -> int:
    """One GET through the gateway with a chosen Host; returns the status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_for_health(
    port: int, proc: subprocess.Popen[bytes], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway serve exited with status {proc.returncode}")
        try:
            if get(port, f"localhost:{port}", "/_gateway/health") == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gateway serve did not answer within {timeout:g}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server, then SIGKILL it if it has not stopped in 10 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def screenshot(chromium: str, url: str, out: Path, height: int, workdir: Path) -> None:
    """Photograph ``url`` into ``out`` with a fresh browser profile."""
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=workdir))
    cmd = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size=1280,{height}",
        f"--screenshot={out}",
        url,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"chromium took more than 90 s on {url}") from None
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"chromium failed on {url} (status {proc.returncode}):\n"
            + output.decode(errors="replace")[-2000:]
        )


def make_traffic(port: int) -> None:
    """TRAFFIC_SECONDS of requests to three tenants, uneven and changing,
    so the traffic page has shapes to draw; the admin page is viewed first in both workers so each samples."""
    for _ in range(8):
        get(port, f"localhost:{port}", "/admin/traffic")
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < TRAFFIC_SECONDS:
        tick += 1
        phase = (time.monotonic() - start) / TRAFFIC_SECONDS
        get(port, f"acme.localhost:{port}", "/")
        if tick % 2 == 0:
            get(port, f"bistro.localhost:{port}", "/about")
        if phase > 0.4 and tick % 3 == 0:
            get(port, f"nimbus.localhost:{port}", "/")
        time.sleep(0.05 + 0.1 * phase)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--chromium", help="path of the browser (default: chromium on PATH)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="FILE", help="take only these shots"
    )
    args = parser.parse_args(argv)
    shots = [s for s in SHOTS if not args.only or s[0] in args.only]
    traffic = any(s[0] == "traffic.png" for s in shots)
    chromium = find_chromium(args.chromium)
    args.out.mkdir(parents=True, exist_ok=True)
    port = pick_port()

    # A fresh store in the example's (git-ignored) var/, which the admin shows
    # as sqlite:///var/screenshots.sqlite3; removed at the end.
    database = CONFIG.parent / "var" / "screenshots.sqlite3"
    with tempfile.TemporaryDirectory(prefix="gateway-shots-") as tmp:
        workdir = Path(tmp)
        _remove_database(database)
        env = dict(os.environ)
        env["MULTITENANT_DATABASE_URL"] = f"sqlite:///{database}"
        env["MULTITENANT_TRAFFIC_SAMPLE"] = str(TRAFFIC_SAMPLE)
        # Two workers, so the traffic page shows counts summed over them.
        workers = ["--adapter", "gunicorn", "--workers", "2"] if traffic else []
        log = (workdir / "serve.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                str(CONFIG),
                "--bind",
                f"127.0.0.1:{port}",
                *workers,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_health(port, proc)
            # Some traffic, so the admin's registry counters are not all zero.
            for host, path in (
                ("acme", "/"),
                ("acme", "/about"),
                ("bistro", "/"),
                ("nimbus", "/"),
            ):
                get(port, f"{host}.localhost:{port}", path)
            get(port, f"nope.localhost:{port}", "/")
            if traffic:
                make_traffic(port)
            for name, prefix, path, height in shots:
                url = f"http://{prefix}localhost:{port}{path}"
                target = args.out / name
                target.unlink(missing_ok=True)
                screenshot(chromium, url, target, height, workdir)
                print(
                    f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  <-  {url}"
                )
        except Exception:
            log.flush()
            sys.stderr.write(
                (workdir / "serve.log").read_text(errors="replace")[-3000:]
            )
            raise
        finally:
            stop(proc)
            log.close()
            _remove_database(database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
