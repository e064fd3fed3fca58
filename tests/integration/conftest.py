"""The ``deployment`` fixture: every deployment of site_deployments.DEPLOYMENTS,
started once per test module that uses it and stopped by process group after.
"""

from __future__ import annotations

import shutil
import typing as t

import pytest
from server_harness import running, world_readable_tempdir
from site_deployments import DEPLOYMENTS, Deployment


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
