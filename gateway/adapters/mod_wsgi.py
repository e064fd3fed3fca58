"""mod_wsgi: Apache runs the gateway in daemon processes.

In production Apache's own configuration (``gateway config apache``) points
``WSGIScriptAlias`` at the ``.wsgi`` entry file (``gateway entry mod_wsgi``),
with ``WSGIDaemonProcess ... python-home=`` selecting the virtualenv; mod_wsgi
drops request headers whose names contain ``_`` and, since 4.x, sends
``print`` output to the error log instead of refusing it.

``gateway serve --adapter mod_wsgi`` runs ``mod_wsgi-express start-server``
(the pip-installed mod_wsgi) on a generated entry file, which is the quickest
way to try the same set-up. As root, Apache's children run as
``[server].user``/``group``; that account must be able to reach this Python
installation and the gateway's files, which is checked before starting.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import typing as t
from pathlib import Path

from . import CannotServe, find_executable
from .entry import render_entry
from .options import ServeOptions

if t.TYPE_CHECKING:  # pragma: no cover
    from gateway.toml import GatewayConfig


def untraversable_ancestor(
    path: str | os.PathLike[str], uid: int, gids: t.Collection[int]
) -> Path | None:
    """The first directory on the way to ``path`` that an account with
    ``uid``/``gids`` may not enter (no search permission), or None."""
    if uid == 0:
        return None
    current = Path(path).resolve()
    for directory in [*reversed(current.parents), current]:
        try:
            st = directory.stat()
        except OSError:
            return directory
        if not stat.S_ISDIR(st.st_mode):
            continue
        if st.st_uid == uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid in gids:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def check_reachable(user: str, group: str, paths: t.Iterable[str]) -> None:
    """Raise :class:`CannotServe` if ``user`` cannot reach one of ``paths``
    (the Python installation, the gateway.toml directory, the entry file)."""
    import grp
    import pwd

    try:
        account = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid
    except KeyError as e:
        raise CannotServe(f"[server].user/group: unknown account {e.args[0]}") from None
    gids = {gid, account.pw_gid} | {
        g.gr_gid for g in grp.getgrall() if user in g.gr_mem
    }
    for path in paths:
        blocked = untraversable_ancestor(path, account.pw_uid, gids)
        if blocked is not None:
            mode = (
                oct(blocked.stat().st_mode & 0o777) if blocked.exists() else "missing"
            )
            raise CannotServe(
                f"Apache's children run as {user!r}, which cannot enter {blocked}"
                f" (mode {mode}) on the way to {path}: give it search permission"
                f" (chmod o+x {blocked}) or install Python and the site where"
                f" {user!r} can read them"
            )


def join_metrics_directory(config: GatewayConfig) -> str:
    """Inside mod_wsgi with ``[metrics]`` on: share prometheus_client's
    multiprocess directory with the other processes of this Apache, so one
    scrape sums them all. The directory is ``PROMETHEUS_MULTIPROC_DIR`` if
    the server's environment sets it (``gateway serve --adapter mod_wsgi``
    does), else ``[metrics].directory`` or its default; the first process to
    load the gateway after Apache started empties it (Apache's parent
    process, which forks every daemon process, names the run). With one
    process and no directory set, metrics stay in the process. Returns the
    directory ("" for none); called before the gateway is built."""
    from gateway.dispatch.multiprocess import directory_for, join, shared_directory

    mod_wsgi = sys.modules.get("mod_wsgi")
    if mod_wsgi is None or not config.metrics.enabled:
        return ""
    directory = shared_directory()
    if not directory:
        processes = getattr(mod_wsgi, "maximum_processes", None)
        if isinstance(processes, int) and processes <= 1:
            return ""
        directory = directory_for(config)
    return join(directory, os.getppid())


def hand_over_metrics_directory(user: str, group: str) -> None:
    """``gateway serve`` as root prepared the metrics directory (mode 0700,
    root's): give it to the account the daemon processes run as, which
    write their files there (no-op without one)."""
    import grp
    import pwd

    from gateway.dispatch.multiprocess import shared_directory

    directory = shared_directory()
    if directory:
        os.chown(directory, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)


def daemon_options(options: ServeOptions) -> list[tuple[str, str]]:
    """The options of the mod_wsgi daemon processes that run the gateway:
    ``mod_wsgi-express`` takes them as ``--name value`` (and writes them into
    its ``WSGIDaemonProcess``), ``gateway config apache`` writes them into
    its own ``WSGIDaemonProcess`` as ``name=value``. Declared once here, so
    the two run the same processes; the gateway's graceful timeout is the
    time a stopping daemon process gives requests in flight."""
    return [
        ("processes", str(options.workers)),
        ("threads", str(options.threads)),
        # Both LANG and LC_ALL: the default locale of this machine is missing.
        ("lang", "C.UTF-8"),
        ("locale", "C.UTF-8"),
        ("shutdown-timeout", str(max(1, round(options.graceful_timeout)))),
    ]


def express_argv(
    executable: str,
    entry_path: str,
    server_root: str,
    options: ServeOptions,
    *,
    as_root: bool,
) -> list[str]:
    """The ``mod_wsgi-express start-server`` command line (pure)."""
    if isinstance(options.bind, str):
        raise CannotServe(
            "mod_wsgi-express listens on TCP only: set [server].bind to 'host:port'"
        )
    host, port = options.bind
    argv = [
        executable,
        "start-server",
        entry_path,
        "--host",
        host,
        "--port",
        str(port),
        "--server-root",
        server_root,
        "--log-to-terminal",
        "--access-log",
    ]
    for name, value in daemon_options(options):
        argv += [f"--{name}", value]
    if as_root:
        argv += ["--user", options.user, "--group", options.group]
    return argv


def serve_config(config: GatewayConfig, options: ServeOptions) -> None:
    """``gateway serve --adapter mod_wsgi``: exec mod_wsgi-express."""
    executable = find_executable(
        "mod_wsgi-express",
        "mod_wsgi",
        "pip install 'gateway[servers]' (needs Apache and its headers:"
        " apt-get install apache2 apache2-dev)",
    )
    if config.path is None:
        raise CannotServe("mod_wsgi loads the gateway from a gateway.toml file path")
    toml = config.path.resolve()
    port = options.bind[1] if not isinstance(options.bind, str) else 0
    server_root = Path(tempfile.gettempdir()) / f"gateway-mod_wsgi-{config.name}-{port}"
    server_root.mkdir(parents=True, exist_ok=True)
    server_root.chmod(0o755)
    entry = render_entry("mod_wsgi", toml, name=config.name)
    content = entry.content
    if options.script_name:
        content += (
            "\nfrom gateway.adapters.middleware import with_script_name\n\n"
            f"application = with_script_name(application, {options.script_name!r})\n"
        )
    entry_path = server_root / entry.filename
    entry_path.write_text(content, encoding="utf-8")
    entry_path.chmod(0o644)
    as_root = os.geteuid() == 0
    if as_root:
        check_reachable(
            options.user,
            options.group,
            [sys.base_prefix, sys.prefix, str(toml.parent), str(entry_path)],
        )
        hand_over_metrics_directory(options.user, options.group)
    os.execv(
        executable,
        express_argv(
            executable, str(entry_path), str(server_root), options, as_root=as_root
        ),
    )
