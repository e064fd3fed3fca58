"""The pure parts of gateway's master process (gateway/adapters/master.py);
its behaviour with real servers is in tests/integration/test_master_process.py
and test_reload.py."""

from __future__ import annotations

import signal
import sys

import pytest

from gateway.adapters.master import (
    CHILD,
    MANAGED_ADAPTERS,
    Master,
    child_argv,
    stop_signals,
)
from gateway.adapters.options import ServeOptions


@pytest.mark.parametrize(
    ("managed", "expected"),
    [
        pytest.param(False, (signal.SIGTERM, signal.SIGINT), id="alone"),
        pytest.param(True, (signal.SIGTERM,), id="child-of-the-master"),
    ],
)
def test_stop_signals(managed, expected):
    assert stop_signals(managed) == expected


def test_child_argv_carries_the_adapter_the_file_and_the_options():
    argv = child_argv("tornado", "/srv/gateway.toml", {"listen_fd": 3})
    assert argv == [
        sys.executable,
        "-c",
        CHILD,
        "tornado",
        "/srv/gateway.toml",
        '{"listen_fd": 3}',
    ]


@pytest.mark.parametrize("adapter", ["gunicorn", "uwsgi", "dev", "cgi"])
def test_master_refuses_adapters_that_manage_their_own_processes(adapter):
    with pytest.raises(ValueError, match="choose one of gevent, tornado, fastcgi"):
        Master(adapter, "/srv/gateway.toml", {}, ServeOptions(), ("127.0.0.1", 1))


def test_the_managed_adapters_are_the_one_process_servers():
    from gateway.toml import ADAPTERS

    assert set(MANAGED_ADAPTERS) <= {n for n, a in ADAPTERS.items() if a.service}
    assert "gunicorn" not in MANAGED_ADAPTERS and "uwsgi" not in MANAGED_ADAPTERS


def test_an_old_child_past_its_graceful_timeout_is_killed() -> None:
    """After a reload the old child gets graceful_timeout + STOP_MARGIN to
    finish, as on a stop; one that ignores its SIGTERM is killed then."""
    import subprocess
    import sys
    import time

    master = Master("gevent", "/srv/gateway.toml", {}, ServeOptions(), ("127.0.0.1", 1))
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        ]
    )
    try:
        master.retiring[stubborn] = time.monotonic() + 60
        master._reap()
        assert stubborn.poll() is None and stubborn in master.retiring
        master.retiring[stubborn] = time.monotonic() - 1
        master._reap()
        assert stubborn.returncode is not None and not master.retiring
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()
