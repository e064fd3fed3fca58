"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.test import Client

README = Path(__file__).parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def run_block(source: str) -> dict:  # type: ignore[type-arg]
    namespace = {"__name__": "readme_example"}
    exec(compile(source, str(README), "exec"), namespace)
    return namespace


def test_readme_has_the_examples_this_file_checks() -> None:
    assert len(python_blocks()) == 3


def test_the_flask_style_app_serves_json_and_registers_its_rules() -> None:
    namespace = run_block(python_blocks()[0])
    client = namespace["app"].test_client()
    assert client.get("/api/7").json == {"item": 7}
    assert sorted(r.rule for r in namespace["app"].url_map.iter_rules()) == [
        "/",
        "/api/<int:item>",
        "/static/<path:filename>",
    ]


def test_the_compatibility_switch_example_prints_what_it_says(tmp_path) -> None:
    # The switch is per process (and this one has the real Flask imported):
    # the example runs as the README shows it, in a shell of its own, with
    # this environment's python first on PATH.
    text = README.read_text()
    shell = re.search(
        r"```python\n# hello\.py.*?```\n\n```sh\n(.*?)```", text, flags=re.S
    )
    assert shell is not None
    command, expected = shell[1].splitlines()
    (tmp_path / "hello.py").write_text(python_blocks()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"# {result.stdout.strip()}" == expected


@pytest.mark.parametrize(
    ("host", "path", "status", "body"),
    [
        pytest.param(
            "acme.example.com", "/", 200, b"Welcome to Acme Rockets", id="tenant"
        ),
        pytest.param(
            "bistro.example.com",
            "/",
            200,
            b"Welcome to Le Petit Bistro",
            id="other tenant",
        ),
        pytest.param("ghost.example.com", "/", 404, None, id="unknown tenant"),
        pytest.param("example.com", "/", 200, b"The hosting company", id="bare domain"),
        pytest.param("example.com", "/admin/", 200, b"Admin", id="mount"),
        pytest.param("example.com", "/admin", 308, None, id="mount without slash"),
        pytest.param("evil.test", "/", 400, None, id="untrusted host"),
    ],
)
def test_the_gateway_example_routes_by_host_and_prefix(
    host: str, path: str, status: int, body: bytes | None
) -> None:
    application = run_block(python_blocks()[2])["application"]
    response = Client(application).get(path, headers={"Host": host})
    assert response.status_code == status
    if body is not None:
        assert response.data == body
