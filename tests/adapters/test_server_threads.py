"""The threads the server really runs reach the gateway, which derives its
concurrency limits from them (gateway/dispatch/limits.py): ``gateway serve
--threads``, and the options of uWSGI and mod_wsgi when the gateway is
embedded in them."""

from __future__ import annotations

import sys
import types
import typing as t

import pytest

from gateway.adapters import embedded_threads
from gateway.adapters.options import with_threads
from gateway.toml import parse_config


def _config(threads: int) -> t.Any:
    return parse_config(
        {
            "gateway": {"base_domain": "example.com"},
            "tenants": {"factory": "m:f"},
            "server": {"threads": threads},
        },
        ".",
    )


def test_with_threads_replaces_only_the_threads() -> None:
    config = _config(8)
    assert with_threads(config, 8) is config
    changed = with_threads(config, 3)
    assert changed.server.threads == 3
    assert changed.tenants == config.tenants
    assert changed.server.bind == config.server.bind


@pytest.mark.parametrize(
    ("modules", "threads"),
    [
        pytest.param({}, None, id="not embedded"),
        pytest.param({"uwsgi": {"opt": {"threads": b"4"}}}, 4, id="uwsgi threads"),
        pytest.param(
            {"uwsgi": {"opt": {"threads": [b"2", b"6"]}}}, 6, id="uwsgi: the last one"
        ),
        pytest.param({"uwsgi": {"opt": {}}}, 1, id="uwsgi without threads: one"),
        pytest.param(
            {"mod_wsgi": {"threads_per_process": 15}}, 15, id="mod_wsgi threads"
        ),
        pytest.param({"mod_wsgi": {}}, None, id="mod_wsgi without the attribute"),
    ],
)
def test_embedded_threads(
    modules: dict[str, dict[str, t.Any]],
    threads: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real modules exist only inside uWSGI and Apache.
    for name in ("uwsgi", "mod_wsgi"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name, attributes in modules.items():
        monkeypatch.setitem(
            sys.modules,
            name,
            types.SimpleNamespace(**attributes),  # type: ignore[arg-type]
        )
    assert embedded_threads() == threads
