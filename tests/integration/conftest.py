"""Fixtures of the integration tests: ``deployment``, every deployment of
site_deployments.DEPLOYMENTS, started once per test module that uses it and
stopped by process group after; ``serve``, the example site under
``gateway serve`` with one adapter, per test.
"""

from __future__ import annotations

import shutil
import typing as t

import pytest
from server_harness import (
    ServerProcess,
    free_port,
    http_ready,
    require_module,
    require_program,
    running,
    world_readable_tempdir,
)
from site_deployments import (
    BASE_DOMAIN,
    DEPLOYMENTS,
    DIRECT_PROXY,
    Deployment,
    gateway_serve,
    write_site,
)


@pytest.fixture(scope="module", params=list(DEPLOYMENTS))
def deployment(request: pytest.FixtureRequest) -> t.Iterator[Deployment]:
    """Each deployment, started once for all the checks of a module."""
    workdir = world_readable_tempdir(f"gateway-it-{request.param.replace('+', '-')}-")
    built: Deployment | None = None
    try:
        built = DEPLOYMENTS[request.param](workdir)
        yield built
    finally:
        if built is not None:
            built.stop()
        else:
            for process in list(running):
                if str(process.log_path).startswith(str(workdir)):
                    process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def serve(
    server_dir: t.Any,
) -> t.Iterator[t.Callable[[str, list[str], str], tuple[ServerProcess, int]]]:
    """``serve(adapter, extra_args, needs)``: the example site under
    ``gateway serve --adapter ADAPTER`` on a free loopback port, ready;
    returns the process and the port. ``needs`` is the Python package (or,
    for uwsgi, the program) the adapter requires; without it the test skips.
    Every server started is stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(adapter: str, args: list[str], needs: str) -> tuple[ServerProcess, int]:
        if needs == "uwsgi":
            require_program("uwsgi")
        else:
            require_module(needs)
        port = free_port()
        toml = write_site(
            server_dir, {"adapter": adapter, "bind": f"127.0.0.1:{port}"}, DIRECT_PROXY
        )
        process = gateway_serve(toml, server_dir, adapter, *args)
        started.append(process)
        process.wait_ready(http_ready(port, host=f"{BASE_DOMAIN}:{port}"))
        return process, port

    yield start
    for process in started:
        process.stop()
