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
