"""The master process ``gateway serve`` runs for the one-process servers
(gevent, tornado, fastcgi): a stable PID that owns the listening socket and
runs the server in a child, so that SIGHUP can bring in new code without a
moment where nobody listens.

- **Start**: the master binds the socket, then starts a child: a fresh
  interpreter (``python -c CHILD``) that reads the gateway.toml, builds the
  gateway and serves on the inherited socket. The child reports on a pipe
  when it accepts connections (:func:`.sockets.announce`).
- **SIGHUP**, a graceful reload: a new child starts the same way (new code,
  the gateway.toml read again) while the old one keeps serving. Once the new
  one is ready, the old one gets SIGTERM: it stops accepting and finishes its
  in-flight requests (``graceful_timeout``). Both accept on the same socket
  meanwhile, so no connection is refused. A new child that fails (broken
  gateway.toml, import error, not ready within :data:`START_TIMEOUT`) is
  reported and stopped; the old one keeps serving.
- **SIGTERM / SIGINT**: the children get one SIGTERM (graceful stop); the
  master waits for them up to ``graceful_timeout`` plus :data:`STOP_MARGIN`,
  then kills what is left. A second SIGTERM / SIGINT kills them at once.
- A child that dies on its own is started again after :data:`RESPAWN_DELAY`
  (connections wait in the socket's backlog meanwhile).

What a reload cannot change: the listening address and the adapter (the
socket stays open), nor the ``gateway serve`` options.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import typing as t

from gateway.dispatch.multiprocess import process_exit

from .options import Address, ServeOptions
from .sockets import READY, bind_socket, describe, remove_socket_file

#: The adapters ``gateway serve`` runs under this master.
MANAGED_ADAPTERS = ("gevent", "tornado", "fastcgi")

#: The signal that reloads gracefully, under this master as under gunicorn
#: and uWSGI; systemd units and supervisor docs are written from it.
RELOAD_SIGNAL = signal.SIGHUP

#: Seconds a new child has to build the gateway and accept connections.
START_TIMEOUT = 60.0
#: Seconds, beyond ``graceful_timeout``, before stopping children are killed.
STOP_MARGIN = 5.0
#: Seconds between the death of a child and the start of its replacement.
RESPAWN_DELAY = 1.0

#: Run by ``python -c`` in each child: gevent must patch the standard library
#: before anything imports it. Arguments: adapter, gateway.toml path, the JSON
#: of the ``gateway serve`` options.
CHILD = (
    "import sys\n"
    "if sys.argv[1] == 'gevent':\n"
    "    from gevent import monkey; monkey.patch_all()\n"
    "from gateway.adapters.master import child_main\n"
    "sys.exit(child_main(sys.argv[1:]))\n"
)


def stop_signals(managed: bool) -> tuple[signal.Signals, ...]:
    """The signals a server stops on: SIGTERM and SIGINT, or only SIGTERM in
    a child of the master, which turns a Ctrl-C (sent to the whole process
    group) into one SIGTERM itself."""
    if managed:
        return (signal.SIGTERM,)
    return (signal.SIGTERM, signal.SIGINT)


def child_argv(
    adapter: str, config_path: str, overrides: dict[str, t.Any]
) -> list[str]:
    """The command line of one child."""
    return [
        sys.executable,
        "-c",
        CHILD,
        adapter,
        config_path,
        json.dumps(overrides, sort_keys=True),
    ]


def child_main(argv: list[str]) -> int:
    """Entry of :data:`CHILD`: ``[adapter, config_path, overrides_json]``."""
    from .cli import run_serve

    adapter, config_path, overrides = argv[0], argv[1], json.loads(argv[2])
    # The master handles these; a terminal's Ctrl-C or hang-up reaches the
    # whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    stop_with_the_master()
    return run_serve(config_path, adapter, overrides, child=True)


def stop_with_the_master() -> None:
    """Have the kernel send this child SIGTERM (a graceful stop) when the
    master dies, even by SIGKILL: an orphan would keep the socket and serve
    old code while a restarted master cannot bind. Linux only (prctl)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() == 1:  # the master died before the call
        os.kill(os.getpid(), signal.SIGTERM)


#: Run by ``python -c`` to check that a gateway.toml and the code it names
#: load, in a fresh interpreter, before gunicorn's arbiter reloads.
CHECK = (
    "import sys\n"
    "from gateway.adapters import load_application\n"
    "load_application(sys.argv[1])\n"
)


def check_loads(config_path: str) -> str | None:
    """None when ``config_path`` and the applications it names load in a
    fresh interpreter (as a new child or worker would), else why not: the
    end of that interpreter's error output."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHECK, config_path],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return f"loading took more than {START_TIMEOUT:g}s"
    if result.returncode == 0:
        return None
    lines = result.stderr.strip().splitlines()
    return "\n".join(lines[-5:]) or f"exit status {result.returncode}"


def log(message: str) -> None:
    print(
        f"gateway: master (pid {os.getpid()}): {message}", file=sys.stderr, flush=True
    )


class Master:
    """Runs ``adapter`` in a child on ``address`` and handles the signals
    described in the module docstring. :meth:`run` returns the exit status."""

    def __init__(
        self,
        adapter: str,
        config_path: str,
        overrides: dict[str, t.Any],
        options: ServeOptions,
        address: Address,
    ) -> None:
        if adapter not in MANAGED_ADAPTERS:
            raise ValueError(
                f"adapter {adapter!r} does not run under the master process;"
                f" choose one of {', '.join(MANAGED_ADAPTERS)}"
            )
        self.adapter = adapter
        self.config_path = config_path
        self.overrides = dict(overrides)
        self.options = options
        self.address = address
        self.current: subprocess.Popen[bytes] | None = None
        #: Old children finishing their requests after a reload, with the
        #: time past which they are killed (as on a stop).
        self.retiring: dict[subprocess.Popen[bytes], float] = {}
        self._signals: list[int] = []
        self._wake_r = self._wake_w = -1

    # -- the main loop -----------------------------------------------------------

    def run(self) -> int:
        self.listener = bind_socket(self.address)
        previous = self._install_signals()
        try:
            log(f"{self.adapter} on {describe(self.address)}; SIGHUP reloads")
            self.current = self._start_child()
            if self.current is None:
                return 0 if self._stop_pending() else 1
            return self._loop()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(-1)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self.listener.close()
            remove_socket_file(self.address, inherited=False)

    def _loop(self) -> int:
        respawn_at = 0.0
        while True:
            for signum in self._wait_signals(0.5):
                if signum == RELOAD_SIGNAL:
                    self._reload()
                else:
                    return self._stop()
            self._reap()
            if self.current is not None and self.current.poll() is not None:
                log(
                    f"child {self.current.pid} exited with status"
                    f" {self.current.returncode}; starting another in"
                    f" {RESPAWN_DELAY:g}s"
                )
                process_exit(self.current.pid)
                self.current = None
                respawn_at = time.monotonic() + RESPAWN_DELAY
            if self.current is None and time.monotonic() >= respawn_at:
                self.current = self._start_child()
                respawn_at = time.monotonic() + RESPAWN_DELAY

    def _reload(self) -> None:
        log(
            "SIGHUP: starting a new child with the code and gateway.toml as they are now"
        )
        new = self._start_child()
        if new is None:
            log("reload failed; the running child keeps serving")
            return
        old, self.current = self.current, new
        if old is not None and old.poll() is None:
            log(f"new child {new.pid} ready; old child {old.pid} finishes its requests")
            old.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.options.graceful_timeout + STOP_MARGIN
            self.retiring[old] = deadline

    def _stop(self) -> int:
        children = [c for c in (self.current, *self.retiring) if c is not None]
        log(
            f"stopping (waiting up to {self.options.graceful_timeout:g}s for"
            " in-flight requests)"
        )
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.options.graceful_timeout + STOP_MARGIN
        while any(c.poll() is None for c in children):
            left = deadline - time.monotonic()
            again = self._wait_signals(min(max(left, 0), 0.2))
            if left <= 0 or any(signum != RELOAD_SIGNAL for signum in again):
                # Out of time, or a second SIGTERM / SIGINT: stop now.
                log("stopping now")
                for child in children:
                    if child.poll() is None:
                        child.kill()
                for child in children:
                    child.wait()
                break
        return 0

    def _reap(self) -> None:
        for child, deadline in list(self.retiring.items()):
            if child.poll() is None and time.monotonic() > deadline:
                log(f"old child {child.pid} still running past its graceful timeout")
                child.kill()
                child.wait()
            if child.poll() is not None:
                log(f"old child {child.pid} finished (status {child.returncode})")
                process_exit(child.pid)
                del self.retiring[child]

    # -- children ------------------------------------------------------------------

    def _start_child(self) -> subprocess.Popen[bytes] | None:
        """A child ready to serve, or None (reported) when it fails to start.
        A stop signal arriving meanwhile is kept for the main loop."""
        ready_r, ready_w = os.pipe()
        fd = self.listener.fileno()
        overrides = {**self.overrides, "listen_fd": fd, "ready_fd": ready_w}
        try:
            child = subprocess.Popen(
                child_argv(self.adapter, self.config_path, overrides),
                pass_fds=(fd, ready_w),
            )
        except OSError as e:
            os.close(ready_r)
            os.close(ready_w)
            log(f"cannot start a child: {e}")
            return None
        os.close(ready_w)
        try:
            if self._wait_ready(child, ready_r):
                return child
        finally:
            os.close(ready_r)
        if child.poll() is None:
            if not self._stop_pending():
                log(f"child {child.pid} not ready within {START_TIMEOUT:g}s")
            child.kill()
        child.wait()
        log(f"child {child.pid} failed to start (status {child.returncode})")
        return None

    def _wait_ready(self, child: subprocess.Popen[bytes], ready_r: int) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([ready_r, self._wake_r], [], [], left)
            if self._wake_r in readable:
                self._drain_wakeups()
            if ready_r in readable:
                # b"" (end of file): the child exited, or closed the pipe
                # without saying it was ready.
                return os.read(ready_r, len(READY)) == READY
            if self._stop_pending():
                return False
        return False

    def _stop_pending(self) -> bool:
        return any(signum != RELOAD_SIGNAL for signum in self._signals)

    # -- signals -------------------------------------------------------------------

    def _install_signals(self) -> dict[int, t.Any]:
        """Signal numbers go through a pipe (``set_wakeup_fd``), so the loop
        handles one thing at a time, never inside a handler."""
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        previous: dict[int, t.Any] = {}
        for signum in (RELOAD_SIGNAL, signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: t.Any) -> None:
        """Nothing to do here: the wake-up pipe carries the number."""

    def _drain_wakeups(self) -> None:
        try:
            self._signals.extend(os.read(self._wake_r, 64))
        except BlockingIOError:
            pass

    def _wait_signals(self, timeout: float) -> list[int]:
        """Signals received so far, waiting up to ``timeout`` for one."""
        if not self._signals:
            readable, _, _ = select.select([self._wake_r], [], [], timeout)
            if readable:
                self._drain_wakeups()
        seen, self._signals = self._signals, []
        return seen


def run_master(
    adapter: str, config_path: str, overrides: dict[str, t.Any], options: ServeOptions
) -> int:
    """Serve under a master; the listening address comes from ``options``."""
    address = options.socket if adapter == "fastcgi" else options.bind
    return Master(adapter, config_path, overrides, options, address).run()
