"""The deploy templates ship inside the wheel: build one from a copy of the
source tree, install it (no editable install) into a fresh virtualenv, and
render there."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(argv: list[t.Any], **kwargs: t.Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, **kwargs
    )


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv (seeing this Python's packages for the dependencies)
    with the gateway installed from a freshly built wheel."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    # setup.py and _gateway_flask_compat.py: the Flask compatibility switch's
    # .pth hook, which gateway.compat (imported by the loader) needs too.
    for name in (
        "pyproject.toml",
        "setup.py",
        "_gateway_flask_compat.py",
        "README.md",
        "LICENSE",
    ):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "gateway", source / "gateway", ignore=ignore)
    shutil.copytree(REPO / "deploy", source / "deploy", ignore=ignore)
    dist = base / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, "."], cwd=source
    )
    if built.returncode != 0:
        if (
            "Could not find a version that satisfies the requirement setuptools"
            in built.stdout + built.stderr
        ):
            pytest.skip(
                "pip cannot fetch setuptools to build the wheel (no package index)"
            )
        pytest.fail(f"building the wheel failed:\n{built.stdout}\n{built.stderr}")
    (wheel,) = dist.glob("gateway-*.whl")
    venv = base / "venv"
    created = _run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    assert created.returncode == 0, created.stderr
    installed = _run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            wheel,
        ]
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv


def test_wheel_contains_every_template(wheel_venv: Path) -> None:
    import zipfile

    (wheel,) = (wheel_venv.parent / "dist").glob("gateway-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "gateway/deploy/templates/" + str(p.relative_to(REPO / "deploy"))
        for p in (REPO / "deploy").rglob("*.j2")
    }
    assert expected and expected <= names


def test_installed_wheel_renders_from_its_own_templates(
    wheel_venv: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "gateway.toml").write_text(
        textwrap.dedent(
            """
            [gateway]
            name = "wheel"
            base_domain = "example.com"
            default_app = "app:app"

            [server]
            adapter = "uwsgi"
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import gateway, gateway.deploy
        from gateway.toml import load_config
        files = gateway.deploy.render("nginx", load_config({str(site / "gateway.toml")!r}))
        print(gateway.__file__)
        print(gateway.deploy.template_dir())
        print(files["wheel.nginx.conf"])
        """
    )
    result = _run([wheel_venv / "bin" / "python", "-c", script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    module, templates, nginx = result.stdout.split("\n", 2)
    assert module.startswith(str(wheel_venv)), "the wheel, not the editable checkout"
    assert templates.startswith(str(wheel_venv)) and templates.endswith(
        "gateway/deploy/templates"
    )
    assert "uwsgi_pass gateway_wheel;" in nginx

    cli = _run(
        [wheel_venv / "bin" / "gateway", "config", "uwsgi", site / "gateway.toml"],
        cwd=tmp_path,
    )
    assert cli.returncode == 0, cli.stderr
    assert (
        "mount" not in cli.stdout
        and "module = gateway.adapters.uwsgi_app:application" in cli.stdout
    )
