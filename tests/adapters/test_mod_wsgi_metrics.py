"""Which multiprocess directory a gateway inside mod_wsgi joins
(gateway.adapters.mod_wsgi.join_metrics_directory); the sums over real
daemon processes are tested in tests/integration/test_mod_wsgi_metrics_live.py."""

from __future__ import annotations

import os
import sys
import types
import typing as t
from pathlib import Path

import pytest

from gateway.adapters.mod_wsgi import join_metrics_directory
from gateway.dispatch.multiprocess import ENV, SERVER_FILE
from gateway.toml import parse_config


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[None]:
    """Joining sets the variable and may switch an imported
    prometheus_client to files: undo both."""
    # setenv first, so that the variable the test's join sets is removed
    # afterwards (delenv of an absent variable would record nothing).
    monkeypatch.setenv(ENV, "")
    monkeypatch.delenv(ENV)
    yield
    monkeypatch.undo()
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # back to in-process values, as without the variable
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]


def under_mod_wsgi(monkeypatch: pytest.MonkeyPatch, processes: int | None) -> None:
    module = types.ModuleType("mod_wsgi")
    if processes is not None:
        module.maximum_processes = processes  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mod_wsgi", module)


def config(tmp_path: Path, **metrics: t.Any) -> t.Any:
    return parse_config(
        {"gateway": {"name": "site", "default_app": "x:app"}, "metrics": metrics},
        tmp_path,
    )


def test_several_processes_join_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    under_mod_wsgi(monkeypatch, 2)
    directory = tmp_path / "m"
    assert join_metrics_directory(
        config(tmp_path, enabled=True, directory=str(directory))
    ) == str(directory)
    assert os.environ[ENV] == str(directory)
    assert (directory / SERVER_FILE).read_text().split()[0] == str(os.getppid())


def test_a_directory_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    under_mod_wsgi(monkeypatch, 1)  # gateway serve --adapter mod_wsgi --workers 1
    monkeypatch.setenv(ENV, str(tmp_path / "env"))
    chosen = join_metrics_directory(
        config(tmp_path, enabled=True, directory=str(tmp_path / "toml"))
    )
    assert chosen == str(tmp_path / "env")
    assert not (tmp_path / "toml").exists()


@pytest.mark.parametrize(
    ("processes", "metrics"),
    [
        pytest.param(1, {"enabled": True}, id="one-process"),
        pytest.param(2, {"enabled": False}, id="metrics-off"),
    ],
)
def test_nothing_to_share(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    processes: int,
    metrics: dict[str, t.Any],
) -> None:
    under_mod_wsgi(monkeypatch, processes)
    assert join_metrics_directory(config(tmp_path, **metrics)) == ""
    assert ENV not in os.environ


def test_outside_mod_wsgi_nothing_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "mod_wsgi", raising=False)
    assert join_metrics_directory(config(tmp_path, enabled=True)) == ""
