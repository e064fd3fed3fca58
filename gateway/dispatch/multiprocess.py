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
  directory before starting (``gateway config``).
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
        for stale in path.glob("*.db"):
            stale.unlink()
    except OSError as e:
        from ..config import ConfigError

        raise ConfigError(
            f"[metrics].directory {directory!r} cannot be used: {e}"
            " (point it to a writable directory)"
        ) from None
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
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:  # ended just now
        return False
    except OSError:  # no /proc: the signal said it exists
        return True
    # "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
    return stat[stat.rindex(b")") + 2 :][:1] != b"Z"


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
