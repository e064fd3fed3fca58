"""Where access log lines go: a file, standard output or standard error.

Lines are written with ``os.write`` to a descriptor opened with
``O_APPEND``, whole lines per call (at most ``PIPE_BUF`` bytes a call to a
pipe), so the lines of several worker processes appending to one file or
one pipe never cut into each other. A file renamed or removed by log
rotation is noticed within a second and opened anew.

:class:`Batch` decides when. A line is written at once when the last write
is :data:`BATCH_SECONDS` old or more, so a server with sparse traffic writes
each line as its request ends; busier, lines wait in memory, up to
:data:`BATCH_LINES` of them or :data:`BATCH_SECONDS`, and many share one
``os.write``. The lines are formatted when they are written, together. The
system call, and taking the GIL back after it behind busy threads, is what a
line would otherwise cost most. A worker killed with ``SIGKILL`` loses what
waits (at most :data:`BATCH_SECONDS` of lines); one that exits writes it.

A destination that fails (a full disk, a closed pipe, a removed directory)
never fails the request: the line is dropped, counted, and the failure is
reported on standard error at most once a minute.
"""

from __future__ import annotations

import atexit
import collections
import os
import stat
import sys
import threading
import time
import typing as t
import weakref

from ..config import ConfigError

#: How often a file destination checks that its path still names the file it
#: writes to (log rotation), in seconds.
REOPEN_CHECK = 1.0
#: How often a failing destination says so on standard error, in seconds.
REPORT_EVERY = 60.0
#: A line waits at most this many seconds before it is written ...
BATCH_SECONDS = 0.5
#: ... and at most this many lines wait.
BATCH_LINES = 256
#: What one write to a pipe or socket may carry and stay whole.
PIPE_CHUNK = 4096

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
        self._chunk = _chunk_size(fd)

    def write(self, lines: bytes) -> None:
        """Write whole ``lines`` (each ending in a newline); never raises."""
        try:
            if len(lines) <= self._chunk:  # one call, as a rule
                written = os.write(self.fd, lines)
                if written < len(lines):  # the kernel took part of it
                    _write_all(self.fd, memoryview(lines)[written:])
            else:  # cut for a pipe at line ends
                for part in chunks(lines, self._chunk):
                    _write_all(self.fd, memoryview(part))
        except OSError as e:
            self.failed(e, lines.count(b"\n"))

    def failed(self, error: OSError, lines: int = 1) -> None:
        """Count lost lines and say why, at most once per :data:`REPORT_EVERY`."""
        self.dropped += lines
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
        super().write(line)

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


def _chunk_size(fd: int) -> int:
    """How much one write to ``fd`` may carry: whole lines up to
    :data:`PIPE_CHUNK` to a pipe or socket (larger writes may interleave with
    other processes'), anything to a file (``O_APPEND`` keeps each whole)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return PIPE_CHUNK
    return PIPE_CHUNK if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else 1 << 30


def chunks(data: bytes, size: int) -> t.Iterator[bytes]:
    """``data`` cut after newlines into parts of at most ``size`` bytes; a
    longer single line is a part of its own."""
    while len(data) > size:
        cut = data.rfind(b"\n", 0, size) + 1 or data.find(b"\n") + 1 or len(data)
        yield data[:cut]
        data = data[cut:]
    if data:
        yield data


def _write_all(fd: int, view: memoryview) -> None:
    """Write all of ``view``, however little each call takes."""
    while view:
        view = view[os.write(fd, view) :]


class Batch:
    """Gathers records for one :class:`Sink` and writes them together.

    :meth:`add` takes a finished request's record (a tuple) with the
    :func:`time.perf_counter_ns` of its end; ``render`` turns a list of records
    into the bytes of their lines when they are written. Records are written,
    with any gathered before them, when the last write is
    :data:`BATCH_SECONDS` old or more or :data:`BATCH_LINES` wait; otherwise
    a timer thread writes them :data:`BATCH_SECONDS` after the last write.
    A forked child drops what its parent had gathered: the parent writes it.

    No lock is taken on the way of a request: the records wait in a deque,
    whose appends and pops the GIL keeps whole; only a write takes the lock.
    """

    def __init__(self, sink: Sink, render: t.Callable[[list[t.Any]], bytes]) -> None:
        self.sink = sink
        self.render = render
        self._records: collections.deque[t.Any] = collections.deque()
        self._written = -(1 << 62)  # perf_counter_ns of the last write: never
        self._timer = False
        self._lock = threading.Lock()
        _batches.add(self)

    def add(self, record: t.Any, now: float) -> None:
        """A request is done: write or gather its ``record``."""
        records = self._records
        records.append(record)
        if (
            now - self._written >= BATCH_SECONDS * 1_000_000_000
            or len(records) >= BATCH_LINES
        ):
            self.flush()
        elif not self._timer:
            self._timer = True
            _start_timer(self)

    def flush(self) -> None:
        """Write what is gathered."""
        with self._lock:
            records = self._records
            batch = [records.popleft() for _ in range(len(records))]
            self._written = time.perf_counter_ns()
            if batch:
                self.sink.write(self.render(batch))

    def _wait(self) -> float:
        """The timer's step: seconds to sleep before the next write is due,
        or -1 to stop (nothing waits)."""
        due = BATCH_SECONDS - (time.perf_counter_ns() - self._written) / 1e9
        if due > 0:
            return due
        if not self._records:
            self._timer = False
            if not self._records:
                return -1
            self._timer = True  # a record came meanwhile, and saw the timer on
        self.flush()
        return BATCH_SECONDS

    def _forked(self) -> None:
        self._records.clear()
        self._timer = False
        self._lock = threading.Lock()


_batches: weakref.WeakSet[Batch] = weakref.WeakSet()


def _start_timer(batch: Batch) -> None:
    _flush_at_exit()
    ref = weakref.ref(batch)

    def run() -> None:
        while True:
            current = ref()
            wait = -1.0 if current is None else current._wait()
            del current
            if wait < 0:
                return
            time.sleep(wait)

    threading.Thread(target=run, name="gateway-access-log", daemon=True).start()


def _after_fork() -> None:
    for batch in list(_batches):
        batch._forked()


def _flush_all() -> None:
    for batch in list(_batches):
        batch.flush()


#: The process whose exit writes what waits (see :func:`_flush_at_exit`).
_exit_hooked = 0


def _flush_at_exit() -> None:
    """Make sure this process writes what waits when it exits. :mod:`atexit`
    covers a process that ends the usual way (gunicorn's workers, gateway's
    own); a worker started by :mod:`multiprocessing` (granian's) ends with
    ``os._exit`` after running only multiprocessing's finalizers, which are
    reset in each child, so one is registered in the process itself."""
    global _exit_hooked
    pid = os.getpid()
    if _exit_hooked == pid:
        return
    _exit_hooked = pid
    finalize_in_this_process(_flush_all)


def finalize_in_this_process(callback: t.Callable[[], object]) -> None:
    """Run ``callback`` when this process ends as a :mod:`multiprocessing`
    worker (with ``os._exit``, after multiprocessing's finalizers, which each
    child starts without: call this in the process itself). :mod:`atexit`
    covers the other ways a process ends."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.Finalize(None, callback, exitpriority=100)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
atexit.register(_flush_all)


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
