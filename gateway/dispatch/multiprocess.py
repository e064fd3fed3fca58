"""prometheus_client's multiprocess directory, handled in one place.

With several worker processes each one counts its own requests; for a scrape
answered by any of them to report the sum, prometheus_client keeps every
process's values in files of one directory (``PROMETHEUS_MULTIPROC_DIR``)
and sums them when asked. The lifecycle:

- the server's master (``gateway serve``, before any worker exists) calls
  :func:`prepare`: it creates the directory, removes what an earlier run
  left there, and sets the variable that workers inherit;
- every worker that exits calls :func:`process_exit` with its pid (gunicorn's
  ``child_exit`` hook, uWSGI's and the master/child adapters' exit), so its
  in-flight gauges stop counting; its counters stay, as they must;
- servers that say nothing when a worker ends (granian, mod_wsgi) are
  covered by every scrape: :func:`sweep_dead` drops the live gauges of the
  processes that no longer run before the files are summed;
- the generated systemd and supervisor units set the variable and clean the
  directory before starting (``gateway config``);
- where no master of ours runs first (Apache with mod_wsgi), each process
  calls :func:`join` as it loads the gateway: the first one after
  the server started empties it, the others keep what it holds.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:  # pragma: no cover
    from ..toml import GatewayConfig

#: The variable prometheus_client reads.
ENV = "PROMETHEUS_MULTIPROC_DIR"


def directory_for(config: GatewayConfig, listen: str = "") -> str:
    """``[metrics].directory``, or ``gateway-NAME-LISTEN-metrics`` in the
    temporary directory: two servers of one gateway.toml on two addresses
    (``--bind``) must not share, and so empty, one directory."""
    if config.metrics.directory:
        return config.metrics.directory
    where = re.sub(r"[^A-Za-z0-9.]+", "_", listen).strip("_")
    name = (
        f"gateway-{config.name}-{where}-metrics"
        if where
        else f"gateway-{config.name}-metrics"
    )
    return os.path.join(tempfile.gettempdir(), name)


def shared_directory() -> str:
    """The multiprocess directory in use ("" for none: one process)."""
    return os.environ.get(ENV, "")


def prepare(directory: str) -> str:
    """Create ``directory`` (mode 0700), empty it of prometheus_client's
    files and make it this process's and its children's multiprocess
    directory. Returns it."""
    path = Path(directory)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _empty(path)
    except OSError as e:
        raise _unusable(directory, e) from None
    return _use(path)


def _empty(path: Path) -> None:
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def _unusable(directory: str, error: OSError) -> Exception:
    from ..config import ConfigError

    return ConfigError(
        f"[metrics].directory {directory!r} cannot be used: {error}"
        " (point it to a writable directory)"
    )


#: In a directory that processes :func:`join`: the server whose processes
#: write there now ("PID START"), and the lock its check runs under.
SERVER_FILE = "server"
LOCK_FILE = "server.lock"


def join(directory: str, server: int) -> str:
    """Make ``directory`` this process's multiprocess directory, emptying it
    first if the processes writing there belong to an earlier run: for
    servers whose workers load the gateway with no master of ours before
    them (Apache with mod_wsgi). ``server`` is the pid of the process that
    lives as long as the server (Apache's parent, which forks every
    mod_wsgi process): the first process to join after it started empties
    the directory; the others, and processes that replace them while it
    runs, keep the counts. Returns the directory."""
    import fcntl

    path = Path(directory)
    this_run = f"{server} {_start_time(server)}"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(path / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            marker = path / SERVER_FILE
            try:
                last_run = marker.read_text(encoding="ascii").strip()
            except FileNotFoundError:
                last_run = ""
            if last_run != this_run:
                _empty(path)
                marker.write_text(this_run + "\n", encoding="ascii")
    except OSError as e:
        raise _unusable(directory, e) from None
    return _use(path)


def _stat(pid: int) -> list[bytes]:
    """The fields of ``/proc/PID/stat`` from the state (field 3) on: what
    comes before is "PID (COMM) ", and COMM may hold spaces and
    parentheses. Raises OSError (FileNotFoundError: no such process)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return stat[stat.rindex(b")") + 2 :].split()


def _start_time(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot ("" where
    there is no /proc): with the pid it names one run of a server, even if
    a later one gets the same pid."""
    try:
        return _stat(pid)[19].decode("ascii")  # field 22
    except (OSError, ValueError, IndexError):
        return ""


def _use(path: Path) -> str:
    """Make ``path`` the multiprocess directory of this process (and its
    children), even if prometheus_client is imported already."""
    os.environ[ENV] = str(path)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported already: values go to files from now on
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return str(path)


def prepare_for_serve(config: GatewayConfig, listen: str = "") -> str:
    """What ``gateway serve`` does before starting a server listening on
    ``listen``: with ``[metrics].enabled``, :func:`prepare` its directory
    ("" otherwise)."""
    if not config.metrics.enabled:
        return ""
    return prepare(directory_for(config, listen))


def process_exit(pid: int) -> None:
    """A worker process ended: drop its live gauges (no-op without a
    multiprocess directory)."""
    directory = shared_directory()
    if not directory:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


#: prometheus_client's file of a process's live gauges (``liveall``,
#: ``livesum``, ``livemax``, ...): ``gauge_live<mode>_<pid>.db``.
_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, dead but not yet
    reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process (mod_wsgi, Apache)
        pass
    try:
        state = _stat(pid)[0]
    except FileNotFoundError:  # ended just now
        return False
    except OSError:  # no /proc: the signal said it exists
        return True
    return state != b"Z"


def sweep_dead(directory: str = "") -> list[int]:
    """Drop the live gauges (in-flight requests, registry sizes) of every
    process with files in ``directory`` (default: the one in use) that no
    longer runs; returns their pids. Its counters stay. Safe to run in
    several processes at once; a directory that cannot be read is left as
    it is. A pid the system gave to a new process since counts as alive
    until that one ends."""
    directory = directory or shared_directory()
    if not directory:
        return []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    files: dict[int, list[str]] = {}
    for name in names:
        match = _LIVE_FILE.fullmatch(name)
        if match is not None:
            files.setdefault(int(match.group(1)), []).append(name)
    dead = sorted(pid for pid in files if pid != os.getpid() and not alive(pid))
    for pid in dead:
        for name in files[pid]:
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:  # another process swept it first
                pass
            except OSError:  # not ours to remove: left for the next sweep
                break
    return dead


def exit_hook_under_uwsgi() -> None:
    """Inside uWSGI with a multiprocess directory: every worker calls
    :func:`process_exit` with its pid as it ends (uWSGI runs the ``atexit``
    of its ``uwsgi`` module in each worker; one set before is kept)."""
    uwsgi = sys.modules.get("uwsgi")
    if uwsgi is None or not shared_directory():
        return
    previous = getattr(uwsgi, "atexit", None)

    def at_exit() -> None:
        process_exit(os.getpid())
        if callable(previous):
            previous()

    uwsgi.atexit = at_exit  # type: ignore[attr-defined]
