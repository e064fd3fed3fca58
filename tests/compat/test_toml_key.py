"""``compat.enable_from_toml``: the ``[gateway].flask_compat`` key read from a
gateway.toml by the commands that load one application (``gateway run``,
``shell``, ``routes`` without ``--config``).

Only a true key turns the switch on, and that cannot happen in this process
(it imported the real Flask first, see conftest.py): every other case runs
here, the switch itself in a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import compat
from gateway.dispatch import ConfigError

NOT_TURNED_ON = [
    pytest.param(None, id="no-file"),
    pytest.param(b"[gateway\n", id="invalid-toml"),
    pytest.param(b'[gateway]\nname = "\xff"\n', id="not-utf-8"),
    pytest.param(b"", id="empty-file"),
    pytest.param(b'[server]\nadapter = "dev"\n', id="no-gateway-table"),
    pytest.param(b"gateway = 1\n", id="gateway-not-a-table"),
    pytest.param(b'[gateway]\nname = "x"\n', id="key-missing"),
    pytest.param(b"[gateway]\nflask_compat = false\n", id="key-false"),
    # Only this key is read: the rest of the file is gateway serve's business.
    pytest.param(
        b"[gateway]\nflask_compat = false\nno_such_key = 1\n", id="other-keys-ignored"
    ),
]


@pytest.mark.parametrize("content", NOT_TURNED_ON)
def test_enable_from_toml_leaves_the_switch_off(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "gateway.toml"
    if content is not None:
        path.write_bytes(content)
    assert compat.enable_from_toml(path) is False
    assert not compat.is_enabled()


def test_enable_from_toml_on_a_directory_leaves_the_switch_off(tmp_path: Path) -> None:
    assert compat.enable_from_toml(tmp_path) is False


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param('"yes"', '"yes"', id="string"),
        pytest.param('"true"', '"true"', id="quoted-true"),
        pytest.param("1", "1", id="integer"),
        pytest.param("[]", "[]", id="array"),
    ],
)
def test_enable_from_toml_rejects_a_value_that_is_not_true_or_false(
    tmp_path: Path, value: str, shown: str
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(f"[gateway]\nflask_compat = {value}\n")
    with pytest.raises(ConfigError) as info:
        compat.enable_from_toml(path)
    assert str(info.value) == (
        f"{path}: [gateway].flask_compat: expected true or false, got {shown}"
    )
    assert not compat.is_enabled()


def test_enable_from_toml_true_refuses_a_process_with_real_flask(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text("[gateway]\nflask_compat = true\n")
    with pytest.raises(compat.FlaskAlreadyImported) as info:
        compat.enable_from_toml(path)
    assert str(info.value).startswith(
        f"{path}: [gateway].flask_compat = true cannot take effect: Flask was imported"
    )
    assert not compat.is_enabled()


@pytest.mark.parametrize(
    ("value", "output"),
    [
        pytest.param("true", "True True True", id="true"),
        pytest.param("false", "False False False", id="false"),
    ],
)
def test_enable_from_toml_turns_the_switch_on_in_a_fresh_process(
    run_python, tmp_path: Path, value: str, output: str
) -> None:
    (tmp_path / "gateway.toml").write_text(f"[gateway]\nflask_compat = {value}\n")
    result = run_python(
        """
        from gateway import compat
        enabled = compat.enable_from_toml("gateway.toml")
        import flask, gateway
        print(enabled, compat.is_enabled(), flask.Flask is gateway.App)
        """,
        cwd=tmp_path,
    )
    assert result.stdout.strip() == output
