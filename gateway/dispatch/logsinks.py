"""Where access log lines go: a file, standard output or standard error.

Each line is one ``os.write`` to a descriptor opened with ``O_APPEND``, so
the lines of several worker processes appending to one file never cut into
each other, and nothing sits in a buffer when a worker dies. A file renamed
or removed by log rotation is noticed within a second and opened anew.

A destination that fails (a full disk, a closed pipe, a removed directory)
never fails the request: the line is dropped, counted, and the failure is
reported on standard error at most once a minute.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import typing as t

from ..config import ConfigError

#: How often a file destination checks that its path still names the file it
#: writes to (log rotation), in seconds.
REOPEN_CHECK = 1.0
#: How often a failing destination says so on standard error, in seconds.
REPORT_EVERY = 60.0

_FILE_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class Sink:
    """Writes whole lines to a file descriptor, never raising.

    :param fd: the descriptor; :param name: how error messages name it.
    """

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        #: Lines lost to write errors since the start.
        self.dropped = 0
        self._reported = -REPORT_EVERY

    def write(self, line: bytes) -> None:
        """Write ``line`` (ending in a newline) in one system call."""
        try:
            os.write(self.fd, line)
        except OSError as e:
            self.failed(e)

    def failed(self, error: OSError) -> None:
        """Count a lost line and say why, at most once per :data:`REPORT_EVERY`."""
        self.dropped += 1
        now = time.monotonic()
        if now - self._reported < REPORT_EVERY:
            return
        self._reported = now
        try:
            sys.stderr.write(
                f"gateway: access log {self.name}: {error.strerror or error};"
                f" {self.dropped} line(s) dropped so far, requests still served\n"
            )
            sys.stderr.flush()
        except Exception:  # noqa: S110 - stderr itself is gone: nothing to tell
            pass

    def close(self) -> None:
        """Nothing to close for a standard stream."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class FileSink(Sink):
    """Appends to ``path``, reopening it when rotation moved it away.

    Opening happens here, so a path that cannot be written fails at
    construction with the reason.
    """

    def __init__(self, path: str, *, where: str = "access log") -> None:
        self.path = path
        try:
            fd = os.open(path, _FILE_FLAGS, 0o644)
        except OSError as e:
            raise ConfigError(
                f"{where}: cannot open {path!r} for appending: {e.strerror}"
                " (create its directory and let the server's user write there)"
            ) from None
        super().__init__(fd, repr(path))
        self._identity = self._stat_fd(fd)
        self._next_check = time.monotonic() + REOPEN_CHECK
        self._lock = threading.Lock()

    @staticmethod
    def _stat_fd(fd: int) -> tuple[int, int] | None:
        try:
            st = os.fstat(fd)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def write(self, line: bytes) -> None:
        if time.monotonic() >= self._next_check:
            self._check_rotated()
        try:
            os.write(self.fd, line)
        except OSError as e:
            self.failed(e)

    def _check_rotated(self) -> None:
        """Open the path anew when it no longer names the open file."""
        with self._lock:
            now = time.monotonic()
            if now < self._next_check:
                return  # another thread just checked
            self._next_check = now + REOPEN_CHECK
            try:
                st = os.stat(self.path)
                current: tuple[int, int] | None = (st.st_dev, st.st_ino)
            except OSError:
                current = None
            if current is not None and current == self._identity:
                return
            try:
                fd = os.open(self.path, _FILE_FLAGS, 0o644)
            except OSError as e:
                self.failed(e)  # keep writing to the old file meanwhile
                return
            old, self.fd = self.fd, fd
            self._identity = self._stat_fd(fd)
            os.close(old)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def open_sink(destination: str, *, where: str = "[logging].access") -> Sink:
    """The sink of an ``[logging].access`` value other than ``"off"``:
    ``"on"`` and ``"stdout"`` are standard output, ``"stderr"`` standard
    error, anything else a file path."""
    if destination in ("on", "stdout"):
        return Sink(1, "stdout")
    if destination == "stderr":
        return Sink(2, "stderr")
    if not destination or destination == "off":
        raise ConfigError(f"{where}: no destination: {destination!r}")
    return FileSink(destination, where=where)


def sink_for(destination: str | Sink | t.Any) -> Sink:
    """A :class:`Sink` from a destination string, or the sink given."""
    if isinstance(destination, Sink):
        return destination
    if isinstance(destination, str):
        return open_sink(destination)
    raise TypeError(
        f"access log destination must be a string or a Sink, got {destination!r}"
    )
